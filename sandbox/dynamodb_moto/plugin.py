"""plux entry points: `PROVIDER_OVERRIDE_DYNAMODB=moto` / `PROVIDER_OVERRIDE_DYNAMODBSTREAMS=moto`.

LocalStack's own DynamoDB provider forwards to DynamoDB Local, a Java server it downloads at first use; these
providers serve both APIs from moto, which LocalStack already ships, so DynamoDB works offline and instantly.
"""

from localstack.services.plugins import Service, aws_provider


def _serialized_moto_dispatcher(provider, forward=None):
    """LocalStack's MotoFallbackDispatcher whose handlers run one at a time, each in a stream-recording scope (see
    streams.py); `forward`: the fallback to moto, if not LocalStack's own (`_proxy_moto`)."""
    from localstack.aws.forwarder import ForwardingFallbackDispatcher
    from localstack.services.moto import MotoFallbackDispatcher

    from sandbox.dynamodb_moto import streams

    table = ForwardingFallbackDispatcher(provider, forward) if forward else MotoFallbackDispatcher(provider)

    def wrap(fn):
        def _call(context, request):
            with streams.LOCK, streams.request_scope():
                return fn(context, request)

        return _call

    for op, fn in table.items():
        table[op] = wrap(fn)
    return table


def dynamodb_dispatch_table(provider):
    """With moto's answers passed on (passthrough.py) unless SANDBOX_DYNAMODB_PASSTHROUGH=0, read once, here."""
    from sandbox.dynamodb_moto import passthrough

    return _serialized_moto_dispatcher(provider, passthrough.forward if passthrough.enabled() else None)


@aws_provider(api="dynamodb", name="moto")
def dynamodb_moto():
    from sandbox.dynamodb_moto.provider import MotoDynamoDBProvider

    return Service.for_provider(MotoDynamoDBProvider(), dispatch_table_factory=dynamodb_dispatch_table)


@aws_provider(api="dynamodbstreams", name="moto")
def dynamodbstreams_moto():
    from sandbox.dynamodb_moto.provider import MotoDynamoDBStreamsProvider

    return Service.for_provider(MotoDynamoDBStreamsProvider(), dispatch_table_factory=_serialized_moto_dispatcher)
