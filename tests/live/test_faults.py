"""Fault injection against the real embedded LocalStack: service faults, latency, Lambda-level faults, templates, CLI.

Every test starts and ends with no fault configured (the `no_faults` fixture), whatever happens in it.
"""

import json
import math
import subprocess
import sys
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from sandbox.faults import FaultError

REGION = "us-east-1"
ACCOUNT = "000000000000"
BIN = Path(sys.executable).parent


@pytest.fixture(autouse=True)
def no_faults(sandbox):
    sandbox.faults.clear()
    yield
    sandbox.faults.clear()


def error_of(call, *args, **kwargs) -> tuple[str, int]:
    """(error code, HTTP status) of a boto3 call that must fail."""
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    err = info.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]


def make_table(sb, helpers) -> str:
    ddb = sb.client("dynamodb")
    table = helpers.unique("items")
    ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    return table


# --- the API -------------------------------------------------------------------------------------------------
def test_faults_api_get_post_patch_delete(sb):
    url = f"{sb.endpoint}/_localstack/chaos/faults"
    assert sb.http.get(url).json() == []
    r1 = {"service": "dynamodb", "operation": "PutItem"}
    r2 = {"service": "sqs", "region": "eu-west-1", "probability": 0.25, "error": {"statusCode": 400, "code": "Nope"}}
    r3 = {"region": "ap-south-1"}
    assert sb.http.post(url, json=[r1, r2]).json() == [r1, r2]  # POST replaces all
    assert sb.http.post(url, json=[r2]).json() == [r2]
    assert sb.http.patch(url, json=[r1, r3]).json() == [r2, r1, r3]  # PATCH appends
    assert sb.http.get(url).json() == [r2, r1, r3]
    # DELETE removes rules equal to the given ones, defaults filled in (r1 spelled out in full still matches)
    spelled_out = {**r1, "probability": 1, "error": {"statusCode": 503, "code": "ServiceUnavailable"}}
    assert sb.http.delete(url, json=[spelled_out]).json() == [r2, r3]
    assert sb.http.delete(url, json=[{"service": "s3"}]).json() == [r2, r3], "deleting an absent rule changes nothing"
    assert sb.http.post(url, json=[]).json() == []  # [] = off

    effects = f"{sb.endpoint}/_localstack/chaos/effects"
    assert sb.http.get(effects).json() == {"latency": 0}
    assert sb.http.post(effects, json={"latency": 150}).json() == {"latency": 150}
    assert sb.http.get(effects).json() == {"latency": 150}
    assert sb.http.post(effects, json={"latency": 0}).json() == {"latency": 0}

    # the same through the Python API
    assert sb.faults.add(r1) == [r1]
    assert sb.faults.add(r3) == [r1, r3]
    assert sb.faults.remove(r1) == [r3]
    assert sb.faults.replace([r2]) == [r2]
    assert sb.faults.set_latency(20) == {"latency": 20}
    assert sb.faults.add_lambda({"function": "f", "fault": "crash"}) == [{"function": "f", "fault": "crash"}]
    st = sb.faults.status()
    assert st["faults"] == [{**r2, "hits": 0}] and st["effects"] == {"latency": 20}
    assert st["lambda"] == [{"function": "f", "fault": "crash", "hits": 0}]
    sb.faults.clear()
    assert sb.faults.status()["faults"] == [] and sb.faults.effects() == {"latency": 0} and sb.faults.lambda_faults() == []


@pytest.mark.parametrize("body, fragment", [
    ([{"servce": "s3"}], "unknown key 'servce' in a fault rule (did you mean 'service'?)"),
    ([{"service": "dynamo"}], "'service': unknown service 'dynamo' (LocalStack's service catalog calls it 'dynamodb')"),
    ([{"service": "nosuchservice"}], "'service': unknown service 'nosuchservice'"),
    ([{"service": 3}], "'service' must be a string, got a number (3)"),
    ([{}, {"probability": 1.5}], "rule 1: 'probability' must be between 0 and 1, got 1.5"),
    ([{"probability": "half"}], "'probability' must be a number, got a string ('half')"),
    ([{"error": {"statusCode": 302}}], "'error.statusCode' must be an HTTP error status between 400 and 599, got 302"),
    ([{"error": {"statusCode": 600}}], "between 400 and 599, got 600"),
    ([{"error": {"statusCode": "503"}}], "'error.statusCode' must be a whole number, got a string"),
    ([{"error": {"code": 42}}], "'error.code' must be a string"),
    ([{"error": {"status": 503}}], "unknown key 'status' in 'error'"),
    ([{"service": "dynamodb", "operation": "Putitem"}], "dynamodb has no operation 'Putitem' (did you mean 'PutItem'?)"),
    ([{"region": "moon"}], "'region': 'moon' is not valid"),
    ({"service": "s3"}, "expected a JSON array of fault rules, got a single object"),
    (["s3"], "rule 0: a rule must be a JSON object, got a string"),
])
def test_invalid_fault_rules_are_400_with_a_message(sb, body, fragment):
    url = f"{sb.endpoint}/_localstack/chaos/faults"
    before = sb.faults.replace([{"service": "s3", "operation": "GetObject"}])
    for method in ("POST", "PATCH"):
        resp = sb.http.request(method, url, json=body)
        assert resp.status_code == 400, resp.text
        assert fragment in resp.json()["message"], resp.json()["message"]
    assert sb.faults.list() == before, "a refused write changes nothing"


def test_invalid_bodies_and_effects_are_400(sb):
    url = f"{sb.endpoint}/_localstack/chaos"
    assert "not valid JSON" in sb.http.post(f"{url}/faults", data="[{").json()["message"]
    assert "needs a JSON body" in sb.http.patch(f"{url}/faults").json()["message"]
    assert "to remove every rule, POST []" in sb.http.delete(f"{url}/faults", json=[]).json()["message"]
    for body, fragment in (({"latency": -5}, "'latency' must be between 0 and 60000"), ({"latency": "fast"}, "number"),
                           ({"jitter": 3}, "unknown key 'jitter' in effects"), ([1], "expected a JSON object")):
        resp = sb.http.post(f"{url}/effects", json=body)
        assert resp.status_code == 400 and fragment in resp.json()["message"], resp.text
    with pytest.raises(FaultError, match="'probability' must be between 0 and 1"):
        sb.faults.add({"probability": -1})


@pytest.mark.parametrize("body, fragment", [
    ([{"function": "f"}], "'fault' is required: one of error, latency, startup-latency, timeout, crash"),
    ([{"fault": "explode"}], "'fault': 'explode' is not a Lambda fault"),
    ([{"fault": "latency"}], "'latencyMs' is required for fault 'latency'"),
    ([{"fault": "latency", "latencyMs": 90_000}], "'latencyMs' must be between 0 and 60000"),
    ([{"fault": "crash", "latencyMs": 5}], "'latencyMs' only applies to faults 'latency' and 'startup-latency'"),
    ([{"fault": "timeout", "error": {"type": "X"}}], "'error' only applies to fault 'error'"),
    ([{"fault": "error", "error": {"kind": "X"}}], "unknown key 'kind' in 'error'"),
    ([{"fault": "error", "function": "arn:aws:lambda:us-east-1:fn"}], "is not a Lambda function ARN"),
    ([{"fault": "error", "function": "bad name!"}], "is not a function name"),
    ([{"fault": "error", "probability": 2}], "'probability' must be between 0 and 1"),
    ([{"fault": "error", "service": "lambda"}], "unknown key 'service' in a Lambda fault rule"),
])
def test_invalid_lambda_rules_are_400_with_a_message(sb, body, fragment):
    resp = sb.http.post(f"{sb.endpoint}/_sandbox/chaos/lambda", json=body)
    assert resp.status_code == 400, resp.text
    assert fragment in resp.json()["message"], resp.json()["message"]
    assert sb.faults.lambda_faults() == []


# --- service faults ------------------------------------------------------------------------------------------
def test_errors_are_in_each_services_protocol(sb, helpers):
    """botocore parses the injected code and status for json, rest-json, query and rest-xml services."""
    sb.faults.replace([
        {"service": "dynamodb", "operation": "ListTables", "error": {"statusCode": 503, "code": "ServiceUnavailable"}},
        {"service": "lambda", "operation": "ListFunctions", "error": {"statusCode": 429, "code": "TooManyRequestsException"}},
        {"service": "sns", "operation": "ListTopics", "error": {"statusCode": 400, "code": "Throttling"}},
        {"service": "s3", "operation": "ListBuckets", "error": {"statusCode": 503, "code": "SlowDown"}},
        {"service": "sqs", "operation": "ListQueues", "error": {"statusCode": 500, "code": "InternalError",
                                                                "message": "custom words"}},
    ])
    assert error_of(sb.client("dynamodb").list_tables) == ("ServiceUnavailable", 503)  # json
    assert error_of(sb.client("lambda").list_functions) == ("TooManyRequestsException", 429)  # rest-json
    assert error_of(sb.client("sns").list_topics) == ("Throttling", 400)  # query (XML)
    assert error_of(sb.client("s3").list_buckets) == ("SlowDown", 503)  # rest-xml
    with pytest.raises(ClientError) as info:
        sb.client("sqs").list_queues()
    assert info.value.response["Error"]["Code"] == "InternalError"
    assert info.value.response["Error"]["Message"] == "custom words"
    # other operations of the same services are untouched
    sb.client("dynamodb").describe_limits()
    sb.client("s3").create_bucket(Bucket=helpers.unique("ok"))
    hits = [r["hits"] for r in sb.faults.status()["faults"]]
    assert hits == [1, 1, 1, 1, 1]


FAULTY_DDB_HANDLER = '''
import json, os, boto3
from botocore.config import Config
from botocore.exceptions import ClientError
table = boto3.resource("dynamodb", config=Config(retries={"total_max_attempts": 1})).Table(os.environ["TABLE"])
def handler(event, context):
    if "httpMethod" in event:  # behind API Gateway: an uncaught error, as most handlers have
        item = json.loads(event["body"])
        table.put_item(Item={"id": item["id"]})
        return {"statusCode": 201, "body": json.dumps({"id": item["id"]})}
    try:
        table.put_item(Item={"id": event["id"]})
    except ClientError as e:
        return {"put": "failed", "code": e.response["Error"]["Code"],
                "status": e.response["ResponseMetadata"]["HTTPStatusCode"]}
    return {"put": "ok", "read": table.get_item(Key={"id": event["id"]}).get("Item")}
'''


def test_dynamodb_put_item_fault_fails_the_lambdas_put_and_the_api(sb, helpers):
    lam, apigw, ddb = sb.client("lambda"), sb.client("apigateway"), sb.client("dynamodb")
    table = make_table(sb, helpers)
    fn = helpers.create_function(sb, FAULTY_DDB_HANDLER, timeout=10, Environment={"Variables": {"TABLE": table}})
    fn_arn = lam.get_function(FunctionName=fn)["Configuration"]["FunctionArn"]
    api_id = apigw.create_rest_api(name=helpers.unique("items-api"))["id"]
    root = next(r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    items = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="items")["id"]
    apigw.put_method(restApiId=api_id, resourceId=items, httpMethod="POST", authorizationType="NONE")
    apigw.put_integration(restApiId=api_id, resourceId=items, httpMethod="POST", type="AWS_PROXY",
                          integrationHttpMethod="POST",
                          uri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{fn_arn}/invocations")
    apigw.create_deployment(restApiId=api_id, stageName="dev")
    lam.add_permission(FunctionName=fn, StatementId="apigw", Action="lambda:InvokeFunction",
                       Principal="apigateway.amazonaws.com", SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/*/*")
    api = f"{sb.endpoint}/_aws/execute-api/{api_id}/dev/items"
    assert helpers.invoke(sb, fn, {"id": "before"})[0] == {"put": "ok", "read": {"id": "before"}}
    assert sb.http.post(api, json={"id": "api-before"}, timeout=30).status_code == 201

    sb.faults.add({"service": "dynamodb", "operation": "PutItem"})
    assert helpers.invoke(sb, fn, {"id": "during"})[0] == {"put": "failed", "code": "ServiceUnavailable", "status": 503}
    resp = sb.http.post(api, json={"id": "api-during"}, timeout=30)
    assert 500 <= resp.status_code < 600, (resp.status_code, resp.text)
    assert error_of(ddb.put_item, TableName=table, Item={"id": {"S": "host"}}) == ("ServiceUnavailable", 503)
    assert ddb.get_item(TableName=table, Key={"id": {"S": "before"}})["Item"], "other operations still work"

    sb.faults.clear()
    assert helpers.invoke(sb, fn, {"id": "after"})[0] == {"put": "ok", "read": {"id": "after"}}
    assert sb.http.post(api, json={"id": "api-after"}, timeout=30).status_code == 201
    stored = sorted(i["id"]["S"] for i in ddb.scan(TableName=table)["Items"])
    assert stored == ["after", "api-after", "api-before", "before"], "nothing was written during the fault"


def test_probability_is_honoured(sb):
    sqs = sb.client("sqs")
    sb.faults.add({"service": "sqs", "operation": "ListQueues", "probability": 0.5})
    n, failed = 400, 0
    for _ in range(n):
        try:
            sqs.list_queues()
        except ClientError as e:
            assert e.response["Error"]["Code"] == "ServiceUnavailable"
            failed += 1
    sigma = math.sqrt(n * 0.5 * 0.5)
    assert abs(failed - n * 0.5) <= 4 * sigma, f"{failed} of {n} failed with probability 0.5"
    assert sb.faults.status()["faults"][0]["hits"] == failed


def test_first_matching_rule_wins(sb):
    sqs = sb.client("sqs")
    sb.faults.replace([
        {"service": "sqs", "operation": "ListQueues", "error": {"statusCode": 400, "code": "FirstRule"}},
        {"service": "sqs", "error": {"statusCode": 400, "code": "SecondRule"}},
        {"error": {"statusCode": 400, "code": "ThirdRule"}},
    ])
    assert error_of(sqs.list_queues) == ("FirstRule", 400)
    assert error_of(sqs.get_queue_url, QueueName="q") == ("SecondRule", 400)
    assert error_of(sb.client("sns").list_topics) == ("ThirdRule", 400)
    # a matching rule decides even when its dice say no: ListQueues passes, it does not fall through
    sb.faults.replace([{"service": "sqs", "operation": "ListQueues", "probability": 0},
                       {"service": "sqs", "error": {"statusCode": 400, "code": "SecondRule"}}])
    sqs.list_queues()
    assert error_of(sqs.get_queue_url, QueueName="q") == ("SecondRule", 400)


def test_latency_effect_delays_aws_requests_only(sb):
    sqs = sb.client("sqs")
    sqs.list_queues()
    sb.faults.set_latency(500)
    for _ in range(2):
        started = time.perf_counter()
        sqs.list_queues()
        assert time.perf_counter() - started >= 0.5
    started = time.perf_counter()
    assert sb.http.get(f"{sb.endpoint}/_localstack/health", timeout=5).ok
    assert time.perf_counter() - started < 0.5, "the sandbox's own endpoints are not delayed"
    # latency and a fault together: delayed, then failed
    sb.faults.add({"service": "sqs", "operation": "ListQueues"})
    started = time.perf_counter()
    assert error_of(sqs.list_queues) == ("ServiceUnavailable", 503)
    assert time.perf_counter() - started >= 0.5
    sb.faults.set_latency(0)
    assert sb.faults.status()["injected"]["latency"] >= 3


def test_region_outage(sb):
    sb.faults.apply("region-outage", region="eu-west-1")
    assert error_of(sb.client("sqs", region="eu-west-1").list_queues) == ("ServiceUnavailable", 503)
    assert error_of(sb.client("dynamodb", region="eu-west-1").list_tables) == ("ServiceUnavailable", 503)
    assert error_of(sb.client("lambda", region="eu-west-1").list_functions) == ("ServiceUnavailable", 503)
    sb.client("sqs", region="us-east-1").list_queues()
    sb.client("dynamodb", region="us-east-1").list_tables()


def test_throttling_and_outage_templates(sb, helpers):
    table = make_table(sb, helpers)
    fn = helpers.create_function(sb, "def handler(e, c):\n    return 'ran'\n")
    ddb, sqs, lam = sb.client("dynamodb"), sb.client("sqs"), sb.client("lambda")
    url = sqs.create_queue(QueueName=helpers.unique("q"))["QueueUrl"]
    for service in ("dynamodb", "sqs", "lambda"):
        sb.faults.apply("throttling", service=service)
    assert error_of(ddb.put_item, TableName=table, Item={"id": {"S": "x"}}) == \
        ("ProvisionedThroughputExceededException", 400)
    assert error_of(sqs.send_message, QueueUrl=url, MessageBody="x") == ("ThrottlingException", 400)
    assert error_of(lam.invoke, FunctionName=fn) == ("TooManyRequestsException", 429)
    sb.faults.clear()
    plan = sb.faults.apply("service-outage", service="sqs", operation="SendMessage")
    assert plan.faults == [{"service": "sqs", "operation": "SendMessage",
                            "error": {"statusCode": 503, "code": "ServiceUnavailable"}}]
    assert error_of(sqs.send_message, QueueUrl=url, MessageBody="x") == ("ServiceUnavailable", 503)
    sqs.get_queue_attributes(QueueUrl=url)
    with sb.faults.injected("throttling", service="dynamodb", operation="GetItem"):
        assert error_of(ddb.get_item, TableName=table, Key={"id": {"S": "x"}})[0] == \
            "ProvisionedThroughputExceededException"
    ddb.get_item(TableName=table, Key={"id": {"S": "x"}})  # the with block removed its rule
    assert sb.faults.list() == plan.faults
    with pytest.raises(FaultError, match="unknown fault template 'flood'; templates: service-outage, throttling"):
        sb.faults.apply("flood")
    with pytest.raises(FaultError, match="template 'throttling' needs service"):
        sb.faults.apply("throttling")
    with pytest.raises(FaultError, match="unknown service 'dynamo'"):
        sb.faults.apply("service-outage", service="dynamo")


# --- internal calls ----------------------------------------------------------------------------------------
def test_faults_hit_internal_service_to_service_calls(sb, helpers):
    """S3 -> SQS notifications are LocalStack-internal calls through the gateway: an SQS fault drops them."""
    s3, sqs = sb.client("s3"), sb.client("sqs")
    bucket = helpers.unique("uploads")
    s3.create_bucket(Bucket=bucket)
    url = sqs.create_queue(QueueName=helpers.unique("s3-events"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]})
    # AccessDenied: not retried by the notifier's client, so the drop is final and the test needs no waiting game
    internal_before = sb.faults.status()["injected"]["internal_faults"]
    sb.faults.add({"service": "sqs", "operation": "SendMessage", "error": {"statusCode": 403, "code": "AccessDenied"}})
    s3.put_object(Bucket=bucket, Key="during-fault.txt", Body=b"1")  # S3 itself is fine
    helpers.wait_for(lambda: sb.faults.status()["faults"][0]["hits"] >= 1, timeout=20,
                     message="the notification's SendMessage to be faulted")
    status = sb.faults.status()
    assert status["faults"][0]["hits"] == 1
    assert status["injected"]["internal_faults"] == internal_before + 1, "it was an internal call"
    sb.faults.clear()
    s3.put_object(Bucket=bucket, Key="after-fault.txt", Body=b"2")

    keys = []

    def poll():
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            keys.extend(r["s3"]["object"]["key"] for r in json.loads(m["Body"]).get("Records", []))
        return "after-fault.txt" in keys

    helpers.wait_for(poll, timeout=20, message="the notification after the fault")
    assert keys == ["after-fault.txt"], "the notification sent during the fault was lost"


def test_lambda_service_fault_hits_s3_to_lambda_notification(sb, helpers):
    """A Lambda Invoke fault fails S3's (internal) async invoke of the function: the handler never runs."""
    s3, lam = sb.client("s3"), sb.client("lambda")
    bucket = helpers.unique("uploads")
    s3.create_bucket(Bucket=bucket)
    fn = helpers.create_function(sb, "def handler(e, c):\n    print('GOT', e['Records'][0]['s3']['object']['key'])\n")
    fn_arn = lam.get_function(FunctionName=fn)["Configuration"]["FunctionArn"]
    lam.add_permission(FunctionName=fn, StatementId="s3", Action="lambda:InvokeFunction", Principal="s3.amazonaws.com",
                       SourceArn=f"arn:aws:s3:::{bucket}")
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "LambdaFunctionConfigurations": [{"LambdaFunctionArn": fn_arn, "Events": ["s3:ObjectCreated:*"]}]})
    internal_before = sb.faults.status()["injected"]["internal_faults"]
    sb.faults.add({"service": "lambda", "operation": "Invoke", "error": {"statusCode": 403, "code": "AccessDenied"}})
    s3.put_object(Bucket=bucket, Key="lost.txt", Body=b"1")
    helpers.wait_for(lambda: sb.faults.status()["faults"][0]["hits"] >= 1, timeout=20,
                     message="S3's invoke of the function to be faulted")
    assert sb.faults.status()["injected"]["internal_faults"] > internal_before, "it was an internal call"
    sb.faults.clear()
    s3.put_object(Bucket=bucket, Key="delivered.txt", Body=b"2")
    helpers.wait_for(lambda: "GOT delivered.txt" in helpers.log_text(sb, fn), timeout=30,
                     message="the function to get the second notification")
    assert "GOT lost.txt" not in helpers.log_text(sb, fn)


# --- Lambda-level faults -----------------------------------------------------------------------------------
COUNTING_HANDLER = '''
import uuid
ENVIRONMENT = uuid.uuid4().hex  # one per execution environment (each runs in a PID namespace: getpid() is 1)
runs = 0
def handler(event, context):
    global runs
    runs += 1
    return {"runs": runs, "pid": ENVIRONMENT}
'''


def timed_invoke(sb, helpers, fn, **kwargs):
    started = time.perf_counter()
    body, resp = helpers.invoke(sb, fn, **kwargs)
    return body, resp, time.perf_counter() - started


def test_lambda_error_fault(sb, helpers):
    fn = helpers.create_function(sb, COUNTING_HANDLER)
    assert helpers.invoke(sb, fn)[0]["runs"] == 1
    sb.faults.apply("lambda-errors", function=fn)
    body, resp = helpers.invoke(sb, fn)
    assert resp["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Sandbox.InjectedError"
    sb.faults.clear()
    sb.faults.apply("lambda-errors", function=fn, error_type="DownstreamError", error_message="orders db is gone")
    body, resp = helpers.invoke(sb, fn)
    assert (body["errorType"], body["errorMessage"]) == ("DownstreamError", "orders db is gone")
    other = helpers.create_function(sb, COUNTING_HANDLER)
    assert helpers.invoke(sb, other)[0]["runs"] == 1, "a rule for one function leaves the others alone"
    sb.faults.clear()
    assert helpers.invoke(sb, fn)[0]["runs"] == 2, "the handler did not run while the fault was on"
    assert "(injected by the sandbox)" in helpers.wait_for(
        lambda: (t := helpers.log_text(sb, fn)) and "DownstreamError" in t and t, message="the injected error in the logs")

    # an error rate: probability over many invocations, by ARN
    arn = sb.client("lambda").get_function(FunctionName=fn)["Configuration"]["FunctionArn"]
    sb.faults.add_lambda({"function": arn, "fault": "error", "probability": 0.5})
    n = 60
    errors = sum(1 for _ in range(n) if "FunctionError" in helpers.invoke(sb, fn)[1])
    assert abs(errors - n / 2) <= 4 * math.sqrt(n / 4), f"{errors} of {n} failed with probability 0.5"
    assert sb.faults.status()["lambda"][0]["hits"] == errors


def test_lambda_latency_timeout_and_crash(sb, helpers):
    fn = helpers.create_function(sb, COUNTING_HANDLER, timeout=2)
    first, _, _ = timed_invoke(sb, helpers, fn)

    sb.faults.apply("lambda-latency", function=fn, ms=700)
    body, _, seconds = timed_invoke(sb, helpers, fn)
    assert seconds >= 0.7 and body["runs"] == 2 and body["pid"] == first["pid"], "delayed, then ran in the same env"
    sb.faults.clear()

    sb.faults.apply("lambda-timeout", function=fn)
    body, resp, seconds = timed_invoke(sb, helpers, fn)
    assert resp["FunctionError"] == "Unhandled" and body["errorType"] == "Sandbox.Timedout", body
    assert "Task timed out after 2.00 seconds" in body["errorMessage"]
    assert seconds >= 2
    sb.faults.clear()
    body, _, _ = timed_invoke(sb, helpers, fn)
    assert body["runs"] == 1 and body["pid"] != first["pid"], "a timed-out environment is replaced"
    warm_pid = body["pid"]

    # start-up latency only hits cold starts: a warm invoke falls through to the crash rule behind it
    sb.faults.replace_lambda([{"function": fn, "fault": "startup-latency", "latencyMs": 900},
                              {"function": fn, "fault": "crash"}])
    body, resp, seconds = timed_invoke(sb, helpers, fn)
    assert body["errorType"] == "Runtime.ExitError" and resp["FunctionError"] == "Unhandled", body
    assert seconds < 0.9
    sb.faults.remove_lambda({"function": fn, "fault": "crash"})
    body, _, seconds = timed_invoke(sb, helpers, fn)
    assert body["runs"] == 1 and body["pid"] != warm_pid, "the crashed runtime was replaced by a cold one"
    assert seconds >= 0.9, "the cold start got the start-up latency"
    body, _, seconds = timed_invoke(sb, helpers, fn)
    assert body["runs"] == 2 and seconds < 0.9, "warm invocations do not"


def test_lambda_fault_by_qualifier(sb, helpers):
    lam = sb.client("lambda")
    fn = helpers.create_function(sb, COUNTING_HANDLER)
    version = lam.publish_version(FunctionName=fn)["Version"]
    lam.create_alias(FunctionName=fn, Name="live", FunctionVersion=version)
    lam.get_waiter("function_active_v2").wait(FunctionName=fn, Qualifier="live")
    sb.faults.add_lambda({"function": fn, "qualifier": "live", "fault": "error"})
    body, resp = helpers.invoke(sb, fn, Qualifier="live")
    assert resp.get("FunctionError") == "Unhandled" and body["errorType"] == "Sandbox.InjectedError"
    assert "FunctionError" not in helpers.invoke(sb, fn)[1], "$LATEST is not the alias"
    sb.faults.replace_lambda([{"function": f"{fn}", "qualifier": version, "fault": "error"}])
    assert "FunctionError" in helpers.invoke(sb, fn, Qualifier="live")[1], "the alias's version matches too"
    assert "FunctionError" not in helpers.invoke(sb, fn, Qualifier="$LATEST")[1]


# --- CLI -----------------------------------------------------------------------------------------------------
def cli(sandbox, *args):
    return subprocess.run([str(BIN / "sandbox"), "--state-dir", str(sandbox.settings.state_dir), "fault", *args],
                          capture_output=True, text=True, timeout=60)


def test_cli_fault_commands(sb):
    out = cli(sb, "add", "service-outage", "--service", "dynamodb", "--operation", "PutItem")
    assert out.returncode == 0, out.stderr
    assert "added fault: dynamodb PutItem -> 503 ServiceUnavailable" in out.stdout
    out = cli(sb, "add", "--rule", '{"function": "orders", "fault": "latency", "latencyMs": 300}')
    assert out.returncode == 0 and "added Lambda fault: orders -> latency +300 ms" in out.stdout, out.stderr
    assert cli(sb, "effects", "--latency", "25").stdout.strip() == "latency: 25 ms"
    listing = cli(sb, "list").stdout
    assert "1   dynamodb PutItem -> 503 ServiceUnavailable   [0 injected]" in listing
    assert "L1  orders -> latency +300 ms" in listing and "latency on every AWS request: 25 ms" in listing
    assert json.loads(cli(sb, "list", "--json").stdout)["effects"] == {"latency": 25}

    bad = cli(sb, "add", "flood")
    assert bad.returncode == 1 and "unknown fault template 'flood'; templates: service-outage" in bad.stderr
    assert "Traceback" not in bad.stderr
    bad = cli(sb, "add", "--rule", '{"service": "s3", "probability": 2}')
    assert bad.returncode == 1 and "'probability' must be between 0 and 1, got 2" in bad.stderr
    bad = cli(sb, "add", "region-outage")
    assert bad.returncode == 1 and "template 'region-outage' needs --region" in bad.stderr
    bad = cli(sb, "remove", "7")
    assert bad.returncode == 1 and "no fault number '7'" in bad.stderr

    assert cli(sb, "remove", "1", "L1").stdout.strip() == "removed 2 fault(s)"
    assert sb.faults.list() == [] and sb.faults.lambda_faults() == []
    assert cli(sb, "clear").returncode == 0
    assert cli(sb, "list").stdout.strip() == "no faults"
    assert "lambda-cold-start" in cli(sb, "templates").stdout


def test_sandbox_own_endpoints_are_never_faulted(sb):
    sb.faults.add({})  # every AWS request fails
    sb.faults.set_latency(300)
    assert error_of(sb.client("sqs").list_queues) == ("ServiceUnavailable", 503)
    started = time.perf_counter()
    assert sb.http.get(f"{sb.endpoint}/_localstack/health", timeout=5).ok
    assert sb.http.get(f"{sb.endpoint}/_sandbox/info", timeout=5).ok
    assert time.perf_counter() - started < 0.6
    assert sb.http.get(f"{sb.endpoint}/_localstack/chaos/faults", timeout=5).json() == [{}]


def test_reset_clears_faults_and_effects(sandbox):
    sandbox.faults.add({"service": "sqs"})
    sandbox.faults.set_latency(50)
    sandbox.faults.add_lambda({"fault": "crash"})
    sandbox.reset()
    assert sandbox.faults.list() == []
    assert sandbox.faults.lambda_faults() == []
    assert sandbox.faults.effects().get("latency", 0) == 0
    sandbox.client("sqs").list_queues()  # and requests go through again


# --- targets that exist ----------------------------------------------------------------------------------------
def test_unknown_function_message_names_the_likely_one_and_the_deployed_ones():
    from sandbox.faults import similar_functions, unknown_function_message

    known = ["media-pipeline-IngestFunction-76760eee", "media-pipeline-TranscodeFunction-1a2b3c4d"]
    assert similar_functions("IngestFunction", known) == ["media-pipeline-IngestFunction-76760eee"]
    assert similar_functions("media-pipeline-TranscodeFunction-1a2b3c4e", known) == [known[1]]
    message = unknown_function_message("IngestFunction", "us-east-1", known)
    assert message == ("no Lambda function 'IngestFunction' in us-east-1 (did you mean "
                       "media-pipeline-IngestFunction-76760eee?); functions in us-east-1: "
                       "media-pipeline-IngestFunction-76760eee, media-pipeline-TranscodeFunction-1a2b3c4d")
    assert unknown_function_message("x", "eu-west-1", []) == \
        "no Lambda function 'x' in eu-west-1; there are no functions in eu-west-1 (deploy first)"
    many = [f"fn-{i:02d}" for i in range(25)]
    assert unknown_function_message("zzz", "us-east-1", many).endswith("fn-19 and 5 more")


def test_a_template_for_a_function_that_does_not_exist_is_refused(sb, helpers):
    fn = helpers.create_function(sb, COUNTING_HANDLER, name=helpers.unique("media-pipeline-IngestFunction"))
    with pytest.raises(FaultError) as info:
        sb.faults.apply("lambda-errors", function="IngestFunction")
    assert f"no Lambda function 'IngestFunction' in us-east-1 (did you mean {fn}?)" in str(info.value)
    assert f"functions in us-east-1: {fn}" in str(info.value)
    with pytest.raises(FaultError, match="no Lambda function 'IngestFunction' in eu-west-1"):
        sb.faults.apply("lambda-crash", function="IngestFunction", region="eu-west-1")
    with pytest.raises(FaultError, match=f"no Lambda function '{fn}' in eu-west-1"):
        sb.faults.apply("lambda-timeout", function=f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:{fn}")
    assert sb.faults.lambda_faults() == [], "nothing was added"

    # the deployed name, or its ARN, or no function at all (every function) are fine
    sb.faults.apply("lambda-errors", function=fn)
    sb.faults.apply("lambda-latency", ms=10, function=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{fn}")
    sb.faults.apply("lambda-timeout")
    assert [r.get("function") for r in sb.faults.lambda_faults()] == \
        [fn, f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{fn}", None]
    # raw rules are not looked up (a rule may be set before its function is deployed)
    sb.faults.add_lambda({"function": "not-deployed-yet", "fault": "crash"})
    # a rule without a region matches the function in any region: one deployed only in eu-west-1 is fine
    elsewhere = helpers.unique("eu-only")
    sb.client("lambda", region="eu-west-1").create_function(
        FunctionName=elsewhere, Runtime="python3.13", Role=helpers.ROLE, Handler="app.handler",
        Code={"ZipFile": helpers.zip_code({"app.py": COUNTING_HANDLER})})
    sb.faults.apply("lambda-errors", function=elsewhere)

    out = cli(sb, "add", "lambda-errors", "--function", "IngestFunction")
    assert out.returncode == 1 and f"(did you mean {fn}?)" in out.stderr and "Traceback" not in out.stderr
