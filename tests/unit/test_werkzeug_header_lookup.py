"""patches/werkzeug_header_lookup.py: werkzeug's Headers give the same answers and errors as werkzeug's own methods
(names of any case, length and alphabet, present or not, with defaults and types), without an exception for a
missing header; EnvironHeaders keep werkzeug's lookups."""

from __future__ import annotations

import random

import pytest
from werkzeug.datastructures import EnvironHeaders, Headers
from werkzeug.exceptions import BadRequestKeyError

from sandbox.localstack_ext.patches import werkzeug_header_lookup

werkzeug_header_lookup.apply()
WERKZEUG_GET_KEY, WERKZEUG_GET, WERKZEUG_CONTAINS = Headers._sandbox_werkzeug_methods

# Names whose lower case differs in length (İ), matches an ASCII name (the Kelvin sign K), or is ß
NAMES = ["Host", "Content-Type", "content-type", "X-Amz-Target", "Authorization", "Origin", "ETag", "x", "",
         "İd", "id", "Kelvin", "\u212aelvin", "Straße", "STRASSE", "x-amz-meta-ü", "X-AMZ-META-Ü", "Content-Length"]


def outcome(fn, *args):
    try:
        return ("value", fn(*args))
    except Exception as e:  # noqa: BLE001 - the error is the outcome to compare
        return ("error", type(e).__name__)


@pytest.mark.parametrize("seed", range(5))
def test_lookups_answer_as_werkzeug_does(seed):
    rng = random.Random(seed)
    for _ in range(300):
        headers = Headers([(rng.choice(NAMES), str(rng.randint(0, 99))) for _ in range(rng.randint(0, 8))])
        for key in NAMES + [name.upper() for name in NAMES] + [name.swapcase() for name in NAMES]:
            assert outcome(Headers._get_key, headers, key) == outcome(WERKZEUG_GET_KEY, headers, key), (headers, key)
            assert outcome(headers.get, key) == outcome(WERKZEUG_GET, headers, key)
            assert outcome(headers.get, key, "dflt", int) == outcome(WERKZEUG_GET, headers, key, "dflt", int)
            assert (key in headers) == WERKZEUG_CONTAINS(headers, key)
            assert outcome(headers.__getitem__, key) == outcome(lambda k: WERKZEUG_GET_KEY(headers, k), key)


def test_wrong_key_types_fail_as_before():
    headers = Headers([("Host", "x")])
    for key in (1, None, b"Host"):
        assert outcome(headers.get, key) == outcome(WERKZEUG_GET, headers, key)
        assert outcome(headers.__contains__, key) == outcome(WERKZEUG_CONTAINS, headers, key)


def test_a_missing_header_raises_nothing_inside(monkeypatch):
    made = []
    original = BadRequestKeyError.__init__
    monkeypatch.setattr(BadRequestKeyError, "__init__", lambda self, *a, **k: made.append(a) or original(self, *a, **k))
    headers = Headers([("Host", "127.0.0.1"), ("Content-Type", "application/json")])
    assert headers.get("Origin") is None and headers.get("origin", "none") == "none" and "Referer" not in headers
    assert made == []
    with pytest.raises(KeyError):
        headers["Origin"]  # indexing still raises, as werkzeug's does
    assert made == [("Origin",)]


def test_environ_headers_keep_werkzeug_lookups():
    environ = {"HTTP_X_AMZ_TARGET": "DynamoDB_20120810.GetItem", "CONTENT_TYPE": "application/json"}
    headers = EnvironHeaders(environ)
    assert headers.get("x-amz-target") == "DynamoDB_20120810.GetItem" and headers.get("Content-Type")
    assert "X-Amz-Target" in headers and "Origin" not in headers and headers.get("Origin", 1) == 1
