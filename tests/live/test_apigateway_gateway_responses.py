"""apigateway_gateway_responses through the API Gateway API itself: an OpenAPI import's gateway responses, one put by
PutGatewayResponse, a new spec that drops one, each seen in GetGatewayResponses and in the answers of a deployed
stage. (A SAM app's: tests/live/test_real_apps.py::test_rest_api_lambda_authorizers_are_applied.)"""

import json
import time

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


def test_what_api_gateway_refuses_is_refused_before_anything_changes(sb):
    """An unquoted "*" (SAM's common slip) deployed and the header never came; a malformed extension was a 500 that
    clients retried, with the spec's paths applied anyway; a status code 99 was stored and answered as
    `HTTP/1.1 99 UNKNOWN`, which no client can read."""
    import pytest
    from botocore.exceptions import ClientError

    apigw = sb.client("apigateway")
    api = apigw.create_rest_api(name="refusals")["id"]
    with pytest.raises(ClientError) as refused:
        apigw.put_rest_api(restApiId=api, mode="overwrite", body=_spec({
            "DEFAULT_4XX": {"responseParameters": {"gatewayresponse.header.Access-Control-Allow-Origin": "*"}}}))
    assert refused.value.response["Error"]["Code"] == "BadRequestException"
    assert "Invalid mapping expression specified: *" in str(refused.value)
    assert [r["path"] for r in apigw.get_resources(restApiId=api)["items"]] == ["/"]  # /ping not imported
    with pytest.raises(ClientError) as refused:
        apigw.put_rest_api(restApiId=api, mode="overwrite", body=_spec({"DEFAULT_4XX": {"responseTemplates": "x"}}))
    assert refused.value.response["Error"]["Code"] == "BadRequestException"
    with pytest.raises(ClientError) as refused:
        apigw.put_gateway_response(restApiId=api, responseType="DEFAULT_5XX", statusCode="99")
    assert "Invalid status code '99'" in str(refused.value)
    assert not [r for r in apigw.get_gateway_responses(restApiId=api)["items"] if not r["defaultResponse"]]
    with pytest.raises(ClientError) as refused:
        apigw.put_gateway_response(restApiId=api, responseType="DEFAULT_5XX", statusCode="500")
        apigw.update_gateway_response(restApiId=api, responseType="DEFAULT_5XX", patchOperations=[
            {"op": "replace", "path": "/statusCode", "value": "99"}])
    assert "Invalid status code '99'" in str(refused.value)
    assert apigw.get_gateway_response(restApiId=api, responseType="DEFAULT_5XX")["statusCode"] == "500"  # kept
    # ImportRestApi and a stack's RestApi create the API before its definition is refused: nothing may stay
    apis = {a["id"] for a in apigw.get_rest_apis()["items"]}
    bad = _spec({"DEFAULT_4XX": {"statusCode": "4XX"}})
    with pytest.raises(ClientError) as refused:
        apigw.import_rest_api(body=bad)
    assert refused.value.response["Error"]["Code"] == "BadRequestException"
    template = {"Resources": {"Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {
        "Name": "refused", "Body": json.loads(bad)}}}}
    cfn = sb.client("cloudformation")
    cfn.create_stack(StackName="refused-body", TemplateBody=json.dumps(template))
    for _ in range(120):
        status = cfn.describe_stacks(StackName="refused-body")["Stacks"][0]["StackStatus"]
        if not status.endswith("IN_PROGRESS"):
            break
        time.sleep(0.5)
    assert status in ("CREATE_FAILED", "ROLLBACK_COMPLETE"), status
    assert {a["id"] for a in apigw.get_rest_apis()["items"]} == apis
    cfn.delete_stack(StackName="refused-body")


def test_a_stack_update_of_a_gateway_response_is_applied(sb, tmp_path):
    """LocalStack has no update for AWS::ApiGateway::GatewayResponse: the deploy warned "not applied" and the old
    status and body stayed."""
    template = tmp_path / "template.yaml"
    template.write_text("""Parameters:
  Status: {Type: String}
Resources:
  Api:
    Type: AWS::ApiGateway::RestApi
    Properties: {Name: gateway-response-update}
  NotFound:
    Type: AWS::ApiGateway::GatewayResponse
    Properties:
      RestApiId: !Ref Api
      ResponseType: MISSING_AUTHENTICATION_TOKEN
      StatusCode: !Ref Status
      ResponseTemplates: {application/json: !Sub '{"status": "${Status}"}'}
Outputs:
  ApiId: {Value: !Ref Api}
""")
    api = sb.deploy(str(template), stack_name="gr-update", parameters={"Status": "404"}).outputs["ApiId"]
    update = sb.deploy(str(template), stack_name="gr-update", parameters={"Status": "410"})
    assert not [w for w in update.warnings if "cannot update" in w], update.warnings
    response = sb.client("apigateway").get_gateway_response(restApiId=api, responseType="MISSING_AUTHENTICATION_TOKEN")
    assert (response["statusCode"], response["responseTemplates"]) == ("410", {"application/json": '{"status": "410"}'})
    sb.destroy("gr-update")
