"""patch lambda_invoke_direct: the Invoke it hands to LocalStack's gateway is the request botocore would send, and its
answers and errors are what botocore would return, for the same raw answers (a stand-in gateway; the live tests run
S3 notifications and async invocations through the real one)."""

from __future__ import annotations

import io
import json

import pytest

from conftest import StandInGateway as Gateway

from sandbox.localstack_ext import gateway_calls
from sandbox.localstack_ext.patches import lambda_invoke_direct as direct
from sandbox.observability.engine import propagation

pytestmark = pytest.mark.usefixtures("no_host_profile")

ARN = "arn:aws:lambda:eu-west-1:123456789012:function:my fn"
# what differs from call to call, or is botocore's own: the rest of the request must be the same
UNCOMPARED = {"user-agent", "amz-sdk-invocation-id", "amz-sdk-request", "x-amz-date", "authorization",
              "content-length", "host"}


class Raw:
    """An HTTP body as botocore reads it (whole or streamed)."""

    def __init__(self, data: bytes):
        self._data = io.BytesIO(data)

    def stream(self, **_):
        yield self._data.read()

    def read(self, amt=None):
        return self._data.read(amt)


def internal_client(access_key: str | None = "123456789012", region: str = "eu-west-1"):
    """LocalStack's own internal Lambda client (connect_to), as the two patched modules make it."""
    from localstack.aws.connect import connect_to

    return connect_to(aws_access_key_id=access_key, region_name=region).lambda_


def botocore_call(injector, answers, call):
    """`call(injector)` through botocore, its requests captured and answered with `answers` (no HTTP)."""
    sent = []
    pending = list(answers)

    def send(request, **_):
        from botocore.awsrequest import AWSResponse

        sent.append(request)
        status, headers, body = pending.pop(0)
        return AWSResponse(request.url, status, headers, Raw(body))

    events = injector._client.meta.events
    events.register_first("before-send.lambda.Invoke", send, unique_id="test-capture")
    try:
        return call(injector), sent
    except Exception as e:  # noqa: BLE001 - compared with the direct client's
        return e, sent
    finally:
        events.unregister("before-send.lambda.Invoke", unique_id="test-capture")


def direct_call(injector, answers, call):
    gw = Gateway(*answers)
    client = direct.DirectLambdaClient(injector, gateway=gw)
    try:
        return call(client), gw.requests
    except Exception as e:  # noqa: BLE001
        return e, gw.requests


def comparable(answer) -> dict:
    if isinstance(answer, Exception):
        return {"class": type(answer).__name__, "response": {k: v for k, v in answer.response.items()
                                                              if k != "ResponseMetadata"}, "text": str(answer)}
    out = dict(answer)
    out["Payload"] = out["Payload"].read()
    meta = out.pop("ResponseMetadata")
    out["meta"] = (meta.get("RequestId"), meta.get("HostId"), meta["HTTPStatusCode"],
                   meta["HTTPHeaders"].get("x-amz-function-error"), meta["RetryAttempts"])
    return out


CALLS = {
    "event": lambda c: c.invoke(FunctionName=ARN, InvocationType="Event", Payload='{"a": "é"}'),
    "request-response": lambda c: c.invoke(FunctionName=ARN, InvocationType="RequestResponse", Payload=b"{}"),
    "qualifier, tail, context": lambda c: c.invoke(FunctionName="f", Qualifier="$LATEST", LogType="Tail",
                                                   ClientContext="eyJ4IjoxfQ==", Payload=b"[1]"),
    "no payload": lambda c: c.invoke(FunctionName="f:live", InvocationType="DryRun"),
    "s3 notification": lambda c: c.request_metadata(source_arn="arn:aws:s3:::bucket", service_principal="s3")
    .invoke(FunctionName=ARN, InvocationType="Event", Payload="{}"),
    "async attempt": lambda c: c.custom_headers({"X-Amzn-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793;"
                                                                    "Parent=53995c3f42cd8ad8;Sampled=1",
                                                 "X-Amz-Request-Id": "rid-1"})
    .invoke(FunctionName=ARN, Payload=b'{"Records": []}', InvocationType="RequestResponse"),
}

ANSWERS = {
    "ok": [(200, {"X-Amz-Executed-Version": "$LATEST", "x-amzn-RequestId": "r1", "Content-Type": "application/json"},
            b'{"ok": true}')],
    "queued": [(202, {"x-amzn-RequestId": "r2"}, b"")],
    "function error with tail": [(200, {"X-Amz-Function-Error": "Unhandled", "X-Amz-Log-Result": "U1RBUlQ=",
                                        "X-Amz-Executed-Version": "3", "x-amzn-RequestId": "r3"},
                                  b'{"errorType": "ValueError", "errorMessage": "bad"}')],
    "dry run": [(204, {"x-amzn-RequestId": "r4"}, b"")],
    "not found": [(404, {"x-amzn-ErrorType": "ResourceNotFoundException", "x-amzn-RequestId": "r5"},
                   b'{"Type": "User", "message": "Function not found: f"}')],
    "bad parameter": [(400, {"x-amzn-RequestId": "r6"},
                       b'{"__type": "InvalidParameterValueException", "message": "nope"}')],
    "throttled five times": [(429, {"x-amzn-ErrorType": "TooManyRequestsException:http://x", "x-amzn-RequestId": "r7"},
                              b'{"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded", "Type": "User", '
                              b'"message": "Rate exceeded"}')] * 5,
    "a throttling code botocore reads from Code": [(400, {"x-amzn-RequestId": "r10"},
                                                   b'{"Code": "Throttling", "message": "slow down"}')] * 5,
    "a redirect is an error": [(307, {"x-amzn-RequestId": "r11", "Location": "/elsewhere"}, b"")],
    "no request id": [(200, {"x-amz-id-2": "host-1"}, b"{}")],
    "a 500, then ok": [(500, {"x-amzn-RequestId": "r8"}, b'{"__type": "ServiceException", "message": "boom"}'),
                       (200, {"x-amzn-RequestId": "r9"}, b"null")],
}


def request_view(request) -> tuple:
    """What LocalStack's gateway reads of a request (botocore's made into the gateway's as the in-memory client
    makes it, localstack.aws.client.create_http_request)."""
    from localstack.aws.client import create_http_request

    if not hasattr(request, "get_data"):
        request = create_http_request(request)
    headers = {k.lower(): v for k, v in request.headers.items() if k.lower() not in UNCOMPARED}
    credential = request.headers["Authorization"].split("Credential=")[1].split(",")[0].split("/")
    del credential[1]  # the date
    environ = {k: request.environ.get(k) for k in ("PATH_INFO", "RAW_URI", "QUERY_STRING", "SERVER_NAME",
                                                   "SERVER_PORT", "REQUEST_METHOD")}
    return environ, request.get_data(), headers, credential


@pytest.mark.parametrize("call", CALLS, ids=list(CALLS))
def test_the_request_is_the_one_botocore_sends(call):
    injector = internal_client()
    answer = ANSWERS["ok"]
    _, by_botocore = botocore_call(injector, answer, CALLS[call])
    _, by_direct = direct_call(injector, answer, CALLS[call])
    assert len(by_botocore) == len(by_direct) == 1
    assert request_view(by_direct[0]) == request_view(by_botocore[0])


@pytest.mark.parametrize("answers", ANSWERS, ids=list(ANSWERS))
def test_answers_and_errors_are_the_ones_botocore_returns(answers, no_sleep):
    injector = internal_client()
    call = CALLS["event"]
    by_botocore, botocore_requests = botocore_call(injector, ANSWERS[answers], call)
    botocore_sleeps = list(no_sleep)
    by_direct, direct_requests = direct_call(injector, ANSWERS[answers], call)
    assert comparable(by_direct) == comparable(by_botocore)
    assert len(direct_requests) == len(botocore_requests), "retried as often as botocore's legacy mode does"
    assert len(no_sleep) - len(botocore_sleeps) == len(botocore_requests) - 1


def test_a_throttle_is_the_exception_class_the_async_poller_checks(no_sleep, monkeypatch):
    monkeypatch.setattr(gateway_calls.random, "random", lambda: 1.0)
    injector = internal_client()
    error, _ = direct_call(injector, ANSWERS["throttled five times"], CALLS["async attempt"])
    client = direct.DirectLambdaClient(injector)
    assert isinstance(error, client.exceptions.TooManyRequestsException)
    assert error.response["Error"]["Code"] == "TooManyRequestsException"
    assert no_sleep == [1, 2, 4, 8], "botocore's back-off: base rand, growth factor 2"


def test_disable_boto_retries_and_stopping_try_once(no_sleep, monkeypatch):
    from localstack import config

    injector = internal_client()
    monkeypatch.setattr(config, "DISABLE_BOTO_RETRIES", True)
    _, requests = direct_call(injector, ANSWERS["throttled five times"], CALLS["event"])
    assert len(requests) == 1 and no_sleep == []
    monkeypatch.setattr(config, "DISABLE_BOTO_RETRIES", False)
    monkeypatch.setattr(gateway_calls, "stopping", lambda: True)
    _, requests = direct_call(injector, ANSWERS["throttled five times"], CALLS["event"])
    assert len(requests) == 1 and no_sleep == [], "LocalStack stopping: no retry"


def test_session_credentials_send_their_token():
    from localstack.aws.connect import connect_to

    injector = connect_to(aws_access_key_id="ASIAEXAMPLE", aws_secret_access_key="s", aws_session_token="tok",
                          region_name="eu-west-1").lambda_
    _, by_botocore = botocore_call(injector, ANSWERS["ok"], CALLS["event"])
    _, by_direct = direct_call(injector, ANSWERS["ok"], CALLS["event"])
    assert by_direct[0].headers["X-Amz-Security-Token"] == "tok"
    assert request_view(by_direct[0]) == request_view(by_botocore[0])


def test_request_metadata_drops_custom_headers_as_localstacks_injector_does():
    injector = internal_client()
    _, by_botocore = botocore_call(injector, ANSWERS["ok"], lambda c: c.custom_headers({"X-Custom": "1"})
                                   .request_metadata(source_arn="arn:aws:s3:::b").invoke(FunctionName="f"))
    _, by_direct = direct_call(injector, ANSWERS["ok"], lambda c: c.custom_headers({"X-Custom": "1"})
                               .request_metadata(source_arn="arn:aws:s3:::b").invoke(FunctionName="f"))
    assert "X-Custom" not in by_direct[0].headers
    assert request_view(by_direct[0]) == request_view(by_botocore[0])


def test_the_internal_account_key_of_a_client_without_one():
    from localstack.constants import INTERNAL_AWS_ACCESS_KEY_ID

    injector = internal_client(access_key=None)
    _, requests = direct_call(injector, ANSWERS["ok"], CALLS["s3 notification"])
    assert f"Credential={INTERNAL_AWS_ACCESS_KEY_ID}/" in requests[0].headers["Authorization"]
    assert json.loads(requests[0].headers["x-localstack-data"]) == {"source_arn": "arn:aws:s3:::bucket",
                                                                   "service_principal": "s3"}


def test_the_span_the_thread_works_for_rides_along_unless_the_caller_set_a_trace_header():
    injector = internal_client()
    hop = {"hop": "lambda-async", "caller": "inherit"}
    with propagation.bound(propagation.Current("1-abc-def", "span1", hop=hop, hop_ops={"Invoke"})):
        _, plain = direct_call(injector, ANSWERS["ok"], CALLS["event"])
        _, own = direct_call(injector, ANSWERS["ok"], CALLS["async attempt"])
    assert plain[0].headers["X-Amzn-Trace-Id"] == "Root=1-abc-def;Parent=span1;Sampled=1"
    assert own[0].headers["X-Amzn-Trace-Id"].startswith("Root=1-5759e988-"), "the caller's own header is kept"
    assert json.loads(own[0].headers[propagation.HOP_HEADER]) == hop


def test_other_calls_and_other_invokes_are_botocores(monkeypatch):
    injector = internal_client()
    gw = Gateway()
    client = direct.DirectLambdaClient(injector, gateway=gw).request_metadata(source_arn="arn:aws:s3:::b")
    streamed, _ = botocore_call(injector, ANSWERS["ok"],
                                lambda c: direct.DirectLambdaClient(c, gateway=gw).invoke(
                                    FunctionName="f", Payload=io.BytesIO(b"{}")))
    assert streamed["StatusCode"] == 200 and gw.requests == [], "a stream payload goes through botocore"
    assert client.get_function.func.__name__ == "get_function", "GetFunction is botocore's client method"
    assert client.get_function.keywords == {"_SourceArn": "arn:aws:s3:::b"}, "with the metadata"
    foreign = internal_client()
    monkeypatch.setattr(foreign._client.meta, "_endpoint_url", "http://127.0.0.1:1")
    other, _ = botocore_call(foreign, ANSWERS["ok"],
                             lambda c: direct.DirectLambdaClient(c, gateway=gw).invoke(FunctionName="f"))
    assert other["StatusCode"] == 200 and gw.requests == [], "another endpoint is botocore's"


def test_apply_makes_both_modules_lambda_clients_direct_and_the_switch_leaves_them(monkeypatch):
    import importlib

    modules = [importlib.import_module(name) for name in direct.TARGET]
    originals = [module.connect_to for module in modules]
    try:
        monkeypatch.setenv("SANDBOX_LAMBDA_INVOKE_DIRECT", "0")
        direct.apply()
        assert [module.connect_to for module in modules] == originals
        monkeypatch.delenv("SANDBOX_LAMBDA_INVOKE_DIRECT")
        direct.apply(direct.TARGET[0])
        assert modules[1].connect_to is originals[1], "each module when it is imported"
        direct.apply()
        direct.apply()
        for module, original in zip(modules, originals):
            assert module.connect_to._original is original, "applied once"
            clients = module.connect_to(aws_access_key_id="123456789012", region_name="eu-west-1")
            assert isinstance(clients.lambda_, direct.DirectLambdaClient)
            assert clients.sqs._client.meta.service_model.service_name == "sqs", "other services are LocalStack's"
    finally:
        for module, original in zip(modules, originals):
            module.connect_to = original
