"""moto's own answer to a DynamoDB request that succeeded, instead of LocalStack parsing it and serializing it again.

LocalStack's bridge to moto (localstack/services/moto.py `call_moto`, then localstack/aws/forwarder.py
`dispatch_to_backend`) parses every answer moto wrote into a dict (`parse_response`), and the skeleton serializes
that dict again (`JSONResponseSerializer`): ~35 + ~71 µs of the ~1,150 µs of LocalStack CPU an UpdateItem costs
(census, docs/benchmarks.md tenth round), to write JSON that moto had written already. An answer with a 2xx status is
passed on as moto wrote it, with LocalStack's request id and DynamoDB's content type; moto's `x-amz-crc32` (the
checksum of that very body, which botocore verifies) is kept. An error answer still goes LocalStack's way, so it is
raised as the same service exception as before (the chain's exception handlers, the recorder's error spans).

The chain's response parser (localstack/aws/handlers/service.py `ServiceResponseParser`) would parse the answer
anyway, to fill `context.service_response`: it finds that set to a mapping that parses only when something reads it.
The recorder does, for its previews and DynamoDB's read/write units (sandbox/observability/engine/gateway.py makes
a dict of it); with the recorder off (`--no-recorder`) nothing parses it.

moto answers TagResource and UntagResource with an empty body where LocalStack sent `{}`: an empty answer goes out
as `{}` (with its checksum), as before.

`SANDBOX_DYNAMODB_PASSTHROUGH=0` goes LocalStack's way (to compare in a benchmark): read once, when the service
loads (plugin.py `dynamodb_dispatch_table`), not per request.
"""

from __future__ import annotations

import binascii
import json
import os
from collections.abc import Iterator, Mapping
from typing import Any

from localstack.aws.api import RequestContext, ServiceRequest, ServiceResponse
from localstack.aws.client import parse_response, raise_service_exception
from localstack.http import Response
from localstack.services.moto import dispatch_to_moto

CONTENT_TYPE = "application/x-amz-json-1.0"  # DynamoDB's protocol: awsJson1_0
# Operations whose answers hold items, keys, counts and capacities only: parse_response (botocore's parser, for the
# shapes) changes nothing in them but binary values (B, BS: base64 -> bytes), keys the shape does not have and the
# order of the top-level keys. Without one, the recorder's read of
# such an answer is json.loads: ~5 instead of ~50 us (five a media-pipeline file; thirteenth round).
ITEM_OPERATIONS = frozenset({"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem",
                             "BatchWriteItem", "TransactGetItems", "TransactWriteItems"})
EMPTY_CHECKSUM = str(binascii.crc32(b"{}"))


def enabled() -> bool:
    return os.environ.get("SANDBOX_DYNAMODB_PASSTHROUGH", "1") not in ("0", "false", "no")


class ParsedOnDemand(Mapping):
    """The parsed answer, parsed the first time something reads it; always true, so the chain's parser leaves it.

    It holds the operation, not the request's context: the context holds it (`service_response`), and that cycle
    kept every DynamoDB request's context, request and answer alive until a cycle collection: more collections, and
    every operation ~10 % dearer in the benchmark that found it (docs/benchmarks.md, eleventh round)."""

    __slots__ = ("_operation", "_protocol", "_response", "_parsed")

    def __init__(self, context: RequestContext, response: Response):
        self._operation, self._protocol = context.operation, context.protocol
        self._response, self._parsed = response, None

    def _data(self) -> dict:
        if self._parsed is None:
            body = self._response.data
            if self._operation.name in ITEM_OPERATIONS and b'"B"' not in body and b'"BS"' not in body:
                # what parse_response makes of it: nothing to decode; moto's unmodelled keys dropped (DeleteItem's
                # ConsumedCapacityUnits), the others in the shape's order (the recorder's preview is cut at its budget)
                answer = json.loads(body)
                self._parsed = {key: answer[key] for key in self._operation.output_shape.members if key in answer}
            else:
                self._parsed = parse_response(self._operation, self._protocol, self._response,
                                              include_response_metadata=False)
        return self._parsed

    def __getitem__(self, key: str) -> Any:
        return self._data()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data())

    def __len__(self) -> int:
        return len(self._data())

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return repr(self._data())


def as_aws_answers(operation: str, request, body: bytes) -> bytes:
    """moto's answer to an item operation without what AWS leaves out: `ConsumedCapacity` unless the request asked
    for it (ReturnConsumedCapacity TOTAL or INDEXES), and an empty `Attributes` (DeleteItem of no item with
    ReturnValues ALL_OLD, UpdateItem without ReturnValues). `const {Attributes} = await ddb.send(delete)`, then
    `if (!Attributes) return 404`, never answered 404. `body` itself when nothing is to go (no copy, no parse)."""
    if operation not in ITEM_OPERATIONS or not body:
        return body
    asked = (request or {}).get("ReturnConsumedCapacity") in ("TOTAL", "INDEXES")
    drop_capacity = not asked and b'"ConsumedCapacity"' in body
    if not drop_capacity and b'"Attributes": {}' not in body:
        return body
    try:
        answer = json.loads(body)
    except ValueError:
        return body
    if drop_capacity:
        answer.pop("ConsumedCapacity", None)
    if answer.get("Attributes") == {}:
        del answer["Attributes"]
    return json.dumps(answer).encode()


def forward(context: RequestContext, request: ServiceRequest) -> ServiceResponse | Response:
    """The fallback to moto of our DynamoDB provider (in place of LocalStack's `_proxy_moto`)."""
    answer = dispatch_to_moto(context)
    if answer.status_code >= 300:
        parsed = parse_response(context.operation, context.protocol, answer, include_response_metadata=False)
        raise_service_exception(answer, parsed)
        return parsed
    raw = answer.get_data()
    body = as_aws_answers(context.operation.name, request, raw)
    headers = {"Content-Type": CONTENT_TYPE, "x-amzn-RequestId": context.request_id}
    if body is not raw:
        headers["x-amz-crc32"] = str(binascii.crc32(body))
    elif not body:
        body, headers["x-amz-crc32"] = b"{}", EMPTY_CHECKSUM
    elif checksum := answer.headers.get("x-amz-crc32"):
        headers["x-amz-crc32"] = checksum
    response = Response(body, answer.status_code, headers)
    context.service_response = ParsedOnDemand(context, response)
    return response
