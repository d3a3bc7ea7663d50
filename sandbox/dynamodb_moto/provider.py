"""DynamoDB and DynamoDB Streams served by moto inside LocalStack (no Java, no download).

DynamoDB: every operation falls through to moto (`MotoFallbackDispatcher`), except the few that need a fix before
or after moto runs (`CreateTable`, `UpdateTable`). DynamoDB Streams: served from moto's tables by `streams.py`,
not by moto's own `dynamodbstreams` (see there for why).
"""

from __future__ import annotations

from localstack.aws.api import RequestContext, handler
from localstack.aws.api.dynamodb import CreateTableInput, DynamodbApi, UpdateTableInput
from localstack.aws.api.dynamodbstreams import (
    DescribeStreamOutput,
    DynamodbstreamsApi,
    GetRecordsOutput,
    GetShardIteratorOutput,
    ListStreamsOutput,
)
from localstack.services.moto import call_moto
from localstack.services.plugins import ServiceLifecycleHook
from localstack.state import StateVisitor

from sandbox.dynamodb_moto import binary_values, fast_copy, fast_expressions, streams
from sandbox.dynamodb_moto.streams import ValidationException

KEY_ATTRIBUTE_TYPES = ("S", "N", "B")


class MotoDynamoDBProvider(DynamodbApi, ServiceLifecycleHook):
    """State: moto's dynamodb backend (the stream records live in its tables)."""

    def __init__(self):
        streams.install()
        fast_copy.install()
        fast_expressions.install()
        binary_values.install()

    def accept_state_visitor(self, visitor: StateVisitor):
        from moto.dynamodb.models import dynamodb_backends

        with streams.LOCK:  # not while a request is changing the tables
            visitor.visit(dynamodb_backends)

    @handler("CreateTable", expand=False)
    def create_table(self, context: RequestContext, request: CreateTableInput):
        # moto (moto.dynamodb.responses.DynamoHandler._validate_table_creation) accepts a KeySchema whose first
        # element is a RANGE key, two HASH keys, or the same attribute twice, and creates a broken table.
        # Syntax first (as AWS): attribute types here, key types by moto.
        for i, attr in enumerate(request.get("AttributeDefinitions") or [], start=1):
            if attr.get("AttributeType") not in KEY_ATTRIBUTE_TYPES:
                raise ValidationException(
                    f"1 validation error detected: Value '{attr.get('AttributeType')}' at "
                    f"'attributeDefinitions.{i}.member.attributeType' failed to satisfy constraint: "
                    "Member must satisfy enum value set: [B, N, S]"
                )
        validate_key_schema(request.get("KeySchema") or [], None)
        for index in (request.get("GlobalSecondaryIndexes") or []) + (request.get("LocalSecondaryIndexes") or []):
            validate_key_schema(index.get("KeySchema") or [], index.get("IndexName"))
        validate_stream_specification(request.get("StreamSpecification"))
        raise NotImplementedError  # on to moto

    @handler("UpdateTable", expand=False)
    def update_table(self, context: RequestContext, request: UpdateTableInput):
        spec = request.get("StreamSpecification")
        if spec is None:
            raise NotImplementedError  # on to moto
        validate_stream_specification(spec)
        table = _find_table(context, request["TableName"])
        if table is None:
            raise NotImplementedError  # moto answers ResourceNotFoundException
        enabled = bool(table.stream_specification and table.stream_specification.get("StreamEnabled"))
        if spec.get("StreamEnabled"):
            if enabled:
                raise ValidationException(f"Table already has an enabled stream: TableName: {table.name}")
            # moto (DynamoDBBackend.update_table_streams) refuses to enable a stream while the table has a
            # LatestStreamLabel, which it keeps after disabling: forget it, a new stream gets a new label.
            label = table.latest_stream_label
            table.latest_stream_label = None
            try:
                return call_moto(context)
            except Exception:
                table.latest_stream_label = label
                raise
        if not enabled:
            raise ValidationException(f"Table has no stream to disable: TableName: {table.name}")
        result = call_moto(context)
        # moto keeps recording into a disabled stream and reports it ENABLED: close it (readable, DISABLED).
        streams.close_stream(table)
        return result


class MotoDynamoDBStreamsProvider(DynamodbstreamsApi, ServiceLifecycleHook):
    """No state of its own: stream records live in moto's DynamoDB tables, shard iterators are stateless."""

    def __init__(self):
        streams.install()

    def accept_state_visitor(self, visitor: StateVisitor):
        from moto.dynamodbstreams.models import dynamodbstreams_backends

        visitor.visit(dynamodbstreams_backends)

    def describe_stream(self, context, stream_arn, limit=None, exclusive_start_shard_id=None, shard_filter=None,
                        **kwargs) -> DescribeStreamOutput:
        return DescribeStreamOutput(
            StreamDescription=streams.describe_stream(stream_arn, limit, exclusive_start_shard_id)
        )

    def list_streams(self, context, table_name=None, limit=None, exclusive_start_stream_arn=None,
                     **kwargs) -> ListStreamsOutput:
        return ListStreamsOutput(
            **streams.list_streams(context.account_id, context.region, table_name, limit, exclusive_start_stream_arn)
        )

    def get_shard_iterator(self, context, stream_arn, shard_id, shard_iterator_type, sequence_number=None,
                           **kwargs) -> GetShardIteratorOutput:
        return GetShardIteratorOutput(
            ShardIterator=streams.get_shard_iterator(stream_arn, shard_id, shard_iterator_type, sequence_number)
        )

    def get_records(self, context, shard_iterator, limit=None, **kwargs) -> GetRecordsOutput:
        return GetRecordsOutput(**streams.get_records(shard_iterator, limit, context.is_internal_call))


def _find_table(context: RequestContext, name_or_arn: str):
    name = name_or_arn.rsplit("/", 1)[-1] if name_or_arn.startswith("arn:") else name_or_arn
    return streams.backend(context.account_id, context.region).tables.get(name)


def validate_key_schema(key_schema: list[dict], index_name: str | None) -> None:
    """AWS's checks of a KeySchema that moto lacks (messages as AWS words them)."""
    if not key_schema or any(k.get("KeyType") not in ("HASH", "RANGE") for k in key_schema):
        return  # moto rejects an empty key schema and unknown key types, with AWS's messages
    prefix = "Invalid KeySchema: " if index_name is None else (
        f"One or more parameter values were invalid: Index KeySchema of {index_name}: ")
    if len(key_schema) == 2 and key_schema[0].get("AttributeName") == key_schema[1].get("AttributeName"):
        raise ValidationException(prefix + "Both the Hash Key and the Range Key element in the KeySchema have the same name")
    if key_schema[0].get("KeyType") != "HASH":
        raise ValidationException(prefix + "The first KeySchemaElement is not a HASH key type")
    if len(key_schema) == 2 and key_schema[1].get("KeyType") != "RANGE":
        raise ValidationException(prefix + "The second KeySchemaElement is not a RANGE key type")


def validate_stream_specification(spec: dict | None) -> None:
    if spec and spec.get("StreamEnabled") and not spec.get("StreamViewType"):
        # moto would create a stream without a view type and fail on the first write to the table
        raise ValidationException("One or more parameter values were invalid: StreamViewType is required when "
                                  "StreamEnabled is true")
