"""Binary attributes (B, BS) where moto mishandles them, as AWS answers them.

moto (moto-ext 5.1.54, shipped with LocalStack 2026.3.0) failed two requests with a 500:

* **A projection of an item with a binary set.** moto projects an item (`Item.project`, for every ProjectionExpression
  of GetItem, Query, Scan, BatchGetItem) through `Item.to_regular_json`: `DynamoType.to_regular_json` decodes the
  base64 of a binary (B), at any depth, but leaves a binary set's members as base64 text, and boto3's deserializer
  then fails on them ("Value must be of the following types: bytearray, bytes"), whatever the projection named. The
  installed `Item.to_regular_json` decodes binary sets too, at any depth. (Only it: `DynamoType.to_regular_json` is
  also used for the items below, where bytes would break.)
* **A failed condition that returns the item** (`ReturnValuesOnConditionCheckFailure=ALL_OLD`) when the item holds a
  binary nested in a map or list: `ConditionalCheckFailed` dumps the item with plain `json.dumps` ("Object of type
  bytes is not JSON serializable"). The installed constructor dumps it with moto's own `DynamoJsonEncoder`, which
  writes bytes as base64, as DynamoDB's JSON has them.
"""

from __future__ import annotations

import base64
import json


def decode_binary_sets(typed: dict) -> dict:
    """A value as `DynamoType.to_regular_json` returns it ({type: value}), with binary sets' members as bytes."""
    kind, value = next(iter(typed.items()))
    if kind == "BS":
        return {"BS": [base64.b64decode(member) if isinstance(member, str) else member for member in value]}
    if kind == "M":
        return {"M": {key: decode_binary_sets(member) for key, member in value.items()}}
    if kind == "L":
        return {"L": [decode_binary_sets(member) for member in value]}
    return typed


def install() -> None:
    """Replaces `Item.to_regular_json` and `ConditionalCheckFailed.__init__` (idempotent)."""
    from moto.dynamodb import exceptions
    from moto.dynamodb.models import dynamo_type
    from moto.dynamodb.models.utilities import DynamoJsonEncoder

    if getattr(dynamo_type.Item.to_regular_json, "_sandbox_binary_values", False):
        return

    def to_regular_json(self) -> dict:
        return {key: dynamo_type.deserializer.deserialize(decode_binary_sets(attribute.to_regular_json()))
                for key, attribute in self.attrs.items()}

    failed_init = exceptions.ConditionalCheckFailed.__init__

    def conditional_check_failed(self, msg=None, item=None):
        failed_init(self, msg, None)
        if item:  # as moto's, with bytes encoded
            self.description = json.dumps({"__type": exceptions.ConditionalCheckFailed.error_type,
                                           "Message": msg or "The conditional request failed", "Item": item},
                                          cls=DynamoJsonEncoder)

    to_regular_json._sandbox_binary_values = True
    dynamo_type.Item.to_regular_json = to_regular_json
    exceptions.ConditionalCheckFailed.__init__ = conditional_check_failed
