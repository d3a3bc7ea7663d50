"""Named templates of common failures (`sandbox fault templates`): each builds the fault rules for one scenario
of the article, in the Chaos API's rule format (sandbox.faults.rules). Pure: used by the client, the CLI and the
TUI's add-fault form."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sandbox.errors import SandboxError


class FaultError(SandboxError):
    """Invalid fault input (unknown template, missing parameter, a rule the backend refused)."""


# The error each service answers when it throttles (what its SDK retries as throttling).
THROTTLING_ERRORS: dict[str, tuple[int, str]] = {
    "dynamodb": (400, "ProvisionedThroughputExceededException"),
    "kinesis": (400, "ProvisionedThroughputExceededException"),
    "sqs": (400, "ThrottlingException"),
    "lambda": (429, "TooManyRequestsException"),
    "apigateway": (429, "TooManyRequestsException"),
    "s3": (503, "SlowDown"),
    "sns": (400, "Throttling"),
    "sts": (400, "Throttling"),
    "cloudformation": (400, "Throttling"),
}
DEFAULT_THROTTLING_ERROR = (400, "ThrottlingException")


@dataclass
class FaultPlan:
    """What a template adds: service fault rules, Lambda fault rules, and/or effects."""

    faults: list[dict] = field(default_factory=list)
    lambda_rules: list[dict] = field(default_factory=list)
    effects: dict | None = None

    def as_dict(self) -> dict:
        out: dict = {}
        if self.faults:
            out["faults"] = self.faults
        if self.lambda_rules:
            out["lambda"] = self.lambda_rules
        if self.effects is not None:
            out["effects"] = self.effects
        return out


@dataclass
class Param:
    name: str
    kind: type = str
    required: bool = False
    help: str = ""


@dataclass
class Template:
    name: str
    description: str
    params: list[Param]
    build: Callable[..., FaultPlan]


def _opt(**kwargs) -> dict:
    return {k: v for k, v in kwargs.items() if v is not None}


def _service_outage(service, region=None, operation=None, probability=None) -> FaultPlan:
    return FaultPlan(faults=[_opt(service=service, region=region, operation=operation, probability=probability,
                                  error={"statusCode": 503, "code": "ServiceUnavailable"})])


def _throttling(service, region=None, operation=None, probability=None) -> FaultPlan:
    status, code = THROTTLING_ERRORS.get(service, DEFAULT_THROTTLING_ERROR)
    return FaultPlan(faults=[_opt(service=service, region=region, operation=operation, probability=probability,
                                  error={"statusCode": status, "code": code})])


def _region_outage(region, probability=None) -> FaultPlan:
    return FaultPlan(faults=[_opt(region=region, probability=probability,
                                  error={"statusCode": 503, "code": "ServiceUnavailable"})])


def _latency(ms) -> FaultPlan:
    return FaultPlan(effects={"latency": ms})


def _lambda(fault: str, function=None, qualifier=None, region=None, probability=None, **extra) -> FaultPlan:
    return FaultPlan(lambda_rules=[_opt(function=function, qualifier=qualifier, region=region,
                                        probability=probability, fault=fault, **extra)])


def _lambda_errors(function=None, qualifier=None, region=None, probability=None, error_type=None,
                   error_message=None) -> FaultPlan:
    error = _opt(type=error_type, message=error_message)
    return _lambda("error", function, qualifier, region, probability, **({"error": error} if error else {}))


def _lambda_latency(ms, function=None, qualifier=None, region=None, probability=None) -> FaultPlan:
    return _lambda("latency", function, qualifier, region, probability, latencyMs=ms)


def _lambda_cold_start(ms, function=None, qualifier=None, region=None, probability=None) -> FaultPlan:
    return _lambda("startup-latency", function, qualifier, region, probability, latencyMs=ms)


def _lambda_timeout(function=None, qualifier=None, region=None, probability=None) -> FaultPlan:
    return _lambda("timeout", function, qualifier, region, probability)


def _lambda_crash(function=None, qualifier=None, region=None, probability=None) -> FaultPlan:
    return _lambda("crash", function, qualifier, region, probability)


_P = {
    "service": Param("service", str, True, "service name as in LocalStack's catalog, e.g. dynamodb, sqs, s3, lambda"),
    "service?": Param("service", str, False, "service name"),
    "region": Param("region", str, False, "only this region (default: every region)"),
    "region!": Param("region", str, True, "the region that goes down, e.g. eu-west-1"),
    "operation": Param("operation", str, False, "only this operation, e.g. PutItem (default: every operation)"),
    "probability": Param("probability", float, False, "chance that a matching call fails, 0..1 (default 1)"),
    "ms": Param("ms", int, True, "milliseconds of latency"),
    "function": Param("function", str, False, "function name or ARN (default: every function)"),
    "qualifier": Param("qualifier", str, False, "only this version or alias"),
    "error_type": Param("error_type", str, False, "errorType of the failed invocation"),
    "error_message": Param("error_message", str, False, "errorMessage of the failed invocation"),
}


def _params(*keys: str) -> list[Param]:
    return [_P[k] for k in keys]


TEMPLATES: dict[str, Template] = {t.name: t for t in [
    Template("service-outage", "every call to a service fails with 503 ServiceUnavailable",
             _params("service", "region", "operation", "probability"), _service_outage),
    Template("throttling", "calls to a service are throttled with its own error (DynamoDB "
             "ProvisionedThroughputExceededException 400, SQS ThrottlingException 400, Lambda "
             "TooManyRequestsException 429, ...)", _params("service", "region", "operation", "probability"),
             _throttling),
    Template("region-outage", "every call to every service in a region fails with 503",
             _params("region!", "probability"), _region_outage),
    Template("latency", "adds latency to every AWS request (network effect)", _params("ms"), _latency),
    Template("lambda-errors", "invocations fail with an error; the handler does not run",
             _params("function", "qualifier", "region", "probability", "error_type", "error_message"), _lambda_errors),
    Template("lambda-latency", "adds latency to every invocation",
             _params("ms", "function", "qualifier", "region", "probability"), _lambda_latency),
    Template("lambda-cold-start", "adds start-up latency to cold starts only",
             _params("ms", "function", "qualifier", "region", "probability"), _lambda_cold_start),
    Template("lambda-timeout", "invocations hang until the function's timeout",
             _params("function", "qualifier", "region", "probability"), _lambda_timeout),
    Template("lambda-crash", "the runtime process dies during the invocation (Runtime.ExitError)",
             _params("function", "qualifier", "region", "probability"), _lambda_crash),
]}


def build_template(name: str, *, cli_names: bool = False, **params) -> FaultPlan:
    """The rules of a named template; FaultError for an unknown template or a missing/unknown parameter.

    `cli_names`: name parameters in messages as the CLI's options (`--error-type`) instead of `error_type`.
    """
    template = TEMPLATES.get(name)
    if template is None:
        raise FaultError(f"unknown fault template {name!r}; templates: {', '.join(TEMPLATES)}")

    def show(key: str) -> str:
        return f"--{key.replace('_', '-')}" if cli_names else key

    given = {k: v for k, v in params.items() if v is not None}
    allowed = {p.name: p for p in template.params}
    unknown = [k for k in given if k not in allowed]
    if unknown:
        takes = ", ".join(show(p.name) for p in template.params)
        raise FaultError(f"template {name!r} takes {takes}; not {', '.join(show(k) for k in unknown)}")
    missing = [p.name for p in template.params if p.required and p.name not in given]
    if missing:
        raise FaultError(f"template {name!r} needs {' and '.join(show(k) for k in missing)}")
    for key, value in list(given.items()):
        kind = allowed[key].kind
        if kind in (int, float) and isinstance(value, str):
            try:
                given[key] = kind(value)
            except ValueError:
                raise FaultError(f"template {name!r}: {show(key)} must be a number, got {value!r}") from None
    return template.build(**given)


