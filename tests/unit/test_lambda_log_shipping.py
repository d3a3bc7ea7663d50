"""patch lambda_log_shipping: the requests its client hands to LocalStack's gateway, and what it does with the answers
(a stand-in gateway that answers as CloudWatch Logs would; the live test sends them through the real one)."""

from __future__ import annotations

import json

import pytest

from conftest import StandInGateway as Gateway

from sandbox.localstack_ext import gateway_calls
from sandbox.localstack_ext.patches import lambda_log_shipping as shipping
from sandbox.observability.engine import propagation


def test_put_log_events_is_an_internal_json_call_in_the_roles_account():
    gw = Gateway((200, {"nextSequenceToken": "1"}))
    client = shipping.GatewayLogsClient("123456789012", "eu-west-1", gateway=gw)
    events = [{"timestamp": 1, "message": "START\n"}]
    assert client.put_log_events(logGroupName="/aws/lambda/f", logStreamName="s", logEvents=events) == {
        "nextSequenceToken": "1"}
    request = gw.requests[0]
    assert request.method == "POST" and request.path == "/"
    assert request.headers["X-Amz-Target"] == "Logs_20140328.PutLogEvents"
    assert request.headers["Content-Type"] == "application/x-amz-json-1.1"
    assert "Credential=123456789012/" in request.headers["Authorization"]
    assert "/eu-west-1/logs/aws4_request" in request.headers["Authorization"]
    assert request.headers["x-localstack-data"] == "{}", "marked as LocalStack's internal call"
    assert request.remote_addr == "127.0.0.1"
    assert json.loads(request.get_data()) == {"logGroupName": "/aws/lambda/f", "logStreamName": "s",
                                              "logEvents": events}


def test_the_execution_the_thread_ships_for_rides_along_as_trace_header_and_hop():
    gw = Gateway((200, {}), (200, {}))
    client = shipping.GatewayLogsClient("000000000000", "us-east-1", gateway=gw)
    hop = {"caller": {"kind": "service", "name": "lambda"}}
    with propagation.bound(propagation.Current("1-abc-def", "span1", hop=hop, hop_ops={"PutLogEvents"})):
        client.put_log_events(logGroupName="g", logStreamName="s", logEvents=[])
        client.create_log_group(logGroupName="g")
    put, create = gw.requests
    assert put.headers["X-Amzn-Trace-Id"] == "Root=1-abc-def;Parent=span1;Sampled=1"
    assert json.loads(put.headers[propagation.HOP_HEADER]) == hop
    assert create.headers["X-Amzn-Trace-Id"] == "Root=1-abc-def;Parent=span1;Sampled=1"
    assert propagation.HOP_HEADER not in create.headers, "the hop names only the operations it was bound for"


def test_errors_are_raised_as_the_exceptions_run_log_loop_catches(no_sleep):
    gw = Gateway((400, {"__type": "ResourceNotFoundException", "message": "The specified log group does not exist."}),
                 (400, {"__type": "com.amazonaws.logs#ResourceAlreadyExistsException", "message": "exists"}))
    client = shipping.GatewayLogsClient("000000000000", "us-east-1", gateway=gw)
    with pytest.raises(client.exceptions.ResourceNotFoundException, match=r"\(ResourceNotFoundException\) when "
                       r"calling the PutLogEvents operation: The specified log group does not exist"):
        client.put_log_events(logGroupName="g", logStreamName="s", logEvents=[])
    with pytest.raises(client.exceptions.ResourceAlreadyExistsException):
        client.create_log_group(logGroupName="g")
    assert no_sleep == [] and len(gw.requests) == 2, "client errors are not retried"


def test_server_errors_and_throttling_are_tried_five_times_like_botocore(no_sleep):
    gw = Gateway(*[(503, {"__type": "ServiceUnavailable", "message": "down"})] * 5)
    client = shipping.GatewayLogsClient("000000000000", "us-east-1", gateway=gw)
    with pytest.raises(shipping.LogsError, match="ServiceUnavailable"):
        client.put_log_events(logGroupName="g", logStreamName="s", logEvents=[])
    assert len(gw.requests) == 5
    assert len(no_sleep) == 4 and all(0 <= s <= 2**i for i, s in enumerate(no_sleep)), "random exponential back-off"

    gw = Gateway((400, {"__type": "ThrottlingException", "message": "slow down"}), (200, {}))
    client = shipping.GatewayLogsClient("000000000000", "us-east-1", gateway=gw)
    assert client.put_log_events(logGroupName="g", logStreamName="s", logEvents=[]) == {}
    assert len(gw.requests) == 2


@pytest.mark.parametrize(("status", "code", "retried"), [
    (429, "RateExceeded", True), (500, "InternalFailure", True), (502, "BadGateway", True),
    (503, "ServiceUnavailable", True), (504, "GatewayTimeout", True), (509, "LimitExceeded", True),
    (400, "ThrottlingException", True), (400, "Throttling", True), (400, "ProvisionedThroughputExceededException", True),
    (400, "LimitExceededException", False), (400, "SlowDown", False), (403, "ThrottlingException", False),
    (400, "InvalidParameterException", False), (403, "AccessDeniedException", False),
])
def test_what_is_retried_is_what_botocores_legacy_mode_retries(status, code, retried):
    from botocore import retryhandler, translate
    from botocore.awsrequest import AWSResponse
    from botocore.loaders import Loader

    data = Loader().load_data("_retry")
    handler = retryhandler.create_retry_handler(
        translate.build_retry_config("logs", data["retry"], data.get("definitions", {})), "PutLogEvents")
    answer = (AWSResponse("http://x/", status, {}, None), {"Error": {"Code": code}})
    botocore_retries = handler(attempts=1, response=answer, caught_exception=None,
                               request_dict={"context": {}}) is not None
    assert botocore_retries is retried, "the table above is botocore's"
    assert gateway_calls.retried(status, code) is retried


def test_disable_boto_retries_tries_once(no_sleep, monkeypatch):
    from localstack import config

    monkeypatch.setattr(config, "DISABLE_BOTO_RETRIES", True)
    gw = Gateway((503, {"__type": "ServiceUnavailable", "message": "down"}))
    client = shipping.GatewayLogsClient("000000000000", "us-east-1", gateway=gw)
    with pytest.raises(shipping.LogsError):
        client.put_log_events(logGroupName="g", logStreamName="s", logEvents=[])
    assert len(gw.requests) == 1 and no_sleep == []


def test_nothing_is_retried_once_localstack_is_stopping(no_sleep, monkeypatch):
    monkeypatch.setattr(gateway_calls, "stopping", lambda: True)
    gw = Gateway((503, {"__type": "ServiceUnavailable", "message": "down"}))
    client = shipping.GatewayLogsClient("000000000000", "us-east-1", gateway=gw)
    with pytest.raises(shipping.LogsError):
        client.put_log_events(logGroupName="g", logStreamName="s", logEvents=[])
    assert len(gw.requests) == 1 and no_sleep == []


def test_apply_swaps_only_the_logs_modules_connect_to(monkeypatch):
    from localstack.services.lambda_.invocation import logs

    original = logs.connect_to
    monkeypatch.setattr(logs, "connect_to", original)
    monkeypatch.delenv("SANDBOX_LAMBDA_LOGS_DIRECT", raising=False)
    shipping.apply()
    factory = logs.connect_to.with_assumed_role(role_arn="arn:aws:iam::123456789012:role/r", region_name="us-west-2",
                                                service_principal="lambda")
    assert isinstance(factory.logs, shipping.GatewayLogsClient)
    assert (factory.logs.account, factory.logs.region) == ("123456789012", "us-west-2")

    monkeypatch.setattr(logs, "connect_to", original)
    monkeypatch.setenv("SANDBOX_LAMBDA_LOGS_DIRECT", "0")
    shipping.apply()
    assert logs.connect_to is original, "the switch leaves LocalStack's client"
