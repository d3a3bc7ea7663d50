"""A REST API's gateway responses shape API Gateway's own error answers: their status, headers and body.

Public SAM apps declare them to give a browser its CORS headers on an authorizer's 401 or a missing key's 403
(`GatewayResponses: DEFAULT_4XX: ResponseParameters: Headers: Access-Control-Allow-Origin: "'*'"`), or a JSON body of
their own. LocalStack 2026.3.0 applied none of that:

* `localstack/services/apigateway/helpers.py` `import_api_from_openapi_spec` never reads the OpenAPI extension
  `x-amazon-apigateway-gateway-responses` (it only names it, `OpenAPIExt.GATEWAY_RESPONSES`): SAM writes its
  GatewayResponses there, so they were lost at import. Here the spec's responses become the API's, as if put by
  PutGatewayResponse; a type an earlier spec declared and the new one does not is dropped (a SAM update that
  removes one), those put otherwise stay.
* `next_gen/execute_api/handlers/gateway_exception.py` `GatewayExceptionHandler.create_exception_response` takes a
  configured response's status code only ("TODO apply responseParameters", "TODO apply responseTemplates"), for
  responses put by PutGatewayResponse or `AWS::ApiGateway::GatewayResponse` too. Here the answer is built as API
  Gateway builds it: `gatewayresponse.header.<name>` parameters from a quoted literal ('*'), a request header, query
  string or path parameter (`method.request.header.Origin`), a stage variable or a context variable; the body from
  the response's template for application/json (else its first), where `$context.error.message`,
  `$context.error.messageString` (the message quoted as JSON), `$context.error.responseType`, other `$context.*`
  variables and `$stageVariables.*` are substituted (API Gateway does not run Velocity on these templates; neither
  does this). A type the API did not configure falls back to its DEFAULT_4XX or DEFAULT_5XX; without either,
  LocalStack's answer is left as it was.
"""

from __future__ import annotations

import json
import re

TARGET = ("localstack.services.apigateway.legacy.provider",
          "localstack.services.apigateway.next_gen.execute_api.handlers.gateway_exception")
EXTENSION = "x-amazon-apigateway-gateway-responses"
HEADER_PREFIX = "gatewayresponse.header."
DEFAULT_TEMPLATE = '{"message":$context.error.messageString}'  # API Gateway's, for every type
# (account, region, API id) -> the response types its last imported spec declared: a new spec without one drops it;
# responses put otherwise (PutGatewayResponse, AWS::ApiGateway::GatewayResponse) stay
_IMPORTED: dict[tuple[str, str, str], set[str]] = {}
# $context.error.messageString, ${context.requestId}, $stageVariables.name
_VARIABLE = re.compile(r"\$(?:\{((?:context|stageVariables)(?:\.[A-Za-z0-9_-]+)+)\}|"
                       r"((?:context|stageVariables)(?:\.[A-Za-z0-9_]+)+))")


def imported(spec, known=None) -> dict[str, dict] | None:
    """The gateway responses an OpenAPI document declares, as PutGatewayResponse stores them (of the `known` types,
    when given); None when it declares none."""
    declared = spec.get(EXTENSION) if isinstance(spec, dict) else None
    if not isinstance(declared, dict):
        return None
    out = {}
    for response_type, body in declared.items():
        if known is not None and response_type not in known:
            continue  # API Gateway's importer ignores it too (SAM refuses it before)
        body = body if isinstance(body, dict) else {}
        status = body.get("statusCode")
        out[str(response_type)] = {
            "responseType": str(response_type),
            "statusCode": str(status) if status not in (None, "") else None,
            "responseParameters": {str(k): str(v) for k, v in (body.get("responseParameters") or {}).items()},
            "responseTemplates": {str(k): str(v) for k, v in (body.get("responseTemplates") or {}).items()},
            "defaultResponse": False,
        }
    return out


def _lookup(path: str, request: dict, stage_variables: dict, context_variables: dict) -> str | None:
    """A mapping expression's value (`method.request.header.Origin`, `stageVariables.x`, `context.requestId`)."""
    if path.startswith("method.request."):
        source, _, name = path[len("method.request."):].partition(".")
        if source == "header":
            headers = request.get("headers")
            return headers.get(name) if headers is not None else None
        if source == "querystring":
            return (request.get("query_string_parameters") or {}).get(name)
        if source == "path":
            return (request.get("path_parameters") or {}).get(name)
        return None
    if path.startswith("stageVariables."):
        return (stage_variables or {}).get(path[len("stageVariables."):])
    if path.startswith("context."):
        value = context_variables
        for part in path[len("context."):].split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value if isinstance(value, (str, int, float)) and not isinstance(value, bool) else None
    return None


def headers_of(parameters: dict, request: dict, stage_variables: dict, context_variables: dict) -> dict[str, str]:
    out = {}
    for key, expression in parameters.items():
        if not key.startswith(HEADER_PREFIX):
            continue
        expression = expression.strip()
        if len(expression) >= 2 and expression[0] == expression[-1] == "'":
            value = expression[1:-1]
        else:
            value = _lookup(expression, request, stage_variables, context_variables)
        if value is not None:
            out[key[len(HEADER_PREFIX):]] = str(value)
    return out


def body_of(template: str, error: dict, stage_variables: dict, context_variables: dict) -> str:
    def put(match: re.Match) -> str:
        path = match.group(1) or match.group(2)
        if path.startswith("context.error."):
            value = error.get(path[len("context.error."):])
        else:
            value = _lookup(path, {}, stage_variables, context_variables)
        return "" if value is None else str(value)

    return _VARIABLE.sub(put, template)


def _template(templates: dict) -> tuple[str, str]:
    """(content type, template): the one for application/json, else the first; API Gateway's default without any."""
    for content_type, template in templates.items():
        if content_type.lower() == "application/json":
            return content_type, template
    return next(iter(templates.items()), ("application/json", DEFAULT_TEMPLATE))


def apply(target: str) -> None:
    if target.endswith("legacy.provider"):
        _apply_import()
    else:
        _apply_answers()


def _apply_import() -> None:
    from localstack.aws.api.apigateway import GatewayResponseType
    from localstack.services.apigateway import helpers
    from localstack.services.apigateway.legacy import provider

    known = {member.value for member in GatewayResponseType}

    original = provider.import_api_from_openapi_spec

    def import_api_from_openapi_spec(rest_api, context, open_api_spec, mode):
        result = original(rest_api, context, open_api_spec, mode)
        container = helpers.get_apigateway_store(context=context).rest_apis.get(result[0].id)
        if container is not None:
            key = (context.account_id, context.region, result[0].id)
            for response_type in _IMPORTED.pop(key, ()):  # a spec's own, dropped from the new spec
                container.gateway_responses.pop(response_type, None)
            declared = imported(open_api_spec, known)
            if declared:
                container.gateway_responses.update(declared)
                _IMPORTED[key] = set(declared)
        return result

    provider.import_api_from_openapi_spec = import_api_from_openapi_spec


def _apply_answers() -> None:
    from rolo import Response
    from werkzeug.datastructures import Headers

    from localstack.services.apigateway.next_gen.execute_api.gateway_response import AccessDeniedError
    from localstack.services.apigateway.next_gen.execute_api.handlers.gateway_exception import (
        GatewayExceptionHandler,
    )

    original = GatewayExceptionHandler.create_exception_response

    def create_exception_response(self, exception, context):
        configured = _configured(exception, context)
        if configured is None:
            return original(self, exception, context)
        request = context.invocation_request or {}
        stage_variables = context.stage_variables or {}
        variables = dict(context.context_variables or {})
        message = exception.message
        error = {"message": message, "messageString": json.dumps(message),
                 "responseType": str(getattr(exception.type, "value", exception.type)), "validationErrorString": ""}
        variables["error"] = error
        content_type, template = _template(configured.get("responseTemplates") or {})
        if template.strip() == DEFAULT_TEMPLATE and isinstance(exception, AccessDeniedError):
            # as LocalStack answers (gateway_exception.py): API Gateway capitalizes this one's key
            body = json.dumps({"Message": message}, separators=(",", ":"))
        else:
            body = body_of(template, error, stage_variables, variables)
        headers = Headers({"Content-Type": content_type, "x-amzn-ErrorType": exception.code})
        for name, value in headers_of(configured.get("responseParameters") or {}, request, stage_variables,
                                      variables).items():
            headers[name] = value
        status = configured.get("statusCode")
        return Response(response=body, headers=headers,
                        status=int(status) if str(status).isdigit() else int(exception.status_code or 500))

    GatewayExceptionHandler.create_exception_response = create_exception_response


def _configured(exception, context) -> dict | None:
    """The API's own gateway response for the exception's type, else its DEFAULT_5XX or DEFAULT_4XX by the type's
    status; None when the API configured none that applies (LocalStack's answer then, as before)."""
    from localstack.services.apigateway.next_gen.execute_api.gateway_response import GatewayResponseCode

    deployment = getattr(context, "deployment", None)
    responses = getattr(getattr(deployment, "rest_api", None), "gateway_responses", None)
    if not responses or exception.type is None:
        return None
    if exception.type in responses:
        return responses[exception.type]
    code = GatewayResponseCode[exception.type]
    if code == "":
        return None
    return responses.get("DEFAULT_5XX" if code >= "500" else "DEFAULT_4XX")
