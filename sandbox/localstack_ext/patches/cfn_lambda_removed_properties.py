"""A property removed from an `AWS::Lambda::Function` (or a SAM function, or its Globals) keeps its old value.

`localstack.services.lambda_.resource_providers.aws_lambda_function.LambdaFunctionProvider.update` (2026.3.0) sends
UpdateFunctionConfiguration with the properties the template still has, and the Lambda provider keeps whatever a
request leaves out. So a template that drops `Timeout: 30` left the function at 30 s (AWS resets it to 3), one that
drops its `Environment` kept every variable, its `Layers` every layer, its `DeadLetterConfig` the queue. And
`EphemeralStorage` was never set at all: neither the provider's create nor its update sends it.

CloudFormation resets a removed property to its default. Before LocalStack's update runs, each property the
stack held and the template no longer has is given AWS's default in the desired state, so the update sends it and
the stack's record of the function says what the function has. (`ReservedConcurrentExecutions`: see
cfn_lambda_reserved_concurrency.)
"""

from __future__ import annotations

TARGET = "localstack.services.lambda_.resource_providers.aws_lambda_function"


def defaults(function_name: str) -> dict:
    """What a function created without each property has (AWS's documented defaults)."""
    return {
        "Description": "",
        "Timeout": 3,
        "MemorySize": 128,
        "Environment": {"Variables": {}},
        "Layers": [],
        "DeadLetterConfig": {},
        "TracingConfig": {"Mode": "PassThrough"},
        "VpcConfig": {"SubnetIds": [], "SecurityGroupIds": []},
        "LoggingConfig": {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{function_name}"},
        "EphemeralStorage": {"Size": 512},
    }


def with_removed_reset(desired: dict, previous: dict) -> dict:
    """`desired` plus the default of every resettable property `previous` had and `desired` has not."""
    name = previous.get("FunctionName") or desired.get("FunctionName") or ""
    reset = {k: v for k, v in defaults(name).items() if k in previous and k not in desired}
    return {**desired, **reset} if reset else desired


def _apply_storage(request, result, before: dict | None) -> None:
    """EphemeralStorage as the template has it: LocalStack's create and update leave it out of what they send."""
    from localstack.services.cloudformation.resource_provider import OperationStatus

    storage = (request.desired_state or {}).get("EphemeralStorage")
    name = (result.resource_model or {}).get("FunctionName")
    if result.status != OperationStatus.SUCCESS or storage is None or storage == before or not name:
        return
    client = request.aws_client_factory.lambda_
    client.update_function_configuration(FunctionName=name, EphemeralStorage={"Size": int(storage.get("Size", 512))})
    client.get_waiter("function_updated_v2").wait(FunctionName=name)


def apply() -> None:
    from localstack.services.lambda_.resource_providers.aws_lambda_function import LambdaFunctionProvider
    from localstack.utils.patch import patch

    @patch(LambdaFunctionProvider.create)
    def create(fn, self, request):
        result = fn(self, request)
        _apply_storage(request, result, {"Size": 512})
        return result

    @patch(LambdaFunctionProvider.update)
    def update(fn, self, request):
        previous = request.previous_state or {}
        request.desired_state = with_removed_reset(request.desired_state or {}, previous)
        result = fn(self, request)
        _apply_storage(request, result, previous.get("EphemeralStorage"))
        return result
