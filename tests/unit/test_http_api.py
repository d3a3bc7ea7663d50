"""HTTP APIs' pure logic: route precedence, the OpenAPI import, payload formats, parameter mapping, CORS, JWT."""

from __future__ import annotations

import base64
import json

import pytest

from sandbox.http_api import access, mapping, openapi, payloads, routes

KEYS = ["GET /pets", "GET /pets/{id}", "ANY /pets/{id}", "GET /pets/dog", "ANY /{proxy+}", "GET /files/{p+}",
        "$default"]


@pytest.mark.parametrize("method,path,expected", [
    ("GET", "/pets", ("GET /pets", {})),
    ("GET", "/pets/", ("GET /pets", {})),
    ("GET", "/pets/dog", ("GET /pets/dog", {})),  # literal beats variable
    ("GET", "/pets/7", ("GET /pets/{id}", {"id": "7"})),  # the method beats ANY
    ("DELETE", "/pets/7", ("ANY /pets/{id}", {"id": "7"})),
    ("GET", "/files/a/b.txt", ("GET /files/{p+}", {"p": "a/b.txt"})),
    ("POST", "/x/y", ("ANY /{proxy+}", {"proxy": "x/y"})),  # greedy last
    ("POST", "/", ("$default", {})),  # a greedy variable needs one segment
    ("GET", "/Pets", ("ANY /{proxy+}", {"proxy": "Pets"})),  # case-sensitive
])
def test_route_precedence(method, path, expected):
    assert routes.select(KEYS, method, path) == expected


def test_no_route_and_no_default_is_none():
    assert routes.select(["GET /a"], "GET", "/b") is None
    with pytest.raises(ValueError, match="METHOD /path"):
        routes.RouteKey.parse("GET pets")


SAM_BODY = {
    "openapi": "3.0.1", "info": {"title": "notes", "version": "1.0"},
    "paths": {
        "/a/{id}": {"get": {"x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST",
                                                                 "uri": "arn:fn", "payloadFormatVersion": "1.0"},
                            "security": [{"Jwt": ["read"]}]}},
        "$default": {"x-amazon-apigateway-any-method": {"isDefaultRoute": True, "x-amazon-apigateway-integration":
                                                        {"$ref": "#/components/x-amazon-apigateway-integrations/q"}}},
    },
    "components": {
        "securitySchemes": {"Jwt": {"type": "oauth2", "x-amazon-apigateway-authorizer": {
            "type": "jwt", "identitySource": "$request.header.Authorization",
            "jwtConfiguration": {"issuer": "https://i", "audience": ["app"]}}}},
        "x-amazon-apigateway-integrations": {"q": {"type": "aws_proxy", "integrationSubtype": "SQS-SendMessage",
                                                   "requestParameters": {"QueueUrl": "u", "MessageBody": "b"}}},
    },
    "x-amazon-apigateway-cors": {"allowOrigins": ["*"], "maxAge": 5},
}


def test_openapi_import_keeps_what_sam_generates():
    d = openapi.parse(json.dumps(SAM_BODY))
    by_key = {r.key: r for r in d.routes}
    assert set(by_key) == {"GET /a/{id}", "$default"}
    assert by_key["GET /a/{id}"].integration.payload_format_version == "1.0"
    assert by_key["GET /a/{id}"].authorizer == "Jwt" and by_key["GET /a/{id}"].scopes == ["read"]
    assert by_key["$default"].integration.subtype == "SQS-SendMessage"
    assert d.authorizers["Jwt"].jwt == {"Issuer": "https://i", "Audience": ["app"]}
    assert d.cors == {"AllowOrigins": ["*"], "MaxAge": 5} and d.title == "notes"


def test_openapi_errors_say_where():
    body = {"paths": {"/a": {"get": {"security": [{"Missing": []}]}}}}
    with pytest.raises(openapi.DefinitionError, match="'GET /a' requires security scheme 'Missing'"):
        openapi.parse(body)
    with pytest.raises(openapi.DefinitionError, match="points to nothing"):
        openapi.parse({"paths": {"/a": {"get": {"x-amazon-apigateway-integration": {"$ref": "#/nope"}}}}})


def _req(**kw) -> payloads.Incoming:
    base = dict(method="POST", path="/a/1", raw_path="/prod/a/1", query="x=1&x=2&y=",
                headers=[("Content-Type", "application/json"), ("X-Multi", "a"), ("X-Multi", "b"),
                         ("Cookie", "s=1; t=2")], body=b'{"name": "ada", "n": {"k": 1}}', api_id="abc",
                stage="prod", account="000000000000", region="us-east-1", request_id="rid")
    base.update(kw)
    return payloads.Incoming(**base)


def test_payload_format_2_joins_repeats_and_moves_cookies():
    e = payloads.event_v2(_req(), "POST /a/{id}", {"id": "1"}, {"v": "1"}, {"lambda": {"u": "x"}})
    assert e["headers"]["x-multi"] == "a,b" and "cookie" not in e["headers"] and e["cookies"] == ["s=1", "t=2"]
    assert e["queryStringParameters"] == {"x": "1,2", "y": ""} and e["rawQueryString"] == "x=1&x=2&y="
    assert e["requestContext"]["http"]["path"] == "/prod/a/1" and e["requestContext"]["authorizer"]["lambda"]
    assert e["body"] == '{"name": "ada", "n": {"k": 1}}' and e["isBase64Encoded"] is False
    binary = payloads.event_v2(_req(headers=[("content-type", "image/png")], body=b"\x89PNG"), "$default", {}, {}, None)
    assert binary["isBase64Encoded"] is True and base64.b64decode(binary["body"]) == b"\x89PNG"


def test_payload_format_1_is_the_rest_shape():
    e = payloads.event_v1(_req(), "POST /a/{id}", {"id": "1"}, {}, None)
    assert e["resource"] == "/a/{id}" and e["path"] == "/prod/a/1" and e["httpMethod"] == "POST"
    assert e["multiValueHeaders"]["X-Multi"] == ["a", "b"]
    assert e["multiValueQueryStringParameters"] == {"x": ["1", "2"], "y": [""]}


@pytest.mark.parametrize("payload,status,body", [
    (b'{"statusCode": 201, "body": "made", "cookies": ["a=1"]}', 201, b"made"),
    (b'{"hello": "world"}', 200, b'{"hello": "world"}'),  # 2.0: no statusCode -> the JSON is the body
    (b'"text"', 200, b'"text"'),
    (b'{"statusCode": 200, "body": "aGk=", "isBase64Encoded": true}', 200, b"hi"),
])
def test_response_format_2(payload, status, body):
    out = payloads.response_v2(payload)
    assert (out.status, out.body) == (status, body)


def test_response_format_1_needs_a_status_code():
    assert payloads.response_v1(b'{"hello": "world"}').status == 500
    assert payloads.response_v1(b'{"statusCode": 204}').status == 204


def test_service_integration_parameters():
    req = _req()
    service, op, args = mapping.service_call(
        "EventBridge-PutEvents", {"Detail": "$request.body.n", "DetailType": "T", "Source": "s-${request.path.id}",
                                  "EventBusName": "$stageVariables.bus"}, req, {"id": "1"}, {"bus": "b"}, {})
    assert (service, op) == ("events", "PutEvents")
    assert args == {"Entries": [{"Detail": '{"k": 1}', "DetailType": "T", "Source": "s-1", "EventBusName": "b"}]}
    _, _, sfn = mapping.service_call("StepFunctions-StartExecution", {"StateMachineArn": "arn:sm",
                                                                      "Input": "$request.body"}, req, {}, {}, {})
    assert sfn == {"stateMachineArn": "arn:sm", "input": req.body.decode()}
    with pytest.raises(mapping.MappingError, match="needs QueueUrl"):
        mapping.service_call("SQS-SendMessage", {"MessageBody": "x"}, req, {}, {}, {})
    with pytest.raises(mapping.MappingError, match="not supported here"):
        mapping.service_call("Kinesis-PutRecord", {}, req, {}, {}, {})
    assert mapping.substitute_stage_variables("arn:fn:${stageVariables.alias}", {"alias": "live"}) == "arn:fn:live"


def test_cors():
    cors = {"AllowOrigins": ["https://a.example"], "AllowMethods": ["GET"], "AllowHeaders": ["x-a"], "MaxAge": 9}
    got = dict(access.cors_preflight(cors, "https://a.example", "GET", "x-a, x-b"))
    assert got == {"access-control-allow-origin": "https://a.example", "access-control-allow-methods": "GET",
                   "access-control-allow-headers": "x-a", "access-control-max-age": "9"}
    assert access.cors_preflight(cors, "https://evil.example", "GET", None) == []
    assert access.cors_response_headers({"AllowOrigins": ["*"]}, "https://x") == [("access-control-allow-origin", "*")]


def _jwt(claims) -> str:
    enc = lambda v: base64.urlsafe_b64encode(json.dumps(v).encode()).decode().rstrip("=")  # noqa: E731
    return f"{enc({'alg': 'none'})}.{enc(claims)}.sig"


def test_jwt_checks_what_can_be_checked_offline():
    good = {"iss": "https://i", "aud": ["app"], "exp": 2000, "scope": "read write", "sub": "u"}
    got = access.check_jwt("Bearer " + _jwt(good), "https://i", ["app"], ["read"], now=1000)
    assert got["claims"]["sub"] == "u" and got["scopes"] == ["read", "write"]
    for claims, now, error in [({**good, "iss": "x"}, 1000, "issuer"), ({**good, "aud": "other"}, 1000, "audience"),
                               (good, 3000, "expired"), ({**good, "nbf": 1500}, 1000, "not valid yet")]:
        with pytest.raises(access.Unauthorized, match=error):
            access.check_jwt(_jwt(claims), "https://i", ["app"], [], now=now)
    with pytest.raises(access.Forbidden, match="scopes"):
        access.check_jwt(_jwt(good), "https://i", ["app"], ["admin"], now=1000)
    with pytest.raises(access.Unauthorized, match="not a JWT"):
        access.check_jwt("Bearer abc", "https://i", ["app"], [], now=1000)


def test_iam_and_none_security_as_sam_writes_them():
    body = {"paths": {"/signed": {"get": {"security": [{"AWS_IAM": []}]}},
                      "/public": {"get": {"security": [{"NONE": []}]}}},
            "components": {"securitySchemes": {"AWS_IAM": {"type": "apiKey", "name": "Authorization", "in": "header",
                                                           "x-amazon-apigateway-authtype": "awsSigv4"}}}}
    routes_by_key = {r.key: r for r in openapi.parse(body).routes}
    assert routes_by_key["GET /signed"].iam and routes_by_key["GET /signed"].authorizer is None
    assert not routes_by_key["GET /public"].iam and routes_by_key["GET /public"].authorizer is None


def test_sigv4_is_required_on_iam_routes():
    header = ("AWS4-HMAC-SHA256 Credential=AKID/20261204/us-east-1/execute-api/aws4_request, "
              "SignedHeaders=host, Signature=abc")
    assert access.check_sigv4(header, {}, "123")["accessKey"] == "AKID"
    assert access.check_sigv4(None, {"X-Amz-Algorithm": "AWS4-HMAC-SHA256",
                                     "X-Amz-Credential": "AKQ/20261204/us-east-1/execute-api/aws4_request"},
                              "123")["accessKey"] == "AKQ"
    for bad in (None, "Bearer x", "AWS4-HMAC-SHA256 Credential=AKID"):
        with pytest.raises(access.Forbidden):
            access.check_sigv4(bad, {}, "123")
