"""The core serverless flows, end to end against the embedded LocalStack: triggers, retries, DLQs, APIs, layers.

Handlers report what they saw as `REC{...}CER` lines in their logs, which the tests read back from CloudWatch Logs.
"""

import base64
import json
import re
import threading
import time
from urllib.parse import unquote_plus

REGION = "us-east-1"
ACCOUNT = "000000000000"

RECORDER = '''
import json, os, time
def rec(**kw):
    print("REC" + json.dumps(kw) + "CER", flush=True)
'''


def records(sb, helpers, fn: str) -> list[dict]:
    """What the function's handler recorded so far, in order."""
    return [json.loads(m) for m in re.findall(r"REC(\{.*?\})CER", helpers.log_text(sb, fn))]


def wait_records(sb, helpers, fn: str, predicate, timeout: float = 20, message: str = "records") -> list[dict]:
    """The function's records, once `predicate(records)` holds."""

    def poll():
        recs = records(sb, helpers, fn)
        return recs if predicate(recs) else None

    return helpers.wait_for(poll, timeout=timeout, message=message)


def make_queue(sb, name: str, **attributes) -> tuple[str, str]:
    sqs = sb.client("sqs")
    url = sqs.create_queue(QueueName=name, Attributes={k: str(v) for k, v in attributes.items()})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def receive_until(sb, helpers, url: str, until, timeout: float = 20, message: str = "messages", **kwargs) -> list[dict]:
    """Receives from `url` (hiding what it got for 60 s, deleting nothing) until `until(messages so far)` holds."""
    sqs = sb.client("sqs")
    seen: dict[str, dict] = {}

    def poll():
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=60,
                                     AttributeNames=["All"], MessageAttributeNames=["All"], **kwargs).get("Messages", []):
            seen[m["MessageId"]] = m
        msgs = list(seen.values())
        return msgs if until(msgs) else None

    return helpers.wait_for(poll, timeout=timeout, message=message)


# --- 1, 2: S3 notifications ------------------------------------------------------------------------------
def test_s3_object_created_triggers_lambda(sb, helpers):
    s3, lam = sb.client("s3"), sb.client("lambda")
    bucket = helpers.unique("uploads")
    s3.create_bucket(Bucket=bucket)
    fn = helpers.create_function(sb, RECORDER + '''
def handler(event, context):
    for r in event["Records"]:
        rec(source=r["eventSource"], name=r["eventName"], bucket=r["s3"]["bucket"]["name"], key=r["s3"]["object"]["key"],
            size=r["s3"]["object"].get("size"))
''')
    fn_arn = lam.get_function(FunctionName=fn)["Configuration"]["FunctionArn"]
    lam.add_permission(FunctionName=fn, StatementId="s3", Action="lambda:InvokeFunction", Principal="s3.amazonaws.com",
                       SourceArn=f"arn:aws:s3:::{bucket}")
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "LambdaFunctionConfigurations": [{"LambdaFunctionArn": fn_arn, "Events": ["s3:ObjectCreated:*"],
                                          "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "in/"}]}}}]})
    s3.put_object(Bucket=bucket, Key="ignored/x.txt", Body=b"not for the function")
    s3.put_object(Bucket=bucket, Key="in/report.csv", Body=b"a,b\n1,2\n")

    recs = wait_records(sb, helpers, fn, lambda r: r, message="the S3 event in the function")
    assert recs[0] == {"source": "aws:s3", "name": "ObjectCreated:Put", "bucket": bucket, "key": "in/report.csv",
                       "size": 8}
    time.sleep(0.5)  # a notification for the filtered-out key would have arrived by now
    assert [r["key"] for r in records(sb, helpers, fn)] == ["in/report.csv"]


def test_s3_object_created_notifies_sqs(sb, helpers):
    s3 = sb.client("s3")
    bucket = helpers.unique("uploads")
    s3.create_bucket(Bucket=bucket)
    url, arn = make_queue(sb, helpers.unique("s3-events"))
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]})
    s3.put_object(Bucket=bucket, Key="docs/a b.txt", Body=b"hello")

    def s3_records(msgs):
        return [r for m in msgs for r in json.loads(m["Body"]).get("Records", [])]

    msgs = receive_until(sb, helpers, url, lambda ms: s3_records(ms), message="the S3 event in the queue")
    (record,) = s3_records(msgs)
    assert record["eventSource"] == "aws:s3" and record["eventName"] == "ObjectCreated:Put"
    assert record["s3"]["bucket"]["name"] == bucket
    # URL-encoded: AWS writes a space as "+", LocalStack (services/s3/notifications.py) as "%20"; unquote_plus
    # reads both, which is what handlers do.
    assert unquote_plus(record["s3"]["object"]["key"]) == "docs/a b.txt"
    assert record["s3"]["object"]["size"] == 5


# --- 3: SQS event source mapping ---------------------------------------------------------------------------
SQS_HANDLER = RECORDER + '''
def handler(event, context):
    if "Records" not in event:
        return "warm"
    bodies = [r["body"] for r in event["Records"]]
    rec(size=len(bodies), bodies=bodies, receives=[int(r["attributes"]["ApproximateReceiveCount"]) for r in event["Records"]])
    failed = [r["messageId"] for r in event["Records"] if r["body"].startswith("bad")]
    if os.environ.get("MODE") == "raise" and failed:
        raise RuntimeError("cannot process " + ",".join(failed))
    return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}
'''


def warm_sqs_function(sb, helpers, **kwargs) -> str:
    """An SQS handler already warm: with VisibilityTimeout=1, a cold start must not make a message reappear."""
    fn = helpers.create_function(sb, SQS_HANDLER, **kwargs)
    assert helpers.invoke(sb, fn)[0] == "warm"
    return fn


def wait_esm_enabled(sb, helpers, uuid: str) -> None:
    lam = sb.client("lambda")
    helpers.wait_for(lambda: lam.get_event_source_mapping(UUID=uuid)["State"] == "Enabled",
                     message="the event source mapping to be enabled")


def test_sqs_event_source_mapping_delivers_in_batches(sb, helpers):
    sqs, lam = sb.client("sqs"), sb.client("lambda")
    url, arn = make_queue(sb, helpers.unique("jobs"))
    bodies = [f"job-{i}" for i in range(12)]
    for chunk in (bodies[:10], bodies[10:]):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": b} for i, b in enumerate(chunk)])
    fn = helpers.create_function(sb, SQS_HANDLER)
    esm = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn, BatchSize=5,
                                          MaximumBatchingWindowInSeconds=1)
    wait_esm_enabled(sb, helpers, esm["UUID"])

    recs = wait_records(sb, helpers, fn, lambda r: sum(x["size"] for x in r) >= 12, message="all 12 messages")
    sizes = [r["size"] for r in recs]
    assert sorted(b for r in recs for b in r["bodies"]) == sorted(bodies), "every message exactly once"
    assert max(sizes) > 1 and max(sizes) <= 5, f"batches of up to BatchSize=5, got {sizes}"
    # Processed messages are deleted from the queue.
    helpers.wait_for(lambda: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
                     ["ApproximateNumberOfMessages"] == "0", message="the queue to be empty")


def test_sqs_failing_handler_redrives_to_dlq_after_max_receives(sb, helpers):
    sqs, lam = sb.client("sqs"), sb.client("lambda")
    dlq_url, dlq_arn = make_queue(sb, helpers.unique("jobs-dlq"))
    url, arn = make_queue(sb, helpers.unique("jobs"), VisibilityTimeout=1,
                          RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}))
    fn = warm_sqs_function(sb, helpers, Environment={"Variables": {"MODE": "raise"}})
    esm = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn, BatchSize=1)
    wait_esm_enabled(sb, helpers, esm["UUID"])
    sqs.send_message(QueueUrl=url, MessageBody="bad-poison")

    msgs = receive_until(sb, helpers, dlq_url, lambda ms: ms, timeout=30, message="the message in the DLQ")
    (dead,) = msgs
    assert dead["Body"] == "bad-poison"
    assert dead["Attributes"]["DeadLetterQueueSourceArn"] == arn
    # The count moves with the message: 2 receives by the poller, then ours from the DLQ.
    assert dead["Attributes"]["ApproximateReceiveCount"] == "3"
    seen = [r["receives"][0] for r in records(sb, helpers, fn)]
    assert seen == [1, 2], f"the handler got the message once per receive, maxReceiveCount=2 times: {seen}"
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]["ApproximateNumberOfMessages"] == "0"


def test_sqs_report_batch_item_failures_retries_only_the_failed_item(sb, helpers):
    sqs, lam = sb.client("sqs"), sb.client("lambda")
    dlq_url, dlq_arn = make_queue(sb, helpers.unique("jobs-dlq"))
    url, arn = make_queue(sb, helpers.unique("jobs"), VisibilityTimeout=1,
                          RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}))
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": b, "MessageBody": b} for b in ("ok-1", "bad-2", "ok-3")])
    fn = warm_sqs_function(sb, helpers)
    esm = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn, BatchSize=10,
                                          MaximumBatchingWindowInSeconds=1,
                                          FunctionResponseTypes=["ReportBatchItemFailures"])
    wait_esm_enabled(sb, helpers, esm["UUID"])

    (dead,) = receive_until(sb, helpers, dlq_url, lambda ms: ms, timeout=30, message="the failed item in the DLQ")
    assert dead["Body"] == "bad-2"
    seen = [b for r in records(sb, helpers, fn) for b in r["bodies"]]
    assert seen.count("ok-1") == 1 and seen.count("ok-3") == 1, f"successful items are not retried: {seen}"
    assert seen.count("bad-2") == 3, f"the failed item is received maxReceiveCount=3 times: {seen}"
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]["ApproximateNumberOfMessages"] == "0"
    # each of the mapping's invokes whose answer listed the item failed is one of the errors the recorder shows (a
    # success to Lambda), and says the mapping reads the list
    reported = [s for s in sb.events(limit=10_000, errors=True, service="lambda")["events"]
                if s.get("hop") == "esm" and s["resource_name"] == fn]
    assert [s["attrs"]["batch_item_failures"] for s in reported] == [1, 1, 1] and not any(s["error"] for s in reported)
    assert all(s["attrs"]["report_batch_item_failures"] is True for s in reported)
    assert sb.trace(reported[0]["trace_id"])["errors"] >= 1


def test_batch_item_failures_without_report_batch_item_failures_are_shown_as_ignored(sb, helpers):
    """The classic SQS bug: the function lists failed records but the mapping lacks ReportBatchItemFailures, so Lambda
    deletes the whole batch. The recorder says so, not "failed" (which would mean retried)."""
    sqs, lam = sb.client("sqs"), sb.client("lambda")
    url, arn = make_queue(sb, helpers.unique("lossy"), VisibilityTimeout=1)
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": b, "MessageBody": b} for b in ("ok-1", "bad-2")])
    fn = warm_sqs_function(sb, helpers)
    esm = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn, BatchSize=10,
                                          MaximumBatchingWindowInSeconds=1)
    wait_esm_enabled(sb, helpers, esm["UUID"])

    def ignored():
        return [s for s in sb.events(limit=10_000, errors=True, service="lambda")["events"]
                if s.get("hop") == "esm" and s["resource_name"] == fn]

    (span,) = helpers.wait_for(ignored, message="the mapping's invoke of the batch")
    assert span["attrs"]["batch_item_failures"] == 1 and span["attrs"]["report_batch_item_failures"] is False
    time.sleep(3)  # past the visibility timeout: nothing comes back, the failed record was deleted too
    assert [b for r in records(sb, helpers, fn) for b in r["bodies"]].count("bad-2") == 1
    assert ignored() == [span]


# --- 4: async invoke failures ----------------------------------------------------------------------------
FAILING = RECORDER + '''
def handler(event, context):
    rec(request_id=context.aws_request_id, marker=event.get("marker"))
    raise ValueError("always fails: " + event.get("marker", ""))
'''


def test_async_failure_goes_to_on_failure_destination_after_retries(sb, helpers):
    lam = sb.client("lambda")
    dest_url, dest_arn = make_queue(sb, helpers.unique("on-failure"))
    fn = helpers.create_function(sb, FAILING)
    lam.put_function_event_invoke_config(FunctionName=fn, MaximumRetryAttempts=2,
                                         DestinationConfig={"OnFailure": {"Destination": dest_arn}})
    resp = lam.invoke(FunctionName=fn, InvocationType="Event", Payload=json.dumps({"marker": "m-1"}))
    assert resp["StatusCode"] == 202

    (msg,) = receive_until(sb, helpers, dest_url, lambda ms: ms, timeout=30, message="the failure record")
    record = json.loads(msg["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["functionArn"].endswith(f":function:{fn}:$LATEST")
    assert record["requestPayload"] == {"marker": "m-1"}
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorType"] == "ValueError"
    assert record["responsePayload"]["errorMessage"] == "always fails: m-1"
    runs = records(sb, helpers, fn)
    assert len(runs) == 3, f"1 invoke + MaximumRetryAttempts=2 retries, got {runs}"
    assert {r["request_id"] for r in runs} == {record["requestContext"]["requestId"]}, "retries keep the request id"


def test_async_timeout_and_crash_are_retried_and_logged(sb, helpers):
    """Failures the runtime cannot report itself (timeout, exit) still retry, reach OnFailure, and are logged
    START … error … END/REPORT, as in CloudWatch on AWS."""
    lam = sb.client("lambda")
    dest_url, dest_arn = make_queue(sb, helpers.unique("on-failure"))
    fn = helpers.create_function(sb, RECORDER + '''
print("init output")
def handler(event, context):
    rec(action=event["action"])
    if event["action"] == "sleep":
        time.sleep(5)
    os._exit(7)
''', timeout=1)
    lam.put_function_event_invoke_config(FunctionName=fn, MaximumRetryAttempts=1,
                                         DestinationConfig={"OnFailure": {"Destination": dest_arn}})
    ids = {}
    for action in ("sleep", "exit"):
        resp = lam.invoke(FunctionName=fn, InvocationType="Event", Payload=json.dumps({"action": action}))
        ids[action] = resp["ResponseMetadata"]["RequestId"]

    msgs = receive_until(sb, helpers, dest_url, lambda ms: len(ms) == 2, timeout=30, message="two failure records")
    by_action = {json.loads(m["Body"])["requestPayload"]["action"]: json.loads(m["Body"]) for m in msgs}
    for action, error_type, text in (("sleep", "Sandbox.Timedout", "Task timed out after 1.00 seconds"),
                                     ("exit", "Runtime.ExitError", "Runtime exited with error: exit status 7")):
        record = by_action[action]
        assert record["requestContext"]["condition"] == "RetriesExhausted"
        assert record["requestContext"]["approximateInvokeCount"] == 2
        assert record["responsePayload"]["errorType"] == error_type
        assert text in record["responsePayload"]["errorMessage"]
        request_id = record["requestContext"]["requestId"]
        assert request_id == ids[action], "the request id the async invoke returned"
        log = helpers.wait_for(lambda: helpers.log_text(sb, fn).count(f"REPORT RequestId: {request_id}") == 2
                               and helpers.log_text(sb, fn), timeout=60,
                               message=f"both {action} attempts in the logs")
        assert log.count(f"START RequestId: {request_id} Version: $LATEST") == 2
        assert log.count(f"END RequestId: {request_id}") == 2
        assert log.count(text) >= 2, log
    assert [r["action"] for r in records(sb, helpers, fn)].count("sleep") == 2


def test_async_failure_goes_to_dead_letter_queue(sb, helpers):
    lam = sb.client("lambda")
    dlq_url, dlq_arn = make_queue(sb, helpers.unique("fn-dlq"))
    fn = helpers.create_function(sb, FAILING, DeadLetterConfig={"TargetArn": dlq_arn})
    lam.put_function_event_invoke_config(FunctionName=fn, MaximumRetryAttempts=1)
    lam.invoke(FunctionName=fn, InvocationType="Event", Payload=json.dumps({"marker": "dlq-1"}))

    (msg,) = receive_until(sb, helpers, dlq_url, lambda ms: ms, timeout=30, message="the event in the DLQ")
    assert json.loads(msg["Body"]) == {"marker": "dlq-1"}, "the DLQ gets the original event"
    attrs = {k: v["StringValue"] for k, v in msg["MessageAttributes"].items()}
    runs = records(sb, helpers, fn)
    assert len(runs) == 2, f"1 invoke + MaximumRetryAttempts=1 retry, got {runs}"
    # AWS sets RequestID to the failed invocation's id; LocalStack (utils/aws/dead_letter_queue.py) a new uuid4.
    assert re.fullmatch(r"[0-9a-f-]{36}", attrs["RequestID"])
    assert attrs["ErrorCode"] == "200"
    assert "always fails: dlq-1" in attrs["ErrorMessage"]


# --- 5: API Gateway -> Lambda -> DynamoDB ----------------------------------------------------------------
API_HANDLER = '''
import json, os, boto3
table = boto3.resource("dynamodb").Table(os.environ["TABLE"])
def reply(status, body):
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}
def handler(event, context):
    method, params = event["httpMethod"], event.get("pathParameters") or {}
    if method == "POST" and event["resource"] == "/items":
        item = json.loads(event["body"])
        table.put_item(Item={"id": item["id"], "payload": json.dumps(item["payload"])})
        return reply(201, {"id": item["id"], "stage": event["requestContext"]["stage"]})
    if method == "GET" and event["resource"] == "/items/{id}":
        found = table.get_item(Key={"id": params["id"]}).get("Item")
        if not found:
            return reply(404, {"message": "not found", "id": params["id"]})
        return reply(200, {"id": found["id"], "payload": json.loads(found["payload"])})
    return reply(400, {"message": "unsupported", "method": method, "resource": event["resource"]})
'''


def test_api_gateway_lambda_dynamodb(sb, helpers):
    ddb, lam, apigw = sb.client("dynamodb"), sb.client("lambda"), sb.client("apigateway")
    table = helpers.unique("items")
    ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    fn = helpers.create_function(sb, API_HANDLER, timeout=10, Environment={"Variables": {"TABLE": table}})
    fn_arn = lam.get_function(FunctionName=fn)["Configuration"]["FunctionArn"]

    api_id = apigw.create_rest_api(name=helpers.unique("items-api"))["id"]
    root = next(r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    items = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="items")["id"]
    item = apigw.create_resource(restApiId=api_id, parentId=items, pathPart="{id}")["id"]
    uri = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{fn_arn}/invocations"
    for resource, method in ((items, "POST"), (item, "GET")):
        apigw.put_method(restApiId=api_id, resourceId=resource, httpMethod=method, authorizationType="NONE")
        apigw.put_integration(restApiId=api_id, resourceId=resource, httpMethod=method, type="AWS_PROXY",
                              integrationHttpMethod="POST", uri=uri)
    apigw.create_deployment(restApiId=api_id, stageName="dev")
    lam.add_permission(FunctionName=fn, StatementId="apigw", Action="lambda:InvokeFunction",
                       Principal="apigateway.amazonaws.com", SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/*/*")

    base = f"{sb.endpoint}/_aws/execute-api/{api_id}/dev"
    created = sb.http.post(f"{base}/items", json={"id": "it-1", "payload": {"name": "widget", "qty": 3}}, timeout=30)
    assert created.status_code == 201, created.text
    assert created.json() == {"id": "it-1", "stage": "dev"}
    stored = ddb.get_item(TableName=table, Key={"id": {"S": "it-1"}})["Item"]
    assert json.loads(stored["payload"]["S"]) == {"name": "widget", "qty": 3}

    got = sb.http.get(f"{base}/items/it-1", timeout=30)
    assert got.status_code == 200, got.text
    assert got.headers["Content-Type"] == "application/json"
    assert got.json() == {"id": "it-1", "payload": {"name": "widget", "qty": 3}}
    missing = sb.http.get(f"{base}/items/nope", timeout=30)
    assert missing.status_code == 404 and missing.json()["id"] == "nope"
    # #12, 9: the response's X-Amzn-Trace-Id is the recorded trace, with the API span at its root
    trace_id = got.headers["X-Amzn-Trace-Id"].removeprefix("Root=")
    spans = sb.trace(trace_id)["spans"]
    assert spans[0]["service"] == "apigateway" and spans[0]["attrs"]["api_type"] == "rest"
    assert any(s.get("hop") == "lambda-exec" for s in spans)


# --- 6: layers -------------------------------------------------------------------------------------------
def test_layers_are_importable(sb, helpers):
    lam = sb.client("lambda")
    flat = lam.publish_layer_version(LayerName=helpers.unique("mylib"), CompatibleRuntimes=["python3.13"],
                                     Content={"ZipFile": helpers.zip_code({"python/mylib.py": "VALUE = 'from-mylib'\n"})})
    site = lam.publish_layer_version(
        LayerName=helpers.unique("sitelib"), CompatibleRuntimes=["python3.13"],
        Content={"ZipFile": helpers.zip_code({"python/lib/python3.13/site-packages/sitelib/__init__.py":
                                              "def value():\n    return 'from-site-packages'\n"})})
    fn = helpers.create_function(sb, '''
import mylib, sitelib
def handler(event, context):
    return {"mylib": mylib.VALUE, "sitelib": sitelib.value(), "where": mylib.__file__}
''', Layers=[flat["LayerVersionArn"], site["LayerVersionArn"]])
    body, resp = helpers.invoke(sb, fn)
    assert "FunctionError" not in resp, body
    assert body["mylib"] == "from-mylib" and body["sitelib"] == "from-site-packages"
    assert body["where"].endswith("python/mylib.py")


def test_layers_are_listed_after_one_lost_its_last_version(sb, helpers):
    """lambda_list_layers_emptied: once a layer's last version was deleted, every ListLayers failed."""
    lam = sb.client("lambda")
    content = {"ZipFile": helpers.zip_code({"python/lib.py": "X = 1\n"})}
    gone, kept = helpers.unique("gone"), helpers.unique("kept")
    lam.publish_layer_version(LayerName=gone, Content=content)
    for _ in range(2):
        lam.publish_layer_version(LayerName=kept, Content=content)
    lam.delete_layer_version(LayerName=gone, VersionNumber=1)
    listed = {layer["LayerName"]: layer["LatestMatchingVersion"]["Version"] for layer in lam.list_layers()["Layers"]}
    assert listed.get(kept) == 2 and gone not in listed
    assert lam.publish_layer_version(LayerName=gone, Content=content)["Version"] == 2  # never reused, as on AWS


def test_later_layer_shadows_earlier_one_and_site_packages_follow_the_runtime(sb, helpers):
    """AWS extracts layers in order into one /opt: a later layer's file replaces an earlier layer's; the
    site-packages directory searched is the one of the function's runtime (python3.12 here), before /opt/python."""
    lam = sb.client("lambda")

    def layer(files):
        return lam.publish_layer_version(LayerName=helpers.unique("layer"), Content={"ZipFile": helpers.zip_code(files)},
                                         CompatibleRuntimes=["python3.12"])["LayerVersionArn"]

    first = layer({"python/shared.py": "WHO = 'first'\n", "python/lib/python3.12/site-packages/pkg312.py": "OK = 1\n"})
    second = layer({"python/shared.py": "WHO = 'second'\n", "python/both.py": "WHERE = 'python'\n",
                    "python/lib/python3.12/site-packages/both.py": "WHERE = 'site-packages'\n"})
    fn = helpers.create_function(sb, '''
import shared, both, pkg312
def handler(event, context):
    return {"shared": shared.WHO, "both": both.WHERE, "pkg312": pkg312.OK}
''', runtime="python3.12", Layers=[first, second])
    body, resp = helpers.invoke(sb, fn)
    assert "FunctionError" not in resp, body
    assert body == {"shared": "second", "both": "site-packages", "pkg312": 1}


def test_function_without_layer_cannot_import_it(sb, helpers):
    fn = helpers.create_function(sb, "import mylib\ndef handler(e, c): return mylib.VALUE\n")
    body, resp = helpers.invoke(sb, fn)
    assert resp["FunctionError"] == "Unhandled" and body["errorType"] == "Runtime.ImportModuleError"


# --- 7: concurrency --------------------------------------------------------------------------------------
SLEEPER = '''
import time, uuid
ENVIRONMENT = uuid.uuid4().hex  # one per execution environment (each runs in a PID namespace: getpid() is 1)
def handler(event, context):
    time.sleep(event.get("seconds", 1))
    return {"pid": ENVIRONMENT}
'''


def concurrent_invokes(sb, fn: str, n: int, event: dict) -> list:
    """Invokes `fn` n times at once; each result is (body, response) or the exception raised."""
    lam = sb.client("lambda")
    results: list = [None] * n
    barrier = threading.Barrier(n)

    def one(i):
        barrier.wait()
        try:
            resp = lam.invoke(FunctionName=fn, Payload=json.dumps(event))
            results[i] = (json.loads(resp["Payload"].read()), resp)
        except Exception as e:  # noqa: BLE001 - collected for the assertions
            results[i] = e

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_concurrent_invokes_get_separate_environments(sb, helpers):
    fn = helpers.create_function(sb, SLEEPER)
    started = time.perf_counter()
    results = concurrent_invokes(sb, fn, 5, {"seconds": 1})
    elapsed = time.perf_counter() - started
    errors = [r for r in results if isinstance(r, Exception) or "FunctionError" in r[1]]
    assert not errors, errors
    pids = {body["pid"] for body, _ in results}
    assert len(pids) == 5, f"5 concurrent invokes ran in 5 environments, got pids {pids}"
    assert elapsed < 3.5, f"they ran in parallel (5 x 1 s took {elapsed:.1f} s)"


def test_reserved_concurrency_throttles(sb, helpers):
    lam = sb.client("lambda")
    fn = helpers.create_function(sb, SLEEPER)
    lam.put_function_concurrency(FunctionName=fn, ReservedConcurrentExecutions=1)
    results = concurrent_invokes(sb, fn, 3, {"seconds": 1.5})
    throttled = [r for r in results if isinstance(r, Exception)]
    ok = [r for r in results if not isinstance(r, Exception)]
    assert throttled and all(e.response["Error"]["Code"] == "TooManyRequestsException" for e in throttled), results
    assert ok and all("FunctionError" not in resp for _, resp in ok), results
    lam.delete_function_concurrency(FunctionName=fn)


def test_cold_then_warm_start_in_report_line(sb, helpers):
    fn = helpers.create_function(sb, SLEEPER)

    def report(resp):
        log = base64.b64decode(resp["LogResult"]).decode()
        return next(line for line in log.splitlines() if line.startswith("REPORT RequestId:"))

    cold_body, cold = helpers.invoke(sb, fn, {"seconds": 0}, LogType="Tail")
    warm_body, warm = helpers.invoke(sb, fn, {"seconds": 0}, LogType="Tail")
    assert "Init Duration:" in report(cold)
    assert "Init Duration:" not in report(warm)
    assert cold_body["pid"] == warm_body["pid"]


# --- 8: code updates -------------------------------------------------------------------------------------
def test_update_function_code_takes_effect(sb, helpers):
    lam = sb.client("lambda")
    code = "import uuid\nENV = uuid.uuid4().hex\ndef handler(e, c): return {'version': %r, 'pid': ENV}\n"
    fn = helpers.create_function(sb, code % "v1")
    v1, _ = helpers.invoke(sb, fn)
    assert v1["version"] == "v1"
    v1_processes = set(sb.info()["lambda_processes"])
    lam.update_function_code(FunctionName=fn, ZipFile=helpers.zip_code({"app.py": code % "v2"}))
    lam.get_waiter("function_updated_v2").wait(FunctionName=fn, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
    v2, resp = helpers.invoke(sb, fn)
    assert "FunctionError" not in resp, v2
    assert v2["version"] == "v2"
    assert v2["pid"] != v1["pid"], "new code runs in a new environment"
    # The old environment was stopped, not leaked.
    helpers.wait_for(lambda: not v1_processes & set((sb.info() or {}).get("lambda_processes", v1_processes)),
                     timeout=10, message="the v1 environment to stop")
