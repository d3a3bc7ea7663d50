"""An API stops waiting for its integration at the integration's timeout (patch apigateway_integration_timeout for
REST APIs, sandbox/http_api for HTTP APIs): the sync-chain trap of a function whose timeout outlives the API's. The
function runs on; the client gets API Gateway's answer at the timeout."""

import time
from urllib.parse import urlsplit

import requests

TEMPLATE = """Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    Handler: index.handler
    Timeout: 20
Resources:
  WithCors:
    Type: AWS::Serverless::HttpApi
    Properties:
      CorsConfiguration: {AllowOrigins: ["*"]}
  Slow:
    Type: AWS::Serverless::Function
    Properties:
      InlineCode: |
        import time
        def handler(event, context):
            time.sleep(8)
            return {"statusCode": 200, "body": "late"}
      Events:
        Rest: {Type: Api, Properties: {Path: /slow, Method: get, TimeoutInMillis: 1000}}
        Http: {Type: HttpApi, Properties: {Path: /slow, Method: get, TimeoutInMillis: 1000}}
        CorsHttp: {Type: HttpApi, Properties: {ApiId: !Ref WithCors, Path: /slow, Method: get, TimeoutInMillis: 1000}}
  Quick:
    Type: AWS::Serverless::Function
    Properties:
      InlineCode: |
        def handler(event, context):
            return {"statusCode": 200, "body": "quick"}
      Events:
        Rest: {Type: Api, Properties: {Path: /quick, Method: get}}
        Http: {Type: HttpApi, Properties: {Path: /quick, Method: get}}
Outputs:
  RestUrl: {Value: !Sub "https://${ServerlessRestApi}.execute-api.${AWS::Region}.amazonaws.com/Prod"}
  HttpUrl: {Value: !Sub "https://${ServerlessHttpApi}.execute-api.${AWS::Region}.amazonaws.com"}
  CorsUrl: {Value: !Sub "https://${WithCors}.execute-api.${AWS::Region}.amazonaws.com"}
"""


def test_rest_and_http_apis_stop_waiting_at_the_integration_timeout(sb, tmp_path):
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    outputs = sb.deploy(str(tmp_path / "template.yaml"), stack_name="integration-timeouts").outputs
    http = requests.Session()
    http.trust_env = False
    rest_url, http_url = outputs["RestUrl"].rstrip("/"), outputs["HttpUrl"].rstrip("/")
    assert http.get(f"{rest_url}/quick", timeout=60).text == "quick"
    assert http.get(f"{http_url}/quick", timeout=60).text == "quick"

    started = time.monotonic()
    rest = http.get(f"{rest_url}/slow", timeout=60)
    waited = time.monotonic() - started
    assert (rest.status_code, rest.json()) == (504, {"message": "Endpoint request timed out"}), rest.text
    assert waited < 6, f"answered after {waited:.1f} s: the function's 8 s were waited for"
    started = time.monotonic()
    answer = http.get(f"{http_url}/slow", timeout=60)
    waited = time.monotonic() - started
    assert (answer.status_code, answer.json()) == (503, {"message": "Service Unavailable"}), answer.text
    assert waited < 6, f"answered after {waited:.1f} s: the function's 8 s were waited for"
    # with an Origin, the API's CORS headers; not on another API's answer afterwards (the shared 503 and 500 answers
    # kept the first API's headers for every later request)
    origin = f"http://localhost:{urlsplit(http_url).port}"
    cors = http.get(f"{outputs['CorsUrl'].rstrip('/')}/slow", headers={"Origin": origin}, timeout=60)
    assert cors.status_code == 503 and cors.headers.get("access-control-allow-origin") == "*", cors.headers
    plain = http.get(f"{http_url}/slow", headers={"Origin": origin}, timeout=60)
    assert plain.status_code == 503 and "access-control-allow-origin" not in plain.headers, plain.headers
    sb.destroy("integration-timeouts")
