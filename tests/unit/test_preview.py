"""sandbox/observability/preview.py: what a span shows of a request or response - whole when it is small JSON,
bounded and still JSON-like when it is not, streams never consumed."""

from __future__ import annotations

import dataclasses
import datetime
import io
import json
import random
import time

from sandbox.observability import preview as preview_mod
from sandbox.observability.preview import ELLIPSIS, preview


def _walked(value, limit: int = 2048) -> str | None:
    """The preview as it was made before orjson: the budgeted walk and json.dumps."""
    if not preview_mod._small(value, preview_mod._Budget(limit), 0):
        value = preview_mod._compact(value, preview_mod._Budget(limit), 0)
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    if text in ("{}", "[]"):
        return None
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def _random_value(rng: random.Random, depth: int = 0):
    kind = rng.randrange(9 if depth < 4 else 5)
    if kind == 0:
        return rng.choice(["", "a", "é", "日本", "😀", "\t\n", '"\\', "x" * rng.randrange(1, 300)])
    if kind == 1:
        return rng.randrange(-10**12, 10**12)
    if kind == 2:
        return rng.choice([0.5, -1.25, 1e-07, 3.0, 1e+20])
    if kind == 3:
        return rng.choice([True, False])
    if kind == 4:
        return None
    if kind in (5, 6):
        return {rng.choice(["Key", "Item", "Body", "n", "MessageAttributes", "x" * 20]) + str(i):
                _random_value(rng, depth + 1) for i in range(rng.randrange(0, 6))}
    return [_random_value(rng, depth + 1) for _ in range(rng.randrange(0, 6))]


def test_small_json_values_are_shown_whole_as_json_dumps_wrote_them():
    rng = random.Random(7)
    seen = 0
    for _ in range(3000):
        value = {"Root": _random_value(rng)}
        if preview_mod._small(value, preview_mod._Budget(2048), 0):  # the walk would have shown it whole
            before, now = _walked(value), preview(value)
            assert json.loads(now) == json.loads(before), value
            if "e-0" not in before:  # json writes 1e-07, orjson 1e-7: the same number; the rest is the same text
                assert now == before, value
            seen += 1
    assert seen > 1000


@dataclasses.dataclass
class Shape:
    name: str


def test_what_is_not_plain_json_is_previewed_as_before():
    values = [
        {"model": Shape("a dataclass is shown as its str")},
        {"Body": b"bytes are text when they decode", "n": 1},
        {"Payload": b"\x00\x01\x02 binary"},
        {"_internal": "private keys are left out", "Key": "shown"},
        {"when": datetime.datetime(2026, 12, 6, 20, 0)},
        {1: "a non-str key"},
        {"ids": (1, 2, 3), "set": {"one"}},
        {"deep": [[[[[[[[[["ten levels"]]]]]]]]]]},
        {"many": list(range(100))},
        {"numbers": list(range(400))},
        {"Body": "x" * 5000},
        [{"Item": {"pk": {"S": "k" * 600}}} for _ in range(20)],
    ]
    for value in values:
        assert preview(value) == _walked(value), value


def test_a_large_value_is_cut_to_the_limit_and_keeps_its_shape():
    text = preview({"Records": [{"body": "y" * 1000, "id": i} for i in range(200)]})
    assert len(text) <= 2048
    assert text.startswith('{"Records":[{"body":"yyy') and ELLIPSIS in text


def test_a_stream_is_shown_without_being_consumed():
    body = io.BytesIO(b'{"hello": "world"}')
    assert preview({"Body": body}) == '{"Body":"{\\"hello\\": \\"world\\"}"}'
    assert body.read() == b'{"hello": "world"}'
    assert preview(io.BytesIO(b"abc")) == "abc"


def test_empty_containers_show_nothing_and_strings_are_cut():
    assert preview({}) is None and preview([]) is None and preview(None) is None
    assert preview("z" * 3000) == "z" * 2047 + ELLIPSIS
    assert preview({"a": 1}, limit=5) == '{"a":1}'[:4] + ELLIPSIS


def test_a_large_value_is_never_serialised_whole():
    """Bounded work: a 4 MB message is walked with a budget, not written out and then cut (orjson reserves ~11x a
    long string's length before its size could be checked: ~45 MB here)."""
    import tracemalloc

    big = {"Messages": [{"Body": "m" * (4 * 1024 * 1024)}]}
    tracemalloc.start()
    try:
        text = preview(big)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(text) <= 2048 and text.startswith('{"Messages":[{"Body":"mmm')
    assert peak < 256 * 1024, peak


def test_a_value_from_a_small_json_body_is_written_at_once_as_the_walk_would_show_it():
    """The fast path (a JSON body no longer than the limit: one orjson call, no walk) shows what the walk shows for
    JSON's own types; anything else (orjson raises at once) goes the walk's way."""
    import collections
    import enum

    rng = random.Random(11)
    fast = 0
    for _ in range(3000):
        value = {"Root": _random_value(rng)}
        assert preview(value, json_body_bytes=1000) == preview(value), value
        fast += preview_mod._fast(value, 2048) is not None
    assert fast > 1000

    class Ratio(float):
        pass

    Point = collections.namedtuple("Point", "x y")
    Kind = enum.StrEnum("Kind", {"A": "a"})
    odd = [
        {"model": Shape("a dataclass is shown as its str")},
        {"Body": b"bytes are text when they decode", "n": 1, "long": "l" * 600},
        {"Payload": b"\x00\x01\x02 binary", "Stream": io.BytesIO(b'{"a": 1}')},
        {"_internal": "private keys are left out", "Key": "shown"},
        {"when": datetime.datetime(2026, 12, 6, 20, 0), "day": datetime.date(2026, 12, 6)},
        {1: "a non-str key"}, {"inner": {2: "a non-str key inside"}},
        {"ids": (1, 2, 3), "set": {"one"}}, {"point": Point(1, 2)},
        {"big": 2**70}, {"bad": "\ud800"}, {"ratio": Ratio("nan"), "r": Ratio(1e-05)},
        {"kind": Kind.A},
        {"Body": "x" * 5000},
    ]
    for value in odd:
        assert preview(value, json_body_bytes=100) == preview(value), value
    stream = {"Stream": io.BytesIO(b"not consumed")}
    preview(stream, json_body_bytes=100)
    assert stream["Stream"].read() == b"not consumed"


def test_a_small_json_bodys_values_are_shown_whole():
    """What the walk elides of a small value is shown: nesting past 8 levels, numbers past the walk's count of 6
    characters each."""
    item = {"TableName": "posts", "Item": {"id": {"S": "p1"}, "_version": {"N": "3"}, "_lastChangedAt": {"N": "1"}}}
    assert json.loads(preview(item, json_body_bytes=200)) == item
    deep = {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": {"j": "ten levels"}}}}}}}}}}
    assert json.loads(preview(deep, json_body_bytes=200)) == deep
    zeros = {"zeros": [0] * 400}
    assert ELLIPSIS in preview(zeros) and json.loads(preview(zeros, json_body_bytes=900)) == zeros


def test_attributes_starting_with_underscore_show_below_the_top_either_way():
    """DynamoDB items with Amplify's `_version` and `_lastChangedAt`: shown by the fast path and by the walk alike, so
    an attribute does not vanish when its item's body passes 2 KB. A top-level "_" key is private and left out."""
    item = {"TableName": "posts", "_private": 1,
            "Item": {"id": {"S": "p1"}, "_version": {"N": "3"}, "_lastChangedAt": {"N": "1"}}}
    small = json.loads(preview(item))
    assert small["Item"]["_version"] == {"N": "3"} and "_private" not in small
    large = {**item, "Item": {**item["Item"], "body": {"S": "x" * 3000}}}  # past the limit: the budgeted walk
    shown = json.loads(preview(large))  # the walk cut the long string at 512 characters, inside the JSON
    assert shown["Item"]["body"]["S"].endswith(ELLIPSIS)
    assert shown["Item"]["_version"] == {"N": "3"} and "_private" not in shown
    assert json.loads(preview(item, json_body_bytes=100)) == small


def test_a_large_body_or_a_large_value_goes_the_walks_way():
    item = {"Item": {"id": {"S": "p1"}, "_version": {"N": "3"}}}
    assert preview(item, json_body_bytes=2049) == preview(item)  # a body past the limit: no fast path
    value = {"Records": [{"body": "y" * 1000, "id": i} for i in range(200)]}
    assert preview(value, json_body_bytes=100) == preview(value)  # its JSON is past the limit: the walk's cut


def test_only_an_uncompressed_json_body_takes_the_fast_path():
    """A small XML body can hold a large request (its entities expand: ~7 MB from a 1.1 KB PutBucketTagging), a
    small gzip body too; CBOR and query bodies are not JSON."""
    from types import SimpleNamespace

    from sandbox.observability.engine.gateway import _json_body_bytes

    def context(protocol, **environ):
        return SimpleNamespace(protocol=protocol, request=SimpleNamespace(environ=environ))

    assert _json_body_bytes(context("json"), 300) == 300 and _json_body_bytes(context("rest-json"), 10) == 10
    for protocol in ("rest-xml", "query", "ec2", "smithy-rpc-v2-cbor", None):
        assert _json_body_bytes(context(protocol), 300) is None, protocol
    assert _json_body_bytes(context("json", HTTP_CONTENT_ENCODING="gzip"), 300) is None


def test_the_fast_path_gets_the_request_body_length_only_when_there_is_one():
    """The gateway hands the previews werkzeug's `Request.content_length` (cheap with patch werkzeug_header_lookup,
    0.14 us): a length; none for a chunked body; an empty body."""
    from types import SimpleNamespace

    from localstack.http import Request

    from sandbox.observability.engine.gateway import _json_body_bytes

    def gated(request):
        return _json_body_bytes(SimpleNamespace(protocol="json", request=request), request.content_length)

    assert gated(Request("POST", "/", body=b"x" * 370)) == 370
    assert gated(Request("POST", "/", body=b"x" * 370, headers={"Transfer-Encoding": "chunked"})) is None
    assert gated(Request("POST", "/", body=b"", headers={})) in (0, None)
