"""Fault rules: their validation (with messages that name the field and what is wrong) and their matching.

Three kinds of configuration, each a plain JSON document:

* service fault rules (LocalStack Chaos API shape), `/_localstack/chaos/faults`::

      {"region": "us-east-1", "service": "dynamodb", "operation": "PutItem", "probability": 0.5,
       "error": {"statusCode": 503, "code": "ServiceUnavailable", "message": "..."}}

  every key optional (`{}` fails every request); `message` is our addition. First matching rule wins.

* network effects, `/_localstack/chaos/effects`: `{"latency": ms}` added to every AWS request.

* Lambda fault rules (after AWS FIS Lambda actions and the failure-lambda library), `/_sandbox/chaos/lambda`::

      {"function": "orders" | "arn:aws:lambda:…:function:orders[:qualifier]", "qualifier": "live",
       "region": "us-east-1", "probability": 0.3,
       "fault": "error" | "latency" | "startup-latency" | "timeout" | "crash",
       "latencyMs": 500,                                   # latency, startup-latency (cold starts only)
       "error": {"type": "Sandbox.InjectedError", "message": "..."}}   # error

  `function` omitted = every function. First matching rule wins.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache

DEFAULT_STATUS = 503
DEFAULT_CODE = "ServiceUnavailable"
DEFAULT_LAMBDA_ERROR_TYPE = "Sandbox.InjectedError"
DEFAULT_LAMBDA_ERROR_MESSAGE = "Error injected by a sandbox Lambda fault rule"
MAX_LATENCY_MS = 60_000

SERVICE_RULE_KEYS = ("region", "service", "operation", "probability", "error")
SERVICE_ERROR_KEYS = ("statusCode", "code", "message")
EFFECT_KEYS = ("latency",)
LAMBDA_RULE_KEYS = ("function", "qualifier", "region", "probability", "fault", "latencyMs", "error")
LAMBDA_ERROR_KEYS = ("type", "message")
LAMBDA_FAULTS = ("error", "latency", "startup-latency", "timeout", "crash")

REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
FUNCTION_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
QUALIFIER_RE = re.compile(r"^(\$LATEST|[A-Za-z0-9_-]{1,128})$")
FUNCTION_ARN_RE = re.compile(
    r"^arn:aws[a-z-]*:lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):function:(?P<name>[A-Za-z0-9_-]{1,64})"
    r"(?::(?P<qualifier>\$LATEST|[A-Za-z0-9_-]{1,128}))?$"
)
ERROR_CODE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.:-]{0,127}$")

# Names people use for a service that LocalStack's catalog (botocore's) spells differently.
SERVICE_ALIASES = {
    "eventbridge": "events", "sfn": "stepfunctions", "step-functions": "stepfunctions",
    "cloudwatch-logs": "logs", "cloudwatchlogs": "logs", "monitoring": "cloudwatch", "apigw": "apigateway",
    "api-gateway": "apigateway", "dynamo": "dynamodb", "ddb": "dynamodb", "cognito": "cognito-idp",
    "ses-v2": "sesv2", "secrets-manager": "secretsmanager", "ssm-parameter-store": "ssm",
    "execute-api": "apigateway", "awslambda": "lambda", "lambda_": "lambda",
}


class RuleError(ValueError):
    """An invalid rule or effect; the message names the field and what is wrong."""


# --- the service catalog ---------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _catalog():
    from localstack.aws.spec import get_service_catalog

    return get_service_catalog()


def service_names() -> list[str]:
    return sorted(_catalog().service_names)


@lru_cache(maxsize=256)
def _operation_names(service: str) -> tuple[str, ...]:
    model = _catalog().get(service)
    return tuple(model.operation_names) if model else ()


def _suggest(value: str, choices) -> str:
    close = difflib.get_close_matches(value, list(choices), n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def check_service(name: str, where: str) -> None:
    names = _catalog().service_names
    if name in names:
        return
    alias = SERVICE_ALIASES.get(name.lower())
    if alias and alias in names:
        hint = f" (LocalStack's service catalog calls it {alias!r})"
    elif name.lower() in names:
        hint = f" (service names are lower case: {name.lower()!r})"
    else:
        hint = _suggest(name.lower(), names)
    raise RuleError(f"{where}'service': unknown service {name!r}{hint}; names are those of LocalStack's service "
                    "catalog (botocore's), e.g. 'dynamodb', 's3', 'sqs', 'lambda', 'events', 'stepfunctions'")


def check_operation(name: str, service: str | None, where: str) -> None:
    if service:
        ops = _operation_names(service)
        if name in ops:
            return
        raise RuleError(f"{where}'operation': {service} has no operation {name!r}{_suggest(name, ops)}")
    if _catalog().by_operation(name):
        return
    raise RuleError(f"{where}'operation': no service has an operation {name!r}"
                    f"{_suggest(name, _catalog().operations_index.keys())}")


# --- generic field checks --------------------------------------------------------------------------------
def _where(index: int | None) -> str:
    return f"rule {index}: " if index is not None else ""


def _type_name(value) -> str:
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "an array",
            dict: "an object", type(None): "null"}.get(type(value), type(value).__name__)


def _check_keys(obj: dict, allowed: tuple[str, ...], where: str, what: str) -> None:
    unknown = [k for k in obj if k not in allowed]
    if unknown:
        key = unknown[0]
        hint = _suggest(key, allowed)
        raise RuleError(f"{where}unknown key {key!r} in {what}{hint}; allowed keys: {', '.join(allowed)}")


def _string(obj: dict, key: str, where: str, pattern: re.Pattern | None = None, example: str = "",
            label: str | None = None) -> str | None:
    if key not in obj:
        return None
    value, label = obj[key], label or key
    if not isinstance(value, str):
        raise RuleError(f"{where}{label!r} must be a string, got {_type_name(value)} ({value!r})")
    if not value:
        raise RuleError(f"{where}{label!r} must not be empty" + ("" if "." in label else " (leave it out to match any)"))
    if pattern and not pattern.match(value):
        raise RuleError(f"{where}{label!r}: {value!r} is not valid" + (f" (expected e.g. {example})" if example else ""))
    return value


def _number(value, key: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RuleError(f"{where}{key!r} must be a number, got {_type_name(value)} ({value!r})")
    if not math.isfinite(value):
        raise RuleError(f"{where}{key!r} must be a finite number, got {value!r}")
    return float(value)


def _probability(obj: dict, where: str) -> float:
    if "probability" not in obj:
        return 1.0
    p = _number(obj["probability"], "probability", where)
    if not 0 <= p <= 1:
        raise RuleError(f"{where}'probability' must be between 0 and 1, got {obj['probability']!r}")
    return p


def _latency(value, key: str, where: str) -> float:
    ms = _number(value, key, where)
    if not 0 <= ms <= MAX_LATENCY_MS:
        raise RuleError(f"{where}{key!r} must be between 0 and {MAX_LATENCY_MS} milliseconds, got {value!r}")
    return ms


def _rule_list(data, what: str) -> list:
    if isinstance(data, dict):
        raise RuleError(f"expected a JSON array of {what}, got a single object: wrap it in [ ]")
    if not isinstance(data, list):
        raise RuleError(f"expected a JSON array of {what}, got {_type_name(data)}")
    return data


# --- service fault rules ---------------------------------------------------------------------------------
@dataclass(eq=False)
class ServiceRule:
    spec: dict  # the rule as given (validated), served back by GET
    region: str | None
    service: str | None
    operation: str | None
    probability: float
    status_code: int
    code: str
    message: str
    hits: int = 0

    def key(self) -> tuple:
        """What makes two rules equal (defaults filled in): DELETE removes rules with the same key."""
        return (self.region, self.service, self.operation, self.probability, self.status_code, self.code,
                self.spec.get("error", {}).get("message"))

    def matches(self, service: str | None, region: str | None, operation: str | None) -> bool:
        return ((self.service is None or self.service == service)
                and (self.region is None or self.region == region)
                and (self.operation is None or self.operation == operation))


def parse_service_rule(obj, index: int | None = None) -> ServiceRule:
    where = _where(index)
    if not isinstance(obj, dict):
        raise RuleError(f"{where}a rule must be a JSON object, got {_type_name(obj)}")
    _check_keys(obj, SERVICE_RULE_KEYS, where, "a fault rule")
    region = _string(obj, "region", where, REGION_RE, "'us-east-1'")
    service = _string(obj, "service", where)
    if service:
        check_service(service, where)
    operation = _string(obj, "operation", where)
    if operation:
        check_operation(operation, service, where)
    probability = _probability(obj, where)
    status, code, message = DEFAULT_STATUS, DEFAULT_CODE, None
    if "error" in obj:
        error = obj["error"]
        if not isinstance(error, dict):
            raise RuleError(f"{where}'error' must be an object like {{\"statusCode\": 503, \"code\": "
                            f"\"ServiceUnavailable\"}}, got {_type_name(error)}")
        _check_keys(error, SERVICE_ERROR_KEYS, where, "'error'")
        if "statusCode" in error:
            value = error["statusCode"]
            if isinstance(value, bool) or not isinstance(value, int):
                raise RuleError(f"{where}'error.statusCode' must be a whole number, got {_type_name(value)} ({value!r})")
            if not 400 <= value <= 599:
                raise RuleError(f"{where}'error.statusCode' must be an HTTP error status between 400 and 599, got {value}")
            status = value
        code = _string(error, "code", where, ERROR_CODE_RE, "'ServiceUnavailable'", label="error.code") or code
        if "message" in error and not isinstance(error["message"], str):
            raise RuleError(f"{where}'error.message' must be a string, got {_type_name(error['message'])}")
        message = error.get("message")
    message = message or f"{code}: injected by a sandbox fault rule"
    return ServiceRule(dict(obj), region, service, operation, probability, status, code, message)


def parse_service_rules(data) -> list[ServiceRule]:
    return [parse_service_rule(r, i) for i, r in enumerate(_rule_list(data, "fault rules"))]


def parse_effects(data) -> dict:
    if not isinstance(data, dict):
        raise RuleError(f"expected a JSON object like {{\"latency\": 200}}, got {_type_name(data)}")
    _check_keys(data, EFFECT_KEYS, "", "effects")
    out = {"latency": 0}
    if "latency" in data:
        ms = _latency(data["latency"], "latency", "")
        out["latency"] = int(ms) if ms == int(ms) else ms
    return out


# --- Lambda fault rules ----------------------------------------------------------------------------------
@dataclass(eq=False)
class LambdaRule:
    spec: dict
    function: str | None
    account: str | None
    region: str | None
    qualifier: str | None
    probability: float
    fault: str
    latency_ms: float = 0
    error_type: str = DEFAULT_LAMBDA_ERROR_TYPE
    error_message: str = DEFAULT_LAMBDA_ERROR_MESSAGE
    hits: int = field(default=0)

    def key(self) -> tuple:
        return (self.function, self.account, self.region, self.qualifier, self.probability, self.fault,
                self.latency_ms, self.error_type, self.error_message)

    def matches(self, function_name: str, account: str, region: str, qualifiers: set[str], cold: bool) -> bool:
        if self.function is not None and self.function != function_name:
            return False
        if self.account is not None and self.account != account:
            return False
        if self.region is not None and self.region != region:
            return False
        if self.qualifier is not None and self.qualifier not in qualifiers:
            return False
        return self.fault != "startup-latency" or cold


def parse_lambda_rule(obj, index: int | None = None) -> LambdaRule:
    where = _where(index)
    if not isinstance(obj, dict):
        raise RuleError(f"{where}a Lambda fault rule must be a JSON object, got {_type_name(obj)}")
    _check_keys(obj, LAMBDA_RULE_KEYS, where, "a Lambda fault rule")
    if "fault" not in obj:
        raise RuleError(f"{where}'fault' is required: one of {', '.join(LAMBDA_FAULTS)}")
    fault = obj["fault"]
    if fault not in LAMBDA_FAULTS:
        hint = _suggest(str(fault), LAMBDA_FAULTS)
        raise RuleError(f"{where}'fault': {fault!r} is not a Lambda fault{hint}; one of {', '.join(LAMBDA_FAULTS)}")
    function = account = arn_region = arn_qualifier = None
    if "function" in obj:
        value = _string(obj, "function", where)
        if value.startswith("arn:"):
            m = FUNCTION_ARN_RE.match(value)
            if not m:
                raise RuleError(f"{where}'function': {value!r} is not a Lambda function ARN "
                                "(arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER])")
            function, account, arn_region, arn_qualifier = m["name"], m["account"], m["region"], m["qualifier"]
        elif not FUNCTION_NAME_RE.match(value):
            raise RuleError(f"{where}'function': {value!r} is not a function name (letters, digits, - and _, "
                            "at most 64) or a function ARN")
        else:
            function = value
    region = _string(obj, "region", where, REGION_RE, "'us-east-1'")
    if region and arn_region and region != arn_region:
        raise RuleError(f"{where}'region' {region!r} contradicts the region of the function ARN ({arn_region!r})")
    qualifier = _string(obj, "qualifier", where, QUALIFIER_RE, "'$LATEST', '3' or an alias name")
    if qualifier and arn_qualifier and qualifier != arn_qualifier:
        raise RuleError(f"{where}'qualifier' {qualifier!r} contradicts the qualifier of the function ARN "
                        f"({arn_qualifier!r})")
    rule = LambdaRule(dict(obj), function, account, region or arn_region, qualifier or arn_qualifier,
                      _probability(obj, where), fault)
    if fault in ("latency", "startup-latency"):
        if "latencyMs" not in obj:
            raise RuleError(f"{where}'latencyMs' is required for fault {fault!r} (milliseconds to add)")
        rule.latency_ms = _latency(obj["latencyMs"], "latencyMs", where)
    elif "latencyMs" in obj:
        raise RuleError(f"{where}'latencyMs' only applies to faults 'latency' and 'startup-latency', not {fault!r}")
    if "error" in obj:
        if fault != "error":
            raise RuleError(f"{where}'error' only applies to fault 'error', not {fault!r}")
        error = obj["error"]
        if not isinstance(error, dict):
            raise RuleError(f"{where}'error' must be an object like {{\"type\": \"TimeoutError\", \"message\": "
                            f"\"...\"}}, got {_type_name(error)}")
        _check_keys(error, LAMBDA_ERROR_KEYS, where, "'error'")
        rule.error_type = _string(error, "type", where, label="error.type") or rule.error_type
        if "message" in error and not isinstance(error["message"], str):
            raise RuleError(f"{where}'error.message' must be a string, got {_type_name(error['message'])}")
        rule.error_message = error.get("message") or rule.error_message
    return rule


def parse_lambda_rules(data) -> list[LambdaRule]:
    return [parse_lambda_rule(r, i) for i, r in enumerate(_rule_list(data, "Lambda fault rules"))]


def qualifier_of(arn: str) -> str | None:
    m = FUNCTION_ARN_RE.match(arn or "")
    return m["qualifier"] if m else None
