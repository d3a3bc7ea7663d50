"""CRUD for /items behind API Gateway (REST).

Powertools does the plumbing: APIGatewayRestResolver routes, Logger writes one JSON object per line with the
request's correlation id, and the idempotency utility makes `POST /items` with an `Idempotency-Key` header run once.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import BadRequestError, NotFoundError, ServiceError
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

CORRELATION_HEADER = "x-correlation-id"
IDEMPOTENCY_HEADER = "Idempotency-Key"
VALID_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")  # a client's id goes into our logs: keep it tame
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 20, 100

logger = Logger()  # service name from POWERTOOLS_SERVICE_NAME
table = boto3.resource("dynamodb").Table(os.environ["ITEMS_TABLE_NAME"])


def _json_number(value):
    """DynamoDB returns numbers as Decimal; JSON wants int or float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def to_json(obj) -> str:
    return json.dumps(obj, default=_json_number, separators=(",", ":"))


app = APIGatewayRestResolver(serializer=to_json)


# --- idempotency (only when the template enables it) ------------------------------------------------------------
IDEMPOTENCY_TABLE_NAME = os.environ.get("IDEMPOTENCY_TABLE_NAME", "")
idempotency_config = IdempotencyConfig(
    event_key_jmespath="idempotency_key",  # the key is the client's header, not a hash of the whole request
    payload_validation_jmespath="payload",  # the same key with another payload is an error, not a replay
    expires_after_seconds=3600,
)


def create_item(payload: dict) -> dict:
    now = _now()
    item = {"id": str(uuid.uuid4()), "payload": payload, "created_at": now, "updated_at": now,
            "correlation_id": logger.get_correlation_id()}
    table.put_item(Item=item, ConditionExpression="attribute_not_exists(id)")
    logger.info("item created", item_id=item["id"])
    return json.loads(to_json(item))  # plain JSON types, so a replayed response is identical


if IDEMPOTENCY_TABLE_NAME:
    @idempotent_function(data_keyword_argument="request", config=idempotency_config,
                         persistence_store=DynamoDBPersistenceLayer(table_name=IDEMPOTENCY_TABLE_NAME))
    def create_item_once(request: dict) -> dict:
        return create_item(request["payload"])
else:
    create_item_once = None


# --- routes ------------------------------------------------------------------------------------------------------
@app.post("/items")
def post_item():
    payload = _payload_from_body()
    key = app.current_event.headers.get(IDEMPOTENCY_HEADER)
    if key and create_item_once:
        item = create_item_once(request={"idempotency_key": key, "payload": payload})
    else:
        item = create_item(payload)
    return Response(201, content_types.APPLICATION_JSON, item, headers={"Location": f"items/{item['id']}"})


@app.get("/items")
def list_items():
    query = app.current_event
    limit = _page_size(query.get_query_string_value("limit", default_value=str(DEFAULT_PAGE_SIZE)))
    scan = {"Limit": limit}
    token = query.get_query_string_value("next_token")
    if token:
        scan["ExclusiveStartKey"] = _decode_token(token)
    page = table.scan(**scan)
    return {"items": page["Items"], "next_token": _encode_token(page.get("LastEvaluatedKey"))}


@app.get("/items/<item_id>")
def get_item(item_id: str):
    item = table.get_item(Key={"id": item_id}, ConsistentRead=True).get("Item")
    if not item:
        raise NotFoundError(f"item {item_id} not found")
    return item


@app.put("/items/<item_id>")
def put_item(item_id: str):
    payload = _payload_from_body()
    try:
        result = table.update_item(
            Key={"id": item_id},
            UpdateExpression="SET payload = :p, updated_at = :t, correlation_id = :c",
            ConditionExpression="attribute_exists(id)",
            ExpressionAttributeValues={":p": payload, ":t": _now(), ":c": logger.get_correlation_id()},
            ReturnValues="ALL_NEW",
        )
    except table.meta.client.exceptions.ConditionalCheckFailedException:
        raise NotFoundError(f"item {item_id} not found") from None
    logger.info("item updated", item_id=item_id)
    return result["Attributes"]


@app.patch("/items/<item_id>")
def patch_item(item_id: str):
    """Changes only the payload fields sent; the others stay. Conditional: an id that does not exist is a 404,
    not a new item (update_item alone would create it)."""
    changes = _payload_from_body()
    if not changes:
        raise BadRequestError("field 'payload' has no fields to change")
    names = {"#payload": "payload"}
    values = {":t": _now(), ":c": logger.get_correlation_id()}
    sets = []
    for i, (field, value) in enumerate(changes.items()):
        names[f"#f{i}"] = field
        values[f":v{i}"] = value
        sets.append(f"#payload.#f{i} = :v{i}")
    try:
        result = table.update_item(
            Key={"id": item_id},
            UpdateExpression=f"SET {', '.join(sets)}, updated_at = :t, correlation_id = :c",
            ConditionExpression="attribute_exists(id)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )
    except table.meta.client.exceptions.ConditionalCheckFailedException:
        raise NotFoundError(f"item {item_id} not found") from None
    logger.info("item patched", item_id=item_id, fields=sorted(changes))
    return result["Attributes"]


@app.delete("/items/<item_id>")
def delete_item(item_id: str):
    try:
        table.delete_item(Key={"id": item_id}, ConditionExpression="attribute_exists(id)")
    except table.meta.client.exceptions.ConditionalCheckFailedException:
        raise NotFoundError(f"item {item_id} not found") from None
    logger.info("item deleted", item_id=item_id)
    return Response(204)


@app.exception_handler(IdempotencyValidationError)
def key_reused(_):
    return _error(422, f"{IDEMPOTENCY_HEADER} was already used with a different payload")


@app.exception_handler(IdempotencyAlreadyInProgressError)
def key_in_progress(_):
    return _error(409, f"a request with this {IDEMPOTENCY_HEADER} is still in progress; retry shortly")


# --- entry point -------------------------------------------------------------------------------------------------
def lambda_handler(event: dict, context) -> dict:
    # Before inject_lambda_context runs, so even the lines it writes carry this request's id.
    logger.set_correlation_id(_correlation_id(APIGatewayProxyEvent(event)))
    return _handle(event, context)


@logger.inject_lambda_context
def _handle(event: dict, context) -> dict:
    idempotency_config.register_lambda_context(context)
    response = app.resolve(event, context)
    # Every response, whichever route or error produced it, tells the caller its correlation id.
    response.setdefault("multiValueHeaders", {})[CORRELATION_HEADER] = [logger.get_correlation_id()]
    logger.info("request handled", method=event.get("httpMethod"), path=event.get("path"),
                status=response["statusCode"])
    return response


# --- helpers -----------------------------------------------------------------------------------------------------
def _correlation_id(event: APIGatewayProxyEvent) -> str:
    """The caller's x-correlation-id if it looks like one, else API Gateway's request id."""
    given = event.headers.get(CORRELATION_HEADER) or ""
    return given if VALID_CORRELATION_ID.match(given) else event.request_context.request_id


def _payload_from_body() -> dict:
    content_type = app.current_event.headers.get("Content-Type") or "application/json"
    if not re.match(r"^application/([\w.+-]+\+)?json\b", content_type, re.IGNORECASE):
        raise ServiceError(415, f"Content-Type must be application/json, not {content_type}")
    raw = app.current_event.decoded_body
    if not raw:
        raise BadRequestError('request body is missing: send a JSON object such as {"payload": {...}}')
    try:
        body = json.loads(raw, parse_float=Decimal, parse_constant=_reject_constant)
    except ValueError as e:
        raise BadRequestError(f"request body is not valid JSON: {e}") from None
    if not isinstance(body, dict):
        raise BadRequestError('request body must be a JSON object such as {"payload": {...}}')
    if "payload" not in body:
        raise BadRequestError("missing required field 'payload'")
    if not isinstance(body["payload"], dict):
        raise BadRequestError("field 'payload' must be a JSON object")
    return body["payload"]


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _page_size(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= MAX_PAGE_SIZE:
        raise BadRequestError(f"limit must be a whole number from 1 to {MAX_PAGE_SIZE}")
    return int(value)


def _encode_token(last_key: dict | None) -> str | None:
    return base64.urlsafe_b64encode(to_json(last_key).encode()).decode() if last_key else None


def _decode_token(token: str) -> dict:
    try:
        key = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError):
        key = None
    if not isinstance(key, dict) or set(key) != {"id"} or not isinstance(key["id"], str):
        raise BadRequestError("next_token is not valid: pass the next_token of the previous page unchanged")
    return key


def _error(status: int, message: str) -> Response:
    return Response(status, content_types.APPLICATION_JSON, {"statusCode": status, "message": message})


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
