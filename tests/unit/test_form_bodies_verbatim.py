"""form_bodies_verbatim on werkzeug's own Request: the raw body of a form is kept while werkzeug parses it, and
what LocalStack's parsers see of the request does not change."""

from __future__ import annotations

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers.request import Request

from sandbox.localstack_ext.patches import form_bodies_verbatim as patch


@pytest.fixture(autouse=True)
def patched(monkeypatch):
    monkeypatch.setattr(Request, "_load_form_data", Request._load_form_data)
    patch.apply("werkzeug.wrappers.request")


def request(body: bytes, content_type: str) -> Request:
    return EnvironBuilder(method="POST", data=body, content_type=content_type).get_request(Request)


@pytest.mark.parametrize("body, form", [(b'{"id": "i1", "name": "x"}', {'{"id": "i1", "name": "x"}': [""]}),
                                        (b"a=1&b=x%20y&c=%2B&c=2", {"a": ["1"], "b": ["x y"], "c": ["+", "2"]}),
                                        (b"", {})])
def test_a_url_encoded_body_is_kept_byte_for_byte_and_still_parsed(body, form):
    form_first = request(body, "application/x-www-form-urlencoded")
    assert form_first.form.to_dict(flat=False) == form  # parsed as werkzeug parses it
    assert patch.raw_body(form_first) == body and form_first.data == b""  # data stays empty, as before
    asked_first = request(body, "application/x-www-form-urlencoded")
    assert patch.raw_body(asked_first) == body  # restore_payload before anything parsed the form


def test_a_multipart_body_is_kept_up_to_the_limit_and_other_types_are_left_alone(monkeypatch):
    body = b'--xx\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--xx--\r\n'
    kept = request(body, "multipart/form-data; boundary=xx")
    assert kept.form["a"] == "1" and patch.raw_body(kept) == body
    monkeypatch.setattr(patch, "KEPT_UP_TO", len(body) - 1)
    big = request(body, "multipart/form-data; boundary=xx")
    assert big.form["a"] == "1" and patch.raw_body(big) is None  # a big upload is not held twice in memory
    assert patch.raw_body(request(b'{"a": 1}', "application/json")) is None


def test_a_body_read_before_the_form_is_the_one_handed_back():
    body = b"a=1&b=x%20y"
    read_first = request(body, "application/x-www-form-urlencoded")
    assert read_first.get_data(cache=True) == body  # e.g. a SigV4 check of a remote client
    assert read_first.form["b"] == "x y" and patch.raw_body(read_first) == body
