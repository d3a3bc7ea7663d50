"""patch in_process_parsed_requests: a request LocalStack makes to itself in process carries the parameters it was
written from, and they are exactly what LocalStack's parser makes of it - for every shape the callers send (the
direct Lambda client's Invoke, the log shipping's three operations) - and the chain's parser takes them only when
the service it found is theirs."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest

from conftest import StandInGateway as Gateway

from sandbox.localstack_ext.patches import in_process_parsed_requests as patch
from sandbox.localstack_ext.patches import lambda_invoke_direct as direct
from sandbox.localstack_ext.patches import lambda_log_shipping as shipping

pytestmark = pytest.mark.usefixtures("no_host_profile")

INVOKES = [
    {"FunctionName": "f"},
    {"FunctionName": "f", "Payload": b""},
    {"FunctionName": "f", "Payload": b'{"Records": []}', "InvocationType": "Event"},
    {"FunctionName": "arn:aws:lambda:eu-west-1:123456789012:function:my fn", "Payload": '{"a": "é"}',
     "InvocationType": "RequestResponse", "LogType": "Tail", "Qualifier": "$LATEST"},
    {"FunctionName": "f:live", "ClientContext": "eyJhIjoxfQ==", "LogType": "None", "InvocationType": "DryRun",
     "Payload": bytearray(b"[1, 2]")},
    {"FunctionName": "f", "Qualifier": "7", "Payload": b"x" * 70000},
    # not checked against the parser (it refuses some): parsed
    {"FunctionName": "f", "InvocationType": "", "Payload": b"{}"},
    {"FunctionName": "", "Payload": b"{}"},
    {"FunctionName": "f", "Qualifier": 7},
]
UNCARRIED = 3


def parsed_by_localstack(service: str, request) -> tuple[str, dict]:
    from localstack.aws.protocol.parser import create_parser
    from localstack.aws.spec import load_service

    operation, params = create_parser(load_service(service)).parse(request)
    return operation.name, params


def comparable(params: dict) -> list:
    return [(k, type(v).__name__, v.getvalue() if isinstance(v, io.BytesIO) else v) for k, v in params.items()]


def internal_lambda_client():
    from localstack.aws.connect import connect_to

    return connect_to(aws_access_key_id="123456789012", region_name="eu-west-1").lambda_


@pytest.mark.parametrize("kwargs", INVOKES, ids=range(len(INVOKES)))
def test_an_invoke_carries_what_localstack_s_parser_makes_of_it(kwargs):
    gw = Gateway((200, {"X-Amz-Executed-Version": "$LATEST"}, b"null"))
    direct.DirectLambdaClient(internal_lambda_client(), gateway=gw).invoke(**kwargs)
    request = gw.requests[0]
    given = request.environ.get(patch.ENVIRON_KEY)
    if kwargs in INVOKES[-UNCARRIED:]:
        assert given is None, "a shape the parser was not compared with is parsed by LocalStack"
        return
    service, operation, params = given
    assert (service, operation) == ("lambda", "Invoke")
    name, expected = parsed_by_localstack("lambda", request)
    assert name == "Invoke" and comparable(params) == comparable(expected)


def test_a_retried_invoke_carries_a_payload_stream_of_its_own():
    gw = Gateway((429, {"Type": "User", "message": "Rate exceeded"}), (200, {}, b"null"))
    direct.DirectLambdaClient(internal_lambda_client(), gateway=gw).invoke(FunctionName="f", Payload=b"{}")
    first, second = (r.environ[patch.ENVIRON_KEY][2]["Payload"] for r in gw.requests)
    assert first is not second and first.getvalue() == second.getvalue() == b"{}"


@pytest.mark.parametrize("operation, params", [
    ("PutLogEvents", {"logGroupName": "/aws/lambda/f", "logStreamName": "2026/12/06/[$LATEST]ab",
                      "logEvents": [{"timestamp": 1765000000000, "message": "START RequestId: 1\n"},
                                    {"timestamp": 1765000000001, "message": "é \u2028 \"quoted\"\n"}]}),
    ("CreateLogGroup", {"logGroupName": "/aws/lambda/f"}),
    ("CreateLogStream", {"logGroupName": "/aws/lambda/f", "logStreamName": "s"}),
])
def test_the_log_shipping_carries_what_localstack_s_parser_makes_of_it(operation, params):
    gw = Gateway((200, {}))
    client = shipping.GatewayLogsClient("123456789012", "eu-west-1", gateway=gw)
    getattr(client, {"PutLogEvents": "put_log_events", "CreateLogGroup": "create_log_group",
                     "CreateLogStream": "create_log_stream"}[operation])(**params)
    request = gw.requests[0]
    service, name, given = request.environ[patch.ENVIRON_KEY]
    assert (service, name) == ("logs", operation)
    assert parsed_by_localstack("logs", request) == (operation, given)
    assert given == params and given is not params


def test_log_parameters_of_other_shapes_are_parsed():
    gw = Gateway((200, {}), (200, {}))
    client = shipping.GatewayLogsClient("123456789012", "eu-west-1", gateway=gw)
    client.create_log_stream(logGroupName="/aws/lambda/f", logStreamName=None)
    client.put_log_events(logGroupName="g", logStreamName="s", logEvents=[], unknownMember="x")
    assert all(patch.ENVIRON_KEY not in request.environ for request in gw.requests)


def test_the_parser_takes_them_only_for_their_service(monkeypatch):
    from localstack.aws.handlers.service import ServiceRequestParser
    from localstack.aws.spec import load_service

    patch.apply()
    parsed = []
    monkeypatch.setattr("localstack.aws.handlers.service.create_parser",
                        lambda service, protocol=None: SimpleNamespace(parse=lambda request: parsed.append(request)
                                                                       or ("parsed-op", {"parsed": True})))
    lam = load_service("lambda")
    given = {"FunctionName": "f"}

    def context(service, carried):
        environ = {patch.ENVIRON_KEY: carried} if carried is not None else {}
        return SimpleNamespace(request=SimpleNamespace(environ=environ), service=service, protocol=None,
                               operation=None, service_request=None)

    taken = context(lam, ("lambda", "Invoke", given))
    ServiceRequestParser()(None, taken, None)
    assert taken.operation.name == "Invoke" and taken.service_request is given and not parsed
    assert patch.ENVIRON_KEY not in taken.request.environ, "taken once"
    other = context(load_service("sqs"), ("lambda", "Invoke", given))
    ServiceRequestParser()(None, other, None)
    assert other.service_request == {"parsed": True} and len(parsed) == 1
    plain = context(lam, None)
    ServiceRequestParser()(None, plain, None)
    assert plain.service_request == {"parsed": True} and len(parsed) == 2
