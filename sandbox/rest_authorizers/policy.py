"""What API Gateway does with a REST Lambda authorizer: its input event, its identity sources, and the policy it
returns (Allow/Deny statements on method ARNs, with `*` and `?` wildcards; an explicit Deny wins)."""

from __future__ import annotations

import fnmatch
import re


class Unauthorized(Exception):
    """401: no identity, a token that fails the validation expression, or the authorizer said "Unauthorized"."""


class Denied(Exception):
    """403: the policy denies the method, or allows nothing that matches it."""


def method_arn(region: str, account: str, api_id: str, stage: str, method: str, path: str) -> str:
    return f"arn:aws:execute-api:{region}:{account}:{api_id}/{stage}/{method}/{path.lstrip('/')}"


def identity_values(sources: str, headers: dict[str, str], query: dict[str, str], stage_vars: dict[str, str],
                    context: dict) -> list[str]:
    """The values of a comma-separated identity source (`method.request.header.Authorization, ...`); Unauthorized
    when one is missing, as API Gateway answers without calling the authorizer."""
    values = []
    lower = {k.lower(): v for k, v in headers.items()}
    for source in [s.strip() for s in (sources or "").split(",") if s.strip()]:
        if source.startswith("method.request.header."):
            value = lower.get(source[len("method.request.header."):].lower())
        elif source.startswith("method.request.querystring."):
            value = query.get(source[len("method.request.querystring."):])
        elif source.startswith("stageVariables."):
            value = stage_vars.get(source[len("stageVariables."):])
        elif source.startswith("context."):
            value = context.get(source[len("context."):])
        else:
            value = None
        if not value:
            raise Unauthorized(f"identity source {source} is missing")
        values.append(str(value))
    return values


def check_token(token: str, validation_expression: str | None) -> None:
    if validation_expression and not re.fullmatch(validation_expression, token):
        raise Unauthorized("the token does not match the authorizer's validation expression")


def _listify(value) -> list:
    return value if isinstance(value, list) else [value] if value is not None else []


def evaluate(answer, arn: str) -> dict:
    """`requestContext.authorizer` for an allowed request: principalId and the authorizer's context."""
    if not isinstance(answer, dict) or not isinstance(answer.get("policyDocument"), dict):
        raise ValueError("the authorizer's answer has no policyDocument")
    allowed = False
    for statement in _listify(answer["policyDocument"].get("Statement")):
        if not isinstance(statement, dict):
            continue
        actions = [str(a) for a in _listify(statement.get("Action"))]
        if actions and not any(fnmatch.fnmatchcase("execute-api:Invoke", a) for a in actions):
            continue
        if not any(fnmatch.fnmatchcase(arn, str(r)) for r in _listify(statement.get("Resource"))):
            continue
        effect = str(statement.get("Effect", "")).lower()
        if effect == "deny":
            raise Denied("User is not authorized to access this resource with an explicit deny")
        if effect == "allow":
            allowed = True
    if not allowed:
        raise Denied("User is not authorized to access this resource")
    return {"principalId": answer.get("principalId"), **context_values(answer.get("context"))}


def context_values(context) -> dict[str, str]:
    """The authorizer's `context` as API Gateway hands it to the integration: every value a string (3 -> "3", true ->
    "true"); an object or array is a configuration error (a 500), as on AWS. They kept their JSON types here."""
    if not isinstance(context, dict):
        return {}
    out = {}
    for key, value in context.items():
        if isinstance(value, (dict, list)):
            raise ValueError(f"its context value {key!r} is an object or array: API Gateway takes only strings, "
                             "numbers and booleans there")
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, (str, int, float)):
            out[key] = str(value)
    return out
