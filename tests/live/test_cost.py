"""The cost meter: the estimate of a known run equals the figure computed by hand from AWS's price list."""

from __future__ import annotations

import json
import math
import re

import pytest
import requests

# us-east-1 list prices, typed from the AWS pricing pages (not read from sandbox/data/prices.json on purpose)
LAMBDA_REQUEST = 0.20 / 1_000_000
LAMBDA_GB_SECOND = 0.0000166667
APIGW_REST_REQUEST = 3.50 / 1_000_000
SQS_REQUEST = 0.40 / 1_000_000
SFN_TRANSITION = 0.025 / 1_000
DDB_WRU = 0.625 / 1_000_000
DDB_RRU = 0.125 / 1_000_000
S3_PUT = 0.005 / 1_000
S3_GET = 0.0004 / 1_000
EVENTS_CUSTOM = 1.00 / 1_000_000
SES_EMAIL = 0.10 / 1_000


def mock_api(sb, helpers) -> str:
    apigw = sb.client("apigateway")
    api = apigw.create_rest_api(name=helpers.unique("api"))["id"]
    root = apigw.get_resources(restApiId=api)["items"][0]["id"]
    res = apigw.create_resource(restApiId=api, parentId=root, pathPart="ping")["id"]
    apigw.put_method(restApiId=api, resourceId=res, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(restApiId=api, resourceId=res, httpMethod="GET", type="MOCK",
                          requestTemplates={"application/json": '{"statusCode": 200}'})
    apigw.put_method_response(restApiId=api, resourceId=res, httpMethod="GET", statusCode="200")
    apigw.put_integration_response(restApiId=api, resourceId=res, httpMethod="GET", statusCode="200",
                                   responseTemplates={"application/json": '{"pong": true}'})
    apigw.create_deployment(restApiId=api, stageName="dev")
    return f"{sb.endpoint}/_aws/execute-api/{api}/dev/ping"


def test_cost_of_a_known_run_equals_the_hand_computed_figure(sb, helpers):
    # --- resources (before the window: their creation is not part of the run) --------------------------------
    fn = helpers.create_function(sb, "def handler(event, context):\n    return sum(range(1000))\n", MemorySize=256)
    sqs, ddb, s3, ses, sfn, events = (sb.client(s) for s in ("sqs", "dynamodb", "s3", "ses", "stepfunctions", "events"))
    queue = sqs.create_queue(QueueName=helpers.unique("q"))["QueueUrl"]
    table = helpers.unique("t")
    ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    bucket = helpers.unique("b")
    s3.create_bucket(Bucket=bucket)
    ses.verify_email_identity(EmailAddress="sender@example.com")
    definition = {"StartAt": "One", "States": {"One": {"Type": "Pass", "Next": "Two"}, "Two": {"Type": "Pass", "End": True}}}
    machine = sfn.create_state_machine(name=helpers.unique("sm"), roleArn=helpers.ROLE, type="STANDARD",
                                       definition=json.dumps(definition))
    url = mock_api(sb, helpers)

    cursor = sb.observe.cursor()
    # --- the run ------------------------------------------------------------------------------------------------
    for _ in range(3):
        helpers.invoke(sb, fn)                                             # 3 Lambda requests (+ GB-seconds)
    sqs.send_message(QueueUrl=queue, MessageBody="hello")                  # 1 SQS request
    sqs.send_message(QueueUrl=queue, MessageBody="x" * 100 * 1024)         # 100 KB: 2 requests (64 KB chunks)
    sqs.send_message_batch(QueueUrl=queue, Entries=[                       # 80 KB in all: 2 requests
        {"Id": "a", "MessageBody": "y" * 40 * 1024}, {"Id": "b", "MessageBody": "z" * 40 * 1024}])
    sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])       # 1 request
    # Read units come from the item in the answer (moto's answer, parsed when the recorder reads it): an item over
    # 8 KB, so a units count that did not see the answer (1 per read) shows.
    item = {"pk": {"S": "k1"}, "data": {"S": "d" * 9000}}                  # 2+2 + 4+9000 = 9008 bytes
    ddb.put_item(TableName=table, Item=item)                               # 9 WRU (1 KB units)
    ddb.get_item(TableName=table, Key={"pk": {"S": "k1"}}, ConsistentRead=True)  # 3 RRU (4 KB units)
    ddb.get_item(TableName=table, Key={"pk": {"S": "k1"}})                 # 1.5 RRU (eventually consistent)
    ddb.delete_item(TableName=table, Key={"pk": {"S": "k1"}})              # 1 WRU
    s3.put_object(Bucket=bucket, Key="a", Body=b"a")                       # PUT class
    s3.put_object(Bucket=bucket, Key="b", Body=b"b")                       # PUT class
    s3.list_objects_v2(Bucket=bucket)                                      # LIST: PUT class
    s3.get_object(Bucket=bucket, Key="a")["Body"].read()                   # GET class
    s3.head_object(Bucket=bucket, Key="b")                                 # other: GET class
    s3.delete_object(Bucket=bucket, Key="a")                               # free
    events.put_events(Entries=[{"Source": "my.app", "DetailType": "t", "Detail": json.dumps({"n": i})}
                               for i in range(2)])                          # 2 custom events
    ses.send_email(Source="sender@example.com", Destination={
        "ToAddresses": ["a@example.com", "b@example.com"], "CcAddresses": ["c@example.com"]},
        Message={"Subject": {"Data": "hi"}, "Body": {"Text": {"Data": "hello"}}})  # 3 emails
    execution = sfn.start_execution(stateMachineArn=machine["stateMachineArn"])["executionArn"]  # 2 transitions
    assert requests.get(url, timeout=30).json() == {"pong": True}         # 1 API Gateway request

    helpers.wait_for(lambda: sfn.describe_execution(executionArn=execution)["status"] == "SUCCEEDED",
                     message="the execution to succeed")
    helpers.wait_for(lambda: any(s["hop"] == "sfn-execution" for s in sb.events(since=cursor, limit=1000)["events"]),
                     message="the execution span")
    reports = helpers.wait_for(
        lambda: (found := re.findall(r"Billed Duration: (\d+) ms", helpers.log_text(sb, fn))) and len(found) == 3
        and found, message="3 REPORT lines in the function's log")

    # --- by hand ------------------------------------------------------------------------------------------------
    gb_seconds = sum(256 / 1024 * int(ms) / 1000 for ms in reports)
    expected = {
        ("lambda", "requests"): (3, 3 * LAMBDA_REQUEST),
        ("lambda", "gb_seconds_x86_64"): (gb_seconds, gb_seconds * LAMBDA_GB_SECOND),
        ("sqs", "standard_requests"): (6, 6 * SQS_REQUEST),
        ("dynamodb", "write_request_units"): (10, 10 * DDB_WRU),
        ("dynamodb", "read_request_units"): (4.5, 4.5 * DDB_RRU),
        ("s3", "tier1_requests"): (3, 3 * S3_PUT),
        ("s3", "tier2_requests"): (2, 2 * S3_GET),
        ("events", "custom_events"): (2, 2 * EVENTS_CUSTOM),
        ("ses", "emails"): (3, 3 * SES_EMAIL),
        ("stepfunctions", "state_transitions"): (2, 2 * SFN_TRANSITION),
        ("apigateway", "rest_requests"): (1, APIGW_REST_REQUEST),
    }
    total = sum(cost for _, cost in expected.values())

    estimate = sb.cost(since=cursor)
    got = {(line["service"], line["item"]): (line["quantity"], line["cost"]) for line in estimate["lines"]}
    assert set(got) == set(expected)
    for key, (quantity, cost) in expected.items():
        assert got[key][0] == pytest.approx(quantity, rel=1e-9), key
        assert got[key][1] == pytest.approx(cost, rel=1e-6), key
    assert estimate["total"] == pytest.approx(total, rel=1e-6)
    assert estimate["by_service"]["ses"] == pytest.approx(3 * SES_EMAIL)
    assert estimate["currency"] == "USD" and estimate["region"] == "us-east-1"
    # the same window by time gives the same figure
    by_time = sb.cost(since_ts=estimate["window"]["from_ts"], until_ts=estimate["window"]["to_ts"] + 1)
    assert by_time["total"] >= estimate["total"] and math.isclose(by_time["total"], estimate["total"], rel_tol=0.05)


FAILING_API = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
      Events:
        Items: {Type: HttpApi, Properties: {Path: /items, Method: GET}}
        Boom: {Type: HttpApi, Properties: {Path: /boom, Method: GET}}
        RestItems: {Type: Api, Properties: {Path: /items, Method: GET}}
Outputs:
  Url: {Value: !Sub "https://${ServerlessHttpApi}.execute-api.${AWS::Region}.amazonaws.com"}
  RestUrl: {Value: !Sub "https://${ServerlessRestApi}.execute-api.${AWS::Region}.amazonaws.com/Prod"}
"""
FAILING_HANDLER = """
def handler(event, context):
    path = event.get("rawPath") or event.get("path") or ""
    if path.endswith("/boom"):
        raise ValueError("boom")
    code = int((event.get("queryStringParameters") or {}).get("code") or 200)
    return {"statusCode": code, "body": "answered"}
"""


def test_failed_requests_are_billed_where_aws_bills_them(sb, helpers, tmp_path):
    """API Gateway bills what reached the integration, whatever it answered (a function that raises, or answers 403
    or 404), not what it refused first (a path without a route). A DynamoDB write whose condition failed consumes
    write units for the larger of the stored item and its own; one refused as invalid consumes none."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(FAILING_HANDLER)
    (tmp_path / "template.yaml").write_text(FAILING_API)
    out = sb.deploy(str(tmp_path), stack_name=helpers.unique("billed")).outputs
    url, rest = out["Url"].rstrip("/"), out["RestUrl"].rstrip("/")
    ddb = sb.client("dynamodb")
    table = helpers.unique("t")
    ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    stored = {"pk": {"S": "k1"}, "data": {"S": "d" * 3000}}                # 2+2 + 4+3000 bytes: 3 WRU
    small = {"pk": {"S": "k1"}, "data": {"S": "tiny"}}                     # 1 WRU on its own
    key = {"pk": {"S": "k1"}}

    cursor = sb.observe.cursor()
    assert requests.get(f"{url}/items", timeout=30).status_code == 200          # HTTP API: billed
    assert requests.get(f"{url}/boom", timeout=30).status_code == 500           # the function failed: billed
    assert requests.get(f"{url}/items?code=404", timeout=30).status_code == 404  # the function's 404: billed
    assert requests.get(f"{url}/nowhere", timeout=30).status_code == 404        # no route: free
    assert requests.get(f"{rest}/items?code=403", timeout=30).status_code == 403  # REST, the function's 403: billed
    assert requests.get(f"{rest}/nowhere", timeout=30).status_code in (403, 404)  # REST, no resource: free
    ddb.put_item(TableName=table, Item=stored, ConditionExpression="attribute_not_exists(pk)")  # 3 WRU
    failed = "attribute_not_exists(pk)"
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
        ddb.put_item(TableName=table, Item=small, ConditionExpression=failed)     # the stored item's 3 WRU
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
        ddb.update_item(TableName=table, Key=key, UpdateExpression="SET n = :n",
                        ExpressionAttributeValues={":n": {"N": "1"}}, ConditionExpression=failed)  # 3 WRU
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
        ddb.delete_item(TableName=table, Key=key, ConditionExpression=failed)     # 3 WRU
    with pytest.raises(ddb.exceptions.ClientError):
        ddb.put_item(TableName=table, Item={"data": {"S": "no key"}})             # invalid: free

    helpers.wait_for(lambda: sum(1 for s in sb.events(since=cursor, limit=1000)["events"]
                                 if s["service"] == "apigateway") == 6, message="6 API Gateway spans")
    got = {(line["service"], line["item"]): line["quantity"] for line in sb.cost(since=cursor)["lines"]}
    assert got[("apigateway", "http_requests")] == 3
    assert got[("apigateway", "rest_requests")] == 1
    assert got[("dynamodb", "write_request_units")] == 12


def test_price_sheet_names_its_sources():
    from sandbox.observability.cost import load_prices

    prices = load_prices()
    for service in ("lambda", "apigateway", "sqs", "stepfunctions", "dynamodb", "s3", "events", "ses"):
        assert prices[service]["source"].startswith("https://aws.amazon.com/"), service
    assert prices["region"] == "us-east-1" and prices["as_of"]
