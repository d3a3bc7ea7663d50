"""What the cost meter needs to know about a request that only the full request and response show.

Computed when the span is recorded (previews are truncated), for the few services billed by size:
    sqs       {"requests": n, "fifo": bool}  every 64 KB chunk of a payload is one request
    dynamodb  {"rru": x, "wru": y}           on-demand request units from approximate item sizes:
              a write is 1 WRU per KB of item (2x in transactions), a read 1 RRU per 4 KB strongly
              consistent, 0.5 eventually consistent (2x in transactions); Query/Scan over the returned items
    events    {"events": n}                  custom events put (64 KB chunks); events from AWS sources are free
    ses       {"emails": n}                  one per recipient
Everything else is priced per request from service and operation alone (see cost.py).
"""

from __future__ import annotations

import math

CHUNK = 64 * 1024


def _len(value) -> int:
    if value is None:
        return 0
    if isinstance(value, str):
        return len(value.encode("utf-8")) if not value.isascii() else len(value)
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    return len(str(value))


def _message_attrs_size(attrs) -> int:
    if not isinstance(attrs, dict):
        return 0
    size = 0
    for name, attr in attrs.items():
        size += _len(name)
        if isinstance(attr, dict):
            size += _len(attr.get("DataType"))
            size += _len(attr.get("StringValue")) + _len(attr.get("BinaryValue"))
    return size


def _sqs(operation, params, response) -> dict:
    payload = 0
    if operation == "SendMessage":
        payload = _len(params.get("MessageBody")) + _message_attrs_size(params.get("MessageAttributes"))
    elif operation == "SendMessageBatch":
        for entry in params.get("Entries") or []:
            if isinstance(entry, dict):
                payload += _len(entry.get("MessageBody")) + _message_attrs_size(entry.get("MessageAttributes"))
    elif operation == "ReceiveMessage" and isinstance(response, dict):
        for message in response.get("Messages") or []:
            payload += _len(message.get("Body")) + _message_attrs_size(message.get("MessageAttributes"))
    url = params.get("QueueUrl") or params.get("QueueName") or ""
    return {"requests": max(1, math.ceil(payload / CHUNK)), "fifo": isinstance(url, str) and url.endswith(".fifo")}


def attribute_size(value) -> int:
    """Approximate DynamoDB size of one attribute value ({"S": ...}, {"N": ...}, {"M": {...}}, ...)."""
    if not isinstance(value, dict) or not value:
        return 0
    kind, inner = next(iter(value.items()))
    if kind == "S":
        return _len(inner)
    if kind == "N":
        return (len(str(inner).lstrip("-").replace(".", "")) + 1) // 2 + 1
    if kind == "B":
        return _len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS" or kind == "BS":
        return sum(_len(v) for v in inner or [])
    if kind == "NS":
        return sum((len(str(v).lstrip("-").replace(".", "")) + 1) // 2 + 1 for v in inner or [])
    if kind == "L":
        return 3 + sum(attribute_size(v) + 1 for v in inner or [])
    if kind == "M":
        return 3 + sum(_len(k) + attribute_size(v) + 1 for k, v in (inner or {}).items())
    return 0


# Failed requests AWS bills anyway, by (service, error code), with what they consume: a DynamoDB write whose condition
# failed consumes write units as if it had been made (DynamoDB developer guide, "read/write operations")
BILLED_ERRORS = frozenset({("dynamodb", "ConditionalCheckFailedException")})


def billed_error(service: str | None, error: dict | None) -> bool:
    return bool(error) and (service, error.get("code")) in BILLED_ERRORS


def failed_write_units(operation: str | None, params: dict, stored: dict | None) -> dict:
    """The write units of a DynamoDB write whose condition failed: for the larger of the item stored under its key
    (`stored`, as the table holds it) and, for a PutItem, the item it would have written."""
    size = item_size(stored)
    if operation == "PutItem" and isinstance(params, dict):
        size = max(size, item_size(params.get("Item")))
    return {"wru": _wru(size)}


def item_size(item) -> int:
    if not isinstance(item, dict):
        return 0
    return sum(_len(name) + attribute_size(value) for name, value in item.items())


def _wru(size: int) -> int:
    return max(1, math.ceil(size / 1024))


def _rru(size: int, consistent: bool) -> float:
    units = max(1, math.ceil(size / 4096))
    return float(units) if consistent else units / 2


def _dynamodb(operation, params, response) -> dict | None:
    response = response if isinstance(response, dict) else {}
    consistent = bool(params.get("ConsistentRead"))
    if operation == "PutItem":
        return {"wru": _wru(item_size(params.get("Item")))}
    if operation == "UpdateItem":
        size = item_size(response.get("Attributes")) if params.get("ReturnValues") == "ALL_NEW" else 0
        if not size:
            values = params.get("ExpressionAttributeValues") or {}
            size = item_size(params.get("Key")) + sum(attribute_size(v) for v in values.values())
        return {"wru": _wru(size)}
    if operation == "DeleteItem":
        return {"wru": _wru(item_size(response.get("Attributes")))}
    if operation == "BatchWriteItem":
        wru = 0
        for requests in (params.get("RequestItems") or {}).values():
            for request in requests or []:
                put = request.get("PutRequest") if isinstance(request, dict) else None
                wru += _wru(item_size(put.get("Item"))) if put else 1
        return {"wru": wru}
    if operation == "TransactWriteItems":
        wru = 0
        for entry in params.get("TransactItems") or []:
            for kind, body in (entry or {}).items():
                size = item_size(body.get("Item")) if kind == "Put" else item_size(body.get("Key"))
                wru += 2 * _wru(size)
        return {"wru": wru}
    if operation == "GetItem":
        return {"rru": _rru(item_size(response.get("Item")), consistent)}
    if operation == "BatchGetItem":
        rru = 0.0
        for table, items in (response.get("Responses") or {}).items():
            table_consistent = bool(((params.get("RequestItems") or {}).get(table) or {}).get("ConsistentRead"))
            rru += sum(_rru(item_size(item), table_consistent) for item in items or [])
        return {"rru": rru or 0.5}
    if operation in ("Query", "Scan"):
        size = sum(item_size(item) for item in response.get("Items") or [])
        return {"rru": _rru(size, consistent)}
    if operation == "TransactGetItems":
        return {"rru": sum(2 * _rru(item_size((r or {}).get("Item")), True) for r in response.get("Responses") or [])}
    return None


def _events(operation, params, response) -> dict | None:
    if operation != "PutEvents":
        return None
    failed = (response or {}).get("FailedEntryCount", 0) if isinstance(response, dict) else 0
    n = 0
    for entry in params.get("Entries") or []:
        if not isinstance(entry, dict) or str(entry.get("Source", "")).startswith("aws."):
            continue
        size = _len(entry.get("Detail")) + _len(entry.get("DetailType")) + _len(entry.get("Source"))
        size += sum(_len(r) for r in entry.get("Resources") or [])
        n += max(1, math.ceil(size / CHUNK))
    return {"events": max(0, n - (failed or 0))}


def _ses(operation, params, response) -> dict | None:
    if operation not in ("SendEmail", "SendRawEmail", "SendTemplatedEmail", "SendBulkTemplatedEmail",
                         "SendBulkEmail"):
        return None
    if operation in ("SendBulkTemplatedEmail", "SendBulkEmail"):
        entries = params.get("Destinations") or params.get("BulkEmailEntries") or []
        return {"emails": max(1, sum(_recipients((e or {}).get("Destination")) for e in entries))}
    if operation == "SendRawEmail" and params.get("Destinations"):
        return {"emails": len(params["Destinations"])}
    return {"emails": max(1, _recipients(params.get("Destination")))}


def _recipients(destination) -> int:
    if not isinstance(destination, dict):
        return 0
    return sum(len(destination.get(k) or []) for k in ("ToAddresses", "CcAddresses", "BccAddresses"))


def units_for(service: str, operation: str, params, response) -> dict | None:
    if not isinstance(params, dict):
        return None
    try:
        if service == "sqs":
            return _sqs(operation, params, response)
        if service == "dynamodb":
            return _dynamodb(operation, params, response)
        if service == "events":
            return _events(operation, params, response)
        if service in ("ses", "sesv2"):
            return _ses(operation, params, response)
    except (AttributeError, TypeError, ValueError):
        return None
    return None
