"""Invokes an HTTP API: the stage, the route, the authorizer, the integration, CORS - on LocalStack's execute-api
routes (`/_aws/execute-api/<id>/<stage>/...`, `<id>.execute-api.<host>/...`; with a `$default` stage the path has
no stage segment)."""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import uuid

from localstack.http import Request, Response

from sandbox.http_api import access, mapping, payloads, routes
from sandbox.http_api.payloads import Incoming, Outgoing
from sandbox.localstack_ext.deadlines import DeadlineExceeded, call_within

LOG = logging.getLogger(__name__)
EXECUTE_API_PREFIX = "/_aws/execute-api/"
LAMBDA_URI = re.compile(r"^arn:[^:]+:apigateway:[^:]*:lambda:path/[^/]+/functions/(?P<fn>.+)/invocations$")
ENVIRON_KEY = "sandbox.http_api"  # what the recorder reads to describe the span (observability/engine/gateway.py)


def _json(status: int, message: str, extra: list[tuple[str, str]] = ()) -> Outgoing:
    return Outgoing(status, [("content-type", "application/json"), *extra],
                    json.dumps({"message": message}).encode())


NOT_FOUND_MESSAGE = "Not Found"
DEFAULT_TIMEOUT_MS = 30_000  # an HTTP API integration's timeout unless set (TimeoutInMillis)
SERVICE_UNAVAILABLE = Outgoing(503, [("content-type", "application/json")], b'{"message":"Service Unavailable"}')


def find_api(api_id: str):
    """(account, region, moto Api) of an HTTP API id in any account and region, or None."""
    from moto.apigatewayv2.models import apigatewayv2_backends

    for account, regions in list(apigatewayv2_backends.items()):
        for region, backend in list(regions.items()):
            api = backend.apis.get(api_id)
            if api is not None and api.protocol_type == "HTTP":
                return account, region, api
    return None


def _rest_of_path(request: Request, api_id: str) -> str:
    path = request.path
    if path.startswith(EXECUTE_API_PREFIX):
        path = path[len(EXECUTE_API_PREFIX):]
        path = path[len(api_id):] if path.lower().startswith(api_id) else path.split("/", 1)[-1]
    return "/" + path.lstrip("/")


def _stage_of(api, rest: str) -> tuple[str, str] | None:
    """(stage, path the routes see) for a request path, or None when no stage serves it."""
    first = rest.lstrip("/").split("/", 1)[0]
    if first and first != "$default" and first in api.stages:
        return first, "/" + rest.lstrip("/")[len(first):].lstrip("/")
    if "$default" in api.stages:
        return "$default", rest
    return None


def handle(request: Request, api_id: str) -> Response | None:
    """The HTTP API's answer, or None when `api_id` is no HTTP API (LocalStack then answers)."""
    found = find_api(api_id)
    if found is None:
        return None
    account, region, api = found
    rest = _rest_of_path(request, api_id)
    located = _stage_of(api, rest)
    request_id = str(uuid.uuid4())[:18].replace("-", "") + "="
    if located is None:
        return _to_response(_json(404, NOT_FOUND_MESSAGE), request_id)
    stage_name, route_path = located
    stage = api.stages[stage_name]
    incoming = Incoming(
        method=request.method, path=route_path, raw_path=rest, query=request.query_string.decode("latin-1"),
        headers=[(k, v) for k, v in request.headers.items()], body=request.get_data(cache=True), api_id=api.api_id,
        stage=stage_name, account=account, region=region, request_id=request_id,
        source_ip=request.remote_addr or "127.0.0.1", domain=f"{api.api_id}.execute-api.localhost")
    request.environ[ENVIRON_KEY] = {"stage": stage_name, "path": route_path, "account": account, "region": region}
    try:
        out, route_key, integrated = _serve(api, stage, incoming)
    except Exception:  # noqa: BLE001 - a bug here must answer like API Gateway, not crash the request
        LOG.exception("HTTP API %s: the request failed", api.api_id)
        out, route_key, integrated = payloads.INTERNAL_ERROR, None, False
    # what the recorder's span says, and the cost meter reads: API Gateway bills what reached an integration
    request.environ[ENVIRON_KEY].update(route_key=route_key, integration=integrated)
    if api.cors_configuration and not any(k.lower() == "access-control-allow-origin" for k, _ in out.headers):
        # a new answer: `out` may be a shared one (payloads.INTERNAL_ERROR, SERVICE_UNAVAILABLE), whose headers a
        # `+=` changed for every later request of any API (one API's allowed origin in another's 500s)
        out = dataclasses.replace(out, headers=[*out.headers,
                                                *access.cors_response_headers(_cors(api), incoming.header("origin"))])
    return _to_response(out, request_id)


def _cors(api) -> dict:
    cors = api.cors_configuration or {}
    return {k[:1].upper() + k[1:]: v for k, v in cors.items()}


def _to_response(out: Outgoing, request_id: str) -> Response:
    response = Response(out.body, status=out.status)
    response.headers.clear()
    for k, v in out.headers:
        response.headers.add(k, v)
    response.headers["apigw-requestid"] = request_id
    return response


def _serve(api, stage, req: Incoming) -> tuple[Outgoing, str | None, bool]:
    """The answer, the route it took and whether the request was handed to an integration."""
    cors = _cors(api)
    if cors and req.method == "OPTIONS" and req.header("origin") and req.header("access-control-request-method"):
        granted = access.cors_preflight(cors, req.header("origin"), req.header("access-control-request-method"),
                                        req.header("access-control-request-headers"))
        return Outgoing(204, granted, b""), None, False
    by_key = {r.route_key: r for r in api.routes.values()}
    selected = routes.select(list(by_key), req.method, req.path)
    if selected is None:
        return _json(404, NOT_FOUND_MESSAGE), None, False
    route_key, path_params = selected
    route = by_key[route_key]
    stage_vars = dict(stage.stage_variables or {})
    try:
        authorizer = _authorize(api, route, req, route_key, path_params, stage_vars)
    except access.Unauthorized as e:
        LOG.info("HTTP API %s %s: 401 (%s)", api.api_id, route_key, e)
        extra = [("www-authenticate", f'Bearer error="invalid_token" error_description="{e}"')] \
            if route.authorization_type == "JWT" else []
        return _json(401, "Unauthorized", extra), route_key, False
    except access.Forbidden as e:
        LOG.info("HTTP API %s %s: 403 (%s)", api.api_id, route_key, e)
        return _json(403, "Forbidden"), route_key, False
    target = route.target or ""
    integration = api.integrations.get(target.split("/", 1)[1]) if target.startswith("integrations/") else None
    if integration is None:
        return _json(404, NOT_FOUND_MESSAGE), route_key, False
    return _integrate(api, integration, req, route_key, path_params, stage_vars, authorizer), route_key, True


def _source_arn(req: Incoming, route_key: str) -> str:
    method, _, path = route_key.partition(" ")
    tail = f"{method}{path}" if path else route_key
    return f"arn:aws:execute-api:{req.region}:{req.account}:{req.api_id}/{req.stage}/{tail}"


def _invoke(function_uri: str, payload: dict, req: Incoming, route_key: str) -> tuple[bytes, bool]:
    from localstack.aws.connect import connect_to

    uri = function_uri
    m = LAMBDA_URI.match(uri)
    function = m["fn"] if m else uri
    region = function.split(":")[3] if function.startswith("arn:") else req.region
    client = connect_to(region_name=region, aws_access_key_id=req.account).lambda_.request_metadata(
        service_principal="apigateway", source_arn=_source_arn(req, route_key))
    result = client.invoke(FunctionName=function, Payload=json.dumps(payload).encode(),
                           InvocationType="RequestResponse")
    body = result["Payload"].read() if result.get("Payload") else b""
    return body, bool(result.get("FunctionError"))


def _identity(authorizer, req: Incoming, path_params: dict, stage_vars: dict) -> list[str]:
    values = []
    for source in authorizer.identity_source or []:
        value = mapping.resolve(source, req, path_params, stage_vars, {"requestId": req.request_id})
        if not value:
            raise access.Unauthorized(f"identity source {source} is missing")
        values.append(value)
    return values


def _authorize(api, route, req: Incoming, route_key: str, path_params: dict, stage_vars: dict) -> dict | None:
    kind = (route.authorization_type or "NONE").upper()
    if kind == "NONE":
        return None
    if kind == "AWS_IAM":
        return {"iam": access.check_sigv4(req.header("authorization"), dict(req.query_pairs), req.account)}
    authorizer = api.authorizers.get(route.authorizer_id)
    if authorizer is None:
        raise access.Forbidden(f"route {route_key} names authorizer {route.authorizer_id}, which does not exist")
    if kind == "JWT":
        jwt = authorizer.jwt_config or {}
        token = (_identity(authorizer, req, path_params, stage_vars) or [None])[0]
        return {"jwt": access.check_jwt(token, jwt.get("Issuer") or jwt.get("issuer"),
                                        list(jwt.get("Audience") or jwt.get("audience") or []),
                                        list(route.authorization_scopes or [])),
                "principalId": "", "integrationLatency": 0}
    identity = _identity(authorizer, req, path_params, stage_vars)
    version = str(authorizer.auth_payload_format_version or "2.0")
    if version == "2.0":
        event = payloads.event_v2(req, route_key, path_params, stage_vars, None)
        event.update({"type": "REQUEST", "routeArn": _source_arn(req, route_key), "identitySource": identity})
    else:
        event = payloads.event_v1(req, route_key, path_params, stage_vars, None)
        event.update({"type": "REQUEST", "methodArn": _source_arn(req, route_key),
                      "identitySource": ",".join(identity), "authorizationToken": identity[0] if identity else None})
    body, failed = _invoke(mapping.substitute_stage_variables(authorizer.authorizer_uri, stage_vars), event, req,
                           route_key)
    if failed:
        raise RuntimeError(f"authorizer {authorizer.name} failed: {body[:300]!r}")
    answer = json.loads(body or b"null")
    if version == "2.0" and authorizer.enable_simple_response:
        if not isinstance(answer, dict) or not answer.get("isAuthorized"):
            raise access.Forbidden(f"authorizer {authorizer.name} said no")
        return {"lambda": answer.get("context") or {}}
    statements = ((answer or {}).get("policyDocument") or {}).get("Statement") or []
    statements = statements if isinstance(statements, list) else [statements]
    if any(str(s.get("Effect")).lower() == "deny" for s in statements) or \
            not any(str(s.get("Effect")).lower() == "allow" for s in statements):
        raise access.Forbidden(f"authorizer {authorizer.name}'s policy does not allow the request")
    return {"lambda": answer.get("context") or {}, "principalId": answer.get("principalId")}


def _integrate(api, integration, req: Incoming, route_key: str, path_params: dict, stage_vars: dict,
               authorizer: dict | None) -> Outgoing:
    kind = (integration.integration_type or "").upper()
    if kind == "AWS_PROXY" and integration.integration_subtype:
        return _service_integration(integration, req, path_params, stage_vars)
    if kind == "AWS_PROXY":
        version = str(integration.payload_format_version or "2.0")
        build = payloads.event_v2 if version == "2.0" else payloads.event_v1
        event = build(req, route_key, path_params, stage_vars, authorizer)
        uri = mapping.substitute_stage_variables(integration.integration_uri, stage_vars)
        try:  # API Gateway stops waiting at the integration's timeout (30 s unless set); the function runs on
            body, failed = call_within((integration.timeout_in_millis or DEFAULT_TIMEOUT_MS) / 1000, _invoke, uri,
                                       event, req, route_key)
        except DeadlineExceeded:
            LOG.info("HTTP API %s %s: no answer from the function within the integration's timeout", api.api_id,
                     route_key)
            return SERVICE_UNAVAILABLE
        if failed:
            LOG.info("HTTP API %s %s: the function failed: %s", api.api_id, route_key, body[:500])
            return payloads.INTERNAL_ERROR
        return payloads.response_v2(body) if version == "2.0" else payloads.response_v1(body)
    LOG.warning("HTTP API %s %s: integration type %s is not supported by the sandbox (offline: no HTTP_PROXY to "
                "the internet)", api.api_id, route_key, kind)
    return _json(500, f"Internal Server Error (the sandbox cannot run {kind} integrations)")


def _service_integration(integration, req: Incoming, path_params: dict, stage_vars: dict) -> Outgoing:
    from botocore.exceptions import ClientError, ParamValidationError
    from localstack.aws.connect import connect_to

    context = {"requestId": req.request_id, "stage": req.stage, "apiId": req.api_id}
    try:
        service, operation, args = mapping.service_call(integration.integration_subtype,
                                                        integration.request_parameters or {}, req, path_params,
                                                        stage_vars, context)
    except mapping.MappingError as e:
        LOG.info("HTTP API %s: %s", req.api_id, e)
        return _json(400, str(e))
    factory = connect_to(region_name=req.region, aws_access_key_id=req.account)
    client = getattr(factory, service)
    method = re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()
    try:
        result = getattr(client, method)(**args)
    except ClientError as e:
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 400
        return _json(status, e.response.get("Error", {}).get("Message") or str(e))
    except ParamValidationError as e:
        return _json(400, f"{integration.integration_subtype}: {e}")
    return Outgoing(200, [("content-type", "application/json")],
                    json.dumps(_as_aws_answers(service, operation, result), default=_epoch).encode())


def _epoch(value):
    """Timestamps as the services' JSON protocols write them: epoch seconds."""
    return value.timestamp() if hasattr(value, "timestamp") else str(value)


def _as_aws_answers(service: str, operation: str, result: dict) -> dict:
    """The body API Gateway passes back: the service's own JSON answer (SQS: its query-API JSON envelope)."""
    meta = result.pop("ResponseMetadata", {}) or {}
    if service == "sqs":
        fields = ("MD5OfMessageAttributes", "MD5OfMessageBody", "MD5OfMessageSystemAttributes", "MessageId",
                  "SequenceNumber")
        return {f"{operation}Response": {"ResponseMetadata": {"RequestId": meta.get("RequestId")},
                                         f"{operation}Result": {k: result.get(k) for k in fields}}}
    if service == "stepfunctions":
        return {k[:1].lower() + k[1:]: v for k, v in result.items()}
    return result
