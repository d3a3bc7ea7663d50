"""Calling a lab's API as a client would: loopback only, never through a proxy from the environment."""

from __future__ import annotations

import json

import requests

from scenarios.labs.context import CheckContext


def session() -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    return s


def call(ctx: CheckContext, http: requests.Session, method: str, path: str, body=None, raw: str | None = None,
         headers: dict | None = None) -> tuple[int, object, requests.Response]:
    """(status, JSON body or text, response) of `method` on the stack's ApiUrl + path."""
    url = ctx.output("ApiUrl").rstrip("/") + "/" + path.lstrip("/")
    data = raw if raw is not None else (json.dumps(body) if body is not None else None)
    resp = http.request(method, url, data=data, timeout=30,
                        headers={"Content-Type": "application/json", **(headers or {})})
    try:
        return resp.status_code, resp.json(), resp
    except ValueError:
        return resp.status_code, resp.text, resp


def brief(body) -> str:
    """A response body in one short line, for a message."""
    text = json.dumps(body) if not isinstance(body, str) else body
    return text if len(text) <= 160 else text[:157] + "..."
