"""plux entry points: `PROVIDER_OVERRIDE_DYNAMODB=moto` / `PROVIDER_OVERRIDE_DYNAMODBSTREAMS=moto`.

LocalStack's own DynamoDB provider forwards to DynamoDB Local, a Java server it downloads at first use; these
providers serve both APIs from moto, which LocalStack already ships, so DynamoDB works offline and instantly.
"""

from localstack.services.plugins import Service, aws_provider


@aws_provider(api="dynamodb", name="moto")
def dynamodb_moto():
    from localstack.services.moto import MotoFallbackDispatcher

    from sandbox.dynamodb_moto.provider import MotoDynamoDBProvider

    return Service.for_provider(MotoDynamoDBProvider(), dispatch_table_factory=MotoFallbackDispatcher)


@aws_provider(api="dynamodbstreams", name="moto")
def dynamodbstreams_moto():
    from localstack.services.moto import MotoFallbackDispatcher

    from sandbox.dynamodb_moto.provider import MotoDynamoDBStreamsProvider

    return Service.for_provider(MotoDynamoDBStreamsProvider(), dispatch_table_factory=MotoFallbackDispatcher)
