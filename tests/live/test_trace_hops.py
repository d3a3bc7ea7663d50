"""One trace across the asynchronous hops of EventBridge, SNS, CloudWatch Logs subscription filters and S3's
EventBridge notifications: what each target or subscriber does joins the trace of the request that caused it.

Each test drives a real flow and then reads the trace of its first request: every span the flow produced must be
in it, with the parent it has in AWS terms, and the default (noise-free) view of the trace must have no orphans.
"""

from __future__ import annotations

import base64
import gzip
import json
import secrets

import pytest

ECHO = "def handler(event, context):\n    return {'ok': True}\n"

# Logs one line a subscription filter picks up, and one it does not.
LOGGER = '''
def handler(event, context):
    print("INFO all good")
    print("ERROR payment declined for order " + event["order"])
    return {"logged": True}
'''

# A Pass-only state machine: its execution span says it ran.
PASS_MACHINE = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}


def gunzip_awslogs(payload_preview: str) -> bytes:
    """The decoded `awslogs.data` of a subscription filter's Lambda event."""
    return gzip.decompress(base64.b64decode(json.loads(payload_preview)["awslogs"]["data"]))


def spans_after(sb, cursor: int, **filters) -> list[dict]:
    return sb.events(since=cursor, limit=10_000, **filters)["events"]


def find(sb, helpers, cursor, predicate, what: str, timeout: float = 45, **filters) -> dict:
    return helpers.wait_for(lambda: next((s for s in spans_after(sb, cursor, all=True, **filters) if predicate(s)),
                                         None), timeout=timeout, message=what)


def queue(sb, helpers) -> tuple[str, str]:
    sqs = sb.client("sqs")
    url = sqs.create_queue(QueueName=helpers.unique("q"))["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def function_arn(sb, name: str) -> str:
    return sb.client("lambda").get_function(FunctionName=name)["Configuration"]["FunctionArn"]


def state_machine(sb, helpers) -> str:
    return sb.client("stepfunctions").create_state_machine(
        name=helpers.unique("sm"), definition=json.dumps(PASS_MACHINE), roleArn=helpers.ROLE)["stateMachineArn"]


def assert_connected(sb, trace_id: str, root_id: str) -> dict:
    """The default view of the trace: one root (`root_id`), no orphans, every parent in it."""
    trace = sb.trace(trace_id)
    shape = [(s["service"], s["operation"], s["hop"], s["parent_id"]) for s in trace["spans"]]
    assert trace["roots"] == [root_id] and trace["orphans"] == [], shape
    return trace


def test_eventbridge_rule_targets_join_the_trace_of_put_events(sb, helpers):
    """PutEvents -> a rule with four targets: Lambda, SQS, SNS and Step Functions. Each target's call is a child
    of the PutEvents span, marked hop "events-target" with the rule and target id, and what follows it (the
    execution, the state machine run, the topic's delivery to its queue) stays in the trace."""
    events, lam, sns, sqs = sb.client("events"), sb.client("lambda"), sb.client("sns"), sb.client("sqs")
    fn = helpers.create_function(sb, ECHO)
    q_url, q_arn = queue(sb, helpers)
    sub_url, sub_arn = queue(sb, helpers)
    topic = sns.create_topic(Name=helpers.unique("topic"))["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=sub_arn, Attributes={"RawMessageDelivery": "true"})
    machine = state_machine(sb, helpers)
    bus = helpers.unique("bus")
    events.create_event_bus(Name=bus)
    rule_arn = events.put_rule(Name="orders", EventBusName=bus,
                               EventPattern=json.dumps({"source": ["shop"]}))["RuleArn"]
    lam.add_permission(FunctionName=fn, StatementId="events", Action="lambda:InvokeFunction",
                       Principal="events.amazonaws.com", SourceArn=rule_arn)
    events.put_targets(Rule="orders", EventBusName=bus, Targets=[
        {"Id": "fn", "Arn": function_arn(sb, fn)}, {"Id": "queue", "Arn": q_arn}, {"Id": "topic", "Arn": topic},
        {"Id": "sm", "Arn": machine, "RoleArn": helpers.ROLE}])

    cursor = sb.observe.cursor()
    resp = events.put_events(Entries=[{"EventBusName": bus, "Source": "shop", "DetailType": "OrderPlaced",
                                       "Detail": json.dumps({"order": "o-1", "correlation_id": "eb-1"})}])
    assert resp["FailedEntryCount"] == 0
    put = find(sb, helpers, cursor, lambda s: s["operation"] == "PutEvents" and s["caller"]["kind"] == "external",
               "the PutEvents span")  # not the state machine's status-change PutEvents
    tid = put["trace_id"]
    in_trace = {"trace": tid}
    invoke = find(sb, helpers, cursor, lambda s: s["operation"] == "Invoke", "the rule's Invoke", **in_trace)
    send = find(sb, helpers, cursor, lambda s: s["operation"] == "SendMessage" and s["resource"] == q_arn,
                "the rule's SendMessage", **in_trace)
    publish = find(sb, helpers, cursor, lambda s: s["operation"] == "Publish", "the rule's Publish", **in_trace)
    start = find(sb, helpers, cursor, lambda s: s["operation"] == "StartExecution", "the rule's StartExecution",
                 **in_trace)
    targets = {"fn": invoke, "queue": send, "topic": publish, "sm": start}
    for target_id, span in targets.items():
        assert span["parent_id"] == put["span_id"], (target_id, span)
        assert span["hop"] == "events-target", (target_id, span)
        assert span["attrs"]["rule"] == "orders" and span["attrs"]["target_id"] == target_id
        assert span["attrs"]["event_bus"] == bus
        assert span["caller"] == {"kind": "service", "name": "events", "source_arn": rule_arn}
        assert span["correlation_id"] == "eb-1"
    # what the targets did next is in the trace too
    execution = find(sb, helpers, cursor, lambda s: s["hop"] == "lambda-exec", "the function's execution",
                     **in_trace)
    run = find(sb, helpers, cursor, lambda s: s["hop"] == "sfn-execution", "the state machine run", **in_trace)
    delivery = find(sb, helpers, cursor, lambda s: s["operation"] == "SendMessage" and s["resource"] == sub_arn,
                    "the topic's delivery to its queue", **in_trace)
    assert run["parent_id"] == start["span_id"] and run["attrs"]["status"] == "SUCCEEDED"
    assert delivery["parent_id"] == publish["span_id"] and delivery["caller"]["source_arn"] == topic
    attempt = find(sb, helpers, cursor, lambda s: s["span_id"] == execution["parent_id"], "the async attempt")
    assert attempt["hop"] == "lambda-async" and attempt["parent_id"] == invoke["span_id"]
    # the messages carry the trace: their AWSTraceHeader names the span that sent them (SNS passes on the
    # header of the Publish, as AWS does)
    for url, sender in ((q_url, send), (sub_url, publish)):
        [msg] = helpers.wait_for(lambda u=url: sqs.receive_message(QueueUrl=u, MessageSystemAttributeNames=[
            "AWSTraceHeader"]).get("Messages"), message="the message")
        assert msg["Attributes"]["AWSTraceHeader"].startswith(f"Root={tid};Parent={sender['span_id']}")
    assert_connected(sb, tid, put["span_id"])


def test_event_bus_to_event_bus_target_keeps_the_trace(sb, helpers):
    """A rule whose target is another bus: that bus's rule's target is still in the first PutEvents' trace."""
    events = sb.client("events")
    q_url, q_arn = queue(sb, helpers)
    first, second = helpers.unique("bus"), helpers.unique("bus")
    events.create_event_bus(Name=first)
    second_arn = events.create_event_bus(Name=second)["EventBusArn"]
    events.put_rule(Name="forward", EventBusName=first, EventPattern=json.dumps({"source": ["shop"]}))
    events.put_targets(Rule="forward", EventBusName=first, Targets=[
        {"Id": "bus", "Arn": second_arn, "RoleArn": helpers.ROLE}])
    events.put_rule(Name="collect", EventBusName=second, EventPattern=json.dumps({"source": ["shop"]}))
    events.put_targets(Rule="collect", EventBusName=second, Targets=[{"Id": "queue", "Arn": q_arn}])

    cursor = sb.observe.cursor()
    events.put_events(Entries=[{"EventBusName": first, "Source": "shop", "DetailType": "X", "Detail": "{}"}])
    put = find(sb, helpers, cursor, lambda s: s["operation"] == "PutEvents" and s["caller"]["kind"] == "external",
               "the PutEvents span")
    forward = find(sb, helpers, cursor, lambda s: s["operation"] == "PutEvents" and s["hop"] == "events-target",
                   "the forwarded PutEvents", trace=put["trace_id"])
    send = find(sb, helpers, cursor, lambda s: s["operation"] == "SendMessage", "the second rule's SendMessage",
                trace=put["trace_id"])
    assert forward["parent_id"] == put["span_id"] and forward["attrs"]["rule"] == "forward"
    assert send["parent_id"] == forward["span_id"] and send["attrs"]["rule"] == "collect"
    assert_connected(sb, put["trace_id"], put["span_id"])


def test_sns_publish_reaches_sqs_and_lambda_subscribers_in_one_trace(sb, helpers):
    """Publish -> an SQS subscriber and a Lambda subscriber: both deliveries are children of the Publish span,
    marked hop "sns-delivery" with the subscription, and the function's execution follows its delivery."""
    sns, lam = sb.client("sns"), sb.client("lambda")
    q_url, q_arn = queue(sb, helpers)
    fn = helpers.create_function(sb, ECHO)
    topic = sns.create_topic(Name=helpers.unique("topic"))["TopicArn"]
    lam.add_permission(FunctionName=fn, StatementId="sns", Action="lambda:InvokeFunction",
                       Principal="sns.amazonaws.com", SourceArn=topic)
    q_sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=q_arn)["SubscriptionArn"]
    fn_sub = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=function_arn(sb, fn))["SubscriptionArn"]

    cursor = sb.observe.cursor()
    sns.publish(TopicArn=topic, Message=json.dumps({"order": "o-2"}),
                MessageAttributes={"correlation_id": {"DataType": "String", "StringValue": "sns-2"}})
    publish = find(sb, helpers, cursor, lambda s: s["operation"] == "Publish", "the Publish span")
    tid = publish["trace_id"]
    send = find(sb, helpers, cursor, lambda s: s["operation"] == "SendMessage", "the SQS delivery", trace=tid)
    invoke = find(sb, helpers, cursor, lambda s: s["operation"] == "Invoke", "the Lambda delivery", trace=tid)
    execution = find(sb, helpers, cursor, lambda s: s["hop"] == "lambda-exec", "the execution", trace=tid)
    for span, sub in ((send, q_sub), (invoke, fn_sub)):
        assert span["parent_id"] == publish["span_id"] and span["hop"] == "sns-delivery"
        assert span["caller"] == {"kind": "service", "name": "sns", "source_arn": topic}
        assert span["attrs"]["subscription"] == sub
        assert span["correlation_id"] == "sns-2"
    assert invoke["attrs"]["invocation_type"] == "Event" and execution["resource_name"] == fn
    assert_connected(sb, tid, publish["span_id"])


def test_sns_publish_batch_deliveries_join_the_trace(sb, helpers):
    """PublishBatch to a topic with an SQS subscriber (delivered as one SendMessageBatch) and a Lambda one."""
    sns = sb.client("sns")
    q_url, q_arn = queue(sb, helpers)
    fn = helpers.create_function(sb, ECHO)
    topic = sns.create_topic(Name=helpers.unique("topic"))["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=q_arn)
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=function_arn(sb, fn))

    cursor = sb.observe.cursor()
    sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
        {"Id": "a", "Message": "one"}, {"Id": "b", "Message": "two"}])
    publish = find(sb, helpers, cursor, lambda s: s["operation"] == "PublishBatch", "the PublishBatch span")
    tid = publish["trace_id"]
    batch = find(sb, helpers, cursor, lambda s: s["service"] == "sqs" and s["hop"] == "sns-delivery",
                 "the SQS delivery", trace=tid)
    assert batch["parent_id"] == publish["span_id"]
    helpers.wait_for(lambda: len([s for s in spans_after(sb, cursor, trace=tid) if s["hop"] == "lambda-exec"]) == 2,
                     message="both messages' executions in the trace")
    assert_connected(sb, tid, publish["span_id"])


@pytest.fixture
def logging_function(sb, helpers):
    """A function that logs, with its log group created up front (subscription filters need the group)."""
    fn = helpers.create_function(sb, LOGGER)
    sb.client("logs").create_log_group(logGroupName=f"/aws/lambda/{fn}")
    return fn


def invoke_and_find_execution(sb, helpers, fn: str, cursor: int) -> dict:
    result, _ = helpers.invoke(sb, fn, {"order": "o-3", "correlation_id": "logs-3"})
    assert result == {"logged": True}
    return find(sb, helpers, cursor, lambda s: s["hop"] == "lambda-exec" and s["resource_name"] == fn,
                "the logging function's execution")


def test_log_subscription_to_lambda_joins_the_trace_of_the_function_that_logged(sb, helpers, logging_function):
    """A subscription filter on a function's log group, destination a Lambda function: the destination's
    invocation is in the trace of the invocation that wrote the matching line, its parent the execution that
    wrote it (in the default view; Lambda's own log shipping is noise), marked hop "logs-subscription"."""
    logs, lam = sb.client("logs"), sb.client("lambda")
    fn = logging_function
    group = f"/aws/lambda/{fn}"
    alerts = helpers.create_function(sb, ECHO)
    lam.add_permission(FunctionName=alerts, StatementId="logs", Action="lambda:InvokeFunction",
                       Principal="logs.amazonaws.com")
    logs.put_subscription_filter(logGroupName=group, filterName="errors", filterPattern="ERROR",
                                 destinationArn=function_arn(sb, alerts))

    cursor = sb.observe.cursor()
    execution = invoke_and_find_execution(sb, helpers, fn, cursor)
    tid = execution["trace_id"]
    delivery = find(sb, helpers, cursor, lambda s: s["operation"] == "Invoke" and s["resource_name"] == alerts,
                    "the subscription's Invoke", trace=tid)
    assert delivery["hop"] == "logs-subscription"
    assert delivery["caller"]["name"] == "logs" and delivery["caller"]["source_arn"].endswith(f":log-group:{group}")
    assert delivery["attrs"]["log_group"] == group and delivery["attrs"]["log_stream"]
    assert delivery["correlation_id"] == "logs-3"
    alert_exec = find(sb, helpers, cursor, lambda s: s["hop"] == "lambda-exec" and s["resource_name"] == alerts,
                      "the destination's execution", trace=tid)
    assert alert_exec["parent_id"] == delivery["span_id"]
    # only the matching line was delivered
    [line] = [e["message"] for e in json.loads(gunzip_awslogs(alert_exec["request"]))["logEvents"]]
    assert line.startswith("ERROR payment declined for order o-3")
    # the real path: execution -> Lambda's PutLogEvents (noise) -> the delivery
    shipped = {s["span_id"]: s for s in sb.trace(tid, all=True)["spans"]}[delivery["parent_id"]]
    assert shipped["operation"] == "PutLogEvents" and shipped["parent_id"] == execution["span_id"]
    assert shipped["caller"]["name"] == "lambda" and shipped["noise"] is True
    # the default view skips the noise: the delivery hangs under the execution
    trace = sb.trace(tid)
    by_id = {s["span_id"]: s for s in trace["spans"]}
    assert by_id[delivery["span_id"]]["parent_id"] == execution["span_id"]
    invoke = next(s for s in trace["spans"] if s["operation"] == "Invoke" and s["resource_name"] == fn)
    assert execution["parent_id"] == invoke["span_id"]
    assert_connected(sb, tid, invoke["span_id"])


def test_log_subscription_to_firehose_joins_the_trace(sb, helpers, logging_function):
    """Destination a Firehose stream (to S3): its PutRecord is in the trace of the execution that logged. (Kinesis
    destinations go the same way, but Kinesis does not run embedded: see sandbox/unsupported.py.)"""
    logs, firehose, s3 = sb.client("logs"), sb.client("firehose"), sb.client("s3")
    fn = logging_function
    group = f"/aws/lambda/{fn}"
    bucket = helpers.unique("archive")
    s3.create_bucket(Bucket=bucket)
    fh_arn = firehose.create_delivery_stream(DeliveryStreamName=helpers.unique("fh"), S3DestinationConfiguration={
        "RoleARN": helpers.ROLE, "BucketARN": f"arn:aws:s3:::{bucket}",
        "BufferingHints": {"IntervalInSeconds": 60, "SizeInMBs": 1}})["DeliveryStreamARN"]
    logs.put_subscription_filter(logGroupName=group, filterName="to-firehose", filterPattern="ERROR",
                                 destinationArn=fh_arn, roleArn=helpers.ROLE)

    cursor = sb.observe.cursor()
    execution = invoke_and_find_execution(sb, helpers, fn, cursor)
    tid = execution["trace_id"]
    put = find(sb, helpers, cursor, lambda s: s["service"] == "firehose" and s["operation"] == "PutRecord",
               "the Firehose delivery", trace=tid)
    assert put["hop"] == "logs-subscription" and put["attrs"]["log_group"] == group
    assert put["caller"]["name"] == "logs" and put["resource"] == fh_arn
    trace = sb.trace(tid)
    assert {s["span_id"]: s for s in trace["spans"]}[put["span_id"]]["parent_id"] == execution["span_id"]
    assert_connected(sb, tid, execution["parent_id"])


def test_s3_eventbridge_notifications_reach_lambda_and_step_functions_in_the_put_object_trace(sb, helpers):
    """A bucket with EventBridge notifications on, a rule on the default bus for its Object Created events with a
    Lambda and a state machine target: both are in the PutObject's trace. S3's PutEvents is platform noise, so
    in the default view the targets hang under the PutObject."""
    s3, events, lam = sb.client("s3"), sb.client("events"), sb.client("lambda")
    bucket = helpers.unique("uploads")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "EventBridgeConfiguration": {}})
    fn = helpers.create_function(sb, ECHO)
    machine = state_machine(sb, helpers)
    rule_arn = events.put_rule(Name=helpers.unique("uploads"), EventPattern=json.dumps({
        "source": ["aws.s3"], "detail-type": ["Object Created"], "detail": {"bucket": {"name": [bucket]}}}))["RuleArn"]
    rule = rule_arn.rsplit("/", 1)[-1]
    lam.add_permission(FunctionName=fn, StatementId="events", Action="lambda:InvokeFunction",
                       Principal="events.amazonaws.com", SourceArn=rule_arn)
    events.put_targets(Rule=rule, Targets=[{"Id": "fn", "Arn": function_arn(sb, fn)},
                                           {"Id": "sm", "Arn": machine, "RoleArn": helpers.ROLE}])

    cursor = sb.observe.cursor()
    s3.put_object(Bucket=bucket, Key="photo.jpg", Body=b"\xff" * 100, Metadata={"correlation-id": "upload-9"})
    put = find(sb, helpers, cursor, lambda s: s["operation"] == "PutObject", "the PutObject span")
    tid = put["trace_id"]
    # S3's PutEvents, not the state machine's status-change PutEvents, which is in the trace too and may be recorded
    # first: a span is recorded when its request ends, and the relay's can end after its targets ran (a run failed)
    relay = find(sb, helpers, cursor, lambda s: s["operation"] == "PutEvents" and s["caller"]["name"] == "s3",
                 "S3's PutEvents", trace=tid)
    assert relay["parent_id"] == put["span_id"]
    invoke = find(sb, helpers, cursor, lambda s: s["operation"] == "Invoke" and s["hop"] == "events-target",
                  "the rule's Invoke", trace=tid)
    start = find(sb, helpers, cursor, lambda s: s["operation"] == "StartExecution", "the rule's StartExecution",
                 trace=tid)
    run = find(sb, helpers, cursor, lambda s: s["hop"] == "sfn-execution", "the state machine run", trace=tid)
    find(sb, helpers, cursor, lambda s: s["hop"] == "lambda-exec" and s["resource_name"] == fn,
         "the function's execution", trace=tid)
    assert invoke["parent_id"] == start["parent_id"] == relay["span_id"]
    assert run["parent_id"] == start["span_id"]
    assert {s["correlation_id"] for s in (relay, invoke, start, run)} == {"upload-9"}
    trace = assert_connected(sb, tid, put["span_id"])
    by_id = {s["span_id"]: s for s in trace["spans"]}
    # default view: S3's PutEvents is hidden, its children hang under the PutObject
    assert relay["span_id"] not in by_id
    assert by_id[invoke["span_id"]]["parent_id"] == by_id[start["span_id"]]["parent_id"] == put["span_id"]


# What the X-Ray SDK does with `Tracing: Active` (Powertools' Tracer): each SDK call carries the id of a subsegment
# of its own as the trace header's Parent, a span the sandbox never records.
SUBSEGMENT_CALLER = '''
import os, secrets
import boto3

sqs = boto3.client("sqs")


def handler(event, context):
    root = os.environ["_X_AMZN_TRACE_ID"].split(";")[0]
    os.environ["_X_AMZN_TRACE_ID"] = f"{root};Parent={secrets.token_hex(8)};Sampled=1"
    sqs.send_message(QueueUrl=event["queue"], MessageBody="from a subsegment")
    return {"sent": True}
'''


def test_a_call_under_an_xray_subsegment_is_a_child_of_its_execution(sb, helpers):
    """The function's SDK call named a parent that was never recorded: it stood alone, "parent not recorded", out
    of the waterfall. It is its execution's child, as on AWS where the subsegment is part of the function's segment."""
    url, _ = queue(sb, helpers)
    fn = helpers.create_function(sb, SUBSEGMENT_CALLER)
    cursor = sb.events(limit=1)["cursor"]
    sb.client("lambda").invoke(FunctionName=fn, Payload=json.dumps({"queue": url}))
    invoke = find(sb, helpers, cursor, lambda s: s["operation"] == "Invoke" and s["hop"] is None, "the Invoke")
    execution = find(sb, helpers, cursor, lambda s: s["hop"] == "lambda-exec", "the execution")
    send = find(sb, helpers, cursor, lambda s: s["operation"] == "SendMessage", "the function's SendMessage")
    assert send["caller"]["name"] == fn and send["trace_id"] == invoke["trace_id"]
    assert send["parent_id"] == execution["span_id"]
    assert_connected(sb, invoke["trace_id"], invoke["span_id"])


def test_a_function_url_call_is_one_span_and_its_execution_is_its_child(sb, helpers):
    """LocalStack's URL router invokes the function itself: the request was recorded as "lambda None" and the
    execution started a trace of its own."""
    import requests
    from urllib.parse import urlsplit

    fn = helpers.create_function(sb, "def handler(event, context):\n    return {'statusCode': 201, 'body': 'made'}\n")
    url = urlsplit(sb.client("lambda").create_function_url_config(FunctionName=fn, AuthType="NONE")["FunctionUrl"])
    cursor = sb.events(limit=1)["cursor"]
    root = f"1-67891233-{secrets.token_hex(12)}"  # a trace of its own: another test's call must not join it
    answer = requests.post(f"http://127.0.0.1:{url.port}/orders?x=1", data=b'{"id": 7}', timeout=30,
                           headers={"Host": url.netloc, "X-Amzn-Trace-Id": f"Root={root}"})
    assert answer.status_code == 201
    call = find(sb, helpers, cursor, lambda s: s["operation"] == "InvokeFunctionUrl", "the function URL call")
    execution = find(sb, helpers, cursor, lambda s: s["hop"] == "lambda-exec", "the execution")
    assert call["trace_id"] == root == execution["trace_id"]
    assert execution["parent_id"] == call["span_id"]
    assert (call["service"], call["resource"], call["status"]) == \
        ("lambda", sb.client("lambda").get_function(FunctionName=fn)["Configuration"]["FunctionArn"], 201)
    assert call["attrs"] == {"method": "POST", "path": "/orders", "url_id": url.hostname.split(".")[0],
                             "auth_type": "NONE"}
    assert [s for s in spans_after(sb, cursor, all=True) if s["service"] == "lambda" and s["operation"] is None] == []
    assert_connected(sb, call["trace_id"], call["span_id"])


def test_a_lambda_destination_is_called_by_the_function_not_by_an_outside_caller(sb, helpers):
    """A failed async invoke's OnFailure destination of type Lambda: its Invoke was recorded as another attempt of
    the outside caller (`external -> catcher` in the service map, no chain -> catcher edge; found by a user's own
    app). It is the lambda service's call for the failed function, in the same trace."""
    chain = helpers.create_function(sb, "def handler(event, context):\n    raise Exception('no')\n")
    catcher = helpers.create_function(sb, ECHO)
    lam = sb.client("lambda")
    lam.put_function_event_invoke_config(FunctionName=chain, MaximumRetryAttempts=0, DestinationConfig={
        "OnFailure": {"Destination": function_arn(sb, catcher)}})
    cursor = sb.observe.cursor()
    lam.invoke(FunctionName=chain, InvocationType="Event", Payload=b"{}")
    delivered = find(sb, helpers, cursor, lambda s: s["operation"] == "Invoke" and s["resource_name"] == catcher
                     and s.get("hop") is None, "the destination's Invoke")
    assert delivered["caller"] == {"kind": "service", "name": "lambda", "source_arn": function_arn(sb, chain)}
    first = next(s for s in spans_after(sb, cursor, all=True) if s["operation"] == "Invoke"
                 and s["resource_name"] == chain and s.get("hop") is None)
    assert delivered["trace_id"] == first["trace_id"]
    attempt = find(sb, helpers, cursor, lambda s: s["operation"] == "Invoke" and s["resource_name"] == catcher
                   and s.get("hop") == "lambda-async", "the destination's attempt")
    assert attempt["caller"] == delivered["caller"]  # the edge of the service map: chain -> catcher
    edges = {(e["source"], e["target"]) for e in sb.graph()["edges"]}
    assert (function_arn(sb, chain), function_arn(sb, catcher)) in edges, edges
