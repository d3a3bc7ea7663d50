"""The recorder: spans of requests and hops, caller attribution, noise, one connected trace from an S3 upload
to a dead-letter queue, the events cursor and long poll, the service map, faults, and history that survives
restarts of the client and of the sandbox."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sandbox import Sandbox

BIN = Path(sys.executable).parent

SENDER = """
import json, os, boto3
sqs = boto3.client("sqs")
def handler(event, context):
    sqs.send_message(QueueUrl=os.environ["QUEUE"], MessageBody=json.dumps(event))
    return {"sent": True}
"""

INGEST = """
import json, os, boto3
sqs = boto3.client("sqs")
def handler(event, context):
    key = event["Records"][0]["s3"]["object"]["key"]
    sqs.send_message(QueueUrl=os.environ["JOBS"], MessageBody=json.dumps({"key": key}))
"""

POISONED_WORKER = "def handler(event, context):\n    raise RuntimeError('cannot transcode ' + event['Records'][0]['body'])\n"


def events_after(sb: Sandbox, cursor: int, **filters) -> list[dict]:
    return sb.events(since=cursor, limit=10_000, **filters)["events"]


def wait_for_span(sb: Sandbox, cursor: int, helpers, predicate, message: str, timeout: float = 30, **filters) -> dict:
    def find():
        return next((s for s in events_after(sb, cursor, **filters) if predicate(s)), None)

    return helpers.wait_for(find, timeout=timeout, message=message)


def queue(sb: Sandbox, helpers, **attributes) -> tuple[str, str]:
    sqs = sb.client("sqs")
    url = sqs.create_queue(QueueName=helpers.unique("q"), Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def test_simple_request_is_one_complete_span(sb, helpers):
    url, arn = queue(sb, helpers)
    cursor = sb.observe.cursor()
    sqs = sb.client("sqs")
    body = json.dumps({"order": 17})
    sent = sqs.send_message(QueueUrl=url, MessageBody=body,
                            MessageAttributes={"correlation_id": {"DataType": "String", "StringValue": "order-17"}})
    span = wait_for_span(sb, cursor, helpers, lambda s: s["operation"] == "SendMessage", "the SendMessage span")
    assert span["kind"] == "request" and span["service"] == "sqs" and span["hop"] is None
    assert span["resource"] == arn and span["resource_name"] == url.rsplit("/", 1)[-1]
    assert span["status"] == 200 and span["error"] is None
    assert span["account"] == "000000000000" and span["region"] == "us-east-1"
    assert span["caller"] == {"kind": "external", "name": None, "source_arn": None}
    assert span["trace_id"].startswith("1-") and len(span["span_id"]) == 16 and span["parent_id"] is None
    assert span["correlation_id"] == "order-17"
    assert json.loads(span["request"])["MessageBody"] == body
    assert sent["MessageId"] in span["response"] and span["attrs"]["message_id"] == sent["MessageId"]
    assert span["duration_ms"] > 0 and abs(span["ts"] - time.time()) < 60
    assert span["noise"] is False and span["units"] == {"requests": 1, "fifo": False}
    assert span["seq"] > cursor

    # an error is a span too, with the AWS error code and message
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName="no-such-queue-here")
    failed = wait_for_span(sb, cursor, helpers, lambda s: s["operation"] == "GetQueueUrl", "the failed GetQueueUrl")
    assert failed["status"] == 400
    assert failed["error"]["code"] in ("QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue")
    assert failed["error"]["message"]


def test_dynamodb_previews_show_items_whole_with_their_underscore_attributes(sb, helpers):
    """Items from small JSON bodies are previewed in one orjson call (preview.py), with every attribute: the walk
    used to drop names starting with "_" (Amplify's `_version`); DynamoDB's answer is read the same way."""
    ddb = sb.client("dynamodb")
    table = helpers.unique("posts")
    ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    cursor = sb.observe.cursor()
    item = {"id": {"S": "p1"}, "_version": {"N": "3"}, "_lastChangedAt": {"N": "1733529600000"}}
    ddb.put_item(TableName=table, Item=item)
    ddb.get_item(TableName=table, Key={"id": {"S": "p1"}})
    put = wait_for_span(sb, cursor, helpers, lambda s: s["operation"] == "PutItem", "the PutItem span")
    got = wait_for_span(sb, cursor, helpers, lambda s: s["operation"] == "GetItem", "the GetItem span")
    assert json.loads(put["request"]) == {"TableName": table, "Item": item}
    assert json.loads(got["response"])["Item"] == item


def test_a_span_shows_the_answer_the_client_got_even_when_the_service_changes_its_state_right_after(sb, helpers):
    """SNS answers GetTopicAttributes with the topic's own attribute dict, which SetTopicAttributes changes in place:
    a span built after the answer (store.Deferred) would show the next value. Such services are built at once
    (gateway.DEFERRED_SERVICES); the recorder reports what it built later (/_sandbox/recorder)."""
    sns, sqs = sb.client("sns"), sb.client("sqs")
    arn = sns.create_topic(Name=helpers.unique("topic"))["TopicArn"]
    url, _ = queue(sb, helpers)
    built_before = sb.observe.recorder()["spans_built_later"]
    cursor = sb.observe.cursor()
    got = []
    for i in range(8):
        sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue=f"v{i}")
        got.append(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["DisplayName"])
        sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue=f"next{i}")
    for i in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
    helpers.wait_for(lambda: len([s for s in events_after(sb, cursor, service="sqs")
                                  if s["operation"] == "SendMessage"]) == 5, message="the five SendMessage spans")
    shown = [json.loads(s["response"])["Attributes"]["DisplayName"] for s in events_after(sb, cursor, service="sns")
             if s["operation"] == "GetTopicAttributes"]
    assert got == [f"v{i}" for i in range(8)] and shown == got
    # the SendMessage spans (and nothing of SNS) were built after their answers
    time.sleep(0.2)
    assert sb.observe.recorder()["spans_built_later"] - built_before >= 5


def test_sdk_call_of_a_function_is_attributed_to_it_and_linked_to_its_execution(sb, helpers):
    url, arn = queue(sb, helpers)
    fn = helpers.create_function(sb, SENDER, Environment={"Variables": {"QUEUE": url}}, MemorySize=256)
    cursor = sb.observe.cursor()
    result, _ = helpers.invoke(sb, fn, {"correlation_id": "c-42", "n": 1})
    assert result == {"sent": True}
    send = wait_for_span(sb, cursor, helpers, lambda s: s["operation"] == "SendMessage", "the function's SendMessage")
    execution = wait_for_span(sb, cursor, helpers, lambda s: s["hop"] == "lambda-exec", "the execution span")
    invoke = wait_for_span(sb, cursor, helpers, lambda s: s["operation"] == "Invoke", "the Invoke span")

    assert send["caller"] == {"kind": "lambda", "name": fn,
                              "source_arn": f"arn:aws:lambda:us-east-1:000000000000:function:{fn}"}
    assert send["resource"] == arn
    # Invoke -> execution -> the function's SDK call: one trace, parent links intact
    assert invoke["trace_id"] == execution["trace_id"] == send["trace_id"]
    assert execution["parent_id"] == invoke["span_id"] and send["parent_id"] == execution["span_id"]
    assert invoke["caller"]["kind"] == "external" and invoke["error"] is None
    # the execution: memory, billed duration as in the REPORT line, cold start, payloads, correlation id
    attrs = execution["attrs"]
    assert execution["kind"] == "hop" and execution["service"] == "lambda" and execution["operation"] == "Execute"
    assert attrs["memory_mb"] == 256 and attrs["billed_ms"] >= 1 and attrs["cold"] is True
    report = helpers.wait_for(lambda: "Billed Duration" in helpers.log_text(sb, fn) and helpers.log_text(sb, fn),
                              message="the REPORT line")
    assert f"Billed Duration: {attrs['billed_ms']} ms" in report
    assert '"correlation_id": "c-42"' in execution["request"] and execution["response"] == '{"sent": true}'
    assert execution["correlation_id"] == send["correlation_id"] == invoke["correlation_id"] == "c-42"

    helpers.invoke(sb, fn, {"n": 2})
    warm = wait_for_span(sb, execution["seq"], helpers, lambda s: s["hop"] == "lambda-exec", "the second execution")
    assert warm["attrs"]["cold"] is False


def test_noise_is_hidden_by_default_and_shown_with_all(sb, helpers):
    fn = helpers.create_function(sb, "def handler(event, context):\n    print('hello')\n    return 1\n")
    cursor = sb.observe.cursor()
    helpers.invoke(sb, fn)
    helpers.wait_for(lambda: "hello" in helpers.log_text(sb, fn), message="the function's log")
    everything = helpers.wait_for(
        lambda: (found := events_after(sb, cursor, all=True)) and any(s["operation"] == "PutLogEvents" for s in found)
        and found, message="the log shipping span")
    noisy = {(s["service"], s["operation"]) for s in everything if s["noise"]}
    assert ("logs", "PutLogEvents") in noisy
    assert all(s["caller"]["kind"] == "service" for s in everything if s["noise"] and s["service"] == "logs")
    default = events_after(sb, cursor)
    assert default and not any(s["noise"] for s in default)
    assert {s["operation"] for s in default} >= {"Invoke", "Execute"}
    # our own FilterLogEvents calls are not noise
    assert any(s["operation"] == "FilterLogEvents" and s["caller"]["kind"] == "external" for s in default)


def test_what_a_deploy_does_to_its_resources_is_cloudformations_and_noise(sb, helpers, tmp_path):
    """A deploy's own calls (CreateQueue, CreateFunction, GetFunction...) were anonymous "service:localstack"
    requests, each its own trace: ~30 edges in the service map and lines in `events` before the app's first."""
    (tmp_path / "template.yaml").write_text(
        "Resources:\n  Jobs:\n    Type: AWS::SQS::Queue\n"
        "  Topic:\n    Type: AWS::SNS::Topic\n"
        "Outputs:\n  Queue: {Value: !Ref Jobs}\n")
    cursor, started = sb.observe.cursor(), time.time()
    queue = sb.deploy(str(tmp_path / "template.yaml"), stack_name="deploy-noise").outputs["Queue"]
    everything = events_after(sb, cursor, all=True)
    [create] = [s for s in everything if s["operation"] == "CreateQueue"]
    assert create["hop"] == "cfn-deploy" and create["noise"]
    assert create["caller"] == {"kind": "service", "name": "cloudformation",
                                "source_arn": "arn:aws:cloudformation:us-east-1:000000000000:stack/deploy-noise"}
    assert any(s["operation"] == "CreateTopic" and s["hop"] == "cfn-deploy" for s in everything)
    assert not [s for s in events_after(sb, cursor) if s["caller"]["kind"] == "service"
                and s["operation"] in ("CreateQueue", "CreateTopic")]
    # the deployer's own following of the stack is the sandbox's watching, not traffic (~250 polls a deploy)
    assert not [s for s in events_after(sb, cursor) if s["operation"] in ("DescribeStacks", "DescribeStackEvents")]
    assert [s["operation"] for s in events_after(sb, cursor) if s["service"] == "cloudformation"] == ["CreateStack"]
    sb.client("sqs").send_message(QueueUrl=queue, MessageBody="mine")  # the app's own calls stay visible
    assert [s["operation"] for s in events_after(sb, cursor) if s["service"] == "sqs"] == ["SendMessage"]
    assert not [e for e in sb.graph(since_ts=started)["edges"]  # this deploy's (the session's other tests have theirs)
                if e["source"] in ("service:localstack", "service:cloudformation") or "cloudformation" in e["source"]]


def test_a_deploy_call_that_fails_stays_visible_among_the_errors(sb, tmp_path):
    (tmp_path / "template.yaml").write_text(
        "Resources:\n  Jobs:\n    Type: AWS::SQS::Queue\n    Properties: {QueueName: 'bad name!'}\n")
    cursor = sb.observe.cursor()
    with pytest.raises(Exception, match="deploying stack deploy-fails failed"):
        sb.deploy(str(tmp_path / "template.yaml"), stack_name="deploy-fails")
    [failed] = [s for s in events_after(sb, cursor, errors=True) if s["operation"] == "CreateQueue"]
    assert failed["hop"] == "cfn-deploy" and not failed["noise"] and failed["status"] == 400


def test_s3_upload_that_ends_in_a_dlq_is_one_connected_trace(sb, helpers):
    """S3 PutObject -> ingest (async, by the S3 notifier) -> SQS SendMessage by the function -> worker invoked by
    the event source mapping, failing every time -> the message moved to the DLQ: one trace, every parent there."""
    sqs, s3, lam = sb.client("sqs"), sb.client("s3"), sb.client("lambda")
    dlq_url, dlq_arn = queue(sb, helpers)
    jobs_url, jobs_arn = queue(sb, helpers, VisibilityTimeout="1",
                               RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}))
    ingest = helpers.create_function(sb, INGEST, Environment={"Variables": {"JOBS": jobs_url}})
    worker = helpers.create_function(sb, POISONED_WORKER, timeout=1)
    lam.create_event_source_mapping(FunctionName=worker, EventSourceArn=jobs_arn, BatchSize=1)
    bucket = helpers.unique("uploads")
    s3.create_bucket(Bucket=bucket)
    lam.add_permission(FunctionName=ingest, StatementId="s3", Action="lambda:InvokeFunction",
                       Principal="s3.amazonaws.com")
    ingest_arn = lam.get_function(FunctionName=ingest)["Configuration"]["FunctionArn"]
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "LambdaFunctionConfigurations": [{"LambdaFunctionArn": ingest_arn, "Events": ["s3:ObjectCreated:*"]}]})

    cursor = sb.observe.cursor()
    s3.put_object(Bucket=bucket, Key="cat.mp4", Body=b"\x00" * 1000, Metadata={"correlation-id": "upload-7"})
    helpers.wait_for(lambda: int(sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=[
        "ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"]), timeout=60,
        message="the poisoned job in the DLQ")
    put = wait_for_span(sb, cursor, helpers, lambda s: s["operation"] == "PutObject", "the upload")
    move = wait_for_span(sb, cursor, helpers, lambda s: s["hop"] == "sqs-dlq", "the DLQ move")

    trace = sb.trace(put["trace_id"])
    spans = trace["spans"]
    by_id = {s["span_id"]: s for s in spans}
    assert trace["roots"] == [put["span_id"]] and trace["orphans"] == []
    assert all(s["parent_id"] in by_id for s in spans if s is not spans[0]), "every span's parent is in the trace"
    assert move["span_id"] in by_id

    def one(pred, what):
        found = [s for s in spans if pred(s)]
        assert found, f"no {what} in the trace: {[(s['service'], s['operation'], s['hop']) for s in spans]}"
        return found

    event_invoke = one(lambda s: s["operation"] == "Invoke" and s["attrs"]["invocation_type"] == "Event", "S3's Invoke")[0]
    assert event_invoke["parent_id"] == put["span_id"] and event_invoke["status"] == 202
    assert event_invoke["caller"]["kind"] == "service" and event_invoke["caller"]["name"] == "s3"
    assert event_invoke["caller"]["source_arn"] == f"arn:aws:s3:::{bucket}"
    attempt = one(lambda s: s["hop"] == "lambda-async", "async attempt")[0]
    assert attempt["parent_id"] == event_invoke["span_id"] and attempt["attrs"]["attempt"] == 1
    assert attempt["caller"]["source_arn"] == f"arn:aws:s3:::{bucket}"
    ingest_exec = one(lambda s: s["hop"] == "lambda-exec" and s["resource_name"] == ingest, "ingest execution")[0]
    assert ingest_exec["parent_id"] == attempt["span_id"] and ingest_exec["error"] is None
    send = one(lambda s: s["operation"] == "SendMessage" and s["caller"]["kind"] == "lambda", "the job message")[0]
    assert send["parent_id"] == ingest_exec["span_id"] and send["caller"]["name"] == ingest
    deliveries = one(lambda s: s["hop"] == "esm", "worker deliveries")
    assert [d["attrs"]["attempt"] for d in deliveries] == [1, 2]
    for delivery in deliveries:
        assert delivery["parent_id"] == send["span_id"] and delivery["resource_name"] == worker
        assert delivery["caller"] == {"kind": "service", "name": "sqs", "source_arn": jobs_arn}
        assert delivery["error"]["code"] == "Unhandled"
        execution = one(lambda s, d=delivery: s["parent_id"] == d["span_id"] and s["hop"] == "lambda-exec",
                        "worker execution")[0]
        assert execution["error"] == {"code": "RuntimeError", "message": 'cannot transcode {"key": "cat.mp4"}'}
    assert move["parent_id"] == send["span_id"] and move["resource"] == dlq_arn
    assert move["attrs"]["source_queue"] == jobs_arn and move["attrs"]["receive_count"] == 2
    assert move["attrs"]["message_id"] == send["attrs"]["message_id"]
    # the correlation id set on the upload marks the whole flow
    assert {s["correlation_id"] for s in spans} == {"upload-7"}
    assert {s["trace_id"] for s in events_after(sb, cursor, correlation="upload-7")} == {put["trace_id"]}


def test_async_retries_step_functions_tasks_and_stream_records_are_linked(sb, helpers):
    lam, ddb, sfn = sb.client("lambda"), sb.client("dynamodb"), sb.client("stepfunctions")
    # async invoke of a failing function: each attempt under the Event invoke, then its DLQ delivery
    dlq_url, dlq_arn = queue(sb, helpers)
    failing = helpers.create_function(sb, "def handler(event, context):\n    raise ValueError('nope')\n",
                                      DeadLetterConfig={"TargetArn": dlq_arn})
    lam.put_function_event_invoke_config(FunctionName=failing, MaximumRetryAttempts=1)
    echo = helpers.create_function(sb, "def handler(event, context):\n    return event\n")
    echo_arn = lam.get_function(FunctionName=echo)["Configuration"]["FunctionArn"]
    machine = sfn.create_state_machine(name=helpers.unique("sm"), roleArn=helpers.ROLE, definition=json.dumps({
        "StartAt": "Echo", "States": {"Echo": {"Type": "Task", "Resource": echo_arn, "End": True}}}))
    table = helpers.unique("t")
    stream_arn = ddb.create_table(
        TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})["TableDescription"]["LatestStreamArn"]
    mapping = lam.create_event_source_mapping(FunctionName=echo, EventSourceArn=stream_arn, StartingPosition="LATEST",
                                              BatchSize=1)["UUID"]
    helpers.wait_for(lambda: lam.get_event_source_mapping(UUID=mapping)["State"] == "Enabled", message="the mapping")
    time.sleep(1)  # LATEST: the poller has to hold an iterator before the write

    cursor = sb.observe.cursor()
    lam.invoke(FunctionName=failing, InvocationType="Event", Payload=json.dumps({"correlation_id": "async-1"}))
    execution_arn = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input='{"x": 1}')["executionArn"]
    ddb.put_item(TableName=table, Item={"pk": {"S": "a"}})

    dlq_send = wait_for_span(sb, cursor, helpers, lambda s: s["service"] == "sqs" and s["resource"] == dlq_arn,
                             "the async DLQ delivery", timeout=60)  # LocalStack sends it with SendMessageBatch
    trace = sb.trace(dlq_send["trace_id"])["spans"]
    event_invoke = trace[0]
    assert event_invoke["operation"] == "Invoke" and event_invoke["attrs"]["invocation_type"] == "Event"
    attempts = [s for s in trace if s["hop"] == "lambda-async"]
    assert [a["attrs"]["attempt"] for a in attempts] == [1, 2]
    assert all(a["parent_id"] == event_invoke["span_id"] and a["error"]["code"] == "Unhandled" for a in attempts)
    failures = [s for s in trace if s["hop"] == "lambda-exec"]
    assert len(failures) == 2 and {f["parent_id"] for f in failures} == {a["span_id"] for a in attempts}
    assert all(f["error"] == {"code": "ValueError", "message": "nope"} for f in failures)
    assert dlq_send["parent_id"] == event_invoke["span_id"] and dlq_send["correlation_id"] == "async-1"

    done = wait_for_span(sb, cursor, helpers, lambda s: s["hop"] == "sfn-execution", "the execution span")
    steps = sb.trace(done["trace_id"])["spans"]
    start, run, task, execute = steps
    assert (start["operation"], run["hop"], task["hop"], execute["hop"]) == ("StartExecution", "sfn-execution",
                                                                             "sfn-task", "lambda-exec")
    assert run["parent_id"] == start["span_id"] and task["parent_id"] == run["span_id"]
    assert execute["parent_id"] == task["span_id"] and execute["resource_name"] == echo
    assert task["attrs"]["state"] == "Echo" and task["caller"]["name"] == "states"
    assert run["attrs"]["execution_arn"] == execution_arn and run["attrs"]["status"] == "SUCCEEDED"
    assert run["attrs"]["state_transitions"] == 1 and run["resource"] == machine["stateMachineArn"]

    put = wait_for_span(sb, cursor, helpers, lambda s: s["operation"] == "PutItem", "the write")
    delivery = wait_for_span(sb, cursor, helpers, lambda s: s["hop"] == "esm" and s["trace_id"] == put["trace_id"],
                             "the stream record's delivery")
    assert delivery["parent_id"] == put["span_id"] and delivery["caller"]["source_arn"] == stream_arn
    assert delivery["attrs"]["attempt"] == 1
    record = wait_for_span(sb, cursor, helpers,
                           lambda s: s["hop"] == "lambda-exec" and s["parent_id"] == delivery["span_id"],
                           "the execution of the delivery")
    assert '"eventName": "INSERT"' in record["request"]


def test_events_cursor_and_long_poll(sb, helpers):
    url, _ = queue(sb, helpers)
    sqs = sb.client("sqs")
    first = sb.events(limit=1)
    cursor = first["cursor"]
    assert cursor == sb.observe.cursor()

    # nothing new: a long poll returns empty when its time is up, with the cursor where it was
    started = time.monotonic()
    empty = sb.events(since=cursor, wait=1, service="sns")
    assert empty["events"] == [] and 0.9 <= time.monotonic() - started < 10
    assert empty["cursor"] >= cursor

    # something new while polling: the poll returns it as soon as it is recorded
    timer = threading.Timer(1.0, lambda: sqs.send_message(QueueUrl=url, MessageBody="late"))
    timer.start()
    started = time.monotonic()
    got = sb.events(since=cursor, wait=20, service="sqs")
    elapsed = time.monotonic() - started
    timer.join()
    assert [s["operation"] for s in got["events"]] == ["SendMessage"] and elapsed < 10
    assert got["cursor"] >= got["events"][0]["seq"] > cursor

    # cursors page through in order, without repeats or gaps
    for i in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
    seen, position = [], got["cursor"]
    for _ in range(10):
        page = sb.events(since=position, limit=2, service="sqs")
        seen += page["events"]
        position = page["cursor"]
        if not page["events"]:
            break
    assert [s["request"].count(f"m{i}") for i, s in enumerate(seen)] == [1] * 5
    assert [s["seq"] for s in seen] == sorted({s["seq"] for s in seen})
    # without a cursor: the newest events
    newest = sb.events(limit=3, service="sqs")["events"]
    assert [s["seq"] for s in newest] == [s["seq"] for s in seen[-3:]]


def test_graph_edges(sb, helpers):
    url, arn = queue(sb, helpers)
    sender = helpers.create_function(sb, SENDER, Environment={"Variables": {"QUEUE": url}})
    consumer = helpers.create_function(sb, "def handler(event, context):\n    return len(event['Records'])\n")
    sb.client("lambda").create_event_source_mapping(FunctionName=consumer, EventSourceArn=arn, BatchSize=1)
    cursor = sb.observe.cursor()
    since_ts = time.time()
    for i in range(3):
        helpers.invoke(sb, sender, {"i": i})
    wait_for_span(sb, cursor, helpers, lambda s: s["hop"] == "lambda-exec" and s["resource_name"] == consumer,
                  "a delivery to the consumer")
    helpers.wait_for(lambda: sum(s["hop"] == "esm" for s in events_after(sb, cursor)) == 3, message="3 deliveries")
    graph = sb.graph(since_ts=since_ts)
    edges = {(e["source_label"], e["target_label"]): e for e in graph["edges"]}
    external = edges[("external", sender)]
    assert external["count"] == 3 and external["errors"] == 0 and external["operations"] == {"lambda:Invoke": 3}
    produced = edges[(sender, url.rsplit("/", 1)[-1])]
    assert produced["count"] == 3 and produced["operations"] == {"sqs:SendMessage": 3}
    delivered = edges[(url.rsplit("/", 1)[-1], consumer)]
    assert delivered["count"] == 3 and delivered["errors"] == 0 and delivered["p50_ms"] > 0
    assert delivered["source"] == arn and delivered["target"].endswith(f":function:{consumer}")
    nodes = {n["label"]: n for n in graph["nodes"]}
    assert nodes[consumer]["executions"] == 3 and nodes[sender]["executions"] == 3
    # the mapping's polls are not edges of the map
    assert (consumer, url.rsplit("/", 1)[-1]) not in edges


def test_injected_faults_are_recorded(sb, helpers):
    url, _ = queue(sb, helpers)
    fn = helpers.create_function(sb, "def handler(event, context):\n    return 1\n")
    sqs = sb.client("sqs")  # sandbox clients do not retry
    cursor = sb.observe.cursor()
    try:
        sb.faults.add({"service": "sqs", "operation": "SendMessage",
                       "error": {"statusCode": 503, "code": "ServiceUnavailable"}})
        with pytest.raises(Exception):
            sqs.send_message(QueueUrl=url, MessageBody="x")
        sb.faults.add_lambda({"function": fn, "fault": "error", "error": {"type": "Chaos.Injected", "message": "boom"}})
        result, resp = helpers.invoke(sb, fn)
        assert resp.get("FunctionError")
    finally:
        sb.faults.clear()
    failed = wait_for_span(sb, cursor, helpers, lambda s: s["operation"] == "SendMessage", "the faulted request")
    assert failed["status"] == 503 and failed["error"]["code"] == "ServiceUnavailable"
    assert failed["injected"]["kind"] == "fault" and failed["injected"]["rule"]["service"] == "sqs"
    execution = wait_for_span(sb, cursor, helpers, lambda s: s["hop"] == "lambda-exec", "the faulted execution")
    assert execution["injected"] and execution["error"]["code"] == "Chaos.Injected"


def test_history_survives_client_and_sandbox_restarts(sandbox, helpers):
    sb = sandbox
    sb.reset()
    url, _ = queue(sb, helpers)
    cursor = sb.observe.cursor()
    sb.client("sqs").send_message(QueueUrl=url, MessageBody="remember me")
    span = wait_for_span(sb, cursor, helpers, lambda s: s["operation"] == "SendMessage", "the span")

    # a new client (another process, a restarted TUI) resumes from its cursor
    fresh = Sandbox(sb.settings)
    assert [s["span_id"] for s in events_after(fresh, cursor, service="sqs")] == [span["span_id"]]

    sb.down()
    try:
        offline = Sandbox(sb.settings)  # nothing running: read from the JSONL file in the state directory
        assert [s["span_id"] for s in events_after(offline, cursor, service="sqs")] == [span["span_id"]]
        assert offline.trace(span["trace_id"])["spans"][0]["span_id"] == span["span_id"]
    finally:
        sb.up(timeout=120)
    back = Sandbox(sb.settings)
    assert [s["span_id"] for s in events_after(back, cursor, service="sqs")] == [span["span_id"]]
    head = back.observe.cursor()
    assert head >= span["seq"]
    sb.client("sqs").list_queues()
    new = wait_for_span(back, head, helpers, lambda s: s["operation"] == "ListQueues", "a span after the restart")
    assert new["seq"] > span["seq"]


def test_cli_events_trace_graph_cost(sb, helpers):
    url, _ = queue(sb, helpers)
    fn = helpers.create_function(sb, SENDER, Environment={"Variables": {"QUEUE": url}})
    cursor = sb.observe.cursor()
    helpers.invoke(sb, fn, {"x": 1})
    send = wait_for_span(sb, cursor, helpers, lambda s: s["operation"] == "SendMessage", "the SendMessage")
    base = [str(BIN / "sandbox"), "--state-dir", str(sb.settings.state_dir)]

    def run(*args):
        proc = subprocess.run([*base, *args], capture_output=True, text=True, timeout=60,
                              env={"PATH": str(BIN), "COLUMNS": "200"})
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    out = run("events", "--service", "sqs", "-n", "5")
    assert "sqs SendMessage" in out and f"λ {fn}" in out and send["trace_id"] in out
    lines = [json.loads(line) for line in run("events", "--trace", send["trace_id"], "--json").splitlines()]
    assert {s["trace_id"] for s in lines} == {send["trace_id"]} and len(lines) >= 3
    # by start time, as help says: the invoke before the execution and the send it caused (they end the other way)
    assert [s["ts"] for s in lines] == sorted(s["ts"] for s in lines)
    operations = [s["operation"] for s in lines]
    assert operations.index("Invoke") < operations.index("SendMessage"), operations
    waterfall = run("trace", send["trace_id"])
    assert "lambda Invoke" in waterfall and "lambda Execute [lambda-exec]" in waterfall and "sqs SendMessage" in waterfall
    assert waterfall.index("lambda Invoke") < waterfall.index("lambda Execute") < waterfall.index("sqs SendMessage")
    assert "→" in run("graph")
    cost = json.loads(run("cost", "--since", f"cursor:{cursor}", "--json"))
    assert {line["item"] for line in cost["lines"]} >= {"requests", "standard_requests"}
    assert "total" in run("cost", "--since", "10m")


def test_observer_user_agent_marks_platform_noise():
    from sandbox.observability.noise import OBSERVER_USER_AGENT, is_noise, is_observer

    ua = f"Boto3/1.42 md/Botocore#1.42 ua/2.1 cfg/retry-mode#standard Botocore/1.42 {OBSERVER_USER_AGENT}"
    assert is_observer(ua) and is_noise("sqs", "ListQueues", False, None, {}, {}, user_agent=ua)
    plain = "Boto3/1.42 md/Botocore#1.42 ua/2.1 Botocore/1.42"
    assert not is_observer(plain) and not is_noise("sqs", "ListQueues", False, None, {}, {}, user_agent=plain)
    assert not is_observer(f"{plain} {OBSERVER_USER_AGENT}-not") and not is_observer(None)
    # a user agent that merely mentions it inside another token is not an observer
    assert not is_noise("lambda", "ListFunctions", False, None, {}, {}, user_agent=f"x/{OBSERVER_USER_AGENT}")


def test_the_alarm_scheduler_checks_are_noise_but_your_alarm_reads_are_not():
    """LocalStack evaluates CloudWatch alarms with internal DescribeAlarms/GetMetricData calls, every period."""
    from sandbox.observability.noise import is_noise

    assert is_noise("cloudwatch", "DescribeAlarms", True, None, {}, {})
    assert is_noise("cloudwatch", "GetMetricData", True, None, {}, {})
    assert not is_noise("cloudwatch", "DescribeAlarms", False, None, {}, {})


def test_the_sandbox_own_reads_are_noise_and_free_while_your_calls_stay_visible(sb, helpers):
    """sb.dlq / sb.logs / sb.stacks() / sb.functions() read through observer clients: recorded as noise, hidden
    by default and not billed; the same call through sb.client() is yours; a redrive is yours too."""
    sqs = sb.client("sqs")
    dlq_url, dlq_arn = queue(sb, helpers)
    queue(sb, helpers, RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "1"}))
    sqs.send_message(QueueUrl=dlq_url, MessageBody="parked")
    fn = helpers.create_function(sb, "def handler(event, context):\n    print('observed')\n")
    helpers.invoke(sb, fn)
    helpers.wait_for(lambda: "observed" in helpers.log_text(sb, fn), message="the function's log")
    cursor = sb.observe.cursor()

    dlq_name = dlq_url.rsplit("/", 1)[-1]
    assert [d.name for d in sb.dlq.list()] == [dlq_name]
    assert [m.body for m in sb.dlq.peek(dlq_name)] == ["parked"]
    lines, _ = sb.logs.poll()
    assert any("observed" in line.message for line in lines)
    assert sb.stacks() == [] and sb.functions() == [fn]

    expected = {("sqs", "ListQueues"), ("sqs", "GetQueueAttributes"), ("sqs", "ReceiveMessage"),
                ("lambda", "ListFunctions"), ("logs", "DescribeLogGroups"), ("logs", "FilterLogEvents"),
                ("cloudformation", "DescribeStacks")}
    spans = helpers.wait_for(
        lambda: (found := events_after(sb, cursor, all=True))
        and expected <= {(s["service"], s["operation"]) for s in found} and found,
        message="the spans of the sandbox's own reads")
    external = [s for s in spans if s["caller"]["kind"] == "external"]
    assert external and all(s["noise"] for s in external), [(s["operation"], s["noise"]) for s in external]

    # the same call through sb.client() is yours: once its span is in, so is every span of the reads made before it,
    # and of all of them only yours is visible and billed
    sqs.list_queues()
    listed = wait_for_span(sb, cursor, helpers, lambda s: s["operation"] == "ListQueues" and not s["noise"],
                           "your ListQueues")
    assert listed["caller"]["kind"] == "external" and all(s["seq"] < listed["seq"] for s in spans)
    visible = [(s["operation"], s["seq"]) for s in events_after(sb, cursor) if s["caller"]["kind"] == "external"]
    assert visible == [("ListQueues", listed["seq"])], visible
    assert [(line["item"], line["quantity"]) for line in sb.cost(since=cursor)["lines"]] == [("standard_requests", 1)]

    # a redrive changes queues: your traffic, visible (its look-ups are not)
    moved = sb.observe.cursor()
    assert sb.dlq.redrive(dlq_name).moved == 1
    task = wait_for_span(sb, moved, helpers, lambda s: s["operation"] == "StartMessageMoveTask", "the move task")
    assert task["noise"] is False
    assert all(s["noise"] for s in events_after(sb, moved, all=True) if s["operation"] == "ListQueues")


def test_reset_forgets_the_recorders_links_and_keeps_the_history(sb, helpers):
    """The indexes from message and span ids to their causes grew by ~30 MB per 1,000 uploads until their bound;
    `reset` empties them (nothing left can refer to them), the recorded spans stay."""
    sqs = sb.client("sqs")
    queue = sqs.create_queue(QueueName=helpers.unique("links"))["QueueUrl"]
    for i in range(0, 40, 10):
        sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": str(j), "MessageBody": f"m{i + j}"}
                                                        for j in range(10)])
    before = sb.observe.recorder()
    assert before["links"]["producers"] >= 40 and before["links"]["spans"] >= 5, before
    sb.reset()
    after = sb.observe.recorder()
    assert after["links"]["producers"] == 0, after
    assert after["links"]["spans"] < 10, after  # the reset's own request and the status read since
    assert after["spans"] >= before["spans"]
