"""Parameter mapping of first-class AWS service integrations (SQS-SendMessage, EventBridge-PutEvents,
StepFunctions-StartExecution): each request parameter is a selection expression (`$request.body`,
`$request.body.name`, `$request.header.x`, `$request.querystring.x`, `$request.path.x`, `$context.requestId`,
`$stageVariables.x`), a string with `${...}` inside, or a literal."""

from __future__ import annotations

import json
import re

from sandbox.http_api.payloads import Incoming

EMBEDDED = re.compile(r"\$\{([^}]+)\}")

# subtype -> (service, operation, required parameters, optional parameters); AWS's integration subtype reference
SUBTYPES = {
    "SQS-SendMessage": ("sqs", "SendMessage", ("QueueUrl", "MessageBody"),
                        ("DelaySeconds", "MessageAttributes", "MessageDeduplicationId", "MessageGroupId", "Region")),
    "EventBridge-PutEvents": ("events", "PutEvents", ("Detail", "DetailType", "Source"),
                              ("Time", "EventBusName", "Region", "Resources", "TraceHeader")),
    "StepFunctions-StartExecution": ("stepfunctions", "StartExecution", ("StateMachineArn",),
                                     ("Name", "Input", "Region")),
    "StepFunctions-StartSyncExecution": ("stepfunctions", "StartSyncExecution", ("StateMachineArn",),
                                         ("Name", "Input", "Region", "TraceHeader")),
}


class MappingError(ValueError):
    pass


def _select(expr: str, req: Incoming, path_params: dict, stage_vars: dict, context: dict) -> str | None:
    if expr == "$request.body":
        return req.body.decode("utf-8", "replace")
    if expr.startswith("$request.body."):
        try:
            value = json.loads(req.body or b"null")
        except ValueError:
            return None
        for part in expr[len("$request.body."):].split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value if value is None or isinstance(value, str) else json.dumps(value)
    for prefix, source in (("$request.header.", None), ("$request.querystring.", None), ("$request.path.", None),
                           ("$stageVariables.", stage_vars), ("$context.", context)):
        if expr.startswith(prefix):
            name = expr[len(prefix):]
            if prefix == "$request.header.":
                return req.header(name)
            if prefix == "$request.querystring.":
                values = [v for k, v in req.query_pairs if k == name]
                return ",".join(values) if values else None
            if prefix == "$request.path.":
                return path_params.get(name)
            return None if source is None else (str(source[name]) if name in source else None)
    return None


def resolve(value: str, req: Incoming, path_params: dict, stage_vars: dict, context: dict) -> str | None:
    value = str(value)
    if value.startswith("$") and not value.startswith("${"):
        return _select(value, req, path_params, stage_vars, context)
    return EMBEDDED.sub(lambda m: _select("$" + m[1] if not m[1].startswith("$") else m[1], req, path_params,
                                          stage_vars, context) or "", value)


def service_call(subtype: str, parameters: dict, req: Incoming, path_params: dict, stage_vars: dict,
                 context: dict) -> tuple[str, str, dict]:
    """(service, operation, boto3 keyword arguments) of a first-class integration for this request."""
    if subtype not in SUBTYPES:
        raise MappingError(f"integration subtype {subtype!r} is not supported here; supported: "
                           + ", ".join(SUBTYPES))
    service, operation, required, optional = SUBTYPES[subtype]
    values = {k: resolve(v, req, path_params, stage_vars, context) for k, v in (parameters or {}).items()}
    unknown = sorted(set(values) - set(required) - set(optional))
    if unknown:
        raise MappingError(f"{subtype} has no parameter(s) {', '.join(unknown)}")
    missing = [k for k in required if values.get(k) in (None, "")]
    if missing:
        raise MappingError(f"{subtype} needs {', '.join(missing)} (missing or empty for this request)")
    values.pop("Region", None)
    if service == "events":
        entry = {"Detail": values["Detail"], "DetailType": values["DetailType"], "Source": values["Source"]}
        for k in ("EventBusName", "Resources", "TraceHeader"):
            if values.get(k):
                entry[k] = json.loads(values[k]) if k == "Resources" else values[k]
        return service, operation, {"Entries": [entry]}
    if service == "sqs":
        for k in ("MessageAttributes",):
            if values.get(k):
                values[k] = json.loads(values[k])
        if values.get("DelaySeconds"):
            values["DelaySeconds"] = int(values["DelaySeconds"])
    if service == "stepfunctions":  # its API's members are camelCase
        return service, operation, {k[:1].lower() + k[1:]: v for k, v in values.items() if v is not None}
    return service, operation, {k: v for k, v in values.items() if v is not None}


def substitute_stage_variables(text: str, stage_vars: dict) -> str:
    """`${stageVariables.name}` in an integration URI (e.g. a function name chosen per stage)."""
    return re.sub(r"\$\{stageVariables\.([A-Za-z0-9_]+)\}", lambda m: str(stage_vars.get(m[1], "")), text or "")
