"""A route added to a deployed REST API (SAM `Events: ... Type: Api`) never answers, or the update fails.

Two bugs of localstack-core 2026.3.0 on the way of the everyday `sam deploy` after adding a route:

1. `ApiGatewayRestApiProvider.update` is not implemented; the CloudFormation engine turns that into success with
   the old state, so the API keeps its old routes (a new PATCH answered 403 Missing Authentication Token).
2. SAM makes every change of a REST API's routes (a new `Events: ... Type: Api`) a new `AWS::ApiGateway::Deployment`
and a change of the stage's DeploymentId. localstack-core 2026.3.0's CloudFormation engine
(`engine/v2/change_set_model._resolve_requires_replacement`) takes the stage's `RestApiId: !Ref Api` of the updated
RestApi for a changed create-only property, so it *replaces* the stage: it creates it again (`CreateStage`:
"ConflictException: Stage already exists"), the update fails, and the rollback deletes the stage - the stack ends
without its outputs. (`ApiGatewayStageProvider.update` is not implemented either.) Adding a route to a deployed
API and redeploying, the everyday `sam deploy`, failed.

Workaround, as AWS behaves: the RestApi update imports the new Body (or BodyS3Location) over the API (PutRestApi
mode overwrite, or the template's Mode) and applies Name/Description; a stage created where the same stage exists
takes it over (UpdateStage: deploymentId, description, variables); the replaced resource's delete then leaves a
stage that serves another deployment than its own; update patches the stage in place.
"""

from __future__ import annotations

TARGET = "localstack.services.apigateway.resource_providers.aws_apigateway_stage"


def patch_operations(desired: dict, current: dict) -> list[dict]:
    """UpdateStage operations from the stage as it is (`current`, API field names) to `desired` (template names)."""
    ops = []
    for prop, field in (("DeploymentId", "deploymentId"), ("Description", "description"),
                        ("TracingEnabled", "tracingEnabled"), ("CacheClusterEnabled", "cacheClusterEnabled"),
                        ("CacheClusterSize", "cacheClusterSize")):
        value = desired.get(prop)
        if value is not None and value != current.get(field):
            ops.append({"op": "replace", "path": f"/{field}",
                        "value": str(value).lower() if isinstance(value, bool) else str(value)})
    old, new = current.get("variables") or {}, desired.get("Variables") or {}
    ops += [{"op": "remove", "path": f"/variables/{k}"} for k in old if k not in new]
    ops += [{"op": "replace", "path": f"/variables/{k}", "value": str(v)} for k, v in new.items() if old.get(k) != v]
    return ops


def apply() -> None:
    from localstack.services.apigateway.resource_providers.aws_apigateway_stage import ApiGatewayStageProvider
    from localstack.services.cloudformation.resource_provider import OperationStatus, ProgressEvent

    original_create, original_delete = ApiGatewayStageProvider.create, ApiGatewayStageProvider.delete

    def take_over(request):
        model = dict(request.desired_state)
        model["StageName"] = model.get("StageName") or "default"
        apigw = request.aws_client_factory.apigateway
        current = apigw.get_stage(restApiId=model["RestApiId"], stageName=model["StageName"])
        ops = patch_operations(model, current)
        if ops:
            apigw.update_stage(restApiId=model["RestApiId"], stageName=model["StageName"], patchOperations=ops)
        return ProgressEvent(status=OperationStatus.SUCCESS, resource_model=model,
                             custom_context=request.custom_context)

    def exists(request) -> bool:
        model = request.desired_state
        apigw = request.aws_client_factory.apigateway
        try:
            apigw.get_stage(restApiId=model["RestApiId"], stageName=model.get("StageName") or "default")
            return True
        except apigw.exceptions.NotFoundException:
            return False

    def create(self, request):
        return take_over(request) if exists(request) else original_create(self, request)

    def update(self, request):
        return take_over(request)

    def delete(self, request):
        model = request.desired_state
        apigw = request.aws_client_factory.apigateway
        try:
            current = apigw.get_stage(restApiId=model["RestApiId"], stageName=model["StageName"])
        except apigw.exceptions.NotFoundException:
            current = None
        if current and model.get("DeploymentId") and current.get("deploymentId") != model["DeploymentId"]:
            # taken over by its replacement (create above): the stage is no longer this resource's
            return ProgressEvent(status=OperationStatus.SUCCESS, resource_model=model,
                                 custom_context=request.custom_context)
        return original_delete(self, request)

    ApiGatewayStageProvider.create = create
    ApiGatewayStageProvider.update = update
    ApiGatewayStageProvider.delete = delete
    _patch_rest_api_update()


def _patch_rest_api_update() -> None:
    import json

    from localstack.services.apigateway.resource_providers.aws_apigateway_restapi import ApiGatewayRestApiProvider
    from localstack.services.cloudformation.resource_provider import OperationStatus, ProgressEvent

    def update(self, request):
        model = dict(request.desired_state)
        previous = request.previous_state or {}
        api_id = model["RestApiId"] = previous["RestApiId"]
        apigw = request.aws_client_factory.apigateway
        ops = [{"op": "replace", "path": f"/{field}", "value": str(model[prop])}
               for prop, field in (("Name", "name"), ("Description", "description"))
               if model.get(prop) is not None and model.get(prop) != previous.get(prop)]
        if ops:
            apigw.update_rest_api(restApiId=api_id, patchOperations=ops)
        body = model.get("Body")
        location = model.get("BodyS3Location")
        if location and not body:
            extra = {"VersionId": location["Version"]} if location.get("Version") else {}
            body = request.aws_client_factory.s3.get_object(Bucket=location["Bucket"], Key=location["Key"],
                                                            **extra)["Body"].read()
        if body:
            parameters = dict(model.get("Parameters") or {})
            parameters.setdefault("basepath", "ignore")  # as the provider's create: CloudFormation's default
            apigw.put_rest_api(restApiId=api_id, mode=model.get("Mode") or "overwrite",
                               body=json.dumps(body).encode() if isinstance(body, dict) else
                               (body.encode() if isinstance(body, str) else body), parameters=parameters)
        for resource in apigw.get_resources(restApiId=api_id)["items"]:
            if resource["path"] == "/" and not resource.get("parentId"):
                model["RootResourceId"] = resource["id"]
        return ProgressEvent(status=OperationStatus.SUCCESS, resource_model=model,
                             custom_context=request.custom_context)

    ApiGatewayRestApiProvider.update = update
