"""DynamoDB Streams over moto's tables: the records moto keeps per table, served with AWS's shapes and semantics.

moto (moto-ext 5.1.54, shipped with LocalStack 2026.3.0) records stream events in `Table.stream_shard`
(`moto.dynamodb.models.table.StreamShard`), but its records and its Streams API differ from AWS in ways an
event source mapping or a hand-written consumer notices. What this module changes, and why:

* `StreamShard.add` is replaced (`install()`):
  - UpdateItem on a new item produced two INSERT records, the first with the keys only:
    `moto.dynamodb.models.DynamoDBBackend.update_item` creates the item through `Table.put_item` (one record)
    and then records the update (a second one). Records are now collected per request and coalesced per item
    (first old image, last new image), see `request_scope()`.
  - A write that changes nothing (PutItem of an identical item, UpdateItem setting the same values) produced
    a MODIFY record; AWS writes no record for it.
  - INSERT records carried `"OldImage": {}` and REMOVE records `"NewImage": {}`; AWS omits the missing image.
  - `eventVersion` was "1.0" and `awsRegion` always "us-east-1"; AWS sends "1.1" and the table's region.
  - Every stream of every table had the same shard id; each shard now gets its own, in AWS's format.
* The Streams API (`moto.dynamodbstreams`) is not used at all; `MotoDynamoDBStreamsProvider` serves it from here:
  - moto keeps a `ShardIterator` object per iterator, bound to the `StreamShard` object. A failed
    TransactWriteItems restores deep copies of its tables (`DynamoDBBackend.transact_write_items`), so every
    iterator handed out before it kept reading a detached shard and never saw a record again. Our iterators
    are stateless tokens (stream ARN, shard id, position) resolved against the live table on every call.
  - moto stored every iterator it ever issued (one more per GetRecords, i.e. per ESM poll) in a dict.
  - An unknown iterator was an InternalError (HTTP 500); it is a ValidationException now, a stream of a
    deleted table a ResourceNotFoundException.
  - Disabling a stream (UpdateTable StreamEnabled=false) kept recording into it and left it ENABLED, and
    enabling it again failed with "Cannot enable stream". A disabled stream is now closed (DISABLED, readable
    until its end, no NextShardIterator there) and enabling creates a new stream with a new label/ARN, as on AWS.

Not emulated: the 24-hour trim of stream records, the 15-minute expiry of shard iterators, TTL deletions.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from localstack.aws.api import CommonServiceException
from localstack.aws.api.dynamodbstreams import ResourceNotFoundException, TrimmedDataAccessException

LOG = logging.getLogger(__name__)

# One lock for moto's DynamoDB state: moto's models are not thread-safe (a Scan iterating a dict while a Lambda
# function puts items into the same table raises "dictionary changed size during iteration"), and LocalStack
# serves requests on many threads. Every DynamoDB and DynamoDB Streams request holds it while it runs.
LOCK = threading.RLock()

_local = threading.local()

MAX_GET_RECORDS_LIMIT = 1000
STREAM_ARN_RE = re.compile(
    r"^arn:(?P<partition>[\w-]+):dynamodb:(?P<region>[\w-]+):(?P<account>\d{12}):"
    r"table/(?P<table>[\w.-]{1,255})/stream/(?P<label>[^/|]+)$"
)


class ValidationException(CommonServiceException):
    def __init__(self, message: str):
        super().__init__("ValidationException", message)


# --- recording ------------------------------------------------------------------------------------------------


def install() -> None:
    """Replaces moto's stream recording (idempotent)."""
    from moto.dynamodb.models.table import StreamShard

    if getattr(StreamShard, "_sandbox_patched", False):
        return
    original_init = StreamShard.__init__

    def __init__(self, account_id, table):
        original_init(self, account_id, table)
        # moto: the same "shardId-00000001541626099285-f35f62ef" for every stream
        self.id = f"shardId-{int(time.time() * 1000):020d}-{os.urandom(4).hex()}"
        # Table.set_stream_specification sets the specification and a label (datetime.isoformat(), microseconds)
        # just before it creates the shard; AWS's labels have milliseconds: "2024-05-01T12:00:00.123".
        table.latest_stream_label = self.stream_label = _new_label(table)
        self.view_type = (table.stream_specification or {}).get("StreamViewType") or "NEW_AND_OLD_IMAGES"
        self.closed = False

    def add(self, old, new):
        pending = getattr(_local, "pending", None)
        if pending is None:
            _record(self, old, new)
            return
        key = _item_key(old if old is not None else new)
        for entry in pending:
            if entry[0] is self and entry[1] == key:
                entry[3] = new  # same item again in this request: keep the first old and the last new image
                return
        pending.append([self, key, old, new])

    StreamShard.__init__ = __init__
    StreamShard.add = add
    StreamShard._sandbox_patched = True


@contextmanager
def request_scope():
    """Collects the stream records of one DynamoDB request and writes them, coalesced per item, at its end."""
    if getattr(_local, "pending", None) is not None:
        yield
        return
    _local.pending = []
    try:
        yield
    finally:
        pending, _local.pending = _local.pending, None
        for shard, _key, old, new in pending:
            # After a failed TransactWriteItems moto has put back copies of its tables; records for the shards
            # it replaced land in those detached shards and are gone with them, as on AWS (no records).
            try:
                _record(shard, old, new)
            except Exception:  # the write itself succeeded: losing a record beats failing the request
                LOG.exception("could not record a stream record for table %s", shard.table.name)


def _json_bytes(value):
    if isinstance(value, bytes):  # moto keeps nested binary values as bytes
        return base64.b64encode(value).decode()
    raise TypeError(type(value).__name__)


def _new_label(table) -> str:
    taken = set(retired_streams(table))
    now = datetime.now(tz=UTC)
    while True:
        label = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}"
        if label not in taken:
            return label
        now += timedelta(milliseconds=1)


def _item_key(item) -> tuple:
    return (item.hash_key, item.range_key)


def _record(shard, old, new) -> None:
    from moto.dynamodb.models.table import StreamRecord

    if old is None and new is None:
        return
    old_attrs = old.to_json()["Attributes"] if old is not None else None
    new_attrs = new.to_json()["Attributes"] if new is not None else None
    if old_attrs is not None and old_attrs == new_attrs:
        return  # AWS: "no stream record for an operation that does not change any data in an item"
    table = shard.table
    event_name = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
    seq = shard.starting_sequence_number + len(shard.items)
    record = StreamRecord(table, shard.view_type, event_name, old, new, seq)
    data = record.record
    data["eventVersion"] = "1.1"
    data["awsRegion"] = table.region_name
    body = data["dynamodb"]
    if old is None:
        body.pop("OldImage", None)
    if new is None:
        body.pop("NewImage", None)
    # AWS: "in UNIX epoch time format and rounded down to the closest second"
    body["ApproximateCreationDateTime"] = datetime.now(tz=UTC).replace(microsecond=0)
    # moto measured the whole record as JSON; AWS counts the keys and images
    body["SizeBytes"] = sum(len(json.dumps(body[k], separators=(",", ":"), default=_json_bytes))
                            for k in ("Keys", "NewImage", "OldImage") if k in body)
    shard.items.append(record)


# --- enabling and disabling -------------------------------------------------------------------------------------


def retired_streams(table) -> dict[str, Any]:
    """Streams of `table` that were disabled: label -> closed StreamShard."""
    streams = getattr(table, "_sandbox_retired_streams", None)
    if streams is None:
        streams = table._sandbox_retired_streams = {}
    return streams


def close_stream(table) -> None:
    """After moto disabled the stream of `table`: no more records into it; it stays readable, DISABLED."""
    shard = table.stream_shard
    if shard is None:
        return
    shard.closed = True
    retired_streams(table)[shard.stream_label] = shard
    table.stream_shard = None


# --- the Streams API --------------------------------------------------------------------------------------------


def backend(account_id: str, region: str):
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[account_id][region]


def parse_stream_arn(arn: str) -> re.Match:
    match = STREAM_ARN_RE.match(arn or "")
    if not match:
        raise ValidationException(f"Invalid StreamArn: {arn}")
    return match


def find_stream(arn: str):
    """(table, shard, enabled) for a stream ARN, or ResourceNotFoundException."""
    match = parse_stream_arn(arn)
    tables = backend(match["account"], match["region"]).tables
    table = tables.get(match["table"])
    if table is not None:
        label = match["label"]
        if table.stream_shard is not None and table.latest_stream_label == label:
            return table, table.stream_shard, True
        if label in retired_streams(table):
            return table, retired_streams(table)[label], False
    raise ResourceNotFoundException(f"Requested resource not found: Stream: {arn} not found")


def stream_arn(table, shard) -> str:
    return f"{table.table_arn}/stream/{shard.stream_label}"


def shard_description(shard) -> dict:
    seq_range = {"StartingSequenceNumber": str(shard.starting_sequence_number)}
    if shard.closed and shard.items:
        seq_range["EndingSequenceNumber"] = str(shard.starting_sequence_number + len(shard.items) - 1)
    return {"ShardId": shard.id, "SequenceNumberRange": seq_range}


def describe_stream(arn: str, limit: int | None, exclusive_start_shard_id: str | None) -> dict:
    table, shard, enabled = find_stream(arn)
    if limit is not None and not 1 <= limit <= 100:
        raise ValidationException(
            f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: "
            "Member must have value between 1 and 100"
        )
    shards = [] if exclusive_start_shard_id == shard.id else [shard_description(shard)]
    return {
        "StreamArn": stream_arn(table, shard),
        "StreamLabel": shard.stream_label,
        "StreamStatus": "ENABLED" if enabled else "DISABLED",
        "StreamViewType": shard.view_type,
        "CreationRequestDateTime": shard.created_on.replace(tzinfo=UTC),
        "TableName": table.name,
        "KeySchema": table.schema,
        "Shards": shards,
    }


def list_streams(account_id: str, region: str, table_name: str | None, limit: int | None,
                 exclusive_start: str | None) -> dict:
    if limit is not None and not 1 <= limit <= 100:
        raise ValidationException(
            f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: "
            "Member must have value between 1 and 100"
        )
    streams = []
    tables = backend(account_id, region).tables
    for table in sorted(tables.values(), key=lambda t: t.name):
        if table_name is not None and table.name != table_name:
            continue
        shards = list(retired_streams(table).values())
        if table.stream_shard is not None:
            shards.append(table.stream_shard)
        for shard in sorted(shards, key=lambda s: s.created_on):
            streams.append({"StreamArn": stream_arn(table, shard), "TableName": table.name,
                            "StreamLabel": shard.stream_label})
    if exclusive_start:
        arns = [s["StreamArn"] for s in streams]
        streams = streams[arns.index(exclusive_start) + 1:] if exclusive_start in arns else []
    out: dict = {"Streams": streams}
    if limit is not None and len(streams) > limit:
        out["Streams"] = streams[:limit]
        out["LastEvaluatedStreamArn"] = streams[limit - 1]["StreamArn"]
    return out


def get_shard_iterator(arn: str, shard_id: str, iterator_type: str, sequence_number: str | None) -> str:
    table, shard, _enabled = find_stream(arn)
    if shard_id != shard.id:
        raise ResourceNotFoundException(
            f"Requested resource not found: Shard does not exist (stream {arn}, shard {shard_id})"
        )
    start = shard.starting_sequence_number
    end = start + len(shard.items)  # the sequence number the next record will get
    if iterator_type == "TRIM_HORIZON":
        position = start
    elif iterator_type == "LATEST":
        position = end
    elif iterator_type in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
        if not sequence_number:
            raise ValidationException(f"SequenceNumber is required for ShardIteratorType {iterator_type}")
        try:
            seq = int(sequence_number)
        except ValueError:
            raise ValidationException(f"Invalid SequenceNumber: {sequence_number}") from None
        if seq < start:
            raise TrimmedDataAccessException(
                f"Sequence number {sequence_number} is trimmed or before the start of shard {shard_id}"
            )
        if seq >= end:
            raise ValidationException(
                f"Invalid SequenceNumber {sequence_number} for shard {shard_id}: no record with this number"
            )
        position = seq if iterator_type == "AT_SEQUENCE_NUMBER" else seq + 1
    else:
        raise ValidationException(
            f"1 validation error detected: Value '{iterator_type}' at 'shardIteratorType' failed to satisfy "
            "constraint: Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_SEQUENCE_NUMBER, "
            "TRIM_HORIZON]"
        )
    return _encode_iterator(stream_arn(table, shard), shard.id, position)


def get_records(iterator: str, limit: int | None, internal: bool) -> dict:
    if limit is None:
        limit = MAX_GET_RECORDS_LIMIT
    if limit < 1 or limit > MAX_GET_RECORDS_LIMIT:
        if internal and limit > MAX_GET_RECORDS_LIMIT:
            # LocalStack's ESM poller asks for Limit=BatchSize, and a DynamoDB ESM allows BatchSize up to 10000
            # (localstack.services.lambda_.event_source_mapping.pollers.stream_poller.StreamPoller.get_records)
            limit = MAX_GET_RECORDS_LIMIT
        else:
            raise ValidationException(
                f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: "
                f"Member must have value between 1 and {MAX_GET_RECORDS_LIMIT}"
            )
    arn, shard_id, position = _decode_iterator(iterator)
    _table, shard, _enabled = find_stream(arn)
    if shard_id != shard.id:
        raise ResourceNotFoundException(f"Requested resource not found: Shard does not exist: {shard_id}")
    index = position - shard.starting_sequence_number
    if index < 0:
        raise TrimmedDataAccessException("The shard iterator points before the trim horizon of the shard")
    records = [_record_json(r) for r in shard.items[index: index + limit]]
    out: dict = {"Records": records}
    next_position = position + len(records)
    at_end = next_position >= shard.starting_sequence_number + len(shard.items)
    if not (shard.closed and at_end):
        out["NextShardIterator"] = _encode_iterator(arn, shard_id, next_position)
    return out


def _record_json(record) -> dict:
    data = record.to_json()
    body = dict(data["dynamodb"])
    for k in ("Keys", "NewImage", "OldImage"):
        if k in body:
            body[k] = {name: _binary_to_bytes(value) for name, value in body[k].items()}
    return {**data, "dynamodb": body}


def _binary_to_bytes(value: dict) -> dict:
    """moto's images hold B/BS values base64-encoded, as on the wire; LocalStack's serializer expects bytes (it
    would base64-encode the base64 text again)."""
    if "B" in value:
        return {"B": _b64(value["B"])}
    if "BS" in value:
        return {"BS": [_b64(v) for v in value["BS"]]}
    if "M" in value:
        return {"M": {k: _binary_to_bytes(v) for k, v in value["M"].items()}}
    if "L" in value:
        return {"L": [_binary_to_bytes(v) for v in value["L"]]}
    return value


def _b64(value) -> bytes:
    return base64.b64decode(value) if isinstance(value, str) else value


def _encode_iterator(arn: str, shard_id: str, position: int) -> str:
    token = json.dumps({"s": shard_id, "p": position}, separators=(",", ":")).encode()
    return f"{arn}|1|{base64.urlsafe_b64encode(token).decode()}"


def _decode_iterator(iterator: str) -> tuple[str, str, int]:
    try:
        arn, version, token = iterator.split("|")
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        shard_id, position = data["s"], int(data["p"])
        parse_stream_arn(arn)
        if version != "1" or not isinstance(shard_id, str):
            raise ValueError(version)
    except (ValueError, KeyError, TypeError, binascii.Error, ValidationException):
        raise ValidationException(f"Invalid ShardIterator: {iterator[:100]}") from None
    return arn, shard_id, position
