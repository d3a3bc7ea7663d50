"""JSON-protocol requests parsed by a parser made once per input shape (speed).

LocalStack's `JSONRequestParser` (localstack/aws/protocol/parser.py; DynamoDB, SQS, CloudWatch Logs, EventBridge,
Step Functions...) turns the request's JSON into parameters by walking the operation's input shape: for every
member of every structure - present or not - `_parse_shape` looks up its location, builds the name of a method
and calls it. A DynamoDB UpdateItem (13 members, AttributeValues two levels down) is 66 such calls: most of the
58 us its parse takes (`json.loads` 3; 28 with a made parser; in process, 2026-12-06). A media-pipeline file makes
five DynamoDB requests and a SendMessage from its functions.

Each input shape now gets a parser of its own the first time it is used: per structure, the list of its members
with their JSON names and the parsers of their shapes; strings and booleans kept as they are, integers `int()`,
floats `float()`, blobs base64-decoded, timestamps converted by LocalStack's own converter - what `_parse_shape`
does for a JSON (not CBOR) body, in the same order, keeping the same keys (a required member that is absent: None).

Whenever the made parser cannot answer - a CBOR body, a shape with a member read from a header or the query,
an event stream, a type it does not know, or any error (a string where a structure should be, a number that is
not one) - LocalStack's parser parses the request as before, so every error is LocalStack's own, word for word.
One difference remains: a value nested deeper than LocalStack's walk can go (its recursion takes about four frames a
level, the made parser's three: a DynamoDB item nested ~250-330 levels, where DynamoDB allows 32) failed there with
a RecursionError (a 500) and is parsed here.
`tests/unit/test_json_shape_parsers.py` parses requests of every operation of seven JSON services both ways,
valid and broken.

`SANDBOX_JSON_SHAPE_PARSERS=0` leaves LocalStack's parser as it is (to compare in a benchmark).
"""

from __future__ import annotations

import base64
import os
import threading
from collections import OrderedDict

TARGET = "localstack.aws.protocol.parser"
SHAPES_KEPT = 2048  # input shapes with a made parser (the JSON services LocalStack serves have ~850 operations)
CBOR = "application/x-amz-cbor"


class CannotMake(Exception):
    """The shape needs something only LocalStack's parser does: that operation is always parsed by it."""


def enabled() -> bool:
    return (os.environ.get("SANDBOX_JSON_SHAPE_PARSERS") or "1") not in ("0", "false", "no")


def apply() -> None:
    if not enabled():
        return
    from localstack.aws.protocol.parser import JSONRequestParser

    if getattr(JSONRequestParser, "_sandbox_shape_parsers", False):
        return
    handle_json_body = JSONRequestParser._handle_json_body
    made = ShapeParsers(JSONRequestParser._convert_str_to_timestamp)

    def handle_json_body_fast(self, request, shape, uri_params=None):
        if type(self) is JSONRequestParser and shape is not None and not request.mimetype.startswith(CBOR):
            parse = made.get(self, shape)  # a CBOR body is LocalStack's: no parser made for it
            if parse is not None:
                try:
                    body = self._parse_body_as_json(request)
                    if body is not None:  # a body of `null`: LocalStack's parser answers None, whatever the shape
                        return parse(body)
                except Exception:  # noqa: BLE001 - LocalStack's parser parses it again and raises its own error
                    pass
        return handle_json_body(self, request, shape, uri_params)

    JSONRequestParser._handle_json_body = handle_json_body_fast
    JSONRequestParser._sandbox_shape_parsers = made


class ShapeParsers:
    """The made parsers, by input shape (the shape object is kept with its parser, so its id is not reused), the
    least recently used dropped past SHAPES_KEPT. None: the shape is left to LocalStack's parser.

    Requests are parsed on many gateway threads at once, so the table is read and changed under a lock (a lookup
    and its move to the end are two steps another thread's eviction could come between); a parser is made outside
    it (two threads may both make one for a new shape: the same parser, the last one kept)."""

    def __init__(self, convert_timestamp):
        self.convert_timestamp = convert_timestamp
        self.kept: OrderedDict[int, tuple] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, parser, shape):
        with self.lock:
            entry = self.kept.get(id(shape))
            if entry is not None and entry[0] is shape:
                self.kept.move_to_end(id(shape))
                return entry[1]
        try:
            parse = make(shape, {}, lambda value, fmt: self.convert_timestamp(parser, value, fmt))
        except Exception:  # noqa: BLE001 - CannotMake, or a model botocore cannot resolve everywhere (LocalStack's
            parse = None  # parser walks only the members a request has): that operation is LocalStack's to parse
        with self.lock:
            self.kept[id(shape)] = (shape, parse)
            while len(self.kept) > SHAPES_KEPT:
                self.kept.popitem(last=False)
        return parse


def _identity(value):
    return value


LEAVES = {"string": _identity, "character": _identity, "boolean": _identity,
          "integer": int, "long": int, "float": float, "double": float, "blob": base64.b64decode}


def make(shape, made: dict, convert_timestamp):
    """The parser of one shape's JSON value (never called with None: the caller keeps None as None). `made` holds
    the parsers being made, by shape, so a recursive shape (DynamoDB's AttributeValue) refers to itself."""
    serialization = shape.serialization
    if serialization.get("location") is not None or getattr(shape, "event_stream_name", None):
        raise CannotMake(shape.name)
    kind = shape.type_name
    if kind in LEAVES:
        return LEAVES[kind]
    if kind == "timestamp":
        fmt = serialization.get("timestampFormat")
        return lambda value: convert_timestamp(value, fmt)
    key = (shape.name, kind, repr(sorted(serialization.items())))
    if key in made:
        cell = made[key]
        return lambda value: cell[0](value)
    cell = made[key] = [None]
    if kind == "structure":
        cell[0] = _structure(shape, made, convert_timestamp)
    elif kind == "list":
        cell[0] = _list(make(shape.member, made, convert_timestamp))
    elif kind == "map":
        cell[0] = _map(make(shape.key, made, convert_timestamp), make(shape.value, made, convert_timestamp))
    else:
        raise CannotMake(f"{shape.name}: {kind}")
    return cell[0]


def _structure(shape, made: dict, convert_timestamp):
    if shape.is_document_type:
        return _identity
    required = set(shape.required_members)
    members = tuple((name, member.serialization.get("name", name), make(member, made, convert_timestamp),
                     name in required) for name, member in shape.members.items())

    def parse_structure(value):
        parsed = {}
        for name, json_name, parse, is_required in members:
            raw = value.get(json_name)  # a value that is not an object fails here, as in LocalStack's parser
            # (a structure without members takes any value but None as {}, as LocalStack's parser does)
            if raw is not None:
                raw = parse(raw)
            if raw is not None or is_required:
                parsed[name] = raw
        return parsed

    return parse_structure


def _list(parse_member):
    def parse_list(value):
        return [None if item is None else parse_member(item) for item in value]

    return parse_list


def _map(parse_key, parse_value):
    def parse_map(value):
        return {(None if k is None else parse_key(k)): (None if v is None else parse_value(v))
                for k, v in value.items()}

    return parse_map
