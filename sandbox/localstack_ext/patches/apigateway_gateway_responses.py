"""A REST API's gateway responses shape API Gateway's own error answers: their status, headers and body.

Public SAM apps declare them to give a browser its CORS headers on an authorizer's 401 or a missing key's 403
(`GatewayResponses: DEFAULT_4XX: ResponseParameters: Headers: Access-Control-Allow-Origin: "'*'"`), or a JSON body of
their own. LocalStack 2026.3.0 applied none of that:

* `localstack/services/apigateway/helpers.py` `import_api_from_openapi_spec` never reads the OpenAPI extension
  `x-amazon-apigateway-gateway-responses` (it only names it, `OpenAPIExt.GATEWAY_RESPONSES`): SAM writes its
  GatewayResponses there, so they were lost at import. Here the spec's responses become the API's, as if put by
  PutGatewayResponse, after the checks API Gateway makes (a mapping expression it does not know, such as SAM's
  common slip `Access-Control-Allow-Origin: "*"` without the inner quotes, fails the import, as on AWS). A type an
  earlier spec declared and a new one does not is dropped (a SAM update that removes one), unless the new spec is
  put with `mode=merge`; a response put since by PutGatewayResponse stays.
* `next_gen/execute_api/handlers/gateway_exception.py` `GatewayExceptionHandler.create_exception_response` takes a
  configured response's status code only ("TODO apply responseParameters", "TODO apply responseTemplates"), for
  responses put by PutGatewayResponse or `AWS::ApiGateway::GatewayResponse` too. Here the answer is built as API
  Gateway builds it: `gatewayresponse.header.<name>` from a quoted literal, a request header, query string or path
  parameter, a stage or context variable (looked up by LocalStack's own ParametersMapper, as its integrations do);
  the body from the response's template for application/json (else its first), where `$context.error.message`,
  `$context.error.messageString` (the message quoted as JSON), `$context.error.responseType`, other `$context.*`
  variables and `$stageVariables.*` are substituted (API Gateway does not run Velocity on these templates; neither
  does this). A type the API did not configure falls back to its DEFAULT_4XX or DEFAULT_5XX; a DEFAULT_4XX/5XX
  status code applies to every response of its class without one of its own (AWS's documented rule); without any,
  LocalStack's answer is left as it was. Anything unexpected while building the answer gives LocalStack's answer
  (an exception handler that raises would leave an empty 200).
"""

from __future__ import annotations

import functools
import io
import json
import logging
import re

LOG = logging.getLogger(__name__)
TARGET = ("localstack.services.apigateway.legacy.provider",
          "localstack.services.apigateway.next_gen.provider",
          "localstack.services.apigateway.next_gen.execute_api.handlers.gateway_exception",
          "localstack.services.apigateway.resource_providers.aws_apigateway_restapi")
EXTENSION = "x-amazon-apigateway-gateway-responses"
HEADER_PREFIX = "gatewayresponse.header."
DEFAULT_TEMPLATE = '{"message":$context.error.messageString}'  # API Gateway's, for every type
# the response types the container's last imported spec declared (kept on the container: persisted with it, gone with
# the API): a new spec without one drops it
IMPORTED_ATTR = "sandbox_imported_gateway_responses"
_PARAMETER = re.compile(r"gatewayresponse\.(header|querystring|path)\.[^.\s]+")
_SOURCE = re.compile(r"'[^']*'|method\.request\.(header|querystring|path|multivalueheader|multivaluequerystring)\.[^.\s]+"
                     r"|stageVariables\.[A-Za-z0-9_]+|context(\.[A-Za-z0-9_]+)+")
_STATUS = re.compile(r"[1-5]\d\d")
# $context.error.messageString, ${context.requestId}, $stageVariables.name
_VARIABLE = re.compile(r"\$(?:\{((?:context|stageVariables)(?:\.[A-Za-z0-9_-]+)+)\}|"
                       r"((?:context|stageVariables)(?:\.[A-Za-z0-9_]+)+))")


class InvalidGatewayResponse(ValueError):
    """What API Gateway's import would refuse, in its words and with the fix."""


def imported(spec, known=None) -> dict[str, dict] | None:
    """The gateway responses an OpenAPI document declares, as PutGatewayResponse stores them (of the `known` types,
    when given: others are left out); None when it declares none. Raises InvalidGatewayResponse for what API
    Gateway refuses."""
    declared = spec.get(EXTENSION) if isinstance(spec, dict) else None
    if declared is None:
        return None
    if not isinstance(declared, dict):
        raise InvalidGatewayResponse(f"{EXTENSION} must be a map of response types to gateway responses")
    out = {}
    for response_type, body in declared.items():
        if known is not None and response_type not in known:
            continue
        if not isinstance(body, dict):
            raise InvalidGatewayResponse(f"gateway response {response_type} must be a map (statusCode, "
                                         "responseParameters, responseTemplates)")
        status = body.get("statusCode")
        parameters, templates = body.get("responseParameters") or {}, body.get("responseTemplates") or {}
        check(response_type, status, parameters, templates)
        out[str(response_type)] = {
            "responseType": str(response_type),
            "statusCode": str(status) if status not in (None, "") else None,
            "responseParameters": {str(k): v.strip() for k, v in parameters.items()},
            "responseTemplates": {str(k): str(v) for k, v in templates.items()},
            "defaultResponse": False,
        }
    return out


def check(response_type, status, parameters, templates) -> None:
    """Raises InvalidGatewayResponse for what API Gateway refuses in a gateway response (import or put)."""
    if status not in (None, "") and not _STATUS.fullmatch(str(status)):
        raise InvalidGatewayResponse(f"Invalid status code {status!r} in gateway response {response_type}: "
                                     "give a three-digit HTTP status from 100 to 599")
    if not isinstance(parameters, dict) or not isinstance(templates, dict):
        raise InvalidGatewayResponse(f"gateway response {response_type}: responseParameters and "
                                     "responseTemplates must be maps")
    for key, value in parameters.items():
        if not _PARAMETER.fullmatch(str(key)) or not isinstance(value, str) or not _SOURCE.fullmatch(value.strip()):
            raise InvalidGatewayResponse(
                f"Invalid mapping expression specified: Validation Result: warnings : [], errors : [Invalid "
                f"mapping expression specified: {value}] (gateway response {response_type}, {key}): a literal "
                f"value is quoted inside the string (\"'*'\"), a mapped one names its source "
                "(method.request.header.Origin, stageVariables.name, context.requestId)")


def headers_of(parameters: dict, request: dict, stage_variables: dict, context_variables: dict) -> dict[str, str]:
    """`gatewayresponse.header.*` of a response: request values looked up as LocalStack maps an integration's
    parameters (its ParametersMapper: the last of repeated values), a header name matched as written first, then in
    any case (HTTP/2 clients send them in lower case); a value a header cannot carry, or that cannot be found, is
    left out (the other headers still go)."""
    from localstack.services.apigateway.next_gen.execute_api.header_utils import build_multi_value_headers
    from localstack.services.apigateway.next_gen.execute_api.parameters_mapping import ParametersMapper

    mapper = ParametersMapper()
    headers = build_multi_value_headers(request["headers"]) if request.get("headers") is not None else {}
    request = {"path_parameters": {}, "multi_value_query_string_parameters": {}, **request}
    out = {}
    for key, expression in parameters.items():
        if not key.startswith(HEADER_PREFIX):
            continue
        try:
            value = _value_of(expression, mapper, request, headers, stage_variables, context_variables)
        except Exception:  # noqa: BLE001 - e.g. LocalStack's mapper on an absent multi-value query string
            LOG.debug("gateway response header %s: %s not found", key, expression, exc_info=True)
            continue
        if isinstance(value, list):
            value = ",".join(value)
        if value is None or value == "":
            continue
        value = str(value)
        if "\r" in value or "\n" in value or not value.isascii() and not _latin1(value):
            continue  # werkzeug refuses a line break in a header (an empty 200 followed); HTTP/1.1 carries latin-1
        out[key[len(HEADER_PREFIX):]] = value
    return out


def _value_of(expression: str, mapper, request: dict, headers: dict, stage_variables: dict, context_variables: dict):
    if expression.startswith("method.request."):
        source, _, name = expression[len("method.request."):].partition(".")
        value = mapper._retrieve_parameter_from_invocation_request(f"{source}.{name}", request, headers)
        if value is None and source in ("header", "multivalueheader"):
            found = next((v for k, v in headers.items() if k.lower() == name.lower()), None)
            value = (found[-1] if source == "header" else ",".join(found)) if found else None
        return value
    if expression.startswith("context."):
        return _context_value(context_variables, expression[len("context."):])
    return mapper._retrieve_parameter_from_variables_and_static(expression, context_variables, stage_variables)


def _context_value(context_variables: dict, path: str) -> str | None:
    """A context variable (`requestId`, `identity.sourceIp`, `requestTimeEpoch`) as text; None when absent or not a
    single value."""
    value = context_variables
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return None if value is None or isinstance(value, (dict, list)) else str(value)


def _latin1(value: str) -> bool:
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def body_of(template: str, error: dict, stage_variables: dict, context_variables: dict) -> str:
    """The template with `$context.error.*`, `$context.*` and `$stageVariables.*` substituted (unknown: empty)."""
    def put(match: re.Match) -> str:
        path = match.group(1) or match.group(2)
        if path.startswith("context.error."):
            value = error.get(path[len("context.error."):])
        elif path.startswith("stageVariables."):
            value = (stage_variables or {}).get(path[len("stageVariables."):])
        else:
            value = _context_value(context_variables, path[len("context."):])
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
    elif target.endswith("next_gen.provider"):
        _apply_put()
    elif target.endswith("aws_apigateway_restapi"):
        _apply_stack_create()
    else:
        _apply_answers()


def _apply_import() -> None:
    from localstack.aws.api.apigateway import BadRequestException, GatewayResponseType
    from localstack.services.apigateway import helpers
    from localstack.services.apigateway.legacy import provider
    from localstack.utils.json import parse_json_or_yaml

    known = {member.value for member in GatewayResponseType}
    original = provider.import_api_from_openapi_spec

    def refused_or_imported(spec) -> dict[str, dict] | None:
        try:
            return imported(spec, known)
        except InvalidGatewayResponse as e:
            raise BadRequestException(f"Errors found during import:\n\t{e}") from None

    def import_api_from_openapi_spec(rest_api, context, open_api_spec, mode):
        declared = refused_or_imported(open_api_spec)  # before the import: LocalStack's keeps what it changed
        result = original(rest_api, context, open_api_spec, mode)
        container = helpers.get_apigateway_store(context=context).rest_apis.get(result[0].id)
        if container is None:
            return result
        merge = str((context.service_request or {}).get("mode") or "").lower() == "merge"  # asked for, not defaulted
        before = container.__dict__.get(IMPORTED_ATTR) or set()
        if not merge:
            for response_type in before - set(declared or ()):
                container.gateway_responses.pop(response_type, None)
        container.gateway_responses.update(declared or {})
        container.__dict__[IMPORTED_ATTR] = (before if merge else set()) | set(declared or ())
        return result

    provider.import_api_from_openapi_spec = import_api_from_openapi_spec

    # ImportRestApi creates the API, then imports its definition: a definition refused then left an empty API behind
    import_rest_api = provider.ApigatewayProvider.import_rest_api

    @functools.wraps(import_rest_api)
    def checked_import_rest_api(self, context, body, *args, **kwargs):
        data = body.read() if hasattr(body, "read") else body
        try:
            spec = parse_json_or_yaml(data.decode() if isinstance(data, bytes) else str(data))
        except Exception:  # noqa: BLE001 - not parsable: LocalStack's own error, as before
            spec = None
        refused_or_imported(spec)
        return import_rest_api(self, context, io.BytesIO(data if isinstance(data, bytes) else str(data).encode()),
                               *args, **kwargs)

    provider.ApigatewayProvider.import_rest_api = checked_import_rest_api


def _apply_stack_create() -> None:
    """A stack's AWS::ApiGateway::RestApi is created, then its Body put: a Body refused (by the checks above, or
    LocalStack's own) left the created API behind, outside the stack (nothing recorded it to delete)."""
    from localstack.services.apigateway.resource_providers.aws_apigateway_restapi import ApiGatewayRestApiProvider

    create = ApiGatewayRestApiProvider.create

    def create_or_leave_nothing(self, request):
        try:
            return create(self, request)
        except Exception:
            api_id = (request.desired_state or {}).get("RestApiId")
            if api_id:
                try:
                    request.aws_client_factory.apigateway.delete_rest_api(restApiId=api_id)
                except Exception:  # noqa: BLE001 - the first error is the one to report
                    LOG.warning("could not delete REST API %s after its failed create", api_id)
            raise

    ApiGatewayRestApiProvider.create = create_or_leave_nothing


def _apply_put() -> None:
    """PutGatewayResponse and UpdateGatewayResponse refuse what API Gateway refuses (LocalStack stored a status code
    99 and answered `HTTP/1.1 99 UNKNOWN`, which clients cannot read). A response put, updated or deleted through the
    API is the API's own from then on: a later spec does not drop it."""
    import copy

    from localstack.aws.api.apigateway import BadRequestException
    from localstack.services.apigateway.helpers import get_apigateway_store
    from localstack.services.apigateway.next_gen.provider import ApigatewayNextGenProvider

    def checked(name: str):
        original = getattr(ApigatewayNextGenProvider, name)

        @functools.wraps(original)
        def wrapper(self, context, rest_api_id, response_type, *args, **kwargs):
            container = get_apigateway_store(context=context).rest_apis.get(rest_api_id)
            if name == "put_gateway_response":
                _refuse_invalid(response_type, kwargs.get("status_code"), kwargs.get("response_parameters"),
                                kwargs.get("response_templates"), BadRequestException)
            before = copy.deepcopy(container.gateway_responses.get(response_type)) if container else None
            result = original(self, context, rest_api_id, response_type, *args, **kwargs)
            if container is not None and name == "update_gateway_response":
                stored = container.gateway_responses.get(response_type) or {}
                try:
                    _refuse_invalid(response_type, stored.get("statusCode"), stored.get("responseParameters"),
                                    stored.get("responseTemplates"), BadRequestException)
                except BadRequestException:
                    if before is None:
                        container.gateway_responses.pop(response_type, None)
                    else:
                        container.gateway_responses[response_type] = before
                    raise
            if container is not None:
                (container.__dict__.get(IMPORTED_ATTR) or set()).discard(response_type)
            return result

        setattr(ApigatewayNextGenProvider, name, wrapper)

    for operation in ("put_gateway_response", "update_gateway_response", "delete_gateway_response"):
        checked(operation)


def _refuse_invalid(response_type, status, parameters, templates, error: type) -> None:
    try:
        check(response_type, status, parameters or {}, templates or {})
    except InvalidGatewayResponse as e:
        raise error(str(e)) from None


def _apply_answers() -> None:
    from rolo import Response
    from werkzeug.datastructures import Headers

    from localstack.services.apigateway.next_gen.execute_api.gateway_response import AccessDeniedError
    from localstack.services.apigateway.next_gen.execute_api.handlers.gateway_exception import (
        GatewayExceptionHandler,
    )

    original = GatewayExceptionHandler.create_exception_response

    def create_exception_response(self, exception, context):
        try:
            found = _configured(exception, context)
            if found is None:
                return original(self, exception, context)
            configured, status = found
            stage_variables = context.stage_variables or {}
            variables = dict(context.context_variables or {})
            message = exception.message
            error = {"message": message, "messageString": json.dumps(message),
                     "responseType": str(getattr(exception.type, "value", exception.type)),
                     "validationErrorString": ""}
            variables["error"] = error
            content_type, template = _template(configured.get("responseTemplates") or {})
            if template.strip() == DEFAULT_TEMPLATE and isinstance(exception, AccessDeniedError):
                # as LocalStack answers (gateway_exception.py): API Gateway capitalizes this one's key
                body = json.dumps({"Message": message}, separators=(",", ":"))
            else:
                body = body_of(template, error, stage_variables, variables)
            headers = Headers({"Content-Type": content_type, "x-amzn-ErrorType": exception.code})
            for name, value in headers_of(configured.get("responseParameters") or {},
                                          context.invocation_request or {}, stage_variables, variables).items():
                headers[name] = value
            return Response(response=body, headers=headers, status=int(status or exception.status_code or 500))
        except Exception:  # noqa: BLE001 - raised here, the client would get an empty 200
            LOG.exception("could not apply the API's gateway response; answering API Gateway's default")
            return original(self, exception, context)

    GatewayExceptionHandler.create_exception_response = create_exception_response


def _configured(exception, context) -> tuple[dict, str | None] | None:
    """(the API's own gateway response for the exception's type, else its DEFAULT_5XX or DEFAULT_4XX by the type's
    class; the status code: the response's own, else its class's DEFAULT's); None when the API configured none that
    applies (LocalStack's answer then, as before)."""
    from localstack.services.apigateway.next_gen.execute_api.gateway_response import GatewayResponseCode

    deployment = getattr(context, "deployment", None)
    responses = getattr(getattr(deployment, "rest_api", None), "gateway_responses", None)
    if not responses or exception.type is None:
        return None
    code = GatewayResponseCode[exception.type]
    if code == "":  # DEFAULT_4XX or DEFAULT_5XX itself
        own = responses.get(exception.type)
        return (own, own.get("statusCode")) if own else None
    fallback = responses.get("DEFAULT_5XX" if code >= "500" else "DEFAULT_4XX")
    chosen = responses.get(exception.type) or fallback
    if chosen is None:
        return None
    return chosen, chosen.get("statusCode") or (fallback or {}).get("statusCode")
