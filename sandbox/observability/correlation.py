"""Correlation ids: a business id you choose, followed across services even where trace links cannot go.

Sources, first found wins:
    1. the `x-correlation-id` header of the request (any client; API Gateway passes it to the integration)
    2. a message attribute `correlation_id` / `correlationId` (SQS SendMessage[Batch], SNS Publish)
    3. S3 user metadata `correlation-id` / `correlation_id` (PutObject, CopyObject, CreateMultipartUpload)
    4. a field `correlation_id` / `correlationId` of a JSON payload: Lambda Invoke payload, SQS message body,
       SNS message, EventBridge event detail, Step Functions execution input - at the top level, or in the
       `detail`, `body`, `headers`, `input` of it, or in its first `Records[]` entry (SQS/SNS events)
A span without one inherits its parent's (see gateway.py), so one id set at the edge marks the whole trace.
Payloads are only parsed when the text contains "correlation" and is at most MAX_PARSE_BYTES long.
"""

from __future__ import annotations

import json

KEYS = ("correlation_id", "correlationId")
HEADER = "x-correlation-id"
ENVIRON_KEY = "HTTP_X_CORRELATION_ID"
MAX_PARSE_BYTES = 256 * 1024
NESTED = ("detail", "body", "headers", "input", "Message", "requestPayload")


def _str(value) -> str | None:
    if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value):
        return str(value)[:200]
    return None


def from_attributes(attrs) -> str | None:
    """From SQS/SNS message attributes ({"correlation_id": {"StringValue": ...}} or Lambda-event casing)."""
    if not isinstance(attrs, dict):
        return None
    for key in KEYS:
        attr = attrs.get(key)
        if isinstance(attr, dict):
            value = attr.get("StringValue") or attr.get("stringValue") or attr.get("Value")
            if _str(value):
                return _str(value)
    return None


def _text(payload) -> str | None:
    if payload is None:
        return None
    if hasattr(payload, "getbuffer"):  # a request body the gateway holds as BytesIO: look without consuming
        from sandbox.observability.preview import peek

        found = peek(payload, MAX_PARSE_BYTES + 1)
        if found is None:
            return None
        payload = found[0]
    if isinstance(payload, (bytes, bytearray)):
        if len(payload) > MAX_PARSE_BYTES or b"orrelation" not in payload:
            return None
        return payload.decode("utf-8", "replace")
    if isinstance(payload, str):
        if len(payload) > MAX_PARSE_BYTES or "orrelation" not in payload:
            return None
        return payload
    return None


def from_object(obj, depth: int = 0) -> str | None:
    if not isinstance(obj, dict) or depth > 3:
        return None
    for key in KEYS:
        if _str(obj.get(key)):
            return _str(obj[key])
    headers = obj.get("headers")
    if isinstance(headers, dict):
        for key, value in headers.items():
            if isinstance(key, str) and key.lower() == HEADER and _str(value):
                return _str(value)
    attrs = obj.get("messageAttributes") or obj.get("MessageAttributes")
    if attrs:
        found = from_attributes(attrs)
        if found:
            return found
    for key in NESTED:
        inner = obj.get(key)
        if isinstance(inner, str) and "orrelation" in inner and len(inner) <= MAX_PARSE_BYTES:
            try:
                inner = json.loads(inner)
            except ValueError:
                continue
        found = from_object(inner, depth + 1)
        if found:
            return found
    records = obj.get("Records")
    if isinstance(records, list) and records:
        first = records[0]
        if isinstance(first, dict):
            return from_object(first.get("Sns") or first, depth + 1)
    return None


def from_payload(payload) -> str | None:
    text = _text(payload)
    if text is None:
        return None
    try:
        return from_object(json.loads(text))
    except ValueError:
        return None


def from_request(service: str, operation: str, params, environ: dict) -> str | None:
    """`environ`: the WSGI environ of the request."""
    value = environ.get(ENVIRON_KEY)
    if value:
        return value[:200]
    if not isinstance(params, dict):
        return None
    if service == "sqs":
        if operation == "SendMessage":
            return from_attributes(params.get("MessageAttributes")) or from_payload(params.get("MessageBody"))
        if operation == "SendMessageBatch":
            entries = params.get("Entries") or []
            if entries and isinstance(entries[0], dict):
                return from_attributes(entries[0].get("MessageAttributes")) or from_payload(entries[0].get("MessageBody"))
        return None
    if service == "lambda" and operation in ("Invoke", "InvokeAsync", "InvokeWithResponseStream"):
        return from_payload(params.get("Payload") or params.get("InvokeArgs"))
    if service == "sns" and operation == "Publish":
        return from_attributes(params.get("MessageAttributes")) or from_payload(params.get("Message"))
    if service == "events" and operation == "PutEvents":
        entries = params.get("Entries") or []
        if entries and isinstance(entries[0], dict):
            return from_payload(entries[0].get("Detail"))
        return None
    if service == "stepfunctions" and operation in ("StartExecution", "StartSyncExecution"):
        return from_payload(params.get("input"))
    if service == "s3" and operation in ("PutObject", "CopyObject", "CreateMultipartUpload"):
        metadata = params.get("Metadata")
        if isinstance(metadata, dict):
            for key in ("correlation-id", "correlation_id", "correlationid"):
                if _str(metadata.get(key)):
                    return _str(metadata[key])
    return None
