"""SAM apps written the way public examples are (tests/apps/), deployed unchanged: each works end to end, or is
refused before anything is created with a message that says what and why - never a silent half-success."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from sandbox.deploy import DeployError

APPS = Path(__file__).resolve().parents[1] / "apps"


def test_globals_code_uri_and_unquoted_dates_deploy_and_run(sb):
    """#12, 1 and 2: `Version: 2012-10-17` unquoted (a YAML date) in an inline policy, and functions whose code
    location comes from Globals (they used to get the whole folder zipped, handler not found)."""
    result = sb.deploy(str(APPS / "globals-and-dates"))
    lam = sb.client("lambda")
    put, get = result.outputs["PutNoteFunction"], result.outputs["GetNoteFunction"]
    stored = json.loads(lam.invoke(FunctionName=put, Payload=json.dumps({"id": "n1", "text": "hi"}))["Payload"].read())
    assert stored == {"stored": "n1"}
    note = json.loads(lam.invoke(FunctionName=get, Payload=json.dumps({"id": "n1"}))["Payload"].read())
    assert note == {"id": "n1", "text": "hi"}
    config = lam.get_function_configuration(FunctionName=put)
    assert config["Runtime"] == "python3.13" and config["Timeout"] == 10 and config["MemorySize"] == 256
    assert config["CodeSize"] < 2000, "only src/ was packaged, not the whole app folder"


def _jwt(claims: dict) -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def test_an_http_api_app_works_end_to_end(sb):
    """#12, 3: SAM's HttpApi (implicit and explicit), payload formats 2.0 and 1.0, path parameters, greedy and
    $default routes, stage variables, CORS, a Lambda authorizer with simple responses, a JWT authorizer and the
    first-class SQS, EventBridge and Step Functions integrations."""
    started = time.time()
    result = sb.deploy(str(APPS / "http-api"), stack_name="http-api")
    hello = result.outputs["HelloApi"]
    base = result.outputs["NotesApiUrl"]
    assert hello.startswith(f"{sb.endpoint}/_aws/execute-api/") and hello.endswith("/hello"), hello
    assert base.endswith("/prod"), base
    # deploy lists every API's local URL, Outputs or not ($default stage: no stage segment)
    assert result.apis == {"ServerlessHttpApi": hello.removesuffix("hello"), "NotesApi": base + "/",
                           "SecureApi": result.outputs["SecureApiUrl"]}, result.apis

    r = requests.get(hello, timeout=30)  # the implicit API's $default stage: no stage in the path
    assert r.status_code == 200 and r.json()["routeKey"] == "GET /hello" and r.json()["version"] == "2.0", r.text
    trace_id = r.headers["X-Amzn-Trace-Id"].removeprefix("Root=")
    api_id = hello.split("/")[-2]
    host = f"{api_id}.execute-api.localhost:{sb.settings.port}"  # the host-style URL
    assert requests.get(f"{sb.endpoint}/hello", headers={"Host": host}, timeout=30).json()["rawPath"] == "/hello"

    r = requests.get(f"{base}/notes/n-42?tag=a&tag=b", headers={"Cookie": "c1=1; c2=2"}, timeout=30)
    seen = r.json()
    assert r.status_code == 200 and r.headers["x-handler"] == "notes" and "session=abc" in r.headers["set-cookie"]
    assert seen["routeKey"] == "GET /notes/{id}" and seen["pathParameters"] == {"id": "n-42"}
    assert seen["rawPath"] == "/prod/notes/n-42" and seen["query"] == {"tag": "a,b"}
    assert seen["stageVariables"] == {"greeting": "hi-from-stage"} and seen["cookies"] == ["c1=1", "c2=2"]

    r = requests.delete(f"{base}/files/a/b/c.txt", timeout=30)  # ANY /files/{proxy+}
    assert r.json()["pathParameters"] == {"proxy": "a/b/c.txt"} and r.json()["method"] == "DELETE"
    r = requests.post(f"{base}/legacy/ada", data="hi", timeout=30)  # payload format 1.0
    assert r.json() == {"version": "1.0", "resource": "/legacy/{name}", "path": "/prod/legacy/ada",
                        "method": "POST", "pathParameters": {"name": "ada"}, "body": "hi"}, r.text
    r = requests.get(f"{base}/nothing/here", timeout=30)  # $default route
    assert r.json()["routeKey"] == "$default"
    assert requests.get(f"{sb.endpoint}/_aws/execute-api/{base.split('/')[-2]}/nostage/x", timeout=30) \
        .status_code == 404

    # Lambda authorizer (simple responses): no header -> 401 without calling it, wrong token -> 403
    assert requests.get(f"{base}/private", timeout=30).status_code == 401
    assert requests.get(f"{base}/private", headers={"Authorization": "nope"}, timeout=30).status_code == 403
    r = requests.get(f"{base}/private", headers={"Authorization": "Bearer letmein"}, timeout=30)
    assert r.status_code == 200 and r.json()["authorizer"] == {"lambda": {"user": "ada", "plan": "pro"}}, r.text

    # JWT authorizer: issuer, audience and expiry checked (signatures cannot be checked offline)
    good = _jwt({"iss": "https://issuer.example.com", "aud": "notes-app", "sub": "u1", "exp": time.time() + 600})
    r = requests.get(f"{base}/me", headers={"Authorization": f"Bearer {good}"}, timeout=30)
    assert r.status_code == 200 and r.json()["authorizer"]["jwt"]["claims"]["sub"] == "u1", r.text
    for bad in ({"iss": "https://evil.example.com", "aud": "notes-app"},
                {"iss": "https://issuer.example.com", "aud": "other"},
                {"iss": "https://issuer.example.com", "aud": "notes-app", "exp": time.time() - 5}):
        r = requests.get(f"{base}/me", headers={"Authorization": f"Bearer {_jwt(bad)}"}, timeout=30)
        assert r.status_code == 401, (bad, r.text)

    # CORS: the API answers preflights itself and adds the origin to answers
    r = requests.options(f"{base}/notes/1", headers={"Origin": "https://notes.example.com",
                                                      "Access-Control-Request-Method": "GET",
                                                      "Access-Control-Request-Headers": "authorization"}, timeout=30)
    assert r.status_code == 204 and r.headers["access-control-allow-origin"] == "https://notes.example.com"
    assert r.headers["access-control-max-age"] == "600" and r.headers["access-control-allow-headers"] == "authorization"
    r = requests.get(f"{base}/notes/1", headers={"Origin": "https://notes.example.com"}, timeout=30)
    assert r.headers["access-control-allow-origin"] == "https://notes.example.com"
    r = requests.get(f"{base}/notes/1", headers={"Origin": "https://other.example.com"}, timeout=30)
    assert "access-control-allow-origin" not in r.headers

    # AWS_IAM (SAM's EnableIamAuthorizer + DefaultAuthorizer): unsigned is 403, signed passes; NONE stays public
    secure = result.outputs["SecureApiUrl"].rstrip("/")  # an output without a path gets the root "/"
    assert requests.get(f"{secure}/signed", timeout=30).status_code == 403
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    signed = AWSRequest(method="GET", url=f"{secure}/signed")
    SigV4Auth(Credentials("AKIDEXAMPLE", "secret"), "execute-api", "us-east-1").add_auth(signed)
    r = requests.get(f"{secure}/signed", headers=dict(signed.headers), timeout=30)
    assert r.status_code == 200 and r.json()["authorizer"]["iam"]["accessKey"] == "AKIDEXAMPLE", r.text
    assert requests.get(f"{secure}/public", timeout=30).status_code == 200

    # first-class integrations, no Lambda
    r = requests.post(f"{base}/orders", json={"order": 7}, timeout=30)
    assert r.status_code == 200 and r.json()["SendMessageResponse"]["SendMessageResult"]["MessageId"], r.text
    messages = sb.client("sqs").receive_message(QueueUrl=result.outputs["OrdersQueueUrl"], WaitTimeSeconds=2)
    assert json.loads(messages["Messages"][0]["Body"]) == {"order": 7}
    r = requests.post(f"{base}/events", json={"order": 8}, timeout=30)
    assert r.status_code == 200 and r.json()["FailedEntryCount"] == 0 and r.json()["Entries"][0]["EventId"], r.text
    r = requests.post(f"{base}/workflows", json={"order": 9}, timeout=30)
    assert r.status_code == 200, r.text
    assert isinstance(r.json()["startDate"], float), r.text  # epoch seconds, as the service's JSON has it
    execution = sb.client("stepfunctions").describe_execution(executionArn=r.json()["executionArn"])
    assert json.loads(execution["input"]) == {"order": 9}

    # the recorded trace of the first request: the API span, then the function it invoked
    spans = sb.trace(trace_id)["spans"]
    api_span = next(s for s in spans if s["service"] == "apigateway")
    assert api_span["attrs"]["api_type"] == "http" and api_span["attrs"]["stage"] == "$default"
    assert api_span["attrs"]["route_key"] == "GET /hello"
    assert any(s.get("hop") == "lambda-exec" for s in spans), [(s["service"], s.get("hop")) for s in spans]
    cost = sb.cost(since_ts=started)
    # 16 answered requests below 400 (401/403/404 are not billed), at the HTTP API price, none at the REST price
    http = [line for line in cost["lines"] if line["service"] == "apigateway"]
    assert [(x["item"], x["quantity"], x["unit_price"]) for x in http] == [("http_requests", 16, 0.000001)], http

    api_ids = {a["ApiId"] for a in sb.client("apigatewayv2").get_apis()["Items"]}
    assert len(api_ids) == 3
    assert sb.destroy("http-api")
    assert sb.client("apigatewayv2").get_apis()["Items"] == []
    assert requests.get(hello, timeout=30).status_code == 404


def test_a_route_added_to_an_http_api_answers_after_the_redeploy_and_the_others_still_do(sb, tmp_path):
    """CloudFormation reimports an HTTP API whose routes changed (ReimportApi): moto's `Api.clear()` emptied its stages
    too, so after adding a route every route of the API answered 404 until it was destroyed."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(
        "def handler(event, context):\n    return {'statusCode': 200, 'body': event['routeKey']}\n")
    template = """Transform: AWS::Serverless-2016-10-31
Globals:
  Function: {{Runtime: python3.12, Handler: app.handler, CodeUri: src/}}
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Events:
{events}
  Api:
    Type: AWS::Serverless::HttpApi
    Properties: {{StageName: dev}}
Outputs:
  Url: {{Value: !Sub "https://${{Api}}.execute-api.${{AWS::Region}}.amazonaws.com/dev"}}
"""
    event = "        {name}: {{Type: HttpApi, Properties: {{ApiId: !Ref Api, Path: /{name}, Method: GET}}}}\n"
    path = tmp_path / "template.yaml"
    path.write_text(template.format(events=event.format(name="hello")))
    url = sb.deploy(str(path), stack_name="routes").outputs["Url"]
    assert requests.get(url + "/hello", timeout=30).text == "GET /hello"
    path.write_text(template.format(events=event.format(name="hello") + event.format(name="goodbye")))
    assert sb.deploy(str(path), stack_name="routes").outputs["Url"] == url
    assert requests.get(url + "/hello", timeout=30).text == "GET /hello"
    assert requests.get(url + "/goodbye", timeout=30).text == "GET /goodbye"
    api_id = url.split("/")[-2]
    assert [s["StageName"] for s in sb.client("apigatewayv2").get_stages(ApiId=api_id)["Items"]] == ["dev"]


def test_a_misspelt_resource_type_is_refused_with_the_nearest_real_one(sb, tmp_path):
    """SAM's transform passes an unknown AWS::Serverless::* type through and LocalStack "deploys" it as a fallback that
    creates nothing: a typo ended in CREATE_COMPLETE without the function."""
    (tmp_path / "template.yaml").write_text(
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  Fn:\n    Type: AWS::Serverless::Functon\n"
        "    Properties: {Runtime: python3.12, Handler: app.handler, InlineCode: 'x'}\n")
    with pytest.raises(DeployError, match=r"unknown resource type\(s\): Fn \(AWS::Serverless::Functon: did you mean "
                                          r"AWS::Serverless::Function\?\)"):
        sb.deploy(str(tmp_path), stack_name="typo")
    assert sb.stacks() == []
    # an attribute: AWS refuses it when it validates the template; LocalStack tried for ~15 s and failed elsewhere
    (tmp_path / "template.yaml").write_text(
        "Resources:\n  Jobs: {Type: AWS::SQS::Queue}\nOutputs:\n  JobsArn: {Value: !GetAtt Jobs.Arnn}\n")
    with pytest.raises(DeployError, match=r"Jobs.Arnn \(AWS::SQS::Queue has no attribute Arnn: did you mean Arn\?\)"):
        sb.deploy(str(tmp_path), stack_name="typo")
    assert sb.stacks() == [] and sb.client("sqs").list_queues().get("QueueUrls", []) == []


def test_language_extensions_before_sam_deploy_with_for_each(sb, tmp_path):
    """`Transform: [AWS::LanguageExtensions, AWS::Serverless-2016-10-31]` with Fn::ForEach: CloudFormation runs the
    extensions first. The deploy's own check ran SAM's transform alone and refused it ("All 'Resources' must be
    Objects")."""
    (tmp_path / "template.yaml").write_text("""Transform:
  - AWS::LanguageExtensions
  - AWS::Serverless-2016-10-31
Resources:
  Fn::ForEach::Topics:
    - TopicName
    - [Alerts, Audit]
    - ${TopicName}Topic:
        Type: AWS::SNS::Topic
  HelloFunction:
    Type: AWS::Serverless::Function
    Properties: {InlineCode: "def handler(e, c): return 1", Handler: index.handler, Runtime: python3.12}
""")
    assert sb.deploy(str(tmp_path), stack_name="for-each").status == "CREATE_COMPLETE"
    resources = {r["LogicalResourceId"] for r in sb.client("cloudformation").describe_stack_resources(
        StackName="for-each")["StackResources"]}
    assert {"AlertsTopic", "AuditTopic", "HelloFunction"} <= resources


def test_an_invalid_sam_template_is_explained(sb, tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def handler(e, c):\n    return 1\n")
    (tmp_path / "template.yaml").write_text(
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
        "    Properties:\n      CodeUri: src/\n      Handler: app.handler\n      Runtime: python3.13\n"
        "      Events:\n        Tick:\n          Type: Sometimes\n")
    with pytest.raises(DeployError, match="not valid SAM: .*Fn.*Tick.*Sometimes"):
        sb.deploy(str(tmp_path / "template.yaml"), stack_name="bad-sam")
    assert sb.stacks() == []


def test_rest_api_lambda_authorizers_are_applied(sb):
    """A probe found REST API authorizers stored but never called (LocalStack's community edition): every request
    passed. TOKEN (with its validation expression and the documented 'Unauthorized' error), REQUEST, NONE, IAM.
    Its gateway responses were lost at import (the CORS headers a browser needs on a 401 never came)."""
    api = sb.deploy(str(APPS / "rest-authorizer"), stack_name="rest-auth").outputs["ApiUrl"].rstrip("/")

    def get(path, method="GET", **headers):
        return requests.request(method, f"{api}{path}", headers=headers, timeout=30)

    origin = f"http://localhost:{urlsplit(api).port}"  # a page the sandbox serves: not refused as cross-site
    r = get("/items/1", Origin=origin)
    assert r.status_code == 401  # no token: the authorizer is not even called
    # its UNAUTHORIZED gateway response: headers mapped from the request and literals, its own body
    assert r.headers["Access-Control-Allow-Origin"] == origin
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="items"'
    assert r.json() == {"error": "unauthorized", "detail": "Unauthorized", "type": "UNAUTHORIZED"}, r.text
    denied = get("/items/1", Authorization="Bearer nobody")
    # DEFAULT_4XX for the types the app did not configure: an explicit Deny, a missing signature (below)
    assert denied.headers.get("Access-Control-Allow-Origin") == "*", denied.headers
    assert denied.json() == {"Message": "User is not authorized to access this resource with an explicit deny"}
    assert get("/items/1", Authorization="Token abc").status_code == 401  # fails the validation expression
    assert get("/items/1", Authorization="Bearer stranger").status_code == 401  # raise Exception("Unauthorized")
    assert get("/items/1", Authorization="Bearer nobody").status_code == 403  # explicit Deny
    r = get("/items/1", Authorization="Bearer reader")
    assert r.status_code == 200, r.text
    # every context value a string, as API Gateway hands them over (3 and false kept their JSON types)
    authorizer = r.json()["authorizer"]
    assert isinstance(authorizer.pop("integrationLatency"), int)
    assert authorizer == {"principalId": "user-reader", "role": "reader", "level": "3", "admin": "false"}
    assert get("/items/1", Authorization="Bearer nested").status_code == 500  # an object in the context
    assert get("/items/1", "DELETE", Authorization="Bearer reader").status_code == 403  # policy allows GET only

    assert get("/team?tenant=acme").status_code == 401  # REQUEST: a missing identity source
    assert get("/team?tenant=acme", **{"X-Api-Team": "red"}).status_code == 403
    r = get("/team?tenant=acme", **{"X-Api-Team": "blue"})
    assert r.status_code == 200 and r.json()["authorizer"]["team"] == "blue", r.text

    assert get("/health").status_code == 200  # Authorizer: NONE
    unsigned = get("/admin")
    assert unsigned.status_code == 403  # AWS_IAM without a signature: "Missing Authentication Token"
    assert unsigned.headers.get("Access-Control-Allow-Headers") == "Content-Type,Authorization,X-Api-Team"
    assert "Access-Control-Allow-Origin" not in get("/items/1", Authorization="Bearer nested").headers  # a 5XX
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    signed = AWSRequest(method="GET", url=f"{api}/admin")
    SigV4Auth(Credentials("AKIDEXAMPLE", "secret"), "execute-api", "us-east-1").add_auth(signed)
    assert get("/admin", **dict(signed.headers)).status_code == 200


def test_start_sync_execution_reaches_the_sandbox(sb, helpers):
    """A probe found StartSyncExecution unusable: botocore puts `sync-` before the host (sync-127.0.0.1), which
    resolves nowhere - from the sandbox's clients, the AWS CLI and boto3 in functions (synchronous Express
    workflows behind an API are a common pattern)."""
    sfn = sb.client("stepfunctions")
    machine = sfn.create_state_machine(
        name=helpers.unique("express"), type="EXPRESS", roleArn=helpers.ROLE,
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
    assert json.loads(sfn.start_sync_execution(stateMachineArn=machine, input='{"a": 1}')["output"]) == {"a": 1}
    fn = helpers.create_function(sb, f'''
import boto3, json
def handler(event, context):
    out = boto3.client("stepfunctions").start_sync_execution(stateMachineArn="{machine}", input=json.dumps(event))
    return json.loads(out["output"])
''', timeout=20)
    body, resp = helpers.invoke(sb, fn, {"b": 2})
    assert "FunctionError" not in resp and body == {"b": 2}, body
    import os
    import subprocess
    import sys

    env = {"PATH": os.environ["PATH"], **sb.aws_env()}  # after `eval "$(sandbox env)"`
    cli = subprocess.run([str(Path(sys.executable).parent / "aws"), "stepfunctions", "start-sync-execution",
                          "--state-machine-arn", machine, "--input", '{"c": 3}', "--output", "json"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert cli.returncode == 0 and json.loads(json.loads(cli.stdout)["output"]) == {"c": 3}, cli.stderr
