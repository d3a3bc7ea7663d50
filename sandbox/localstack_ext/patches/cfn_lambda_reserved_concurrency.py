"""`ReservedConcurrentExecutions` of `AWS::Lambda::Function` (and SAM's ReservedConcurrentExecutions) is ignored.

`localstack.services.lambda_.resource_providers.aws_lambda_function.LambdaFunctionProvider` (2026.3.0) never calls
PutFunctionConcurrency, on create or update, so a template's reserved concurrency has no effect and a
throttling lesson built on it silently teaches nothing. After a successful create/update we apply it (or remove
it when an update drops the property), as CloudFormation does.
"""

from __future__ import annotations


def _apply(request, result) -> None:
    from localstack.services.cloudformation.resource_provider import OperationStatus

    if result.status != OperationStatus.SUCCESS:
        return
    model = result.resource_model or {}
    name = model.get("FunctionName") or (request.desired_state or {}).get("FunctionName")
    if not name:
        return
    client = request.aws_client_factory.lambda_
    desired = (request.desired_state or {}).get("ReservedConcurrentExecutions")
    previous = (request.previous_state or {}).get("ReservedConcurrentExecutions")
    if desired is not None:
        client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=int(desired))
    elif previous is not None:
        client.delete_function_concurrency(FunctionName=name)


TARGET = "localstack.services.lambda_.resource_providers.aws_lambda_function"


def apply() -> None:
    from localstack.services.lambda_.resource_providers.aws_lambda_function import LambdaFunctionProvider
    from localstack.utils.patch import patch

    @patch(LambdaFunctionProvider.create)
    def create(fn, self, request):
        result = fn(self, request)
        _apply(request, result)
        return result

    @patch(LambdaFunctionProvider.update)
    def update(fn, self, request):
        result = fn(self, request)
        _apply(request, result)
        return result
