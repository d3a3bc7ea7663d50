"""The short names the recorder gives resources (sandbox/observability/resources.py), as events and the map show them."""

from sandbox.observability.resources import _name_from_arn


def test_a_dynamodb_stream_is_named_after_its_table_not_after_its_label():
    """The label is a time with colons: the source of a stream mapping's Invoke showed as "dynamodb:11.758"."""
    stream = "arn:aws:dynamodb:us-east-1:000000000000:table/orders/stream/2026-12-07T09:01:11.758"
    assert _name_from_arn(stream) == "orders"
    assert _name_from_arn("arn:aws:kinesis:us-east-1:000000000000:stream/clicks") == "clicks"
    assert _name_from_arn("arn:aws:lambda:us-east-1:000000000000:function:ingest") == "ingest"
    assert _name_from_arn("arn:aws:sqs:us-east-1:000000000000:jobs") == "jobs"
    assert _name_from_arn("arn:aws:dynamodb:us-east-1:000000000000:table/orders") == "orders"
