"""patch json_shape_parsers: a JSON-protocol request is parsed by a parser made for its input shape, into exactly what
LocalStack's parser makes of it (same keys in the same order, same types), and whatever that parser cannot parse
goes to LocalStack's parser, which raises its own error word for word.

Requests of every operation of seven JSON services are written by botocore's serializer from random parameters
(seeded), then parsed both ways; broken copies of them (a value of the wrong type, a number that is not one, bad
base64, unknown keys, a body that is not an object) too."""

from __future__ import annotations

import base64
import datetime
import json
import random
import sys

import pytest

from sandbox.localstack_ext.patches import json_shape_parsers as patch

pytestmark = pytest.mark.usefixtures("no_host_profile")

SERVICES = ["dynamodb", "sqs", "logs", "events", "stepfunctions", "kinesis", "secretsmanager"]


@pytest.fixture(scope="module")
def parsers():
    """(LocalStack's JSON parser with the patch, a subclass of it that the patch leaves to LocalStack's walk, the
    made parsers), the class restored afterwards."""
    from localstack.aws.protocol.parser import JSONRequestParser

    saved = {k: JSONRequestParser.__dict__.get(k) for k in ("_handle_json_body", "_sandbox_shape_parsers")}
    try:
        patch.apply()
        assert JSONRequestParser._handle_json_body is not saved["_handle_json_body"], "the patch was not applied"

        class Reference(JSONRequestParser):
            """LocalStack's parser as it is: the patch only answers for JSONRequestParser itself."""

        yield JSONRequestParser, Reference, JSONRequestParser._sandbox_shape_parsers
    finally:
        for name, value in saved.items():
            if value is None:
                if name in JSONRequestParser.__dict__:
                    delattr(JSONRequestParser, name)
            else:
                setattr(JSONRequestParser, name, value)


def value_for(shape, rng: random.Random, depth: int = 0):
    kind = shape.type_name
    if kind == "structure":
        if shape.is_document_type:
            return {"a": [1, "b", None, {"c": True}]}
        members = list(shape.members.items())
        if depth > 3:
            members = [(n, m) for n, m in members if n in shape.required_members]
        chosen = [(n, m) for n, m in members if n in shape.required_members or rng.random() < 0.6]
        return {name: value_for(member, rng, depth + 1) for name, member in chosen}
    if kind == "list":
        return [value_for(shape.member, rng, depth + 1) for _ in range(rng.randint(0, 2 if depth < 3 else 0))]
    if kind == "map":
        return {f"k{i}-é": value_for(shape.value, rng, depth + 1) for i in range(rng.randint(0, 2 if depth < 3 else 0))}
    if kind in ("string", "character"):
        enum = shape.enum
        return rng.choice(enum) if enum else rng.choice(["", "x", "héllo wörld", "a\"b\\c", "12", "∑"])
    if kind in ("integer", "long"):
        return rng.choice([0, 1, -7, 2**40])
    if kind in ("float", "double"):
        return rng.choice([0.0, 1.5, -2.25, 1e20])
    if kind == "boolean":
        return rng.choice([True, False])
    if kind == "blob":
        return rng.choice([b"", b"\x00\xff binary", "text".encode()])
    if kind == "timestamp":
        return datetime.datetime(2026, 12, 6, 18, 30, rng.randint(0, 59), tzinfo=datetime.UTC)
    raise AssertionError(f"no value for {kind}")


def serialized(service_model, operation, params: dict) -> tuple[bytes, dict]:
    from botocore.serialize import create_serializer

    request = create_serializer("json", include_validation=False).serialize_to_request(params, service_model.operation_model(operation))
    return request["body"], dict(request["headers"])


def localstack_request(body: bytes, headers: dict):
    from localstack.http import Request

    return Request("POST", "/", headers={**headers, "Host": "127.0.0.1:4566"}, body=body)


def comparable(value):
    """Types, values and key order, all the way down."""
    if isinstance(value, dict):
        return ("dict", [(k, comparable(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [comparable(v) for v in value])
    return (type(value).__name__, value)


def outcome(parser, body: bytes, headers: dict):
    try:
        operation, params = parser.parse(localstack_request(body, headers))
        return "parsed", operation.name, comparable(params)
    except Exception as e:  # noqa: BLE001 - the errors are compared
        return "error", type(e).__name__, str(e)


def broken(body: dict, rng: random.Random):
    """A copy of a request body with one value replaced by something of the wrong kind or left out, or an unknown key
    added."""
    body = json.loads(json.dumps(body))
    spots = []

    def walk(node):
        if isinstance(node, dict):
            for key in node:
                spots.append((node, key))
                walk(node[key])
        elif isinstance(node, list):
            for i in range(len(node)):
                spots.append((node, i))
                walk(node[i])

    walk(body)
    if not spots or rng.random() < 0.15:
        body[f"Unknown{rng.randint(0, 9)}"] = {"x": 1}
        return body
    node, key = rng.choice(spots)
    if rng.random() < 0.2:  # a member left out (a required one: None in LocalStack's parameters)
        del node[key]
        return body
    node[key] = rng.choice(["not a number", "%%% not base64 %%%", 12, 1.5, [1, "a"], {"S": 1}, "", True, "12", None])
    return body


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_parses_as_localstack_parses_it(parsers, service):
    from localstack.aws.spec import load_service

    patched, reference, made = parsers
    model = load_service(service)
    rng = random.Random(f"json-shapes-{service}")
    fast, ours, checked = patched(model), reference(model), 0
    for operation in model.operation_names:
        shape = model.operation_model(operation).input_shape
        if shape is None:
            continue
        assert made.get(fast, shape) is not None, f"{service}.{operation}: no parser made"
        for _ in range(3):
            body, headers = serialized(model, operation, value_for(shape, rng))
            expected = outcome(ours, body, headers)
            assert expected[0] == "parsed", expected
            assert outcome(fast, body, headers) == expected, f"{service}.{operation}: {body[:300]!r}"
            # the made parser itself answered (no fall-back to LocalStack's)
            assert comparable(made.get(fast, shape)(json.loads(body or b"{}"))) == expected[2]
            for _ in range(2):
                bad = json.dumps(broken(json.loads(body or b"{}"), rng)).encode()
                assert outcome(fast, bad, headers) == outcome(ours, bad, headers), f"{service}.{operation}: {bad!r}"
            checked += 1
    assert checked >= 3 * 20


@pytest.mark.parametrize("operation", ["PutItem", "DescribeLimits"])  # DescribeLimits: an input without members
@pytest.mark.parametrize("body", [b"null", b"[]", b'"text"', b"{not json", b"", b"7"])
def test_a_body_that_is_not_an_object_gets_localstack_s_answer(parsers, body, operation):
    from localstack.aws.spec import load_service

    patched, reference, _ = parsers
    model = load_service("dynamodb")
    headers = {"X-Amz-Target": f"DynamoDB_20120810.{operation}", "Content-Type": "application/x-amz-json-1.0"}
    assert outcome(patched(model), body, headers) == outcome(reference(model), body, headers)


def test_a_model_a_parser_cannot_be_made_for_is_left_to_localstack(parsers):
    """LocalStack's parser walks only the members a request has; making a parser walks them all, and a reference
    botocore cannot resolve (under a member this request leaves out) must not fail the request."""
    from botocore.model import ServiceModel

    patched, reference, made = parsers
    model = ServiceModel({
        "metadata": {"protocol": "json", "targetPrefix": "T", "jsonVersion": "1.0", "serviceId": "T",
                     "apiVersion": "1", "endpointPrefix": "t"},
        "operations": {"Op": {"name": "Op", "http": {"method": "POST", "requestUri": "/"}, "input": {"shape": "In"}}},
        "shapes": {"In": {"type": "structure", "members": {"A": {"shape": "S"}, "B": {"shape": "Inner"}}},
                   "Inner": {"type": "structure", "members": {"X": {"shape": "Missing"}}}, "S": {"type": "string"}}},
        "t")
    headers = {"X-Amz-Target": "T.Op", "Content-Type": "application/x-amz-json-1.0"}
    expected = outcome(reference(model), b'{"A": "a"}', headers)
    assert expected == ("parsed", "Op", comparable({"A": "a"}))
    assert outcome(patched(model), b'{"A": "a"}', headers) == expected
    assert made.get(patched(model), model.operation_model("Op").input_shape) is None


def test_dynamodb_values_keep_their_types_all_the_way_down(parsers):
    from localstack.aws.spec import load_service

    patched, _, _ = parsers
    item = {"k": {"S": "a"}, "n": {"N": "1.50"}, "b": {"B": base64.b64encode(b"\x00\x01").decode()},
            "m": {"M": {"l": {"L": [{"BS": [base64.b64encode(b"x").decode()]}, {"NULL": True}, {"BOOL": False}]}}}}
    body = json.dumps({"TableName": "t", "Item": item, "ReturnValues": "NONE"}).encode()
    headers = {"X-Amz-Target": "DynamoDB_20120810.PutItem", "Content-Type": "application/x-amz-json-1.0"}
    operation, params = patched(load_service("dynamodb")).parse(localstack_request(body, headers))
    assert params["Item"]["b"] == {"B": b"\x00\x01"}
    assert params["Item"]["m"]["M"]["l"]["L"] == [{"BS": [b"x"]}, {"NULL": True}, {"BOOL": False}]
    assert params["Item"]["n"] == {"N": "1.50"}


def test_a_shape_with_a_header_member_is_left_to_localstack(parsers):
    from botocore.model import ShapeResolver

    patched, _, made = parsers
    shape = ShapeResolver({"In": {"type": "structure", "members": {"Token": {"shape": "S", "location": "header",
                                                                           "locationName": "X-Token"}}},
                           "S": {"type": "string"}}).get_shape_by_name("In")
    assert made.get(patched.__new__(patched), shape) is None


def test_a_cbor_body_gets_localstack_s_answer(parsers):
    import cbor2
    from localstack.aws.spec import load_service

    patched, reference, _ = parsers
    model = load_service("dynamodb")
    body = cbor2.dumps({"TableName": "t", "Item": {"b": {"B": b"\x00\x01"}}})
    headers = {"X-Amz-Target": "DynamoDB_20120810.PutItem", "Content-Type": "application/x-amz-cbor-1.1"}
    expected = outcome(reference(model), body, headers)
    assert expected[0] == "parsed" and outcome(patched(model), body, headers) == expected


def small_table(parsers, monkeypatch, size: int, shapes: int):
    """(a table of made parsers holding at most `size`, a patched SQS parser, the input shapes of `shapes` SQS
    operations)."""
    from localstack.aws.spec import load_service

    patched = parsers[0]
    monkeypatch.setattr(patch, "SHAPES_KEPT", size)
    model = load_service("sqs")
    return (patch.ShapeParsers(patched._convert_str_to_timestamp), patched(model),
            [model.operation_model(op).input_shape for op in model.operation_names[:shapes]])


def test_the_made_parsers_are_bounded_and_kept_by_shape(parsers, monkeypatch):
    kept, parser, shapes = small_table(parsers, monkeypatch, 5, 8)
    first = kept.get(parser, shapes[0])
    assert kept.get(parser, shapes[0]) is first  # made once
    for shape in shapes:
        kept.get(parser, shape)
    assert len(kept.kept) == 5 and all(entry[0] in shapes[3:] for entry in kept.kept.values())


def test_the_switch_leaves_localstack_s_parser(monkeypatch):
    from localstack.aws.protocol.parser import JSONRequestParser

    before = JSONRequestParser.__dict__["_handle_json_body"]
    monkeypatch.setenv("SANDBOX_JSON_SHAPE_PARSERS", "0")
    monkeypatch.delattr(JSONRequestParser, "_sandbox_shape_parsers", raising=False)
    patch.apply()
    assert JSONRequestParser.__dict__["_handle_json_body"] is before


def test_the_made_parsers_are_shared_by_threads_that_evict_each_other_s(parsers, monkeypatch):
    """Gateway threads parse at once: a lookup must not fail because another thread evicted its entry meanwhile."""
    import threading

    kept, parser, shapes = small_table(parsers, monkeypatch, 3, 12)
    errors = []
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switch between any two steps

    def hammer(offset: int) -> None:
        try:
            for i in range(3000):
                assert kept.get(parser, shapes[(i + offset) % len(shapes)]) is not None
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    try:
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors, errors[:3]
    assert len(kept.kept) <= 3


def test_the_table_is_read_and_changed_under_its_lock(parsers):
    """A lookup and its move to the end are two steps: another thread's eviction between them would fail the
    request, so every read and change of the table happens with the lock held (threads rarely switch just there,
    so the hammer above seldom sees it)."""
    from collections import OrderedDict

    from localstack.aws.spec import load_service

    patched, _, _ = parsers
    kept = patch.ShapeParsers(patched._convert_str_to_timestamp)

    class Watched(OrderedDict):
        def get(self, *args):
            assert kept.lock.locked()
            return super().get(*args)

        def move_to_end(self, *args, **kwargs):
            assert kept.lock.locked()
            return super().move_to_end(*args, **kwargs)

        def __setitem__(self, key, value):
            assert kept.lock.locked()
            return super().__setitem__(key, value)

        def popitem(self, *args, **kwargs):
            assert kept.lock.locked()
            return super().popitem(*args, **kwargs)

    kept.kept = Watched()
    model = load_service("sqs")
    shape = model.operation_model("SendMessage").input_shape
    assert kept.get(patched(model), shape) is kept.get(patched(model), shape) is not None
