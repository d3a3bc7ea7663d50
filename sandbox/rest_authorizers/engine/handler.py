"""The authorization step of a REST API invocation (LocalStack's `preprocess_request`, after routing): CUSTOM
methods call their Lambda authorizer (TOKEN or REQUEST) with API Gateway's result cache (authorizerResultTtlInSeconds,
keyed by the identity source: a cached policy is applied to whichever method is called, as on AWS); AWS_IAM methods
need a SigV4-signed request. COGNITO_USER_POOLS cannot be served (no Cognito in the community edition): 500."""

from __future__ import annotations

import json
import logging
import re
import threading
import time

from sandbox.rest_authorizers import policy

LOG = logging.getLogger(__name__)
LAMBDA_URI = re.compile(r"^arn:[^:]+:apigateway:[^:]*:lambda:path/[^/]+/functions/(?P<fn>.+)/invocations$")
_cache: dict[tuple, tuple[float, dict]] = {}
_lock = threading.Lock()


def reset() -> None:
    with _lock:
        _cache.clear()


def _errors():
    from localstack.services.apigateway.next_gen.execute_api import gateway_response as g

    return g


def authorize(chain, context, response) -> None:
    method = context.resource_method or {}
    kind = (method.get("authorizationType") or "NONE").upper()
    if kind == "NONE":
        return
    g = _errors()
    request = context.invocation_request
    if kind == "AWS_IAM":
        auth = request["headers"].get("Authorization") or ""
        if not auth.startswith("AWS4-HMAC-SHA256 ") and "X-Amz-Signature" not in request["query_string_parameters"]:
            raise g.MissingAuthTokenError("Missing Authentication Token")
        return
    authorizer = (context.deployment.rest_api.authorizers or {}).get(method.get("authorizerId"))
    if authorizer is None:
        raise g.AuthorizerConfigurationError(f"authorizer {method.get('authorizerId')} does not exist")
    if kind == "COGNITO_USER_POOLS" or authorizer.get("type") == "COGNITO_USER_POOLS":
        LOG.warning("REST API %s: COGNITO_USER_POOLS authorizers cannot be served (no Cognito in LocalStack's "
                    "community edition)", context.api_id)
        raise g.AuthorizerConfigurationError()
    arn = policy.method_arn(context.region, context.account_id, context.api_id, context.stage,
                            request["http_method"], request.get("path") or "/")
    try:
        context.context_variables["authorizer"] = _call(context, authorizer, arn)
    except policy.Unauthorized as e:
        LOG.info("REST API %s %s: 401 (%s)", context.api_id, arn, e)
        raise g.UnauthorizedError("Unauthorized") from None
    except policy.Denied as e:
        LOG.info("REST API %s %s: 403 (%s)", context.api_id, arn, e)
        raise g.AccessDeniedError(str(e)) from None


def _call(context, authorizer: dict, arn: str) -> dict:
    request = context.invocation_request
    headers = dict(request["headers"].items())
    query = dict(request.get("query_string_parameters") or {})
    stage_vars = dict(context.stage_variables or {})
    sources = authorizer.get("identitySource") or ("method.request.header.Authorization"
                                                   if authorizer.get("type") == "TOKEN" else "")
    values = policy.identity_values(sources, headers, query, stage_vars, dict(context.context_variables or {}))
    if authorizer.get("type") == "TOKEN":
        policy.check_token(values[0], authorizer.get("identityValidationExpression"))
        event = {"type": "TOKEN", "authorizationToken": values[0], "methodArn": arn}
    else:
        event = {"type": "REQUEST", "methodArn": arn, "resource": context.resource["path"],
                 "path": request.get("path"), "httpMethod": request["http_method"], "headers": headers,
                 "multiValueHeaders": {k: request["headers"].getlist(k) for k in headers},
                 "queryStringParameters": query,
                 "multiValueQueryStringParameters": request.get("multi_value_query_string_parameters") or {},
                 "pathParameters": request.get("path_parameters") or {}, "stageVariables": stage_vars,
                 "requestContext": dict(context.context_variables or {})}
    ttl = int(authorizer.get("authorizerResultTtlInSeconds", 300) or 0)
    key = (context.api_id, authorizer.get("id"), tuple(values)) if ttl and values else None
    answer = None
    if key is not None:
        with _lock:
            cached = _cache.get(key)
        if cached and cached[0] > time.monotonic():
            answer = cached[1]
    latency_ms = 0  # a cached answer took no time
    if answer is None:
        started = time.perf_counter()
        answer = _invoke(context, authorizer, event, arn)
        latency_ms = round((time.perf_counter() - started) * 1000)
        if key is not None:
            with _lock:
                _cache[key] = (time.monotonic() + ttl, answer)
    try:
        return {**policy.evaluate(answer, arn), "integrationLatency": latency_ms}
    except ValueError as e:
        LOG.warning("REST API %s: authorizer %s answered without a usable policy: %s", context.api_id,
                    authorizer.get("name"), e)
        raise _errors().AuthorizerConfigurationError() from None


def _invoke(context, authorizer: dict, event: dict, arn: str) -> dict:
    from localstack.aws.connect import connect_to

    uri = authorizer.get("authorizerUri") or ""
    m = LAMBDA_URI.match(uri)
    function = m["fn"] if m else uri
    region = function.split(":")[3] if function.startswith("arn:") else context.region
    client = connect_to(region_name=region, aws_access_key_id=context.account_id).lambda_.request_metadata(
        service_principal="apigateway", source_arn=arn)
    result = client.invoke(FunctionName=function, Payload=json.dumps(event).encode())
    body = result["Payload"].read() if result.get("Payload") else b""
    if result.get("FunctionError"):
        try:
            message = json.loads(body).get("errorMessage")
        except (ValueError, AttributeError):
            message = None
        if message == "Unauthorized":  # the documented way for an authorizer to answer 401
            raise policy.Unauthorized("the authorizer raised 'Unauthorized'")
        LOG.warning("REST API %s: authorizer %s failed: %s", context.api_id, authorizer.get("name"), body[:300])
        raise _errors().AuthorizerConfigurationError()
    try:
        return json.loads(body or b"null")
    except ValueError:
        raise _errors().AuthorizerConfigurationError() from None
