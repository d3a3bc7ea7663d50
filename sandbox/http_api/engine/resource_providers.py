"""CloudFormation resource providers for AWS::ApiGatewayV2::{Api, Stage, Route, Integration, Authorizer,
Deployment}: what SAM's HttpApi expands to, and what apps write by hand for first-class integrations.

Each calls the apigatewayv2 API of this LocalStack (engine/provider.py), as LocalStack's own providers do.
"""

from __future__ import annotations

import json

from localstack.services.cloudformation.resource_provider import (
    OperationStatus,
    ProgressEvent,
    ResourceProvider,
    ResourceRequest,
)


def _done(request: ResourceRequest, model: dict) -> ProgressEvent:
    return ProgressEvent(status=OperationStatus.SUCCESS, resource_model=model, custom_context=request.custom_context)


def _schema(type_name: str, primary: str) -> dict:
    return {"typeName": type_name, "primaryIdentifier": [f"/properties/{primary}"], "properties": {},
            "additionalProperties": True}


def _pick(model: dict, names: tuple[str, ...]) -> dict:
    return {k: model[k] for k in names if model.get(k) is not None}


def _ignore_missing(call, **kwargs) -> None:
    try:
        call(**kwargs)
    except Exception as e:  # noqa: BLE001 - already gone (NotFoundException) is what delete wants
        if "NotFound" not in type(e).__name__ and "NotFound" not in str(e):
            raise


class ApiProvider(ResourceProvider[dict]):
    TYPE = "AWS::ApiGatewayV2::Api"
    SCHEMA = _schema(TYPE, "ApiId")
    FIELDS = ("Name", "ProtocolType", "CorsConfiguration", "Description", "DisableExecuteApiEndpoint",
              "DisableSchemaValidation", "RouteSelectionExpression", "ApiKeySelectionExpression", "Version", "Tags")

    def _body(self, request: ResourceRequest, model: dict) -> str | None:
        body = model.get("Body")
        if body is None and model.get("BodyS3Location"):
            loc = model["BodyS3Location"]
            args = {"Bucket": loc["Bucket"], "Key": loc["Key"]}
            if loc.get("Version"):
                args["VersionId"] = loc["Version"]
            body = request.aws_client_factory.s3.get_object(**args)["Body"].read().decode("utf-8")
        if body is None:
            return None
        return body if isinstance(body, str) else json.dumps(body)

    def _finish(self, request, model, api: dict) -> ProgressEvent:
        client = request.aws_client_factory.apigatewayv2
        if model.get("CorsConfiguration") and model.get("Body") is not None:
            client.update_api(ApiId=api["ApiId"], CorsConfiguration=model["CorsConfiguration"])
        model["ApiId"] = api["ApiId"]
        model["ApiEndpoint"] = api.get("ApiEndpoint")
        return _done(request, model)

    def create(self, request: ResourceRequest) -> ProgressEvent:
        model = request.desired_state
        client = request.aws_client_factory.apigatewayv2
        body = self._body(request, model)
        if body is not None:
            api = client.import_api(Body=body, FailOnWarnings=bool(model.get("FailOnWarnings")))
            if model.get("Name"):
                client.update_api(ApiId=api["ApiId"], Name=model["Name"])
        else:
            if model.get("Target") or model.get("RouteKey"):
                raise ValueError("quick create (Target/RouteKey on AWS::ApiGatewayV2::Api) is not supported in "
                                 "the sandbox: declare a Route, an Integration and a $default Stage instead")
            args = _pick(model, self.FIELDS)
            args.setdefault("Name", request.logical_resource_id)
            api = client.create_api(**args)
        return self._finish(request, model, api)

    def update(self, request: ResourceRequest) -> ProgressEvent:
        model = request.desired_state
        model["ApiId"] = request.previous_state["ApiId"]
        client = request.aws_client_factory.apigatewayv2
        body = self._body(request, model)
        if body is not None:
            api = client.reimport_api(ApiId=model["ApiId"], Body=body)
        else:
            api = client.update_api(ApiId=model["ApiId"], **_pick(model, self.FIELDS[:1] + self.FIELDS[2:-1]))
        return self._finish(request, model, api)

    def delete(self, request: ResourceRequest) -> ProgressEvent:
        model = request.desired_state
        _ignore_missing(request.aws_client_factory.apigatewayv2.delete_api, ApiId=model["ApiId"])
        return _done(request, model)

    def read(self, request):
        raise NotImplementedError


class StageProvider(ResourceProvider[dict]):
    TYPE = "AWS::ApiGatewayV2::Stage"
    SCHEMA = _schema(TYPE, "StageName")
    FIELDS = ("AutoDeploy", "StageVariables", "DeploymentId", "Description", "DefaultRouteSettings",
              "RouteSettings", "AccessLogSettings", "ClientCertificateId")

    def create(self, request: ResourceRequest) -> ProgressEvent:
        model = request.desired_state
        request.aws_client_factory.apigatewayv2.create_stage(
            ApiId=model["ApiId"], StageName=model["StageName"], Tags=model.get("Tags") or {},
            **_pick(model, self.FIELDS))
        return _done(request, model)

    def update(self, request: ResourceRequest) -> ProgressEvent:
        model, before = request.desired_state, request.previous_state
        client = request.aws_client_factory.apigatewayv2
        _ignore_missing(client.delete_stage, ApiId=before["ApiId"], StageName=before["StageName"])
        return self.create(request)

    def delete(self, request: ResourceRequest) -> ProgressEvent:
        model = request.desired_state
        _ignore_missing(request.aws_client_factory.apigatewayv2.delete_stage, ApiId=model["ApiId"],
                        StageName=model["StageName"])
        return _done(request, model)

    def read(self, request):
        raise NotImplementedError


class _ChildProvider(ResourceProvider[dict]):
    """A Route, Integration, Authorizer or Deployment: created under its API, known by an id."""
    ID = ""
    FIELDS: tuple[str, ...] = ()
    NOUN = ""

    def _client(self, request):
        return request.aws_client_factory.apigatewayv2

    def create(self, request: ResourceRequest) -> ProgressEvent:
        model = request.desired_state
        created = getattr(self._client(request), f"create_{self.NOUN}")(ApiId=model["ApiId"],
                                                                         **_pick(model, self.FIELDS))
        model[self.ID] = created[self.ID]
        return _done(request, model)

    def update(self, request: ResourceRequest) -> ProgressEvent:
        model = request.desired_state
        model[self.ID] = request.previous_state[self.ID]
        if self.NOUN == "deployment":
            return _done(request, model)
        getattr(self._client(request), f"update_{self.NOUN}")(ApiId=model["ApiId"], **{self.ID: model[self.ID]},
                                                               **_pick(model, self.FIELDS))
        return _done(request, model)

    def delete(self, request: ResourceRequest) -> ProgressEvent:
        model = request.desired_state
        if model.get(self.ID):
            _ignore_missing(getattr(self._client(request), f"delete_{self.NOUN}"), ApiId=model["ApiId"],
                            **{self.ID: model[self.ID]})
        return _done(request, model)

    def read(self, request):
        raise NotImplementedError


class RouteProvider(_ChildProvider):
    TYPE = "AWS::ApiGatewayV2::Route"
    SCHEMA = _schema(TYPE, "RouteId")
    ID, NOUN = "RouteId", "route"
    FIELDS = ("RouteKey", "Target", "AuthorizationType", "AuthorizerId", "AuthorizationScopes", "ApiKeyRequired",
              "OperationName", "RequestParameters", "RequestModels", "ModelSelectionExpression",
              "RouteResponseSelectionExpression")


class IntegrationProvider(_ChildProvider):
    TYPE = "AWS::ApiGatewayV2::Integration"
    SCHEMA = _schema(TYPE, "IntegrationId")
    ID, NOUN = "IntegrationId", "integration"
    FIELDS = ("IntegrationType", "IntegrationSubtype", "IntegrationUri", "IntegrationMethod",
              "PayloadFormatVersion", "CredentialsArn", "RequestParameters", "RequestTemplates",
              "ResponseParameters", "TimeoutInMillis", "ConnectionType", "ConnectionId", "Description",
              "PassthroughBehavior", "TemplateSelectionExpression", "ContentHandlingStrategy", "TlsConfig")

    def create(self, request: ResourceRequest) -> ProgressEvent:
        model = request.desired_state
        if model.get("IntegrationType") == "AWS_PROXY" and not model.get("IntegrationSubtype"):
            model.setdefault("IntegrationMethod", "POST")
        return super().create(request)


class AuthorizerProvider(_ChildProvider):
    TYPE = "AWS::ApiGatewayV2::Authorizer"
    SCHEMA = _schema(TYPE, "AuthorizerId")
    ID, NOUN = "AuthorizerId", "authorizer"
    FIELDS = ("AuthorizerType", "Name", "AuthorizerUri", "IdentitySource", "JwtConfiguration",
              "AuthorizerPayloadFormatVersion", "EnableSimpleResponses", "AuthorizerResultTtlInSeconds",
              "AuthorizerCredentialsArn", "IdentityValidationExpression")


class DeploymentProvider(_ChildProvider):
    TYPE = "AWS::ApiGatewayV2::Deployment"
    SCHEMA = _schema(TYPE, "DeploymentId")
    ID, NOUN = "DeploymentId", "deployment"
    FIELDS = ("Description", "StageName")


PROVIDERS = {"Api": ApiProvider, "Stage": StageProvider, "Route": RouteProvider,
             "Integration": IntegrationProvider, "Authorizer": AuthorizerProvider, "Deployment": DeploymentProvider}
