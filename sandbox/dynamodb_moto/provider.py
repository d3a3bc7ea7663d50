"""DynamoDB and DynamoDB Streams served by moto inside LocalStack (no Java, no download)."""

from localstack.aws.api.dynamodb import DynamodbApi
from localstack.aws.api.dynamodbstreams import DynamodbstreamsApi
from localstack.services.plugins import ServiceLifecycleHook
from localstack.state import StateVisitor


class MotoDynamoDBProvider(DynamodbApi, ServiceLifecycleHook):
    """Every operation falls through to moto (MotoFallbackDispatcher); the state is moto's dynamodb backend."""

    def accept_state_visitor(self, visitor: StateVisitor):
        from moto.dynamodb.models import dynamodb_backends

        visitor.visit(dynamodb_backends)


class MotoDynamoDBStreamsProvider(DynamodbstreamsApi, ServiceLifecycleHook):
    def accept_state_visitor(self, visitor: StateVisitor):
        from moto.dynamodbstreams.models import dynamodbstreams_backends

        visitor.visit(dynamodbstreams_backends)
