"""The apigatewayv2 API inside LocalStack: moto's models and responses, with our OpenAPI import and deployments.

localstack-core 2026.3.0 has no apigatewayv2 provider (its community edition fakes the CloudFormation resources);
moto serves most of the API. What moto lacks or gets wrong is handled here: ImportApi (missing), ReimportApi
(moto keeps only route + integration URI, see ../openapi.py) and deployments (missing; an HTTP API here serves its
current routes, as a stage with autoDeploy does).
"""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import datetime, timezone

from localstack.aws.api import CommonServiceException, RequestContext
from localstack.services.moto import _proxy_moto
from localstack.services.plugins import ServiceLifecycleHook

from sandbox.http_api import openapi

LOG = logging.getLogger(__name__)
LOCK = threading.RLock()
# deployments per API (moto has none): api id -> deployment id -> description
DEPLOYMENTS: dict[str, dict[str, dict]] = {}


class BadRequestException(CommonServiceException):
    def __init__(self, message: str):
        super().__init__("BadRequestException", message, status_code=400)


class NotFoundException(CommonServiceException):
    def __init__(self, message: str):
        super().__init__("NotFoundException", message, status_code=404)


def backend(context: RequestContext):
    from moto.apigatewayv2.models import apigatewayv2_backends

    return apigatewayv2_backends[context.account_id][context.region]


def _pascal(value, keep_keys: bool = False):
    """moto answers in the wire's camelCase; the ASF serializer wants the spec's member names (PascalCase)."""
    if isinstance(value, dict):
        return {(k if keep_keys else k[:1].upper() + k[1:]): _pascal(v, k in ("tags", "stageVariables"))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_pascal(v) for v in value]
    return value


def apply_definition(api, definition: openapi.Definition) -> None:
    """Replaces the API's routes, integrations, authorizers and models by the definition's, as ImportApi does. Its
    stages stay: moto's `Api.clear()` also emptied them, so a redeploy that changed the routes (ReimportApi, which
    CloudFormation sends when a SAM template's routes change) left the API without its stage, every route 404."""
    for part in (api.authorizers, api.integrations, api.models, api.routes):
        part.clear()
    authorizer_ids = {}
    for name, spec in definition.authorizers.items():
        created = api.create_authorizer(
            auth_creds_arn=spec.credentials, auth_payload_format_version=spec.payload_format_version,
            auth_result_ttl=spec.ttl, authorizer_type=spec.type, authorizer_uri=spec.uri,
            enable_simple_response=spec.simple_responses, identity_source=spec.identity_source,
            identity_validation_expr=None, jwt_config=spec.jwt, name=name)
        authorizer_ids[name] = created.id
    for route in definition.routes:
        target = None
        if route.integration is not None:
            i = route.integration
            integration = api.create_integration(
                connection_type="INTERNET", description="Imported from OpenAPI", integration_method=i.method,
                integration_type=i.type, integration_uri=i.uri, payload_format_version=i.payload_format_version
                or ("2.0" if i.type == "AWS_PROXY" and not i.subtype else "1.0"), integration_subtype=i.subtype,
                request_parameters=i.request_parameters, credentials_arn=i.credentials,
                timeout_in_millis=i.timeout_ms)
            target = f"integrations/{integration.id}"
        authorizer = definition.authorizers.get(route.authorizer) if route.authorizer else None
        api.create_route(
            api_key_required=False, authorization_scopes=route.scopes, route_key=route.key, target=target,
            authorization_type=("CUSTOM" if authorizer.type == "REQUEST" else "JWT") if authorizer
            else "AWS_IAM" if route.iam else "NONE",
            authorizer_id=authorizer_ids.get(route.authorizer) if authorizer else None)
    if definition.title:
        api.name = definition.title
    if definition.version:
        api.version = definition.version
    if definition.description:
        api.description = definition.description
    if definition.cors is not None:
        api.cors_configuration = definition.cors


def _parse(body) -> openapi.Definition:
    try:
        return openapi.parse(body)
    except openapi.DefinitionError as e:
        raise BadRequestException(f"Warnings found during import: {e}") from None


def import_api(context: RequestContext, request: dict):
    definition = _parse(request.get("Body"))
    with LOCK:
        api = backend(context).create_api(
            api_key_selection_expression=None, cors_configuration=None, description=definition.description,
            disable_schema_validation=None, disable_execute_api_endpoint=None,
            name=definition.title or "imported-api", protocol_type="HTTP", route_selection_expression=None,
            tags={}, version=definition.version)
        apply_definition(api, definition)
        return _pascal(api.to_json())


def reimport_api(context: RequestContext, request: dict):
    definition = _parse(request.get("Body"))
    with LOCK:
        try:
            api = backend(context).get_api(request["ApiId"])
        except Exception:  # noqa: BLE001 - moto's ApiNotFound
            raise NotFoundException(f"Invalid API identifier specified {request['ApiId']}") from None
        apply_definition(api, definition)
        return _pascal(api.to_json())


def create_deployment(context: RequestContext, request: dict):
    api_id = request["ApiId"]
    backend(context).get_api(api_id)  # NotFound for an unknown API
    deployment = {"DeploymentId": uuid.uuid4().hex[:6], "DeploymentStatus": "DEPLOYED", "AutoDeployed": False,
                  "CreatedDate": datetime.now(timezone.utc), "Description": request.get("Description") or ""}
    with LOCK:
        DEPLOYMENTS.setdefault(api_id, {})[deployment["DeploymentId"]] = deployment
    return deployment


def get_deployment(context: RequestContext, request: dict):
    found = DEPLOYMENTS.get(request["ApiId"], {}).get(request["DeploymentId"])
    if found is None:
        raise NotFoundException(f"Invalid Deployment identifier specified {request['DeploymentId']}")
    return found


def get_deployments(context: RequestContext, request: dict):
    return {"Items": list(DEPLOYMENTS.get(request["ApiId"], {}).values())}


def delete_deployment(context: RequestContext, request: dict):
    DEPLOYMENTS.get(request["ApiId"], {}).pop(request["DeploymentId"], None)
    return {}


OWN = {"ImportApi": import_api, "ReimportApi": reimport_api, "CreateDeployment": create_deployment,
       "GetDeployment": get_deployment, "GetDeployments": get_deployments, "DeleteDeployment": delete_deployment}


class HttpApiProvider(ServiceLifecycleHook):
    """`service` names the API for LocalStack; every operation is moto's unless OWN has it."""

    service = "apigatewayv2"

    def on_after_init(self):
        # HTTP APIs are invoked on the execute-api routes, which LocalStack registers when its apigateway
        # service starts (localstack/services/apigateway/next_gen/provider.py on_after_init).
        from localstack.services.plugins import SERVICE_PLUGINS

        threading.Thread(target=SERVICE_PLUGINS.require, args=("apigateway",), daemon=True,
                         name="sandbox-http-api-routes").start()

    def accept_state_visitor(self, visitor):
        from moto.apigatewayv2.models import apigatewayv2_backends

        visitor.visit(apigatewayv2_backends)

    def on_before_state_reset(self):
        DEPLOYMENTS.clear()


def dispatch_table(provider: HttpApiProvider) -> dict:
    from localstack.aws.spec import load_service

    table = {name: _proxy_moto for name in load_service("apigatewayv2").operation_names}
    table.update(OWN)
    return table
