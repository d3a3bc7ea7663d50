"""The built-in `crud-api` pattern, deployed by name: API Gateway REST -> Lambda (Powertools) -> DynamoDB."""

import json
import re
import uuid

import pytest
import requests

PAYLOAD = {"name": "widget", "qty": 3, "price": 9.95, "tags": ["a", "b"], "dims": {"w": 1.5, "h": 2}}


class Api:
    """The deployed pattern: its outputs and a requests session aimed at ApiUrl."""

    def __init__(self, sb, result):
        self.sb, self.result, self.outputs = sb, result, result.outputs
        self.url = self.outputs["ApiUrl"]
        self.http = requests.Session()
        self.http.trust_env = False  # loopback only

    def __call__(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.http.request(method, self.url + path, timeout=60, **kwargs)

    def post(self, payload, headers=None) -> requests.Response:
        return self("POST", "items", json={"payload": payload}, headers=headers or {})

    def stored_items(self) -> list[dict]:
        return self.sb.client("dynamodb").scan(TableName=self.outputs["ItemsTableName"])["Items"]

    def function(self) -> dict:
        return self.sb.client("lambda").get_function(FunctionName=self.outputs["FunctionName"])["Configuration"]


def deploy(sb, parameters=None) -> Api:
    return Api(sb, sb.deploy("crud-api", parameters=parameters))


@pytest.fixture
def api(sb) -> Api:
    return deploy(sb)


def json_log_lines(text: str) -> list[dict]:
    """The Powertools Logger's JSON objects in a function's log text (which also holds START/END/REPORT)."""
    decoder, out, pos = json.JSONDecoder(), [], 0
    while (pos := text.find('{"level"', pos)) >= 0:
        obj, end = decoder.raw_decode(text, pos)
        out.append(obj)
        pos = end
    return out


def test_deploys_by_name_with_local_outputs(api, sb):
    assert api.result.stack_name == "crud-api" and api.result.status == "CREATE_COMPLETE"
    assert set(api.outputs) >= {"ApiUrl", "ItemsTableName", "ItemsTableStreamArn", "FunctionName"}
    assert re.fullmatch(re.escape(sb.endpoint) + r"/_aws/execute-api/[a-z0-9]+/dev/", api.url), api.url
    table = sb.client("dynamodb").describe_table(TableName=api.outputs["ItemsTableName"])["Table"]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert table["LatestStreamArn"] == api.outputs["ItemsTableStreamArn"]
    exports = {e["Name"]: e["Value"] for e in sb.client("cloudformation").list_exports()["Exports"]}
    assert exports["crud-api-ItemsTableStreamArn"] == api.outputs["ItemsTableStreamArn"]
    fn = api.function()
    assert (fn["Runtime"], fn["MemorySize"], fn["Timeout"]) == ("python3.13", 256, 10)


def test_crud_round_trip(api):
    created = api.post(PAYLOAD)
    assert created.status_code == 201, created.text
    item = created.json()
    assert item["payload"] == PAYLOAD
    assert uuid.UUID(item["id"]) and item["created_at"] == item["updated_at"]
    assert created.headers["Location"] == f"items/{item['id']}"

    got = api("GET", f"items/{item['id']}")
    assert got.status_code == 200 and got.json() == item
    assert got.headers["Content-Type"] == "application/json"

    changed = api("PUT", f"items/{item['id']}", json={"payload": {"name": "gadget", "qty": 0}})
    assert changed.status_code == 200, changed.text
    updated = changed.json()
    assert updated["payload"] == {"name": "gadget", "qty": 0}
    assert updated["created_at"] == item["created_at"] and updated["updated_at"] > item["updated_at"]
    assert api("GET", f"items/{item['id']}").json() == updated

    deleted = api("DELETE", f"items/{item['id']}")
    assert deleted.status_code == 204 and deleted.text == ""
    gone = api("GET", f"items/{item['id']}")
    assert gone.status_code == 404
    assert gone.json()["message"] == f"item {item['id']} not found"
    assert api("DELETE", f"items/{item['id']}").status_code == 404
    assert api("PUT", f"items/{item['id']}", json={"payload": {}}).status_code == 404
    assert api.stored_items() == []


def test_unknown_id_is_404_with_message(api):
    missing = api("GET", "items/does-not-exist")
    assert missing.status_code == 404
    assert missing.json() == {"statusCode": 404, "message": "item does-not-exist not found"}


def test_list_is_paginated_with_an_opaque_token(api):
    ids = {api.post({"n": n}).json()["id"] for n in range(7)}
    seen, pages, token = [], 0, None
    while True:
        page = api("GET", "items", params={"limit": 3, **({"next_token": token} if token else {})})
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) <= 3
        seen += [i["id"] for i in body["items"]]
        pages += 1
        token = body["next_token"]
        if not token:
            break
        assert pages < 10, "pagination does not end"
    assert sorted(seen) == sorted(ids), "every item exactly once"
    assert pages >= 3
    everything = api("GET", "items").json()  # default page size 20
    assert len(everything["items"]) == 7 and everything["next_token"] is None

    for bad in ({"limit": 0}, {"limit": 101}, {"limit": "ten"}):
        resp = api("GET", "items", params=bad)
        assert resp.status_code == 400 and "limit" in resp.json()["message"], (bad, resp.text)
    forged = api("GET", "items", params={"next_token": "not-a-token"})
    assert forged.status_code == 400 and "next_token" in forged.json()["message"]


INVALID_REQUESTS = [  # body, Content-Type, expected status, part of the message
    ('{"payload": {"name": "x"', "application/json", 400, "not valid JSON"),
    ("", "application/json", 400, "body is missing"),
    ('{"name": "x"}', "application/json", 400, "missing required field 'payload'"),
    ('{"payload": "x"}', "application/json", 400, "'payload' must be a JSON object"),
    ('[{"payload": {}}]', "application/json", 400, "must be a JSON object"),
    ('{"payload": {"x": NaN}}', "application/json", 400, "not valid JSON"),
    ('{"payload": {"x": 1}}', "application/x-www-form-urlencoded", 415, "Content-Type must be application/json"),
]


def test_invalid_requests_are_rejected_with_a_reason(api):
    for body, content_type, status, message in INVALID_REQUESTS:
        resp = api("POST", "items", data=body.encode(), headers={"Content-Type": content_type})
        assert resp.status_code == status, (body, resp.text)
        assert message in resp.json()["message"], (body, resp.text)
    assert api.stored_items() == []

    item = api.post({"n": 1}).json()
    resp = api("PUT", f"items/{item['id']}", data=b"{oops", headers={"Content-Type": "application/json"})
    assert resp.status_code == 400 and "not valid JSON" in resp.json()["message"]
    assert api("PUT", f"items/{item['id']}", json={"n": 2}).status_code == 400  # no payload
    assert api("GET", f"items/{item['id']}").json() == item, "a rejected update changes nothing"


def test_correlation_id_is_returned_stored_and_in_every_log_line(api, sb, helpers):
    cid = f"test-{uuid.uuid4()}"
    created = api.post({"n": 1}, headers={"X-Correlation-Id": cid})  # header names are case-insensitive
    assert created.status_code == 201
    assert created.headers["x-correlation-id"] == cid
    assert created.json()["correlation_id"] == cid

    def logged():
        lines = json_log_lines(helpers.log_text(sb, api.outputs["FunctionName"]))
        mine = [line for line in lines if line.get("correlation_id") == cid]
        return (lines, mine) if any(line["message"] == "request handled" for line in mine) else None

    lines, mine = helpers.wait_for(logged, timeout=60, message="the request's log lines")
    assert {line["message"] for line in mine} >= {"item created", "request handled"}
    request_ids = {line["function_request_id"] for line in mine}
    assert len(request_ids) == 1
    same_invocation = [line for line in lines if line.get("function_request_id") in request_ids]
    assert same_invocation and all(line.get("correlation_id") == cid for line in same_invocation)
    assert all(line["service"] == "crud-api" and line["level"] for line in same_invocation)

    # no header: API Gateway's request id, returned on errors too
    missing = api("GET", "items/nope")
    generated = missing.headers["x-correlation-id"]
    assert generated and generated == missing.headers.get("x-amzn-RequestId", generated)
    assert generated != cid
    # a header that is no plausible id (here: too long) is not trusted
    odd = api("GET", "items/nope", headers={"x-correlation-id": "x" * 500})
    assert odd.headers["x-correlation-id"] != "x" * 500


def test_idempotent_post_returns_the_first_item_and_stores_one(api):
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = api.post({"order": 42}, headers=key)
    again = api.post({"order": 42}, headers=key)
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.json() == first.json()
    assert len(api.stored_items()) == 1

    reused = api.post({"order": 43}, headers=key)  # same key, another payload: a client bug, not a retry
    assert reused.status_code == 422 and "Idempotency-Key" in reused.json()["message"]
    other = api.post({"order": 42}, headers={"Idempotency-Key": str(uuid.uuid4())})
    unkeyed = api.post({"order": 42})
    assert len({first.json()["id"], other.json()["id"], unkeyed.json()["id"]}) == 3
    assert len(api.stored_items()) == 3


def test_parameter_change_redeploys(api, sb):
    url, fn_name = api.url, api.outputs["FunctionName"]
    before = api.post({"n": 1}).json()
    changed = deploy(sb, {"FunctionMemorySize": 512, "FunctionTimeout": 20, "Idempotency": "disabled"})
    assert changed.result.status == "UPDATE_COMPLETE" and changed.result.changed
    assert (changed.url, changed.outputs["FunctionName"]) == (url, fn_name)
    fn = changed.function()
    assert (fn["MemorySize"], fn["Timeout"]) == (512, 20)
    assert fn["Environment"]["Variables"]["IDEMPOTENCY_TABLE_NAME"] == ""

    # same API, same data, new behaviour: the Idempotency-Key header is ignored now
    assert changed("GET", f"items/{before['id']}").json() == before
    key = {"Idempotency-Key": "k-1"}
    assert changed.post({"n": 2}, headers=key).json()["id"] != changed.post({"n": 2}, headers=key).json()["id"]

    back = deploy(sb, {"FunctionMemorySize": 256, "Idempotency": "enabled"})
    assert back.function()["MemorySize"] == 256
    assert back.post({"n": 3}, headers=key).json() == back.post({"n": 3}, headers=key).json()


def test_reserved_concurrency_parameter(sb):
    api = deploy(sb, {"ReservedConcurrency": 2})
    concurrency = sb.client("lambda").get_function_concurrency(FunctionName=api.outputs["FunctionName"])
    assert concurrency.get("ReservedConcurrentExecutions") == 2
