"""apigateway_gateway_responses through the API Gateway API itself: an OpenAPI import's gateway responses, one put by
PutGatewayResponse, a new spec that drops one, each seen in GetGatewayResponses and in the answers of a deployed
stage. (A SAM app's: tests/live/test_real_apps.py::test_rest_api_lambda_authorizers_are_applied.)"""

import json

import requests

PING = {"get": {"x-amazon-apigateway-integration": {
    "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
    "responses": {"default": {"statusCode": "200"}}}, "responses": {"200": {"description": "ok"}}}}


def _spec(responses: dict) -> bytes:
    return json.dumps({"openapi": "3.0.1", "info": {"title": "gateway-responses", "version": "1"},
                       "paths": {"/ping": PING}, "x-amazon-apigateway-gateway-responses": responses}).encode()


def test_imported_put_and_dropped_gateway_responses_shape_the_answers(sb):
    apigw = sb.client("apigateway")
    api = apigw.import_rest_api(body=_spec({
        "DEFAULT_4XX": {"responseParameters": {"gatewayresponse.header.X-From": "'spec'"}},
        "MISSING_AUTHENTICATION_TOKEN": {"statusCode": 404, "responseTemplates": {
            "application/json": '{"nope": "$context.error.responseType", "stage": "$context.stage"}'}},
    }))["id"]
    apigw.put_gateway_response(restApiId=api, responseType="DEFAULT_5XX",
                               responseParameters={"gatewayresponse.header.X-Put": "'api'"})
    apigw.create_deployment(restApiId=api, stageName="dev")
    http = requests.Session()
    http.trust_env = False
    url = f"{sb.endpoint}/_aws/execute-api/{api}/dev"

    assert http.get(f"{url}/ping", timeout=30).status_code == 200
    missing = http.get(f"{url}/nowhere", timeout=30)
    assert (missing.status_code, missing.json()) == (404, {"nope": "MISSING_AUTHENTICATION_TOKEN", "stage": "dev"})
    assert "X-From" not in missing.headers  # its own response, not DEFAULT_4XX's

    def configured() -> dict:
        return {r["responseType"]: r for r in apigw.get_gateway_responses(restApiId=api)["items"]
                if not r["defaultResponse"]}

    assert set(configured()) == {"DEFAULT_4XX", "MISSING_AUTHENTICATION_TOKEN", "DEFAULT_5XX"}
    assert configured()["MISSING_AUTHENTICATION_TOKEN"]["statusCode"] == "404"

    # a new definition without MISSING_AUTHENTICATION_TOKEN: that one goes; the one put by the API stays
    apigw.put_rest_api(restApiId=api, mode="overwrite", body=_spec({
        "DEFAULT_4XX": {"responseParameters": {"gatewayresponse.header.X-From": "'spec, again'"}}}))
    assert set(configured()) == {"DEFAULT_4XX", "DEFAULT_5XX"}
    apigw.create_deployment(restApiId=api, stageName="dev")
    missing = http.get(f"{url}/nowhere", timeout=30)
    assert missing.status_code == 403 and missing.headers["X-From"] == "spec, again", missing.headers
    assert missing.json() == {"message": "Missing Authentication Token"}
