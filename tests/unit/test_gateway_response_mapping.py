"""A REST API's gateway responses as read from its OpenAPI and applied to API Gateway's own errors (patch
apigateway_gateway_responses): what the import keeps, the headers' mapping expressions, the body's variables.
The whole path, deployed from a SAM app, is tests/live/test_real_apps.py::test_rest_api_lambda_authorizers_are_applied."""

from werkzeug.datastructures import Headers

import pytest

from sandbox.localstack_ext.patches.apigateway_gateway_responses import (
    InvalidGatewayResponse, body_of, headers_of, imported)


def test_the_openapi_extension_is_read_as_put_gateway_response_stores_it():
    spec = {"x-amazon-apigateway-gateway-responses": {
        "DEFAULT_4XX": {"responseParameters": {"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"}},
        "UNAUTHORIZED": {"statusCode": 401, "responseTemplates": {"application/json": '{"m":$context.error.message}'}},
    }}
    assert imported(spec) == {
        "DEFAULT_4XX": {"responseType": "DEFAULT_4XX", "statusCode": None, "defaultResponse": False,
                        "responseParameters": {"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"},
                        "responseTemplates": {}},
        "UNAUTHORIZED": {"responseType": "UNAUTHORIZED", "statusCode": "401", "defaultResponse": False,
                         "responseParameters": {},
                         "responseTemplates": {"application/json": '{"m":$context.error.message}'}},
    }
    assert imported({"paths": {}}) is None and imported("not a spec") is None
    assert set(imported(spec, known={"UNAUTHORIZED"})) == {"UNAUTHORIZED"}  # a type API Gateway does not have


def test_header_values_come_from_literals_the_request_and_variables():
    request = {"headers": Headers([("Origin", "https://app.example"), ("X-Multi", "a"), ("X-Multi", "b"),
                                   ("X-Bad", "a\u2603")]),
               "multi_value_query_string_parameters": {"lang": ["en", "de"], "q": ["a\nb"]}, "path_parameters": {"id": "7"}}
    parameters = {
        "gatewayresponse.header.Access-Control-Allow-Origin": "method.request.header.Origin",
        "gatewayresponse.header.X-Lower": "method.request.header.origin",  # in any case (HTTP/2 sends lower case)
        "gatewayresponse.header.X-Absent": "method.request.multivaluequerystring.none",  # LocalStack's mapper raised
        "gatewayresponse.header.X-Epoch": "context.requestTimeEpoch",  # not a string: still a header
        "gatewayresponse.header.X-All": "method.request.multivalueheader.X-Multi",
        "gatewayresponse.header.X-Line": "method.request.querystring.q",  # a line break cannot be sent in a header
        "gatewayresponse.header.X-Snowman": "method.request.header.X-Bad",  # nor what latin-1 cannot write
        "gatewayresponse.header.X-Lang": "method.request.querystring.lang",
        "gatewayresponse.header.X-Id": "method.request.path.id",
        "gatewayresponse.header.X-Stage": "stageVariables.env",
        "gatewayresponse.header.X-Request": "context.requestId",
        "gatewayresponse.header.Vary": "'Origin'",
        "gatewayresponse.header.X-Missing": "method.request.header.X-Nope",
        "gatewayresponse.querystring.ignored": "'x'",
    }
    assert headers_of(parameters, request, {"env": "dev"}, {"requestId": "r-1", "requestTimeEpoch": 1700000000}) == {
        "Access-Control-Allow-Origin": "https://app.example", "X-Lower": "https://app.example", "X-All": "a,b",
        "X-Epoch": "1700000000", "X-Lang": "de", "X-Id": "7", "X-Stage": "dev",
        "X-Request": "r-1", "Vary": "Origin"}


def test_the_body_template_gets_the_error_context_and_stage_variables_substituted():
    error = {"message": 'Say "no"', "messageString": '"Say \\"no\\""', "responseType": "UNAUTHORIZED"}
    template = ('{"error": $context.error.messageString, "type": "${context.error.responseType}", '
                '"id": "$context.requestId", "env": "$stageVariables.env", "raw": "$context.error.message", '
                '"none": "$context.nope"}')
    body = body_of(template, error, {"env": "dev"}, {"requestId": "r-1"})
    assert body == ('{"error": "Say \\"no\\"", "type": "UNAUTHORIZED", "id": "r-1", "env": "dev", '
                    '"raw": "Say "no"", "none": ""}')


@pytest.mark.parametrize("response, words", [
    ({"responseParameters": {"gatewayresponse.header.Access-Control-Allow-Origin": "*"}},
     "Invalid mapping expression specified: *"),
    ({"responseParameters": {"gatewayresponse.header.X": "method.request.body"}}, "method.request.body"),
    ({"responseParameters": {"integration.response.header.X": "'a'"}}, "integration.response.header.X"),
    ({"statusCode": "4XX"}, "Invalid status code '4XX'"),
    ({"statusCode": 700}, "Invalid status code 700"),
    ({"responseParameters": ["not", "a", "map"]}, "must be maps"),
    ("not a map", "must be a map"),
])
def test_what_api_gateway_refuses_is_refused_with_the_fix(response, words):
    """SAM's common slip, an unquoted "*", deployed and the header never came; AWS fails that import."""
    with pytest.raises(InvalidGatewayResponse) as refused:
        imported({"x-amazon-apigateway-gateway-responses": {"DEFAULT_4XX": response}})
    assert words in str(refused.value)
