"""A property removed from a resource's template keeps its old value: functions, event source mappings, SNS
subscriptions.

LocalStack's resource providers (localstack-core 2026.3.0) update with the properties the template still has, and
the services keep whatever a request leaves out:
- `localstack.services.lambda_.resource_providers.aws_lambda_function.LambdaFunctionProvider.update` sends
  UpdateFunctionConfiguration: a template that dropped `Timeout: 30` left the function at 30 s (AWS resets it to
  3), one that dropped its `Environment` kept every variable, its `Layers` every layer, its `DeadLetterConfig` the
  queue. `EphemeralStorage` was never set at all: neither the create nor the update sends it.
- `...aws_lambda_eventsourcemapping.LambdaEventSourceMappingProvider.update` sends UpdateEventSourceMapping: an SQS
  event whose `FilterCriteria` was dropped kept filtering, and the messages it filtered out were deleted unseen;
  a dropped `FunctionResponseTypes`, `ScalingConfig` or batching window stayed too.
- `localstack.services.sns.resource_providers.aws_sns_subscription.SNSSubscriptionProvider.update` sets only the
  attributes the template has: a dropped `FilterPolicy` kept filtering.

CloudFormation resets a removed property to its default. Before LocalStack's update runs, each property the stack
held and the template no longer has is given AWS's default in the desired state, so the update sends it and the
stack's record of the resource says what the resource has. (A function's `ReservedConcurrentExecutions`: see
cfn_lambda_reserved_concurrency.)
"""

from __future__ import annotations

TARGET = (
    "localstack.services.lambda_.resource_providers.aws_lambda_function",
    "localstack.services.lambda_.resource_providers.aws_lambda_eventsourcemapping",
    "localstack.services.sns.resource_providers.aws_sns_subscription",
)


def function_defaults(previous: dict) -> dict:
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
        "LoggingConfig": {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{previous.get('FunctionName', '')}"},
        "EphemeralStorage": {"Size": 512},
    }


def mapping_defaults(previous: dict) -> dict:
    """What an event source mapping created without each property has, by its source (an SQS queue or a stream)."""
    defaults = {
        "Enabled": True,
        "FilterCriteria": {"Filters": []},
        "FunctionResponseTypes": [],
        "ScalingConfig": {},
        "MaximumBatchingWindowInSeconds": 0,
        "DestinationConfig": {"OnFailure": {}},
    }
    if ":sqs:" in str(previous.get("EventSourceArn", "")):
        return {**defaults, "BatchSize": 10}
    return {**defaults, "BatchSize": 100, "BisectBatchOnFunctionError": False, "MaximumRecordAgeInSeconds": -1,
            "MaximumRetryAttempts": -1, "ParallelizationFactor": 1, "TumblingWindowInSeconds": 0}


def subscription_defaults(previous: dict) -> dict:
    """The subscription attributes LocalStack's update sets, as a subscription without them has them."""
    return {"FilterPolicy": "", "FilterPolicyScope": "MessageAttributes", "RawMessageDelivery": "false"}


def with_removed_reset(desired: dict, previous: dict, defaults) -> dict:
    """`desired` plus the default (`defaults(previous)`) of every property `previous` had and `desired` has not."""
    reset = {k: v for k, v in defaults(previous).items() if k in previous and k not in desired}
    return {**desired, **reset} if reset else desired


def _apply_storage(request, result, before: dict | None) -> None:
    """A function's EphemeralStorage as the template has it: LocalStack's create and update leave it out."""
    from localstack.services.cloudformation.resource_provider import OperationStatus

    storage = (request.desired_state or {}).get("EphemeralStorage")
    name = (result.resource_model or {}).get("FunctionName")
    if result.status != OperationStatus.SUCCESS or storage is None or storage == before or not name:
        return
    client = request.aws_client_factory.lambda_
    client.update_function_configuration(FunctionName=name, EphemeralStorage={"Size": int(storage.get("Size", 512))})
    client.get_waiter("function_updated_v2").wait(FunctionName=name)


def _resetting_update(provider, defaults, after=None) -> None:
    from localstack.utils.patch import patch

    @patch(provider.update)
    def update(fn, self, request):
        previous = request.previous_state or {}
        request.desired_state = with_removed_reset(request.desired_state or {}, previous, defaults)
        result = fn(self, request)
        if after is not None:
            after(request, result, previous)
        return result


def apply(target: str) -> None:
    from localstack.utils.patch import patch

    if target.endswith("aws_lambda_function"):
        from localstack.services.lambda_.resource_providers.aws_lambda_function import LambdaFunctionProvider

        @patch(LambdaFunctionProvider.create)
        def create(fn, self, request):
            result = fn(self, request)
            _apply_storage(request, result, {"Size": 512})
            return result

        _resetting_update(LambdaFunctionProvider, function_defaults,
                          after=lambda request, result, previous: _apply_storage(
                              request, result, previous.get("EphemeralStorage")))
    elif target.endswith("aws_lambda_eventsourcemapping"):
        from localstack.services.lambda_.resource_providers.aws_lambda_eventsourcemapping import (
            LambdaEventSourceMappingProvider,
        )

        _resetting_update(LambdaEventSourceMappingProvider, mapping_defaults)
    else:
        from localstack.services.sns.resource_providers.aws_sns_subscription import SNSSubscriptionProvider

        _resetting_update(SNSSubscriptionProvider, subscription_defaults)
