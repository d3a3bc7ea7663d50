"""A projection of an item with a binary set (BS) works, as on AWS.

moto (moto-ext 5.1.54, shipped with LocalStack 2026.3.0) projects an item (`Item.project`, for every
ProjectionExpression of GetItem, Query, Scan, BatchGetItem) through `Item.to_regular_json`: `DynamoType.to_regular_json`
decodes the base64 of a binary (B), at any depth, but leaves a binary set's members as base64 text, and boto3's
deserializer then fails on them ("Value must be of the following types: bytearray, bytes"): the request ended in a
500, whatever the projection named. The installed `Item.to_regular_json` decodes binary sets too, at any depth.

Only `Item.to_regular_json` is replaced (`Item.project` is its one caller): `DynamoType.to_regular_json` also builds
the items that moto's ConditionalCheckFailed error dumps with plain `json.dumps`, which bytes would break.
"""

from __future__ import annotations

import base64


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
    """Replaces `Item.to_regular_json` (idempotent)."""
    from moto.dynamodb.models import dynamo_type

    if getattr(dynamo_type.Item.to_regular_json, "_sandbox_binary_sets", False):
        return

    def to_regular_json(self) -> dict:
        return {key: dynamo_type.deserializer.deserialize(decode_binary_sets(attribute.to_regular_json()))
                for key, attribute in self.attrs.items()}

    to_regular_json._sandbox_binary_sets = True
    dynamo_type.Item.to_regular_json = to_regular_json
