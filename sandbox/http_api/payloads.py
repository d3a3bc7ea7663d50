"""What an HTTP API sends to a Lambda integration (payload formats 1.0 and 2.0) and how it reads the answer.

After AWS's "Working with AWS Lambda proxy integrations for HTTP APIs": format 2.0 joins repeated headers and
query parameters with commas, moves cookies to `cookies`, and accepts any JSON as a response (a dict without
`statusCode` or a plain value becomes a 200 `application/json` answer); format 1.0 is the REST API shape.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript", "application/x-www-form")


@dataclass
class Incoming:
    """One request to an HTTP API, as the gateway sees it."""
    method: str
    path: str  # the path the routes match (no stage)
    raw_path: str  # as requested (with the stage for a named stage)
    query: str
    headers: list[tuple[str, str]]
    body: bytes
    api_id: str
    stage: str
    account: str
    region: str
    request_id: str
    source_ip: str = "127.0.0.1"
    domain: str = ""
    time_epoch_ms: int = field(default_factory=lambda: int(time.time() * 1000))

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return ",".join(values) if values else None

    @property
    def query_pairs(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query, keep_blank_values=True)

    @property
    def time_text(self) -> str:
        return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(self.time_epoch_ms / 1000))

    def body_for_event(self) -> tuple[str | None, bool]:
        if not self.body:
            return None, False
        ctype = (self.header("content-type") or "").lower()
        if not ctype or ctype.startswith(TEXT_TYPES) or "+json" in ctype:
            try:
                return self.body.decode("utf-8"), False
            except UnicodeDecodeError:
                pass
        return base64.b64encode(self.body).decode(), True


def _joined(pairs: list[tuple[str, str]], lower: bool) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in pairs:
        k = k.lower() if lower else k
        out[k] = f"{out[k]},{v}" if k in out else v
    return out


def _multi(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in pairs:
        out.setdefault(k, []).append(v)
    return out


def request_context_v2(req: Incoming, route_key: str, authorizer: dict | None) -> dict:
    ctx = {
        "accountId": req.account, "apiId": req.api_id, "domainName": req.domain,
        "domainPrefix": req.domain.split(".", 1)[0] if req.domain else req.api_id,
        "http": {"method": req.method, "path": req.raw_path, "protocol": "HTTP/1.1", "sourceIp": req.source_ip,
                 "userAgent": req.header("user-agent") or ""},
        "requestId": req.request_id, "routeKey": route_key, "stage": req.stage,
        "time": req.time_text, "timeEpoch": req.time_epoch_ms,
    }
    if authorizer:
        ctx["authorizer"] = authorizer
    return ctx


def event_v2(req: Incoming, route_key: str, path_params: dict, stage_variables: dict,
             authorizer: dict | None) -> dict:
    headers = [(k, v) for k, v in req.headers if k.lower() != "cookie"]
    cookies = [c.strip() for k, v in req.headers if k.lower() == "cookie" for c in v.split(";") if c.strip()]
    body, b64 = req.body_for_event()
    event = {
        "version": "2.0", "routeKey": route_key, "rawPath": req.raw_path, "rawQueryString": req.query,
        "headers": _joined(headers, lower=True),
        "requestContext": request_context_v2(req, route_key, authorizer),
        "isBase64Encoded": b64,
    }
    if cookies:
        event["cookies"] = cookies
    if req.query:
        event["queryStringParameters"] = _joined(req.query_pairs, lower=False)
    if body is not None:
        event["body"] = body
    if path_params:
        event["pathParameters"] = path_params
    if stage_variables:
        event["stageVariables"] = stage_variables
    return event


def event_v1(req: Incoming, route_key: str, path_params: dict, stage_variables: dict,
             authorizer: dict | None) -> dict:
    body, b64 = req.body_for_event()
    resource = route_key.split(" ", 1)[1] if " " in route_key else "$default"
    query = req.query_pairs
    context = {
        "accountId": req.account, "apiId": req.api_id, "domainName": req.domain,
        "domainPrefix": req.domain.split(".", 1)[0] if req.domain else req.api_id, "extendedRequestId":
        req.request_id, "httpMethod": req.method, "path": req.raw_path, "protocol": "HTTP/1.1",
        "requestId": req.request_id, "requestTime": req.time_text, "requestTimeEpoch": req.time_epoch_ms,
        "resourceId": route_key, "resourcePath": resource, "stage": req.stage,
        "identity": {"sourceIp": req.source_ip, "userAgent": req.header("user-agent") or "", "accessKey": None,
                     "accountId": None, "caller": None, "cognitoIdentityId": None, "user": None, "userArn": None},
    }
    if authorizer:
        context["authorizer"] = authorizer.get("lambda", authorizer) if "jwt" not in authorizer else authorizer
    return {
        "version": "1.0", "resource": resource, "path": req.raw_path, "httpMethod": req.method,
        "headers": _joined(req.headers, lower=False), "multiValueHeaders": _multi(req.headers),
        "queryStringParameters": _joined(query, lower=False) if query else None,
        "multiValueQueryStringParameters": _multi(query) if query else None,
        "requestContext": context, "pathParameters": path_params or None,
        "stageVariables": stage_variables or None, "body": body, "isBase64Encoded": b64,
    }


@dataclass
class Outgoing:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


INTERNAL_ERROR = Outgoing(500, [("content-type", "application/json")], b'{"message":"Internal Server Error"}')


def _body_bytes(body, b64: bool) -> bytes:
    if body is None:
        return b""
    if not isinstance(body, str):
        body = json.dumps(body)
    return base64.b64decode(body) if b64 else body.encode("utf-8")


def response_v2(payload: bytes) -> Outgoing:
    """AWS: with format 2.0, a response without `statusCode` is taken as the body of a 200 JSON answer."""
    try:
        value = json.loads(payload) if payload else None
    except ValueError:
        return Outgoing(200, [("content-type", "application/json")], payload)
    if not isinstance(value, dict) or "statusCode" not in value:
        return Outgoing(200, [("content-type", "application/json")], payload)
    try:
        status = int(value["statusCode"])
    except (TypeError, ValueError):
        return INTERNAL_ERROR
    headers = [(str(k), str(v)) for k, v in (value.get("headers") or {}).items()]
    for k, vs in (value.get("multiValueHeaders") or {}).items():
        headers += [(str(k), str(v)) for v in vs or []]
    headers += [("set-cookie", str(c)) for c in value.get("cookies") or []]
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("content-type", "application/json"))
    return Outgoing(status, headers, _body_bytes(value.get("body"), bool(value.get("isBase64Encoded"))))


def response_v1(payload: bytes) -> Outgoing:
    """Format 1.0: the REST API shape; anything else is a malformed Lambda proxy response (500)."""
    try:
        value = json.loads(payload) if payload else None
        status = int(value["statusCode"])
    except (ValueError, TypeError, KeyError):
        return INTERNAL_ERROR
    headers = [(str(k), str(v)) for k, v in (value.get("headers") or {}).items()]
    for k, vs in (value.get("multiValueHeaders") or {}).items():
        headers += [(str(k), str(v)) for v in vs or [] if (str(k), str(v)) not in headers]
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("content-type", "application/json"))
    return Outgoing(status, headers, _body_bytes(value.get("body"), bool(value.get("isBase64Encoded"))))
