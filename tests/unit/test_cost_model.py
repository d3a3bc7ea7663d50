"""The cost meter (sandbox/observability/cost.py) on spans written by hand: every billed unit, and nothing else."""

import pytest

from sandbox.observability.cost import estimate, load_prices

PRICES = load_prices()


def span(**kw):
    return {"kind": "request", "status": 200, "ts": 1_800_000_000.0, **kw}


def line(result, service, item):
    return next((x for x in result["lines"] if (x["service"], x["item"]) == (service, item)), None)


def test_each_billed_unit_at_its_list_price():
    spans = [
        span(kind="hop", hop="lambda-exec", service="lambda", attrs={"memory_mb": 512, "billed_ms": 200}),
        span(kind="hop", hop="lambda-exec", service="lambda", attrs={"memory_mb": 1024, "billed_ms": 1000,
                                                                     "arch": "arm64"}),
        span(service="apigateway", operation="Execute"),
        span(service="sqs", operation="SendMessageBatch", units={"requests": 3}),
        span(service="dynamodb", operation="PutItem", units={"wru": 2}),
        span(service="dynamodb", operation="GetItem", units={"rru": 0.5}),
        span(service="s3", operation="PutObject"),
        span(service="s3", operation="GetObject"),
        span(kind="hop", hop="sfn-execution", service="stepfunctions", attrs={"type": "STANDARD",
                                                                             "state_transitions": 7}),
    ]
    result = estimate(spans, PRICES)
    lam = PRICES["lambda"]
    assert line(result, "lambda", "requests")["quantity"] == 2
    assert line(result, "lambda", "gb_seconds_x86_64")["quantity"] == pytest.approx(0.5 * 0.2)
    assert line(result, "lambda", "gb_seconds_arm64")["quantity"] == pytest.approx(1.0)
    assert line(result, "sqs", "standard_requests")["quantity"] == 3
    assert line(result, "dynamodb", "write_request_units")["quantity"] == 2
    assert line(result, "dynamodb", "read_request_units")["quantity"] == 0.5
    assert line(result, "s3", "tier1_requests")["quantity"] == 1 and line(result, "s3", "tier2_requests")["quantity"] == 1
    assert line(result, "stepfunctions", "state_transitions")["quantity"] == 7
    expected = (2 * lam["request"] + 0.1 * lam["gb_second"]["x86_64"] + 1.0 * lam["gb_second"]["arm64"]
                + PRICES["apigateway"]["rest_request"] + 3 * PRICES["sqs"]["standard_request"]
                + 2 * PRICES["dynamodb"]["write_request_unit"] + 0.5 * PRICES["dynamodb"]["read_request_unit"]
                + PRICES["s3"]["tier1_request"] + PRICES["s3"]["tier2_request"]
                + 7 * PRICES["stepfunctions"]["standard_state_transition"])
    assert result["total"] == pytest.approx(expected)
    assert result["window"]["spans"] == len(spans)


def test_failed_requests_are_billed_where_aws_bills_them():
    """API Gateway bills what reached the integration, whatever it answered (a function's 500, 502, 504, or its own
    401/403/404/429), and request validation failures (400); not what it refused before the integration: 401/403
    (not authorized), 404 (no route, or a route without integration), 429 (throttled). A DynamoDB write whose
    condition failed consumes its write units; other failed DynamoDB, SQS or S3 calls cost nothing."""
    http, rest = {"api_type": "http", "route_key": "GET /items", "integration": True}, {"api_type": "rest",
                                                                                       "integration": True}
    refused_http, refused_rest = {**http, "integration": False}, {**rest, "integration": False}
    billed = [
        *(span(service="apigateway", operation="Execute", status=code, attrs=http, units={"requests": 1})
          for code in (502, 500, 404, 403)),
        *(span(service="apigateway", operation="Execute", status=code, attrs=rest) for code in (504, 429, 401)),
        span(service="apigateway", operation="Execute", status=400, attrs=refused_rest),  # request validation
        span(service="dynamodb", operation="PutItem", status=400, units={"wru": 3},
             error={"code": "ConditionalCheckFailedException", "message": "The conditional request failed"}),
    ]
    free = [
        span(service="apigateway", operation="Execute", status=404, attrs={**refused_http, "route_key": None}),
        span(service="apigateway", operation="Execute", status=404, attrs=refused_http),  # a route, no integration
        span(service="apigateway", operation="Execute", status=401, attrs=refused_http),
        span(service="apigateway", operation="Execute", status=403, attrs=refused_rest),
        span(service="apigateway", operation="Execute", status=429, attrs=refused_http),
        span(service="dynamodb", operation="PutItem", status=400, units=None,
             error={"code": "ValidationException", "message": "One or more parameter values were invalid"}),
        span(service="dynamodb", operation="UpdateItem", status=400, units={"wru": 5},
             error={"code": "ResourceNotFoundException", "message": "no table"}),
        span(service="s3", operation="GetObject", status=404, error={"code": "NoSuchKey", "message": None}),
    ]
    result = estimate(billed + free, PRICES)
    assert line(result, "apigateway", "http_requests")["quantity"] == 4
    assert line(result, "apigateway", "rest_requests")["quantity"] == 4
    assert line(result, "dynamodb", "write_request_units")["quantity"] == 3
    assert [x["service"] for x in result["lines"]] == ["apigateway", "apigateway", "dynamodb"]
    assert estimate(free, PRICES)["total"] == 0


def test_noise_failures_and_express_workflows_cost_nothing():
    spans = [
        span(service="sqs", operation="ReceiveMessage", noise=True),
        span(service="sqs", operation="SendMessage", status=503),
        span(kind="hop", hop="sfn-execution", service="stepfunctions", attrs={"type": "EXPRESS", "state_transitions": 9}),
        span(service="lambda", operation="ListFunctions"),
    ]
    result = estimate(spans, PRICES)
    assert result["lines"] == [] and result["total"] == 0
    assert result["window"]["spans"] == 3  # the noise is not even counted
