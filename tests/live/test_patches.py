"""Our workarounds for bugs of localstack-core 2026.3.0 (sandbox/localstack_ext/patches/), one section per bug."""

import json
import os
import re
import secrets
import shutil
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from sandbox.localstack_ext.patches.logs_filter_pattern import FilterPatternError, compile_pattern

PASS_MACHINE = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})


def executions(sb, machine_arn):
    return sb.client("stepfunctions").list_executions(stateMachineArn=machine_arn)["executions"]


# --- events_sfn_input_path: EventBridge -> Step Functions target with InputPath --------------------------------
@pytest.mark.parametrize("bus_kind", ["custom", "default"])
def test_eventbridge_sfn_target_with_input_path_starts_execution_with_detail(sb, helpers, bus_kind):
    events, sfn = sb.client("events"), sb.client("stepfunctions")
    machine = sfn.create_state_machine(name=helpers.unique("sm"), definition=PASS_MACHINE, roleArn=helpers.ROLE)
    bus = helpers.unique("bus") if bus_kind == "custom" else "default"
    if bus_kind == "custom":
        events.create_event_bus(Name=bus)
    events.put_rule(Name="orders", EventBusName=bus, EventPattern=json.dumps({"source": ["shop.orders"]}))
    events.put_targets(Rule="orders", EventBusName=bus, Targets=[
        {"Id": "sm", "Arn": machine["stateMachineArn"], "RoleArn": helpers.ROLE, "InputPath": "$.detail"}])

    detail = {"order_id": "o-1", "amount": 42, "items": ["a", "b"]}
    resp = events.put_events(Entries=[{"EventBusName": bus, "Source": "shop.orders", "DetailType": "OrderPlaced",
                                       "Detail": json.dumps(detail)}])
    assert resp["FailedEntryCount"] == 0
    event_id = resp["Entries"][0]["EventId"]

    [execution] = helpers.wait_for(lambda: executions(sb, machine["stateMachineArn"]),
                                   message="an execution started by the EventBridge rule")
    assert execution["name"] == event_id  # named after the original event, as without InputPath
    described = helpers.wait_for(
        lambda: (d := sfn.describe_execution(executionArn=execution["executionArn"]))["status"] == "SUCCEEDED" and d,
        message="the execution to succeed")
    assert json.loads(described["input"]) == detail
    assert json.loads(described["output"]) == detail


def test_eventbridge_sfn_target_with_input_transformer_starts_execution(sb, helpers):
    events, sfn = sb.client("events"), sb.client("stepfunctions")
    machine = sfn.create_state_machine(name=helpers.unique("sm"), definition=PASS_MACHINE, roleArn=helpers.ROLE)
    events.put_rule(Name="orders", EventPattern=json.dumps({"source": ["shop.orders"]}))
    events.put_targets(Rule="orders", Targets=[{
        "Id": "sm", "Arn": machine["stateMachineArn"], "RoleArn": helpers.ROLE,
        "InputTransformer": {"InputPathsMap": {"order": "$.detail.order_id"},
                             "InputTemplate": '{"order": <order>, "kind": "transformed"}'}}])
    events.put_events(Entries=[{"Source": "shop.orders", "DetailType": "OrderPlaced",
                                "Detail": json.dumps({"order_id": "o-7"})}])
    [execution] = helpers.wait_for(lambda: executions(sb, machine["stateMachineArn"]),
                                   message="an execution started through an InputTransformer")
    described = sfn.describe_execution(executionArn=execution["executionArn"])
    assert json.loads(described["input"]) == {"order": "o-7", "kind": "transformed"}


def test_two_events_with_same_detail_id_start_two_executions(sb, helpers):
    """Unpatched, a detail carrying its own "id" named the execution: the second event failed to start one."""
    events, sfn = sb.client("events"), sb.client("stepfunctions")
    machine = sfn.create_state_machine(name=helpers.unique("sm"), definition=PASS_MACHINE, roleArn=helpers.ROLE)
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["app"]}))
    events.put_targets(Rule="r", Targets=[{"Id": "sm", "Arn": machine["stateMachineArn"], "InputPath": "$.detail"}])
    for n in (1, 2):
        events.put_events(Entries=[{"Source": "app", "DetailType": "t", "Detail": json.dumps({"id": "same", "n": n})}])
    found = helpers.wait_for(lambda: len(ex := executions(sb, machine["stateMachineArn"])) == 2 and ex,
                             message="two executions")
    assert {e["name"] for e in found}.isdisjoint({"same"})


# --- logs_filter_pattern: FilterLogEvents honours filterPattern ------------------------------------------------
LOG_LINES = [
    "[INFO] service started",
    "[ERROR] payment failed: card declined",
    "[ERROR] payment failed, will retry",
    "[WARN] slow response from inventory",
    "Exception occurred in handler",
    json.dumps({"level": "ERROR", "latency": 250, "correlation_id": "abc-123", "msg": "db timeout"}),
    json.dumps({"level": "INFO", "latency": 40, "correlation_id": "abc-999", "msg": "ok"}),
    json.dumps({"level": "WARN", "latency": 101, "correlation_id": "xyz-555", "msg": "slow", "cached": True}),
]


@pytest.fixture
def log_group(sb, helpers):
    logs = sb.client("logs")
    group = helpers.unique("/app/patterns")
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s1")
    logs.create_log_stream(logGroupName=group, logStreamName="s2")
    now = int(time.time() * 1000)
    half = len(LOG_LINES) // 2
    for stream, lines, offset in (("s1", LOG_LINES[:half], 0), ("s2", LOG_LINES[half:], half)):
        logs.put_log_events(logGroupName=group, logStreamName=stream,
                            logEvents=[{"timestamp": now + offset + i, "message": m} for i, m in enumerate(lines)])
    return group


def filtered(sb, group, pattern):
    events = sb.client("logs").filter_log_events(logGroupName=group, filterPattern=pattern)["events"]
    return [LOG_LINES.index(e["message"]) for e in events]


@pytest.mark.parametrize("pattern, expected", [
    ("ERROR", [1, 2, 5]),                                  # plain term, case-sensitive, also inside JSON text
    ("error", []),
    ("ERROR payment", [1, 2]),                             # all terms (AND), any order
    ("payment ERROR declined", [1]),
    ('"Exception occurred"', [4]),                         # exact phrase
    ('"occurred Exception"', []),
    ("?WARN ?Exception", [3, 4, 7]),                       # any of the ?-terms (OR)
    ("ERROR -retry", [1, 5]),                              # exclusion
    ('payment -"will retry"', [1]),
    ('{ $.level = "ERROR" }', [5]),                        # JSON patterns: only JSON messages match
    ("{ $.level = WARN }", [7]),
    ("{ $.latency > 100 }", [5, 7]),
    ("{ $.latency <= 100 }", [6]),
    ('{ $.correlation_id = "abc*" }', [5, 6]),
    ('{ $.level = "ERROR" || $.cached IS TRUE }', [5, 7]),
    ('{ $.latency > 50 && $.correlation_id = "abc*" }', [5]),
    ("{ $.cached NOT EXISTS }", [5, 6]),
    ("[level = ERROR, ...]", [1, 2]),                      # space-delimited: [brackets] are one field
    ("[level = ERROR, ..., last = retry]", [2]),
    ("[level = WARN, w1, w2, w3, w4]", [3]),               # exactly five fields
    ("", list(range(len(LOG_LINES)))),
])
def test_filter_log_events_applies_filter_pattern(sb, log_group, pattern, expected):
    assert sorted(filtered(sb, log_group, pattern)) == expected


def test_filter_log_events_pattern_combines_with_stream_and_time_filters(sb, log_group):
    logs = sb.client("logs")
    events = logs.filter_log_events(logGroupName=log_group, logStreamNames=["s2"], filterPattern="ERROR")["events"]
    assert [e["message"] for e in events] == [LOG_LINES[5]]
    everything = logs.filter_log_events(logGroupName=log_group)["events"]
    start = min(e["timestamp"] for e in everything) + 2
    late = logs.filter_log_events(logGroupName=log_group, filterPattern="ERROR", startTime=start)["events"]
    assert sorted(LOG_LINES.index(e["message"]) for e in late) == [2, 5]


def test_filter_log_events_rejects_invalid_pattern(sb, log_group):
    with pytest.raises(ClientError) as err:
        sb.client("logs").filter_log_events(logGroupName=log_group, filterPattern='{ $.latency > "fast" }')
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"


def test_lambda_log_lines_are_searchable_by_pattern(sb, helpers):
    """The usual use: find a function's error lines, not its START/END/REPORT noise."""
    fn = helpers.create_function(sb, '''
import json
def handler(event, context):
    print(json.dumps({"level": event["level"], "order": event["order"]}))
    return 1
''')
    for level, order in (("INFO", "o-1"), ("ERROR", "o-2"), ("INFO", "o-3")):
        helpers.invoke(sb, fn, {"level": level, "order": order})
    logs, group = sb.client("logs"), f"/aws/lambda/{fn}"
    helpers.wait_for(lambda: "o-3" in helpers.log_text(sb, fn), message="the function's log lines")
    found = logs.filter_log_events(logGroupName=group, filterPattern='{ $.level = "ERROR" }')["events"]
    assert [json.loads(e["message"])["order"] for e in found] == ["o-2"]
    reports = logs.filter_log_events(logGroupName=group, filterPattern="REPORT")["events"]
    assert len(reports) == 3 and all(e["message"].startswith("REPORT RequestId:") for e in reports)


def _subscription_sink(sb, helpers):
    """A subscription filter destination: a function writing each delivery's messages to a bucket; returns its
    ARN and `delivered()`, every message delivered so far."""
    bucket = helpers.unique("subscription")
    sb.client("s3").create_bucket(Bucket=bucket)
    fn = helpers.create_function(sb, '''
import base64, gzip, json, os, boto3
def handler(event, context):
    data = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
    body = json.dumps([e["message"] for e in data["logEvents"]]).encode()
    boto3.client("s3").put_object(Bucket=os.environ["BUCKET"], Key=context.aws_request_id, Body=body)
''', Environment={"Variables": {"BUCKET": bucket}})
    fn_arn = sb.client("lambda").get_function(FunctionName=fn)["Configuration"]["FunctionArn"]

    def delivered():
        s3 = sb.client("s3")
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
        return [m for k in keys for m in json.loads(s3.get_object(Bucket=bucket, Key=k)["Body"].read())]

    return fn_arn, delivered


def test_subscription_filter_forwards_only_matching_events(sb, helpers):
    """The same matcher decides what a subscription filter delivers (it forwarded everything before)."""
    fn_arn, delivered = _subscription_sink(sb, helpers)
    logs, group = sb.client("logs"), helpers.unique("/app/subscribed")
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    logs.put_subscription_filter(logGroupName=group, filterName="errors", filterPattern="{ $.level = ERROR }",
                                 destinationArn=fn_arn)
    now = int(time.time() * 1000)
    lines = [json.dumps({"level": level, "n": n}) for n, level in enumerate(["INFO", "ERROR", "WARN", "ERROR"])]
    logs.put_log_events(logGroupName=group, logStreamName="s",
                        logEvents=[{"timestamp": now + i, "message": m} for i, m in enumerate(lines)])

    got = helpers.wait_for(delivered, message="the subscription filter's delivery")
    assert got == [lines[1], lines[3]]


def test_a_stream_created_after_the_subscription_filter_is_forwarded_too(sb, helpers):
    """logs_stream_of_filtered_group: CreateLogStream in a group with a subscription filter raised
    "'dict_values' object is not subscriptable" (a function's log group with a filter lost its lines)."""
    fn_arn, delivered = _subscription_sink(sb, helpers)
    logs, group = sb.client("logs"), helpers.unique("/app/filtered-first")
    logs.create_log_group(logGroupName=group)
    logs.put_subscription_filter(logGroupName=group, filterName="errors", filterPattern="ERROR",
                                 destinationArn=fn_arn)
    logs.create_log_stream(logGroupName=group, logStreamName="after")  # raised before
    logs.put_log_events(logGroupName=group, logStreamName="after", logEvents=[
        {"timestamp": int(time.time() * 1000), "message": "INFO fine"},
        {"timestamp": int(time.time() * 1000) + 1, "message": "ERROR broken"}])

    assert helpers.wait_for(delivered, message="the subscription filter's delivery") == ["ERROR broken"]


# --- reset: CloudWatch alarm timers (sandbox/localstack_ext/internal_api.py, _empty_alarm_scheduler) ----------
def _alarm_checks(sb, since, alarm):
    """The alarm scheduler's evaluations of `alarm` recorded after `since` (its DescribeAlarms by name)."""
    spans = sb.events(since=since, limit=2000, all=True)["events"]
    return [s for s in spans if s["service"] == "cloudwatch" and s["operation"] == "DescribeAlarms"
            and (s.get("caller") or {}).get("kind") != "external" and alarm in (s.get("request") or "")]


def _put_alarm(sb, name):
    sb.client("cloudwatch").put_metric_alarm(
        AlarmName=name, Namespace="Sandbox/Test", MetricName="Errors", Statistic="Sum", Period=10,
        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold")


def test_reset_ends_the_alarm_timers_of_alarms_it_deleted(sb, helpers):
    """LocalStack's AlarmScheduler kept its queue of timers across a reset, so deleted alarms were still evaluated
    (and logged a warning) every period."""
    old, new = helpers.unique("old-alarm"), helpers.unique("new-alarm")
    start = sb.events(limit=1, all=True)["cursor"]
    _put_alarm(sb, old)
    helpers.wait_for(lambda: _alarm_checks(sb, start, old), 30, message="the old alarm's first evaluation")
    sb.reset()
    after = sb.events(limit=1, all=True)["cursor"]
    _put_alarm(sb, new)
    # Evaluations of the new alarm a whole period (10 s) apart: the scheduler ran that long after the reset.
    def a_period_of_checks():
        checks = _alarm_checks(sb, after, new)
        return len(checks) >= 2 and checks[-1]["ts"] - checks[0]["ts"] >= 10

    helpers.wait_for(a_period_of_checks, 45, interval=1, message="a period of evaluations of the new alarm")
    assert _alarm_checks(sb, after, old) == [], "the deleted alarm was still evaluated after the reset"


# --- reset: what LocalStack's reset kept (sandbox/localstack_ext/internal_api.py, the `freed` reset hooks) ---------
def _s3_files_held(sb) -> list[str]:
    """LocalStack's open files in S3's storage directory: an object body past 512 KB is a temporary file there."""
    storage = str(sb.settings.state_dir / "tmp" / "s3-storage")
    fds = Path(f"/proc/{sb.embedded.instance().pid}/fd")
    held = []
    for fd in fds.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed since the listing
        if target.startswith(storage):
            held.append(target)
    return held


def test_reset_lets_go_of_the_s3_object_bodies(sb, helpers):
    """LocalStack's state reset emptied the S3 stores but not its storage backend: every object body stayed open
    (in memory, or a temporary file past 512 KB) until the process ended."""
    s3 = sb.client("s3")
    bucket = helpers.unique("bodies")
    s3.create_bucket(Bucket=bucket)
    before = len(_s3_files_held(sb))
    for i in range(3):
        s3.put_object(Bucket=bucket, Key=f"big-{i}", Body=os.urandom(600 * 1024))
    assert len(_s3_files_held(sb)) == before + 3, "the bodies past 512 KB are files (else this test sees nothing)"
    s3.put_object(Bucket=bucket, Key="small", Body=b"kept in memory")
    freed = sb.reset()["freed"]
    assert freed["s3 object bodies"] == 4
    assert freed["s3 object locks"] == 4, "one conditional-write lock per key written"
    assert _s3_files_held(sb) == [], "object bodies still open after the reset"
    s3.create_bucket(Bucket=bucket)  # the same names work again, with new bodies
    s3.put_object(Bucket=bucket, Key="big-0", Body=b"x" * (600 * 1024))
    assert s3.get_object(Bucket=bucket, Key="big-0")["Body"].read() == b"x" * (600 * 1024)
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="big-1")


def test_localstack_runs_with_two_malloc_arenas(sb):
    """glibc's per-thread arenas made a long-lived LocalStack's PSS creep after each reset (bench/memory.py)."""
    environ = Path(f"/proc/{sb.embedded.instance().pid}/environ").read_bytes().split(b"\0")
    assert b"MALLOC_ARENA_MAX=2" in environ


def test_reset_drops_the_internal_clients_and_mappings_work_after_it(sb, helpers):
    """LocalStack cached a boto3 client per event source mapping (and per function's log shipping, before
    lambda_log_shipping) for good: each
    deploy added clients a reset kept. After the reset they are made again on use: a new mapping still delivers."""
    sqs, lam = sb.client("sqs"), sb.client("lambda")
    code = "def handler(event, context):\n    print('got', [r['body'] for r in event['Records']])\n"
    for round_ in range(2):
        url = sqs.create_queue(QueueName=helpers.unique("jobs"))["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        fn = helpers.create_function(sb, code)
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn, BatchSize=1)
        sqs.send_message(QueueUrl=url, MessageBody=f"round-{round_}")
        helpers.wait_for(lambda: f"round-{round_}" in helpers.log_text(sb, fn), 30,
                         message=f"the mapping's delivery in round {round_}")
        if round_ == 0:
            # the mapping's (the log shipping makes none since patch lambda_log_shipping)
            assert sb.reset()["freed"]["internal clients"] >= 1, "the mapping's clients"


def test_a_scheduled_rule_fires_once_per_period_with_its_current_state(sb, helpers):
    """events_schedule_jobs: LocalStack added a timer job per PutTargets (two PutTargets, two firings a period),
    never removed one, and DisableRule did not reach them. The sandbox's schedule engine fires instead."""
    sqs, events = sb.client("sqs"), sb.client("events")
    url = sqs.create_queue(QueueName=helpers.unique("ticks"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = helpers.unique("every-minute")
    events.put_rule(Name=rule, ScheduleExpression="rate(1 minute)")
    for _ in range(2):
        events.put_targets(Rule=rule, Targets=[{"Id": "q", "Arn": arn, "Input": '{"tick": true}'}])
    assert sb.schedules.status()["localstack_jobs"] == 0

    def received():
        return sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])

    sb.schedules.advance(61)
    got = helpers.wait_for(received, 10, message="the first tick")
    time.sleep(1)
    got += received()
    assert [json.loads(m["Body"]) for m in got] == [{"tick": True}], "one firing per period"
    events.disable_rule(Name=rule)
    sb.schedules.advance(61)
    time.sleep(1.5)
    assert received() == [], "a disabled rule fired"
    events.enable_rule(Name=rule)
    sb.schedules.advance(61)
    assert [json.loads(m["Body"]) for m in helpers.wait_for(received, 10, message="a tick after EnableRule")] \
        == [{"tick": True}]


# --- lambda_esm_deletion: deleted event source mappings stayed "Deleting" ----------------------------------------
@pytest.mark.parametrize("enabled", [False, True])
def test_a_deleted_event_source_mapping_is_gone(sb, helpers, enabled):
    """A disabled mapping has no poller to finish its deletion; an enabled one deleted before its poller thread ran
    used to come back as Enabled (localstack esm_worker.EsmWorker.delete / poller_loop)."""
    lam, sqs = sb.client("lambda"), sb.client("sqs")
    fn = helpers.create_function(sb, "def handler(event, context):\n    return None\n")
    queue = sqs.create_queue(QueueName=helpers.unique("q"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    mapping = lam.create_event_source_mapping(FunctionName=fn, EventSourceArn=arn, Enabled=enabled)["UUID"]
    lam.delete_event_source_mapping(UUID=mapping)  # at once: the poller thread may not have run yet
    deadline = time.time() + 10
    while time.time() < deadline and lam.list_event_source_mappings(FunctionName=fn)["EventSourceMappings"]:
        time.sleep(0.2)
    assert lam.list_event_source_mappings(FunctionName=fn)["EventSourceMappings"] == []
    with pytest.raises(ClientError, match="ResourceNotFound"):
        lam.get_event_source_mapping(UUID=mapping)


def test_a_stack_update_changes_a_scheduler_schedule(sb, tmp_path):
    """cfn_scheduler_schedule_update: LocalStack answered the update with success and kept the old schedule."""
    template = """Resources:
  Jobs:
    Type: AWS::SQS::Queue
  Nightly:
    Type: AWS::Scheduler::Schedule
    Properties:
      Name: nightly
      ScheduleExpression: {expression}
      FlexibleTimeWindow: {{Mode: 'OFF'}}
      Target: {{Arn: !GetAtt Jobs.Arn, RoleArn: arn:aws:iam::000000000000:role/scheduler, Input: '{input}'}}
"""
    path = tmp_path / "template.yaml"
    path.write_text(template.format(expression="rate(1 hour)", input='{"v": 1}'))
    sb.deploy(str(path), stack_name="schedule-update")
    path.write_text(template.format(expression="cron(0 3 * * ? *)", input='{"v": 2}'))
    sb.deploy(str(path), stack_name="schedule-update")
    schedule = sb.client("scheduler").get_schedule(Name="nightly")
    assert schedule["ScheduleExpression"] == "cron(0 3 * * ? *)" and schedule["Target"]["Input"] == '{"v": 2}'
    assert schedule["State"] == "ENABLED"


def test_a_route_added_to_a_deployed_rest_api_answers_after_the_redeploy(sb, tmp_path):
    """cfn_rest_api_update: the RestApi update did nothing (no new route), and the stage was replaced:
    CreateStage failed ("Stage already exists"), the rollback deleted the stage and the stack lost its outputs."""
    import requests

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(
        "import json\ndef handler(event, context):\n"
        "    return {'statusCode': 200, 'body': json.dumps({'method': event['httpMethod']})}\n")
    template = """Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties: {{StageName: dev, Variables: {{colour: {colour}}}}}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.13
      Handler: app.handler
      CodeUri: src/
      Events:
{events}
Outputs:
  ApiUrl:
    Value: !Sub https://${{Api}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/dev/
"""
    event = "        {name}: {{Type: Api, Properties: {{RestApiId: !Ref Api, Path: /things, Method: {method}}}}}"
    path = tmp_path / "template.yaml"
    path.write_text(template.format(colour="blue", events=event.format(name="Get", method="get")))
    first = sb.deploy(str(path), stack_name="route-added")
    path.write_text(template.format(colour="red", events="\n".join(
        [event.format(name="Get", method="get"), event.format(name="Patch", method="patch")])))
    second = sb.deploy(str(path), stack_name="route-added")
    assert second.status == "UPDATE_COMPLETE" and second.outputs["ApiUrl"] == first.outputs["ApiUrl"]
    http = requests.Session()
    http.trust_env = False
    answers = {m: http.request(m, second.outputs["ApiUrl"] + "things", timeout=30) for m in ("GET", "PATCH")}
    assert {m: (r.status_code, r.text) for m, r in answers.items()} == {
        m: (200, json.dumps({"method": m})) for m in ("GET", "PATCH")}
    api_id = second.outputs["ApiUrl"].split("/_aws/execute-api/")[1].split("/")[0]
    assert sb.client("apigateway").get_stage(restApiId=api_id, stageName="dev")["variables"] == {"colour": "red"}
    sb.destroy("route-added")
    assert not sb.client("apigateway").get_rest_apis()["items"]


# --- sqs_metrics_batching: SQS's per-request metrics, one PutMetricData per second --------------------------------
def test_sqs_request_metrics_keep_their_sums(sb, helpers):
    import datetime

    sqs, cw = sb.client("sqs"), sb.client("cloudwatch")
    name = helpers.unique("metrics")
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    bodies = [f"message-{i}" * (i + 1) for i in range(7)]
    for body in bodies:
        sqs.send_message(QueueUrl=queue, MessageBody=body)
    received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    for m in received[:3]:
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
    now = datetime.datetime.now(datetime.timezone.utc)

    def stat(metric, statistic="Sum"):
        points = cw.get_metric_statistics(
            Namespace="AWS/SQS", MetricName=metric, Dimensions=[{"Name": "QueueName", "Value": name}],
            StartTime=now - datetime.timedelta(minutes=5), EndTime=now + datetime.timedelta(minutes=5),
            Period=60, Statistics=[statistic])["Datapoints"]
        return sum(p[statistic] for p in points)

    helpers.wait_for(lambda: stat("NumberOfMessagesSent") == 7 and stat("NumberOfMessagesDeleted") == 3,
                     timeout=15, message="NumberOfMessagesSent=7 and NumberOfMessagesDeleted=3 in CloudWatch")
    assert stat("SentMessageSize") == sum(len(b) for b in bodies)
    assert stat("SentMessageSize", "SampleCount") == 7
    assert stat("NumberOfMessagesReceived") == len(received)


# --- sqs_esm_wake_on_message: an idle SQS mapping is woken by its queue ------------------------------------------
@pytest.mark.live
def test_an_idle_sqs_mapping_is_woken_by_its_queue_and_a_disabled_one_takes_nothing(sb):
    """Idle, the mapping does not poll every second (LocalStack's back-off) but waits for its queue; a message wakes
    it. Disabled while it waits, it takes nothing more (a long poll would have taken the next message)."""
    from conftest import create_function, unique, wait_for

    lam, sqs = sb.client("lambda"), sb.client("sqs")
    fn = create_function(sb, "def handler(event, context):\n    print('got', len(event['Records']))\n")
    queue = sqs.create_queue(QueueName=unique("idle"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    mapping = lam.create_event_source_mapping(FunctionName=fn, EventSourceArn=arn, BatchSize=10)["UUID"]
    name = arn.split(":")[-1]

    def polls():
        return [e for e in sb.events(service="sqs", all=True, limit=1000)["events"] if e["operation"] ==
                "ReceiveMessage" and name in f"{e.get('resource')} {e.get('resource_name')}"]

    def runs():
        return [e for e in sb.events(all=True, limit=1000)["events"]
                if e.get("hop") == "lambda-exec" and fn in f"{e.get('resource')} {e.get('resource_name')}"]

    wait_for(polls, timeout=15, message="a first poll of the mapping")
    time.sleep(1)
    before = len(polls())
    time.sleep(4)
    assert len(polls()) - before <= 1, "an idle mapping polled every second instead of waiting for its queue"
    sqs.send_message(QueueUrl=queue, MessageBody="hello")
    wait_for(runs, timeout=15, message="the function ran")

    lam.update_event_source_mapping(UUID=mapping, Enabled=False)
    wait_for(lambda: lam.get_event_source_mapping(UUID=mapping)["State"] == "Disabled", timeout=15,
             message="the mapping disabled")
    sqs.send_message(QueueUrl=queue, MessageBody="stays")
    time.sleep(3)
    attrs = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages",
                                                                     "ApproximateNumberOfMessagesNotVisible"])
    assert attrs["Attributes"] == {"ApproximateNumberOfMessages": "1", "ApproximateNumberOfMessagesNotVisible": "0"}
    assert len(runs()) == 1, "a disabled mapping still delivered a message"


# --- sqs_esm_concurrency: ScalingConfig.MaximumConcurrency caps the batches in flight ------------------------------
def _most_at_once(spans) -> int:
    """The largest number of spans running at the same moment."""
    edges = sorted([(s["ts"], 1) for s in spans] + [(s["ts"] + s["duration_ms"] / 1000, -1) for s in spans],
                   key=lambda e: (e[0], e[1]))
    most = now = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most


@pytest.mark.live
@pytest.mark.parametrize("maximum_concurrency, expected", [(2, 2), (None, 5)])
def test_maximum_concurrency_caps_an_sqs_mappings_batches_in_flight(sb, maximum_concurrency, expected):
    """Eight one-message batches of a 1.5 s function: without ScalingConfig five run at once (our pollers, as AWS
    starts with five); with MaximumConcurrency 2 never more than two (LocalStack stored it and ignored it)."""
    from conftest import create_function, unique, wait_for

    lam, sqs = sb.client("lambda"), sb.client("sqs")
    fn = create_function(sb, "import time\ndef handler(event, context):\n    time.sleep(1.5)\n", timeout=10)
    queue = sqs.create_queue(QueueName=unique("capped"), Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(8)])
    extra = {"ScalingConfig": {"MaximumConcurrency": maximum_concurrency}} if maximum_concurrency else {}
    lam.create_event_source_mapping(FunctionName=fn, EventSourceArn=arn, BatchSize=1, **extra)

    def runs():
        return [e for e in sb.events(all=True, limit=1000)["events"]
                if e.get("hop") == "lambda-exec" and fn in f"{e.get('resource')} {e.get('resource_name')}"]

    wait_for(lambda: len(runs()) == 8, timeout=60, message="eight invocations")
    assert _most_at_once(runs()) == expected


# --- sqs_esm_concurrency: a throttled batch backs off, and is retried while its visibility timeout allows ------------
THROTTLED_FN = """import time
def handler(event, context):
    for record in event["Records"]:
        print("RUN", record["messageId"], record["attributes"]["ApproximateReceiveCount"])
    time.sleep(SECONDS)
"""


def _throttled_mapping(sb, *, seconds: float, visibility: int, messages: int) -> tuple[str, list[str]]:
    """A function held to one environment (reserved concurrency 1, timeout 3 s) that runs `seconds` per message,
    behind a BatchSize-1 mapping of a queue with `messages` waiting: four of the mapping's five pollers are
    throttled. Returns the function and the messages' ids."""
    from conftest import create_function, unique

    lam, sqs = sb.client("lambda"), sb.client("sqs")
    fn = create_function(sb, THROTTLED_FN.replace("SECONDS", str(seconds)), timeout=3)
    lam.put_function_concurrency(FunctionName=fn, ReservedConcurrentExecutions=1)
    queue = sqs.create_queue(QueueName=unique("throttled"),
                             Attributes={"VisibilityTimeout": str(visibility)})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    ids = [m["MessageId"] for m in sqs.send_message_batch(
        QueueUrl=queue, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(messages)])["Successful"]]
    lam.create_event_source_mapping(FunctionName=fn, EventSourceArn=arn, BatchSize=1)
    return fn, ids


def _runs_and_throttles(sb, fn) -> tuple[list[tuple[str, str]], int]:
    """(message id, receive count) of each run the function logged, and the mapping's invokes refused with 429."""
    from conftest import log_text

    runs = [tuple(line.split()[1:3]) for line in log_text(sb, fn).splitlines() if line.startswith("RUN ")]
    spans = sb.events(all=True, service="lambda", resource=fn, limit=5000)["events"]
    throttles = sum(1 for s in spans if s.get("operation") == "Invoke" and s.get("status") == 429
                    and fn in (s.get("resource") or ""))
    return runs, throttles


@pytest.mark.live
def test_a_throttled_sqs_mapping_backs_off_instead_of_cycling_its_messages(sb):
    """Ten 0.4 s messages, one environment, a visibility timeout no longer than the function's (no time for a
    retry): the throttled pollers hold back, as AWS's do. Before, they took every visible message within
    milliseconds, each was throttled and hidden for its visibility timeout, over and over: ~6 throttled invokes per
    message and receive counts past 10 (upload-burst's broken variant timed out when they reached its
    MaxReceiveCount)."""
    from conftest import wait_for

    fn, ids = _throttled_mapping(sb, seconds=0.4, visibility=3, messages=10)
    wait_for(lambda: {m for m, _ in _runs_and_throttles(sb, fn)[0]} == set(ids), timeout=90,
             message="every message processed")
    runs, throttles = _runs_and_throttles(sb, fn)
    assert sorted(m for m, _ in runs) == sorted(ids), "a message ran twice"
    assert 0 < throttles < 2 * len(ids), f"{throttles} throttled invokes for {len(ids)} messages"
    assert max(int(count) for _, count in runs) <= 3, runs


@pytest.mark.live
def test_a_throttled_sqs_batch_is_retried_while_its_visibility_timeout_allows(sb):
    """Visibility 30 s, function timeout 3 s: a throttled batch is invoked again after its back-off, with the
    messages it holds, as AWS retries it until its visibility timeout. Every message runs once, at its first
    receive; before, each throttled message waited out its 30 s and came back with a receive count of 2."""
    from conftest import wait_for

    fn, ids = _throttled_mapping(sb, seconds=0.5, visibility=30, messages=6)
    wait_for(lambda: len(_runs_and_throttles(sb, fn)[0]) >= len(ids), timeout=25,
             message="every message processed within the visibility timeout")
    runs, throttles = _runs_and_throttles(sb, fn)
    assert sorted(m for m, _ in runs) == sorted(ids)
    assert {count for _, count in runs} == {"1"}, runs
    assert throttles > 0, "nothing was throttled: the test no longer shows a retry"


@pytest.mark.live
def test_a_throttled_batch_is_retried_as_soon_as_the_function_is_free(sb):
    """The last messages of a burst are held by throttled batches backing off (up to 8 s): each goes as soon as an
    invocation ends, not at the end of its back-off. The function was left idle for seconds with messages waiting
    (a 30-message burst: 38-40 s for 15 s of work)."""
    from conftest import wait_for

    fn, ids = _throttled_mapping(sb, seconds=0.5, visibility=30, messages=10)
    wait_for(lambda: len(_runs_and_throttles(sb, fn)[0]) >= len(ids), timeout=60, message="every message processed")
    runs = sorted((s["ts"], s["ts"] + s["duration_ms"] / 1000) for s in
                  sb.events(all=True, resource=fn, limit=5000)["events"] if s.get("hop") == "lambda-exec")
    gaps = [round(b[0] - a[1], 2) for a, b in zip(runs, runs[1:])]
    assert len(runs) == len(ids) and max(gaps) < 2.0, gaps


@pytest.mark.live
def test_a_throttled_sqs_mapping_disabled_during_its_back_off_takes_nothing_more(sb):
    """Disabled while its throttled batches back off (every slot taken), the mapping stops at once and invokes
    nothing more: the poller waiting for a slot used to go on, receive one more batch and invoke it after the
    disable."""
    from conftest import wait_for

    lam = sb.client("lambda")
    fn, ids = _throttled_mapping(sb, seconds=1.5, visibility=3, messages=10)
    [mapping] = lam.list_event_source_mappings(FunctionName=fn)["EventSourceMappings"]
    wait_for(lambda: _runs_and_throttles(sb, fn)[1] >= 4, timeout=30, message="four throttled batches backing off")
    lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)
    wait_for(lambda: lam.get_event_source_mapping(UUID=mapping["UUID"])["State"] == "Disabled", timeout=15,
             message="the mapping disabled")
    # from when it says Disabled: on a loaded host an attempt in flight while the update was served started after
    # the request was sent (CI saw one, 2 of 3 runs); the bug's extra batch came seconds later, after a back-off
    disabled_at = time.time()
    time.sleep(10)  # past every back-off (at most 8 s) and the run in flight (1.5 s)
    later = [s for s in sb.events(all=True, service="lambda", resource=fn, limit=5000)["events"]
             if s.get("operation") == "Invoke" and s["ts"] > disabled_at + 0.05]
    assert later == [], f"{len(later)} invokes after the disable"


# --- lambda_keepalive_timers: one shared timer thread still stops idle environments --------------------------------
@pytest.mark.live
def test_an_idle_environment_is_stopped_after_its_keepalive_and_the_next_call_is_cold(monkeypatch):
    """Its own sandbox with a 1.5 s keep-alive: warm calls in a row stay warm (their timers are cancelled), and
    after the keep-alive passes the environment is gone and the next call starts cold."""
    import os
    import tempfile

    from conftest import create_function, wait_for
    from sandbox import Sandbox, Settings
    from sandbox.embedded import free_port

    monkeypatch.setenv("SANDBOX_LAMBDA_KEEPALIVE_MS", "1500")
    state = tempfile.mkdtemp(prefix="sandbox-keepalive-", dir="/var/tmp" if os.path.isdir("/var/tmp") else None)
    sb = Sandbox(Settings(state_dir=state, port=free_port(), endpoint=None))  # the knobs come from the environment
    sb.up(timeout=120)
    try:
        fn = create_function(sb, "import uuid\nENV = uuid.uuid4().hex\ndef handler(event, context):\n"
                                 "    return ENV\n")
        lam = sb.client("lambda")

        def call():
            return json.loads(lam.invoke(FunctionName=fn, Payload=b"{}")["Payload"].read())

        first = call()
        assert call() == call() == first  # warm: the same environment each time
        time.sleep(4)  # the keep-alive (1.5 s) passes
        assert call() != first, "the idle environment was still warm after its keep-alive"
        colds = [e["attrs"].get("cold") for e in sb.events(all=True, limit=200)["events"]
                 if e.get("hop") == "lambda-exec"]
        assert colds.count(True) == 2, colds
    finally:
        sb.down()
        shutil.rmtree(state, ignore_errors=True)


def _log_around_the_thread_dump(log: str) -> str:
    """The end of LocalStack's log before the thread dump of a forced `down`, and the dump (or the log's end)."""
    dump = log.rfind("--- sandbox down:")
    if dump < 0:
        return "(no thread dump in the log; its end:)\n" + log[-6000:]
    return log[max(0, dump - 6000):dump] + log[dump:dump + 30000]


# --- s3_notifications_shutdown: `down` right after a burst of uploads -----------------------------------------------
@pytest.mark.live
def test_down_right_after_a_burst_of_uploads_stops_without_being_forced():
    """LocalStack's S3 kept the notifications still queued at shutdown and sent them while Python exited, each to a
    stopped Lambda through botocore's retries: `down` waited its 20 s and killed LocalStack. The patch
    s3_notifications_shutdown and shutdown_retries.py each fix it alone (tests/unit/test_shutdown.py tests each)."""
    import tempfile
    from concurrent.futures import ThreadPoolExecutor

    import psutil

    from sandbox import Sandbox, Settings
    from sandbox.embedded import free_port

    state = tempfile.mkdtemp(prefix="sandbox-busy-down-", dir="/var/tmp" if os.path.isdir("/var/tmp") else None)
    sb = Sandbox(Settings(state_dir=state, port=free_port(), endpoint=None))
    sb.up(timeout=120)
    try:
        out = sb.deploy("media-pipeline", stack_name="busy", parameters={"ProcessingMsPerMB": "0"}).outputs
        s3 = sb.client("s3")
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda i: s3.put_object(Bucket=out["UploadsBucket"], Key=f"m/{i:04d}.mp4",
                                                  Body=b"MEDIA1" + bytes(500)), range(300)))
        pid = sb.embedded.instance().pid
        stopped = sb.down()
        log = sb.embedded.log_file.read_text(errors="replace")
        assert stopped["forced"] is False, (
            "LocalStack did not stop on SIGTERM within 20 s and was killed; the end of its log, then its threads "
            "(sandbox/localstack_ext/thread_dump.py):\n" + _log_around_the_thread_dump(log))
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        assert stopped["leftovers"] == []
    finally:
        sb.down()
        shutil.rmtree(state, ignore_errors=True)




# --- lambda_starting_environments: an environment still starting is stopped with its function ------------------
HANGING_INIT = "import time\ntime.sleep(120)  # an init that never ends\ndef handler(event, context):\n    return 1\n"


def _starting_processes(sb, fn: str) -> list:
    return [r for r in sb.embedded.registry.alive() if r.kind == "lambda" and r.label.startswith(f"{fn}/")]


@pytest.mark.live
def test_down_during_a_hanging_init_stops_without_being_forced():
    """LocalStack stopped only the environments that had finished starting: the Invoke waiting for a starting one's
    ready call held a gateway thread that its stopped server never released, and `down` always waited its 20 s and
    killed LocalStack (sandbox/localstack_ext/patches/lambda_starting_environments.py)."""
    import tempfile

    from conftest import create_function, wait_for
    from sandbox import Sandbox, Settings
    from sandbox.embedded import free_port

    state = tempfile.mkdtemp(prefix="sandbox-init-down-", dir="/var/tmp" if os.path.isdir("/var/tmp") else None)
    sb = Sandbox(Settings(state_dir=state, port=free_port(), endpoint=None))
    sb.up(timeout=120)
    try:
        fn = create_function(sb, HANGING_INIT, timeout=60)
        sb.client("lambda").invoke(FunctionName=fn, InvocationType="Event", Payload=b"{}")
        started = wait_for(lambda: _starting_processes(sb, fn), message="the environment's process")
        stopped = sb.down()
        log = sb.embedded.log_file.read_text(errors="replace")
        assert stopped["forced"] is False, (
            "LocalStack did not stop within 20 s and was killed; its threads:\n" + _log_around_the_thread_dump(log))
        assert not any(r.is_alive() for r in started) and stopped["leftovers"] == []
    finally:
        sb.down()
        shutil.rmtree(state, ignore_errors=True)


@pytest.mark.live
def test_deleting_a_function_stops_its_environment_that_is_still_starting(sb):
    """The same gap, while running: a function deleted during a hanging init kept its process (and an Invoke
    waiting for it) until the 20 s startup timeout."""
    from conftest import create_function, wait_for

    fn = create_function(sb, HANGING_INIT, timeout=60)
    sb.client("lambda").invoke(FunctionName=fn, InvocationType="Event", Payload=b"{}")
    started = wait_for(lambda: _starting_processes(sb, fn), message="the environment's process")
    sb.client("lambda").delete_function(FunctionName=fn)
    wait_for(lambda: not any(r.is_alive() for r in started), timeout=8,
             message="the starting environment's process to stop after its function was deleted")


@pytest.mark.live
def test_sigusr2_writes_localstack_threads_into_its_log_and_it_keeps_running(sb):
    """The first signal a forced `down` sends before its kill (sandbox/localstack_ext/thread_dump.py): LocalStack's
    own threads must be in the dump (the gateway's serving thread), and a running sandbox must survive it, ten times
    (faulthandler's dump, which it once also wrote, crashed a LocalStack about one time in four)."""
    import signal
    import time

    for _ in range(10):
        before = sb.embedded.log_file.stat().st_size
        os.kill(sb.embedded.instance().pid, signal.SIGUSR2)
        deadline, dump = time.monotonic() + 10, ""
        while '"MainThread"' not in dump and time.monotonic() < deadline:
            time.sleep(0.1)
            with open(sb.embedded.log_file, "rb") as f:
                f.seek(before)
                dump = f.read().decode(errors="replace")
        # faulthandler's dump (SIGUSR1 now) reads running threads' frames and may crash a busy process
        assert "(most recent call first)" not in dump, dump[-5000:]
        named = dump.partition("--- every thread of LocalStack, with its name")[2]
        main = named.partition('"MainThread"')[2].split("\nThread 0x")[0]
        if os.environ.get("SANDBOX_HTTP_SERVER") == "twisted":  # the main thread runs the gateway's server
            assert "twisted" in main and "reactor" in main.lower(), named[-5000:]
        else:
            assert "serve_forever" in main and "http_server" in main, named[-5000:]
        assert sb.client("sqs").list_queues().get("QueueUrls", []) == []  # still answers


# --- speed: moto_action_lookup, gateway_internal_routes, the server's form parsing, moto fast copies -------------
def test_the_request_path_shortcuts_change_no_answer(sb, helpers):
    """What the speed patches skip: internal routes are still found (and an unknown one is a 404), a form-encoded
    POST (SNS's query protocol, which twisted no longer parses into args) and a multipart one still arrive whole,
    and moto's DynamoDB still finds its handlers and updates nested items."""
    import requests

    base = f"http://127.0.0.1:{sb.settings.port}"
    http = requests.Session()
    http.trust_env = False
    assert http.get(f"{base}/_localstack/health", timeout=10).json()["services"]
    assert http.get(f"{base}/_localstack/no-such-resource", timeout=10).status_code == 404

    sns = sb.client("sns")
    name = helpers.unique("topic")
    arn = sns.create_topic(Name=name, Attributes={"DisplayName": "a & b = c"})["TopicArn"]
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["DisplayName"] == "a & b = c"

    s3 = sb.client("s3")
    bucket = helpers.unique("bucket")
    s3.create_bucket(Bucket=bucket)
    post = s3.generate_presigned_post(bucket, "form/${filename}")
    body = b"--x\r\n" * 3 + b"payload"
    answer = http.post(post["url"], data=post["fields"], files={"file": ("up.bin", body)}, timeout=10)
    assert answer.status_code in (200, 204), answer.text
    assert s3.get_object(Bucket=bucket, Key="form/up.bin")["Body"].read() == body

    # moto's copies go through sandbox/dynamodb_moto/fast_copy.py, its update expressions through fast_expressions.py
    # (the second update below reuses the tree the first one parsed; both installed by the provider)
    ddb = sb.client("dynamodb")
    table = helpers.unique("table")
    ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    ddb.put_item(TableName=table, Item={"pk": {"S": "k"}, "meta": {"M": {"tries": {"L": [{"N": "1"}]}}}})
    for _ in range(2):
        ddb.update_item(TableName=table, Key={"pk": {"S": "k"}},
                        UpdateExpression="SET meta.tries = list_append(meta.tries, :t) ADD n :one",
                        ExpressionAttributeValues={":t": {"L": [{"N": "2"}]}, ":one": {"N": "1"}})
    item = ddb.get_item(TableName=table, Key={"pk": {"S": "k"}})["Item"]
    assert item["meta"]["M"]["tries"]["L"] == [{"N": "1"}, {"N": "2"}, {"N": "2"}] and item["n"] == {"N": "2"}


# --- lambda_log_shipping: a function's log lines reach CloudWatch Logs through the gateway in process ---------------
def test_log_shipping_in_process_meets_logs_faults_and_stays_in_the_execution_trace(sb, helpers):
    """The shipping no longer goes through botocore and HTTP, but still through LocalStack's handler chain: a fault
    rule on CloudWatch Logs fails it (those lines are lost, as when Lambda cannot ship them), the recorder shows the
    PutLogEvents as the execution's child attributed to the function, and the lines arrive once the fault is gone."""
    code = "def handler(event, context):\n    print('line', event['n'])\n    return event['n']\n"
    fn = helpers.create_function(sb, code)
    lam = sb.client("lambda")
    lam.invoke(FunctionName=fn, Payload=b'{"n": 0}')  # group and stream made, outside the fault
    helpers.wait_for(lambda: "line 0" in helpers.log_text(sb, fn), 20, message="the first invocation's lines")
    # AccessDenied: not one of the codes botocore retries (nor does the shipping), so the test waits for nothing
    sb.faults.add({"service": "logs", "operation": "PutLogEvents",
                   "error": {"statusCode": 403, "code": "AccessDeniedException"}})
    lam.invoke(FunctionName=fn, Payload=b'{"n": 1}')
    helpers.wait_for(lambda: sb.faults.status()["faults"][0]["hits"] >= 1, 20, message="the shipping to be faulted")
    time.sleep(0.5)
    assert sb.faults.status()["faults"][0]["hits"] == 1, "tried once: a 403 is not retried"
    sb.faults.clear()
    lam.invoke(FunctionName=fn, Payload=b'{"n": 2}')
    helpers.wait_for(lambda: "line 2" in helpers.log_text(sb, fn), 20, message="the lines after the fault")
    assert "line 1" not in helpers.log_text(sb, fn), "the faulted invocation's lines were not shipped"

    def shipped():
        spans = sb.events(all=True, service="logs", limit=1000)["events"]
        puts = [s for s in spans if s["operation"] == "PutLogEvents" and s["resource_name"] == f"/aws/lambda/{fn}"]
        return puts if sum(s["status"] == 200 for s in puts) >= 2 else None

    puts = helpers.wait_for(shipped, 20, message="the PutLogEvents spans of the two shipped invocations")
    faulted = [s for s in puts if s["status"] == 403]
    assert len(faulted) == 1 and faulted[0]["error"]["code"] == "AccessDeniedException"
    assert faulted[0]["injected"], "the recorder shows the fault rule that failed it"
    executions = {s["span_id"] for s in sb.events(all=True, service="lambda", limit=1000)["events"]
                  if s["kind"] == "hop"}
    for put in puts:
        assert put["parent_id"] in executions, "each shipping is its execution's child"
        assert put["caller"]["name"] == "lambda" and put["caller"]["source_arn"].endswith(f":function:{fn}")


def test_the_request_census_is_off_by_default_and_says_how_to_turn_it_on(sb):
    """`/_sandbox/census` (sandbox/localstack_ext/request_census.py) counts only when asked: a sandbox started
    without SANDBOX_REQUEST_CENSUS=1 wraps nothing and tells a bench how to get the numbers."""
    resp = sb.http.get(f"{sb.endpoint}/_sandbox/census", timeout=10)
    assert resp.status_code == 404 and "SANDBOX_REQUEST_CENSUS=1" in resp.json()["error"]


def test_start_up_objects_are_frozen_out_of_the_cycle_collector_after_the_warm_up(sb):
    """sandbox/localstack_ext/gc_tuning.py: LocalStack's start-up objects (hundreds of thousands) leave the full
    collections once the warm-up is done."""
    deadline = time.time() + 90
    while time.time() < deadline:
        found = re.search(r"Froze (\d+) start-up objects", sb.embedded.log_file.read_text(errors="replace"))
        if found:
            break
        time.sleep(0.5)
    assert found, "the warm-up did not freeze the start-up objects (no 'Froze ... start-up objects' in the log)"
    assert int(found.group(1)) > 100_000
    # the first reset after the freeze collects and freezes again (this one, or one between earlier tests)
    sb.reset()
    again = re.search(r"Froze (\d+) objects again after the first reset", sb.embedded.log_file.read_text(errors="replace"))
    assert again and int(again.group(1)) > 100_000


def test_every_patch_whose_target_is_loaded_was_applied(sb):
    """A patch that fails to apply is logged and skipped (sandbox/localstack_ext/lazy.py): none may be, among those
    whose target LocalStack has imported by the time a request went through the whole handler chain (twisted's
    HTTP server, LocalStack's request log...)."""
    assert sb.client("sqs").list_queues().get("QueueUrls", []) == []
    log = sb.embedded.log_file.read_text(errors="replace")
    assert "could not be applied" not in log, log[max(0, log.find("could not be applied") - 2000):][:4000]


# --- cfn_update_rollback: a failed stack update is rolled back -----------------------------------------------------


def test_a_failed_update_of_a_plain_cloudformation_stack_is_rolled_back(sb, helpers):
    """UpdateStack straight through the API (no sandbox deploy): LocalStack ended a failed update in UPDATE_COMPLETE
    with the stack's outputs gone, and the next update failed; now UPDATE_ROLLBACK_COMPLETE, as it was."""
    cfn, name = sb.client("cloudformation"), helpers.unique("plain")
    before = {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}, "Outputs": {"QU": {"Value": {"Ref": "Q"}}}}
    failing = json.loads(json.dumps(before))
    failing["Resources"]["Bad"] = {"Type": "AWS::DynamoDB::Table", "Properties": {
        "BillingMode": "PAY_PER_REQUEST", "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "nothere", "KeyType": "HASH"}]}}

    def settled() -> dict:
        return helpers.wait_for(lambda: (st := cfn.describe_stacks(StackName=name)["Stacks"][0])
                                and not st["StackStatus"].endswith("IN_PROGRESS") and st, message="the stack to settle")

    cfn.create_stack(StackName=name, TemplateBody=json.dumps(before))
    outputs = settled()["Outputs"]
    cfn.update_stack(StackName=name, TemplateBody=json.dumps(failing))
    stack = settled()
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE" and stack["Outputs"] == outputs
    events = [e["ResourceStatus"] for e in cfn.describe_stack_events(StackName=name)["StackEvents"]
              if e["LogicalResourceId"] == name]
    assert "UPDATE_ROLLBACK_IN_PROGRESS" in events
    grown = json.loads(json.dumps(before))
    grown["Resources"]["Q2"] = {"Type": "AWS::SQS::Queue"}
    cfn.update_stack(StackName=name, TemplateBody=json.dumps(grown))
    assert settled()["StackStatus"] == "UPDATE_COMPLETE"
    assert len(sb.client("sqs").list_queues()["QueueUrls"]) == 2


def test_destroy_after_an_update_removes_what_the_update_added(sb, tmp_path):
    """cfn_update_rollback: a successful UpdateStack kept the processed template of the stack's creation, and DeleteStack
    deletes what that one names: a function and a queue an update had added outlived `sandbox destroy`."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def handler(event, context):\n    return {'ok': True}\n")
    fn = "  {name}:\n    Type: AWS::Serverless::Function\n    Properties: {{Runtime: python3.12, Handler: app.handler, CodeUri: src/}}\n"
    head = "Transform: AWS::Serverless-2016-10-31\nResources:\n"
    path = tmp_path / "template.yaml"
    path.write_text(head + fn.format(name="FirstFunction"))
    sb.deploy(str(path), stack_name="grows")
    path.write_text(head + fn.format(name="FirstFunction") + fn.format(name="SecondFunction")
                    + "  ExtraQueue:\n    Type: AWS::SQS::Queue\n")
    sb.deploy(str(path), stack_name="grows")
    lam, sqs = sb.client("lambda"), sb.client("sqs")
    assert len(lam.list_functions()["Functions"]) == 2 and len(sqs.list_queues()["QueueUrls"]) == 1
    sb.destroy("grows")
    assert lam.list_functions()["Functions"] == []
    assert sqs.list_queues().get("QueueUrls", []) == []
    assert not [r for r in sb.client("iam").list_roles()["Roles"] if r["RoleName"].startswith("grows-")]


UPDATED_APP = """Transform: AWS::Serverless-2016-10-31
Parameters:
  Suffix: {Type: String}
  DetailType: {Type: String}
  Auth: {Type: String}
  Retries: {Type: String}
  TtlOn: {Type: String}
Resources:
  Uploads:
    Type: AWS::S3::Bucket
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.13
      Handler: index.handler
      InlineCode: "def handler(event, context):\\n    return 'ok'\\n"
      FunctionUrlConfig: {AuthType: !Ref Auth}
      EventInvokeConfig: {MaximumRetryAttempts: !Ref Retries}
      Events:
        Upload:
          Type: S3
          Properties:
            Bucket: !Ref Uploads
            Events: s3:ObjectCreated:*
            Filter: {S3Key: {Rules: [{Name: suffix, Value: !Ref Suffix}]}}
        Placed:
          Type: EventBridgeRule
          Properties: {Pattern: {detail-type: [!Ref DetailType]}}
  Machine:
    Type: AWS::Serverless::StateMachine
    Properties:
      Definition: {StartAt: Done, States: {Done: {Type: Pass, Result: !Ref DetailType, End: true}}}
      Policies: []
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      TimeToLiveSpecification: {AttributeName: expires, Enabled: !Ref TtlOn}
Outputs:
  Bucket: {Value: !Ref Uploads}
  Function: {Value: !Ref Fn}
  MachineName: {Value: !GetAtt Machine.Name}
"""


def test_a_stack_update_applies_what_sam_apps_change_and_reports_what_it_cannot(sb, tmp_path):
    """cfn_updates_in_place: LocalStack said UPDATE_COMPLETE and kept an S3 event's filter, a rule's pattern, a function
    URL's AuthType (NONE kept answering unsigned calls), an EventInvokeConfig's retries and a table's TTL; a state
    machine's Name read "unknown" after the update."""
    (tmp_path / "template.yaml").write_text(UPDATED_APP)
    first = {"Suffix": ".csv", "DetailType": "OrderPlaced", "Auth": "NONE", "Retries": "0", "TtlOn": "false"}
    before = sb.deploy(str(tmp_path / "template.yaml"), stack_name="in-place", parameters=first)
    assert before.warnings == []
    after = sb.deploy(str(tmp_path / "template.yaml"), stack_name="in-place", parameters={
        "Suffix": ".json", "DetailType": "OrderCreated", "Auth": "AWS_IAM", "Retries": "2", "TtlOn": "true"})
    s3, lam, events = sb.client("s3"), sb.client("lambda"), sb.client("events")
    fn = after.outputs["Function"]
    [config] = s3.get_bucket_notification_configuration(Bucket=after.outputs["Bucket"])["LambdaFunctionConfigurations"]
    assert config["Filter"]["Key"]["FilterRules"] == [{"Name": "Suffix", "Value": ".json"}]
    [rule] = [r for r in events.list_rules()["Rules"] if "Placed" in r["Name"]]
    assert json.loads(rule["EventPattern"]) == {"detail-type": ["OrderCreated"]}
    assert [t["Arn"] for t in events.list_targets_by_rule(Rule=rule["Name"])["Targets"]] == \
        [lam.get_function(FunctionName=fn)["Configuration"]["FunctionArn"]]
    assert lam.get_function_url_config(FunctionName=fn)["AuthType"] == "AWS_IAM"
    assert lam.get_function_event_invoke_config(FunctionName=fn)["MaximumRetryAttempts"] == 2
    assert after.outputs["MachineName"] == before.outputs["MachineName"] != "unknown"
    assert after.warnings == []
    table = sb.client("cloudformation").describe_stack_resource(StackName="in-place", LogicalResourceId="Table")[
        "StackResourceDetail"]["PhysicalResourceId"]
    assert sb.client("dynamodb").describe_time_to_live(TableName=table)["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}


def test_a_number_parameter_goes_where_a_resource_wants_a_string(sb, tmp_path):
    """cfn_property_types: LocalStack resolved `!Ref` of a Number parameter to an int, so a tag value or a state
    machine's DefinitionSubstitutions failed the stack; where an int is wanted (MemorySize) it stays one."""
    (tmp_path / "template.yaml").write_text("""Transform: AWS::Serverless-2016-10-31
Parameters:
  Threshold: {Type: Number, Default: 100}
  Memory: {Type: Number, Default: 256}
Resources:
  Jobs:
    Type: AWS::SQS::Queue
    Properties: {Tags: [{Key: threshold, Value: !Ref Threshold}]}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.13
      Handler: index.handler
      InlineCode: "def handler(event, context):\\n    return 1\\n"
      MemorySize: !Ref Memory
      Tags: {threshold: !Ref Threshold}
  Machine:
    Type: AWS::Serverless::StateMachine
    Properties:
      Definition: {StartAt: Done, States: {Done: {Type: Pass, Result: {limit: '${Limit}'}, End: true}}}
      DefinitionSubstitutions: {Limit: !Ref Threshold}
      Policies: []
Outputs:
  Queue: {Value: !Ref Jobs}
  Function: {Value: !Ref Fn}
  Machine: {Value: !Ref Machine}
""")
    out = sb.deploy(str(tmp_path / "template.yaml"), stack_name="number-params").outputs
    assert sb.client("sqs").list_queue_tags(QueueUrl=out["Queue"])["Tags"] == {"threshold": "100"}
    fn = sb.client("lambda").get_function(FunctionName=out["Function"])
    assert fn["Tags"]["threshold"] == "100" and fn["Configuration"]["MemorySize"] == 256
    definition = json.loads(sb.client("stepfunctions").describe_state_machine(stateMachineArn=out["Machine"])["definition"])
    assert definition["States"]["Done"]["Result"] == {"limit": "100"}


def test_a_function_url_names_a_host_that_reaches_the_sandbox(sb, helpers):
    """lambda_function_url_host: LocalStack answered `http://<id>.lambda-url.<region>.127.0.0.1:<port>/`, which no
    resolver knows; `<id>.lambda-url.<region>.localhost` is loopback for curl and browsers, and its Host reaches the
    function."""
    from urllib.parse import urlsplit

    import requests

    lam = sb.client("lambda")
    fn = helpers.create_function(sb, "def handler(event, context):\n    return {'statusCode': 200, 'body': 'hi'}\n")
    url = lam.create_function_url_config(FunctionName=fn, AuthType="NONE")["FunctionUrl"]
    assert lam.get_function_url_config(FunctionName=fn)["FunctionUrl"] == url
    parts = urlsplit(url)
    assert parts.hostname.endswith(".lambda-url.us-east-1.localhost"), url
    assert parts.port == int(sb.endpoint.rsplit(":", 1)[1])
    # Python's resolver does not know *.localhost names (curl and browsers do): the URL's Host, sent to loopback
    answer = requests.get(f"http://127.0.0.1:{parts.port}/", headers={"Host": parts.netloc}, timeout=30)
    assert (answer.status_code, answer.text) == (200, "hi")


COOKIE_ECHO = """import json
def handler(event, context):
    return {"statusCode": 200, "cookies": ["session=abc; Path=/", "theme=dark"],
            "body": json.dumps({"rawPath": event["rawPath"], "cookies": event.get("cookies"),
                                "query": event.get("queryStringParameters", "absent"),
                                "cookie_header": event["headers"].get("cookie")})}
"""


def test_a_function_url_event_and_answer_are_payload_2_0(sb, helpers):
    """lambda_function_url_payload: rawPath came decoded, cookies never reached the event nor the answer, an empty
    query string gave `{}`, the trace header answered was a random id, an unknown URL said {"Message":null}."""
    from urllib.parse import urlsplit

    import requests

    lam = sb.client("lambda")
    fn = helpers.create_function(sb, COOKIE_ECHO)
    url = urlsplit(lam.create_function_url_config(FunctionName=fn, AuthType="NONE")["FunctionUrl"])
    base = f"http://127.0.0.1:{url.port}"
    root = f"1-67891233-{secrets.token_hex(12)}"
    answer = requests.get(f"{base}/caf%C3%A9/a%20b", timeout=30, headers={
        "Host": url.netloc, "Cookie": "a=1; b=2", "X-Amzn-Trace-Id": f"Root={root}"})
    assert answer.status_code == 200
    assert answer.json() == {"rawPath": "/caf%C3%A9/a%20b", "cookies": ["a=1", "b=2"], "query": "absent",
                             "cookie_header": None}
    assert answer.raw.headers.getlist("Set-Cookie") == ["session=abc; Path=/", "theme=dark"]
    assert answer.headers["x-amzn-trace-id"].startswith(f"Root={root}")
    assert requests.get(f"{base}/?x=1&x=2", headers={"Host": url.netloc}, timeout=30).json()["query"] == {"x": "1,2"}
    unknown = requests.get(f"{base}/", headers={"Host": f"nosuchurl0.lambda-url.us-east-1.localhost:{url.port}"},
                           timeout=30)
    assert (unknown.status_code, unknown.json()) == (403, {"Message": "Forbidden"})


def test_an_sqs_batching_window_gathers_the_messages_of_the_window_into_one_batch(sb, helpers):
    """sqs_batching_window: LocalStack long-polled with the window and answered at the first message, so four messages
    sent 0.2 s apart under a 2 s window reached the function as four batches of one (AWS: one of four)."""
    sqs, lam, logs = sb.client("sqs"), sb.client("lambda"), sb.client("logs")
    url = sqs.create_queue(QueueName=helpers.unique("window"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    fn = helpers.create_function(sb, "def handler(event, context):\n    print('BATCH', len(event['Records']))\n")
    mapping = lam.create_event_source_mapping(FunctionName=fn, EventSourceArn=arn, BatchSize=10,
                                              MaximumBatchingWindowInSeconds=2)["UUID"]
    helpers.wait_for(lambda: lam.get_event_source_mapping(UUID=mapping)["State"] == "Enabled", message="the mapping")
    time.sleep(1.5)  # at any point of its polls: the window counts from the first message received
    for i in range(4):
        sqs.send_message(QueueUrl=url, MessageBody=str(i))
        time.sleep(0.2)

    def batches():
        try:
            found = logs.filter_log_events(logGroupName=f"/aws/lambda/{fn}", filterPattern="BATCH")["events"]
        except ClientError:
            return None
        sizes = [int(e["message"].split()[1]) for e in found]
        return sizes if sum(sizes) == 4 else None

    assert helpers.wait_for(batches, timeout=30, message="the four messages delivered") == [4]


def test_a_function_url_with_aws_iam_refuses_an_unsigned_call_and_answers_a_signed_one(sb, helpers):
    """lambda_function_url_payload: LocalStack's URL router never looked at AuthType: with AWS_IAM an unsigned curl
    ran the function (AWS: 403 Forbidden)."""
    from urllib.parse import urlsplit

    import requests
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    lam = sb.client("lambda")
    fn = helpers.create_function(sb, "def handler(event, context):\n    return {'statusCode': 200, 'body': 'ran'}\n")
    url = urlsplit(lam.create_function_url_config(FunctionName=fn, AuthType="AWS_IAM")["FunctionUrl"])
    target = f"http://127.0.0.1:{url.port}/report"
    unsigned = requests.get(target, headers={"Host": url.netloc}, timeout=30)
    assert (unsigned.status_code, unsigned.text) == (403, '{"Message":"Forbidden"}')
    signed = AWSRequest("GET", f"http://{url.netloc}/report", headers={"Host": url.netloc})
    SigV4Auth(Credentials("test", "test"), "lambda", "us-east-1").add_auth(signed)
    answer = requests.get(target, headers=dict(signed.headers.items()), timeout=30)
    assert (answer.status_code, answer.text) == (200, "ran")
    lam.update_function_url_config(FunctionName=fn, AuthType="NONE")
    assert requests.get(target, headers={"Host": url.netloc}, timeout=30).text == "ran"


BUCKET_APP = """Parameters:
  Team: {Type: String}
  Days: {Type: Number}
Resources:
  Events:
    Type: AWS::SQS::Queue
  Uploads:
    Type: AWS::S3::Bucket
    Properties:
      Tags: [{Key: team, Value: !Ref Team}]
      LifecycleConfiguration: {Rules: [{Status: Enabled, ExpirationInDays: !Ref Days}]}
      NotificationConfiguration:
        QueueConfigurations: [{Event: "s3:ObjectCreated:*", Queue: !GetAtt Events.Arn}]
Outputs:
  Bucket: {Value: !Ref Uploads}
  Queue: {Value: !Ref Events}
"""


def test_a_bucket_update_applies_what_changed_only_and_reports_what_it_cannot(sb, tmp_path):
    """cfn_updates_in_place: re-running the bucket's create on every update sent S3's s3:TestEvent to its queues again
    (a handler expecting Records failed on it, into the DLQ); a lifecycle change (LocalStack's create ignores it) was
    silently not applied."""
    (tmp_path / "template.yaml").write_text(BUCKET_APP)
    out = sb.deploy(str(tmp_path / "template.yaml"), stack_name="bucket-update",
                    parameters={"Team": "red", "Days": "3"}).outputs
    after = sb.deploy(str(tmp_path / "template.yaml"), stack_name="bucket-update",
                      parameters={"Team": "blue", "Days": "30"})
    s3, sqs = sb.client("s3"), sb.client("sqs")
    assert s3.get_bucket_tagging(Bucket=out["Bucket"])["TagSet"] == [{"Key": "team", "Value": "blue"}]
    [warning] = after.warnings
    assert warning.startswith("Uploads (AWS::S3::Bucket)") and "LifecycleConfiguration is not applied" in warning
    bodies = [m["Body"] for m in sqs.receive_message(QueueUrl=out["Queue"], MaxNumberOfMessages=10,
                                                     WaitTimeSeconds=1).get("Messages", [])]
    assert sum("s3:TestEvent" in b for b in bodies) == 1, bodies  # the create's, not one more per update


def test_a_failed_create_leaves_the_resource_it_clashed_with_and_its_data(sb, tmp_path, helpers):
    """cfn_delete_spares_foreign: a stack naming an existing table failed ("Table already exists") and its clean-up
    deleted that table, data and all: LocalStack's DeleteStack removed every resource of the template by name."""
    ddb = sb.client("dynamodb")
    name = helpers.unique("shared-orders")
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    ddb.put_item(TableName=name, Item={"pk": {"S": "precious"}})
    (tmp_path / "template.yaml").write_text(f"""Resources:
  Jobs: {{Type: AWS::SQS::Queue}}
  Orders:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: {name}
      BillingMode: PAY_PER_REQUEST
      KeySchema: [{{AttributeName: pk, KeyType: HASH}}]
      AttributeDefinitions: [{{AttributeName: pk, AttributeType: S}}]
""")
    with pytest.raises(Exception, match="already exists"):
        sb.deploy(str(tmp_path / "template.yaml"), stack_name="clash")
    assert ddb.get_item(TableName=name, Key={"pk": {"S": "precious"}})["Item"] == {"pk": {"S": "precious"}}
    assert "clash" not in {s["name"] for s in sb.stacks()}
    assert [u for u in sb.client("sqs").list_queues().get("QueueUrls", []) if "clash-Jobs" in u] == []


# --- cfn_condition_switches: a Condition switched off deletes its resources, switched on creates them again -------
CONDITIONAL_TEMPLATE = """Parameters:
  WithArchive: {Type: String, Default: "yes", AllowedValues: ["yes", "no"]}
Conditions:
  Archive: !Equals [!Ref WithArchive, "yes"]
Resources:
  Jobs: {Type: AWS::SQS::Queue}
  ArchiveQueue: {Type: AWS::SQS::Queue, Condition: Archive}
Outputs:
  ArchiveUrl: {Condition: Archive, Value: !Ref ArchiveQueue}
"""
# the queue reads the ARN of a role under the same condition, as a conditional SAM function reads its role's
READS_A_CONDITIONAL_ROLE = CONDITIONAL_TEMPLATE.replace("""  ArchiveQueue: {Type: AWS::SQS::Queue, Condition: Archive}
""", """  ArchiveRole:
    Type: AWS::IAM::Role
    Condition: Archive
    Properties:
      AssumeRolePolicyDocument:
        Version: 2012-10-17
        Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}]
  ArchiveQueue:
    Type: AWS::SQS::Queue
    Condition: Archive
    Properties:
      Tags: [{Key: role, Value: !GetAtt ArchiveRole.Arn}]
""")


def _conditional_stack(sb, tmp_path, helpers, template: str):
    """(stack, deploy(WithArchive), the stack's queues by logical id, its resources' logical ids)."""
    sqs, cfn = sb.client("sqs"), sb.client("cloudformation")
    stack = helpers.unique("cond")
    (tmp_path / "template.yaml").write_text(template)

    def deploy(archive: str):
        sb.deploy(str(tmp_path / "template.yaml"), stack_name=stack, parameters={"WithArchive": archive})

    def queues():
        return sorted(u.rsplit("/", 1)[1].split("-")[2] for u in sqs.list_queues(QueueNamePrefix=stack)
                      .get("QueueUrls", []))

    def resources():
        return sorted(r["LogicalResourceId"] for r in cfn.describe_stack_resources(StackName=stack)["StackResources"])

    return stack, deploy, queues, resources


def test_a_resource_whose_condition_turns_false_is_deleted_and_destroy_leaves_nothing(sb, tmp_path, helpers):
    """The update to WithArchive=no said UPDATE_COMPLETE and left the queue running, listed in the stack; `destroy`
    then left it too (LocalStack skipped a resource whose condition is false now, before and after). Turned true
    again it is created anew; a resource false all along is never created."""
    stack, deploy, queues, resources = _conditional_stack(sb, tmp_path, helpers, CONDITIONAL_TEMPLATE)
    deploy("yes")
    assert queues() == ["ArchiveQueue", "Jobs"]
    deploy("no")
    assert queues() == ["Jobs"] and resources() == ["Jobs"]
    outputs = sb.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    assert "ArchiveUrl" not in {o["OutputKey"] for o in outputs}
    deploy("yes")
    assert queues() == ["ArchiveQueue", "Jobs"]
    sb.destroy(stack)
    assert queues() == []

    deploy("no")
    assert queues() == ["Jobs"]
    sb.destroy(stack)
    assert queues() == []


def test_turning_resources_that_read_each_other_off_and_on_again(sb, tmp_path, helpers):
    """A conditional queue reads a conditional role's ARN (as a conditional SAM function reads its role's): the
    update to false deletes both without resolving `!GetAtt ArchiveRole.Arn` of a role that is going ("Unresolved
    resource dependencies [ArchiveRole]"), and turning it back on creates both again, the queue with the new role's
    ARN (LocalStack refused that update: the "before" of a GetAtt of a resource that did not exist)."""
    stack, deploy, queues, resources = _conditional_stack(sb, tmp_path, helpers, READS_A_CONDITIONAL_ROLE)
    deploy("yes")
    assert resources() == ["ArchiveQueue", "ArchiveRole", "Jobs"]
    deploy("no")
    assert queues() == ["Jobs"] and resources() == ["Jobs"]
    assert not [r for r in sb.client("iam").list_roles()["Roles"] if r["RoleName"].startswith(f"{stack}-ArchiveRole")]
    deploy("yes")  # back on: LocalStack refused it ("Unresolved resource dependencies [ArchiveRole]")
    assert resources() == ["ArchiveQueue", "ArchiveRole", "Jobs"]
    role = [r["Arn"] for r in sb.client("iam").list_roles()["Roles"]
            if r["RoleName"].startswith(f"{stack}-ArchiveRole")]
    url = [u for u in sb.client("sqs").list_queues(QueueNamePrefix=stack)["QueueUrls"] if "ArchiveQueue" in u]
    assert sb.client("sqs").list_queue_tags(QueueUrl=url[0])["Tags"] == {"role": role[0]}
    sb.destroy(stack)
    assert queues() == []


SAM_CONDITIONAL_FUNCTION = """Transform: AWS::Serverless-2016-10-31
Parameters:
  Nightly: {Type: String, Default: "on", AllowedValues: ["on", "off"]}
Conditions:
  NightlyOn: !Equals [!Ref Nightly, "on"]
Globals:
  Function: {Runtime: python3.13, Timeout: 5}
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Condition: NightlyOn
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
  NightlyFunction:
    Type: AWS::Serverless::Function
    Condition: NightlyOn
    Properties:
      InlineCode: "def handler(event, context):\\n    return 'ok'\\n"
      Handler: index.handler
      Environment: {Variables: {TABLE: !Ref Table}}
      Policies: [{DynamoDBCrudPolicy: {TableName: !Ref Table}}]
      Events:
        Nightly: {Type: Schedule, Properties: {Schedule: rate(1 day)}}
  Api:
    Type: AWS::Serverless::Function
    Properties:
      InlineCode: "def handler(event, context):\\n    return 'ok'\\n"
      Handler: index.handler
Outputs:
  NightlyArn: {Condition: NightlyOn, Value: !GetAtt NightlyFunction.Arn}
"""


def test_a_conditional_sam_function_switched_off_on_and_off_again(sb, tmp_path, helpers):
    """A SAM function under a Condition, with its role, schedule rule, permission, table and policy template: off
    deletes them all, on creates them again (LocalStack refused it: "Unresolved resource dependencies [tableName]",
    the policy template's `!Sub` of the table, then [NightlyFunction], the output's `!GetAtt`), and destroy leaves
    nothing."""
    stack = helpers.unique("nightly")
    (tmp_path / "template.yaml").write_text(SAM_CONDITIONAL_FUNCTION)
    lam, ddb, events, iam = (sb.client(s) for s in ("lambda", "dynamodb", "events", "iam"))

    def deploy(nightly: str):
        return sb.deploy(str(tmp_path / "template.yaml"), stack_name=stack, parameters={"Nightly": nightly})

    def left():
        return sorted([f["FunctionName"].split("-")[2] for f in lam.list_functions()["Functions"]
                       if f["FunctionName"].startswith(stack)]
                      + [t.split("-")[2] for t in ddb.list_tables()["TableNames"] if t.startswith(stack)]
                      + [r["Name"].split("-")[2] for r in events.list_rules(NamePrefix=stack)["Rules"]]
                      + [r["RoleName"].split("-")[2] for r in iam.list_roles()["Roles"]
                         if r["RoleName"].startswith(stack)])

    everything = ["Api", "ApiRole", "NightlyFunction", "NightlyFunctionNightly", "NightlyFunctionRole", "Table"]
    deploy("on")
    assert left() == everything
    deploy("off")
    assert left() == ["Api", "ApiRole"]
    # removed in dependency order, what uses a resource before it (the role went first: template order reversed)
    history = sb.client("cloudformation").describe_stack_events(StackName=stack)["StackEvents"][::-1]
    deleted = [e["LogicalResourceId"] for e in history if e["ResourceStatus"] == "DELETE_COMPLETE"]
    assert deleted.index("NightlyFunction") < deleted.index("NightlyFunctionRole"), deleted
    assert deleted.index("NightlyFunction") < deleted.index("Table"), deleted
    assert deleted.index("NightlyFunctionNightly") < deleted.index("NightlyFunction"), deleted
    result = deploy("on")
    assert left() == everything
    assert result.outputs["NightlyArn"] in {f["FunctionArn"] for f in lam.list_functions()["Functions"]}
    deploy("off")
    sb.destroy(stack)
    assert left() == []


IF_READS_A_CONDITIONAL_TABLE = """Transform: AWS::Serverless-2016-10-31
Parameters:
  EnableTable: {Type: String, Default: "true", AllowedValues: ["true", "false"]}
Conditions:
  TableOn: !Equals [!Ref EnableTable, "true"]
Resources:
  ItemsTable:
    Type: AWS::Serverless::SimpleTable
    Condition: TableOn
  ApiFunction:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.13
      InlineCode: "def handler(event, context):\\n    return 'ok'\\n"
      Handler: index.handler
      Environment:
        Variables:
          TABLE_ARN: !If [TableOn, !GetAtt ItemsTable.Arn, !Ref AWS::NoValue]
      Policies:
        - !If [TableOn, {DynamoDBCrudPolicy: {TableName: !Ref ItemsTable}}, !Ref AWS::NoValue]
"""


def test_an_unconditional_function_reading_a_conditional_table_through_if_follows_the_switch(sb, tmp_path, helpers):
    """`!If [TableOn, !GetAtt ItemsTable.Arn, !Ref AWS::NoValue]` in an unconditional function's environment and a
    policy template under `!If`, as SAM's docs write them: LocalStack evaluated both sides of the branch it picked and
    refused the switch either way ("Unresolved resource dependencies [ItemsTable]", "[tableName]")."""
    stack = helpers.unique("iftable")
    (tmp_path / "template.yaml").write_text(IF_READS_A_CONDITIONAL_TABLE)
    lam, ddb = sb.client("lambda"), sb.client("dynamodb")

    def switch(on: str) -> dict:
        sb.deploy(str(tmp_path / "template.yaml"), stack_name=stack, parameters={"EnableTable": on})
        [fn] = [f["FunctionName"] for f in lam.list_functions()["Functions"] if f["FunctionName"].startswith(stack)]
        tables = [t for t in ddb.list_tables()["TableNames"] if t.startswith(stack)]
        return {"env": lam.get_function_configuration(FunctionName=fn).get("Environment", {}).get("Variables", {}),
                "tables": tables}

    on = switch("true")
    assert on["env"]["TABLE_ARN"].endswith(f"table/{on['tables'][0]}")
    assert switch("false") == {"env": {}, "tables": []}
    again = switch("true")
    assert len(again["tables"]) == 1 and again["env"]["TABLE_ARN"].endswith(f"table/{again['tables'][0]}")
    sb.destroy(stack)
    assert [t for t in ddb.list_tables()["TableNames"] if t.startswith(stack)] == []


REMOVED_PROPERTIES_APP = """AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Description: a function whose settings are dropped from its template on the second deploy
{globals}
Resources:
  Dlq:
    Type: AWS::SQS::Queue
  Shared:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: layer/
      CompatibleRuntimes: [python3.13]
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.13
{extra}
Outputs:
  Fn:
    Value: !Ref Fn
"""
REMOVED_PROPERTIES_GLOBALS = """Globals:
  Function:
    Timeout: 30
    MemorySize: 512
    Environment:
      Variables:
        STAGE: dev
"""
REMOVED_PROPERTIES_EXTRA = """      Description: resizes thumbnails
      EphemeralStorage: {Size: 1024}
      Layers: [!Ref Shared]
      DeadLetterQueue: {Type: SQS, TargetArn: !GetAtt Dlq.Arn}
      Tracing: Active
"""


def test_properties_removed_from_a_function_template_are_reset_to_their_defaults(sb, tmp_path):
    """cfn_removed_properties: LocalStack's update sent only the properties the template still had, and the
    function kept the others (a dropped Timeout: 30 stayed 30 s; AWS resets it to 3)."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(
        "import importlib.util, os\n"
        "def handler(event, context):\n"
        "    return {'stage': os.environ.get('STAGE'), 'memory': context.memory_limit_in_mb,\n"
        "            'remaining_ms': context.get_remaining_time_in_millis(),\n"
        "            'layer': importlib.util.find_spec('shared_helpers') is not None}\n")
    (tmp_path / "layer" / "python").mkdir(parents=True)
    (tmp_path / "layer" / "python" / "shared_helpers.py").write_text("X = 1\n")
    path = tmp_path / "template.yaml"
    path.write_text(REMOVED_PROPERTIES_APP.format(globals=REMOVED_PROPERTIES_GLOBALS, extra=REMOVED_PROPERTIES_EXTRA))
    fn = sb.deploy(str(path), stack_name="removed-properties").outputs["Fn"]
    lam = sb.client("lambda")

    def invoked() -> dict:
        return json.loads(lam.invoke(FunctionName=fn)["Payload"].read())

    before = invoked()
    assert before["stage"] == "dev" and before["memory"] == "512" and before["remaining_ms"] > 25_000
    assert before["layer"] is True
    config = lam.get_function_configuration(FunctionName=fn)
    assert config["EphemeralStorage"]["Size"] == 1024 and config["DeadLetterConfig"]["TargetArn"].startswith("arn:aws:sqs:")
    assert config["Description"] == "resizes thumbnails" and len(config["Layers"]) == 1

    path.write_text(REMOVED_PROPERTIES_APP.format(globals="", extra=""))
    sb.deploy(str(path), stack_name="removed-properties")
    config = lam.get_function_configuration(FunctionName=fn)
    assert config["Timeout"] == 3 and config["MemorySize"] == 128
    assert config.get("Description", "") == "" and config.get("Layers", []) == []
    assert config.get("Environment", {}).get("Variables", {}) == {}
    assert "TargetArn" not in config.get("DeadLetterConfig", {}) or not config["DeadLetterConfig"]["TargetArn"]
    assert config["EphemeralStorage"]["Size"] == 512 and config["TracingConfig"]["Mode"] == "PassThrough"
    after = invoked()
    assert after["stage"] is None and after["memory"] == "128" and after["remaining_ms"] <= 3_000
    assert after["layer"] is False


REMOVED_FILTERS_APP = """AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Seen:
    Type: AWS::Serverless::SimpleTable
  Orders:
    Type: AWS::SQS::Queue
  Others:
    Type: AWS::SQS::Queue
  Alerts:
    Type: AWS::SNS::Topic
  AlertCopies:
    Type: AWS::SQS::Queue
  AlertCopiesPolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref AlertCopies]
      PolicyDocument:
        Statement:
          - Effect: Allow
            Principal: {{Service: sns.amazonaws.com}}
            Action: sqs:SendMessage
            Resource: !GetAtt AlertCopies.Arn
  Copy:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Alerts
      Protocol: sqs
      Endpoint: !GetAtt AlertCopies.Arn
      RawMessageDelivery: true
{filter_policy}
  Recorder:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.13
      Handler: index.handler
      InlineCode: |
        import json, os, boto3
        table = boto3.resource("dynamodb").Table(os.environ["SEEN"])
        def handler(event, context):
            for record in event["Records"]:
                table.put_item(Item={{"id": json.loads(record["body"])["n"], "queue": record["eventSourceARN"]}})
            return {{"batchItemFailures": []}}
      Environment: {{Variables: {{SEEN: !Ref Seen}}}}
      Policies: [{{DynamoDBCrudPolicy: {{TableName: !Ref Seen}}}}]
      Events:
        Work:
          Type: SQS
          Properties:
            Queue: !GetAtt {queue}.Arn
{mapping_extra}
Outputs:
  Seen: {{Value: !Ref Seen}}
  Orders: {{Value: !Ref Orders}}
  Others: {{Value: !Ref Others}}
  Alerts: {{Value: !Ref Alerts}}
  AlertCopies: {{Value: !Ref AlertCopies}}
"""
REMOVED_FILTERS_MAPPING = """            FunctionResponseTypes: [ReportBatchItemFailures]
            FilterCriteria:
              Filters:
                - Pattern: '{"body": {"kind": ["order"]}}'
"""
REMOVED_FILTERS_POLICY = """      FilterPolicy: {severity: [high]}
"""


def test_filters_removed_from_a_template_stop_filtering_and_a_mapping_follows_its_new_queue(sb, tmp_path, helpers):
    """cfn_removed_properties: a dropped FilterCriteria kept filtering (the messages it filtered out were deleted
    unseen) and a dropped FilterPolicy too; a mapping moved to another queue is replaced (EventSourceArn is create-only)."""
    path = tmp_path / "template.yaml"

    def deploy(**parts) -> dict:
        values = {"filter_policy": "", "mapping_extra": "", "queue": "Orders", **parts}
        path.write_text(REMOVED_FILTERS_APP.format(**values))
        return sb.deploy(str(path), stack_name="removed-filters").outputs

    out = deploy(filter_policy=REMOVED_FILTERS_POLICY, mapping_extra=REMOVED_FILTERS_MAPPING)
    sqs, sns, ddb = sb.client("sqs"), sb.client("sns"), sb.client("dynamodb")

    def seen() -> dict[str, str]:
        items = ddb.scan(TableName=out["Seen"])["Items"]
        return {i["id"]["S"]: i["queue"]["S"].rsplit(":", 1)[-1] for i in items}

    def copies(wait: int) -> list[str]:
        got = sqs.receive_message(QueueUrl=out["AlertCopies"], WaitTimeSeconds=wait, MaxNumberOfMessages=10)
        return [m["Body"] for m in got.get("Messages", [])]

    def publish(body: str, severity: str) -> None:
        sns.publish(TopicArn=out["Alerts"], Message=body,
                    MessageAttributes={"severity": {"DataType": "String", "StringValue": severity}})

    sqs.send_message(QueueUrl=out["Orders"], MessageBody='{"n": "1", "kind": "order"}')
    sqs.send_message(QueueUrl=out["Orders"], MessageBody='{"n": "2", "kind": "other"}')
    helpers.wait_for(lambda: "1" in seen(), message="the order")
    publish("a", "low")
    publish("b", "high")
    assert copies(wait=3) == ["b"]
    assert "2" not in seen()  # filtered out, as on AWS

    orders_queue = seen()["1"]
    deploy()  # the filters and FunctionResponseTypes gone
    [mapping] = [m for m in sb.client("lambda").list_event_source_mappings()["EventSourceMappings"]
                 if m["EventSourceArn"].endswith(":" + orders_queue)]
    assert not mapping.get("FilterCriteria", {}).get("Filters") and not mapping.get("FunctionResponseTypes")
    sqs.send_message(QueueUrl=out["Orders"], MessageBody='{"n": "3", "kind": "other"}')
    helpers.wait_for(lambda: "3" in seen(), message="a message the dropped filter would have deleted")
    publish("c", "low")
    assert copies(wait=5) == ["c"]

    deploy(queue="Others")  # the event moved to another queue: AWS replaces the mapping
    sqs.send_message(QueueUrl=out["Others"], MessageBody='{"n": "4"}')
    helpers.wait_for(lambda: seen().get("4") == out["Others"].rsplit("/", 1)[-1], message="the new queue's message")
    sources = [m["EventSourceArn"].rsplit(":", 1)[-1] for m in sb.client("lambda").list_event_source_mappings()[
        "EventSourceMappings"] if m["FunctionArn"].rsplit(":", 1)[-1].startswith("removed-filters-Recorder")]
    assert sources == [out["Others"].rsplit("/", 1)[-1]]
    # cfn_replacement_state: the stack lists the new mapping, and its events say the old one was deleted
    cfn = sb.client("cloudformation")
    [listed] = [r for r in cfn.describe_stack_resources(StackName="removed-filters")["StackResources"]
                if r["LogicalResourceId"] == "RecorderWork"]
    assert listed["PhysicalResourceId"] != mapping["UUID"] and listed["ResourceStatus"] == "UPDATE_COMPLETE"
    deleted = [e["PhysicalResourceId"] for e in cfn.describe_stack_events(StackName="removed-filters")["StackEvents"]
               if e["LogicalResourceId"] == "RecorderWork" and e["ResourceStatus"] == "DELETE_COMPLETE"]
    assert deleted == [mapping["UUID"]]
    sb.destroy("removed-filters")  # and the replacement goes with the stack
    assert not [m for m in sb.client("lambda").list_event_source_mappings()["EventSourceMappings"]
                if m.get("State") not in ("Deleting",)]


TABLE_UPDATE_APP = """AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Orders:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {{AttributeName: id, AttributeType: S}}
{extra}
  Audit:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.13
      Handler: index.handler
      InlineCode: |
        def handler(event, context):
            for record in event.get("Records", []):
                print("AUDIT", record["eventName"], record["dynamodb"]["Keys"]["id"]["S"])
{events}
"""
TABLE_UPDATE_KEY = """      KeySchema: [{AttributeName: id, KeyType: HASH}]
"""
TABLE_UPDATE_EXTRA = """        - {AttributeName: customer, AttributeType: S}
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      StreamSpecification: {StreamViewType: NEW_AND_OLD_IMAGES}
      TimeToLiveSpecification: {AttributeName: expiresAt, Enabled: true}
      GlobalSecondaryIndexes:
        - IndexName: byCustomer
          KeySchema: [{AttributeName: customer, KeyType: HASH}]
          Projection: {ProjectionType: ALL}
"""
TABLE_UPDATE_EVENTS = """      Events:
        Changes:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Orders.StreamArn
            StartingPosition: LATEST
"""


def test_a_table_gets_a_stream_ttl_and_index_in_a_stack_update_and_a_new_stream_event_reads_it(sb, tmp_path, helpers):
    """cfn_updates_in_place: LocalStack has no update for AWS::DynamoDB::Table, so adding a stream and a DynamoDB
    event to it failed the update ("Provided ARN: unknown"); TTL and indexes stayed as created. AWS updates them."""
    path = tmp_path / "template.yaml"
    path.write_text(TABLE_UPDATE_APP.format(extra=TABLE_UPDATE_KEY, events=""))
    sb.deploy(str(path), stack_name="table-update")
    path.write_text(TABLE_UPDATE_APP.format(extra=TABLE_UPDATE_EXTRA, events=TABLE_UPDATE_EVENTS))
    result = sb.deploy(str(path), stack_name="table-update")
    assert not [w for w in result.warnings if "Orders" in w], result.warnings
    cfn = sb.client("cloudformation")
    table = cfn.describe_stack_resource(StackName="table-update", LogicalResourceId="Orders")[
        "StackResourceDetail"]["PhysicalResourceId"]
    ddb = sb.client("dynamodb")
    described = ddb.describe_table(TableName=table)["Table"]
    assert described["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert [g["IndexName"] for g in described["GlobalSecondaryIndexes"]] == ["byCustomer"]
    assert ddb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"
    fn = cfn.describe_stack_resource(StackName="table-update", LogicalResourceId="Audit")[
        "StackResourceDetail"]["PhysicalResourceId"]
    [mapping] = sb.client("lambda").list_event_source_mappings(FunctionName=fn)["EventSourceMappings"]
    assert mapping["EventSourceArn"] == described["LatestStreamArn"]
    helpers.wait_for(lambda: sb.client("lambda").get_event_source_mapping(UUID=mapping["UUID"])["State"] == "Enabled",
                     message="the mapping enabled")
    ddb.put_item(TableName=table, Item={"id": {"S": "o-1"}, "customer": {"S": "c-1"}})
    helpers.wait_for(lambda: "AUDIT INSERT o-1" in helpers.log_text(sb, fn), message="the new stream's record")
    assert ddb.query(TableName=table, IndexName="byCustomer", KeyConditionExpression="customer = :c",
                     ExpressionAttributeValues={":c": {"S": "c-1"}})["Count"] == 1

    path.write_text(TABLE_UPDATE_APP.format(extra=TABLE_UPDATE_KEY, events=""))  # and all of it off again
    sb.deploy(str(path), stack_name="table-update")
    described = ddb.describe_table(TableName=table)["Table"]
    assert not described.get("StreamSpecification", {}).get("StreamEnabled") and not described.get(
        "GlobalSecondaryIndexes")
    assert ddb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]["TimeToLiveStatus"] == "DISABLED"


POLICIES_APP = """Transform: AWS::Serverless-2016-10-31
Resources:
  Jobs:
    Type: AWS::SQS::Queue
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.13
      Handler: index.handler
      InlineCode: "def handler(event, context):\\n    return 1\\n"
      Tags: {tags}
      Policies:
        - SQSSendMessagePolicy: {{QueueName: !GetAtt Jobs.QueueName}}
{more}
"""


def test_a_functions_new_policy_and_tags_reach_its_role_and_the_function_in_a_stack_update(sb, tmp_path):
    """cfn_updates_in_place: LocalStack's role update left the inline policies as created (and kept the old ones in
    the stack's record), its function update the tags."""
    path = tmp_path / "template.yaml"
    path.write_text(POLICIES_APP.format(tags="{team: blue, cost: web}", more=""))
    sb.deploy(str(path), stack_name="role-update")
    cfn, iam, lam = sb.client("cloudformation"), sb.client("iam"), sb.client("lambda")

    def physical(logical: str) -> str:
        return cfn.describe_stack_resource(StackName="role-update", LogicalResourceId=logical)[
            "StackResourceDetail"]["PhysicalResourceId"]

    role, fn = physical("FnRole"), physical("Fn")
    assert len(iam.list_role_policies(RoleName=role)["PolicyNames"]) == 1
    path.write_text(POLICIES_APP.format(tags="{team: red}", more="        - S3ReadPolicy: {BucketName: reports}"))
    sb.deploy(str(path), stack_name="role-update")
    names = iam.list_role_policies(RoleName=role)["PolicyNames"]
    assert len(names) == 2
    documents = [json.dumps(iam.get_role_policy(RoleName=role, PolicyName=n)["PolicyDocument"]) for n in names]
    assert any("s3:GetObject" in d and "reports" in d for d in documents)
    tags = lam.list_tags(Resource=lam.get_function(FunctionName=fn)["Configuration"]["FunctionArn"])["Tags"]
    assert tags.get("team") == "red" and "cost" not in tags

    path.write_text(POLICIES_APP.format(tags="{team: red}", more=""))  # and the policy off again
    sb.deploy(str(path), stack_name="role-update")
    assert len(iam.list_role_policies(RoleName=role)["PolicyNames"]) == 1


ROLLED_BACK_REPLACEMENT_APP = """Transform: AWS::Serverless-2016-10-31
Resources:
  Orders: {{Type: AWS::SQS::Queue}}
  Others: {{Type: AWS::SQS::Queue}}
  Recorder:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.13
      Handler: index.handler
      InlineCode: "def handler(event, context):\\n    return {{}}\\n"
      Events:
        Work: {{Type: SQS, Properties: {{Queue: !GetAtt {queue}.Arn}}}}
{broken}"""
ROLLED_BACK_BROKEN = """  Broken:
    Type: AWS::SQS::Queue
    DependsOn: RecorderWork
    Properties: {FifoQueue: true, QueueName: not-a-fifo-name}
"""


def test_an_update_that_fails_after_replacing_a_mapping_deletes_the_replacement(sb, tmp_path):
    """cfn_update_rollback: a replacement (the SQS event moved to another queue) made before the update failed was
    neither deleted nor reverted: two mappings polled, and `destroy` left the new one behind."""
    path = tmp_path / "template.yaml"
    path.write_text(ROLLED_BACK_REPLACEMENT_APP.format(queue="Orders", broken=""))
    sb.deploy(str(path), stack_name="replaced-rollback")
    lam, cfn = sb.client("lambda"), sb.client("cloudformation")

    def mappings() -> list[dict]:
        return [m for m in lam.list_event_source_mappings()["EventSourceMappings"] if m.get("State") != "Deleting"]

    [original] = mappings()
    path.write_text(ROLLED_BACK_REPLACEMENT_APP.format(queue="Others", broken=ROLLED_BACK_BROKEN))
    with pytest.raises(Exception, match="rolled back"):
        sb.deploy(str(path), stack_name="replaced-rollback")
    assert [m["UUID"] for m in mappings()] == [original["UUID"]]
    [listed] = [r for r in cfn.describe_stack_resources(StackName="replaced-rollback")["StackResources"]
                if r["LogicalResourceId"] == "RecorderWork"]
    assert listed["PhysicalResourceId"] == original["UUID"]
    sb.destroy("replaced-rollback")
    assert mappings() == []


# --- lambda_configuration_limits: Timeout, MemorySize, ephemeral storage outside AWS's ranges --------------------------

LIMITS_APP = """Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Timeout: {timeout}
Resources:
  Slow:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.13
      Handler: index.handler
      MemorySize: {memory}
      InlineCode: "def handler(event, context):\\n    return 'ok'\\n"
"""


def test_a_function_outside_aws_limits_is_refused_with_aws_words(sb, helpers, tmp_path):
    """lambda_configuration_limits: `Timeout: 1000` deployed here (AWS refuses it); the API and a stack refuse it,
    the limits themselves are taken, and a refused update leaves the function as it was."""
    lam = sb.client("lambda")
    with pytest.raises(ClientError, match=r"Value '1000' at 'timeout' failed to satisfy constraint: Member must "
                                          r"have value less than or equal to 900") as refused:
        helpers.create_function(sb, "def handler(event, context):\n    return 1\n", timeout=1000)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    name = helpers.create_function(sb, "def handler(event, context):\n    return 1\n", timeout=900, MemorySize=10240)
    with pytest.raises(ClientError, match="Value '20000' at 'memorySize'.*less than or equal to 10240"):
        lam.update_function_configuration(FunctionName=name, MemorySize=20000)
    with pytest.raises(ClientError, match="'ephemeralStorage.size'.*less than or equal to 10240"):
        lam.update_function_configuration(FunctionName=name, EphemeralStorage={"Size": 20000})
    assert {k: lam.get_function_configuration(FunctionName=name)[k] for k in ("Timeout", "MemorySize")} == \
        {"Timeout": 900, "MemorySize": 10240}

    path = tmp_path / "template.yaml"
    path.write_text(LIMITS_APP.format(timeout=1000, memory=20000))
    with pytest.raises(Exception, match=r"Slow.*2 validation errors detected: Value '1000' at 'timeout'.*"
                                        r"Value '20000' at 'memorySize'.*less than or equal to 10240"):
        sb.deploy(str(path), stack_name="limits")
    path.write_text(LIMITS_APP.format(timeout=900, memory=128))
    out = sb.deploy(str(path), stack_name="limits")
    [fn] = [r["PhysicalResourceId"] for r in sb.client("cloudformation").describe_stack_resources(
        StackName=out.stack_name)["StackResources"] if r["LogicalResourceId"] == "Slow"]
    assert helpers.invoke(sb, fn)[0] == "ok"


# --- form_bodies_verbatim: form bodies reach the function byte for byte ----------------------------------------------

BODY_ECHO_APP = """Transform: AWS::Serverless-2016-10-31
Resources:
  Echo:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.13
      Handler: index.handler
      FunctionUrlConfig: {AuthType: NONE}
      InlineCode: |
        import base64, json
        def handler(event, context):
            body = event.get("body") or ""
            raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
            return {"statusCode": 200, "body": json.dumps({"hex": raw.hex()})}
      Events:
        Post: {Type: Api, Properties: {Path: /items, Method: post}}
Outputs:
  Url: {Value: !GetAtt EchoUrl.FunctionUrl}
"""


def test_a_form_body_reaches_a_rest_api_and_a_function_url_byte_for_byte(sb, tmp_path):
    """form_bodies_verbatim: `curl -d '{"id": "i1"}'` (curl's default type is a url-encoded form) reached the handler
    as `%7B%22id%22...=` (json.loads failed: 502), `b=x%20y` as `b=x+y`, a multipart body two bytes longer."""
    from urllib.parse import urlsplit

    import requests

    path = tmp_path / "template.yaml"
    path.write_text(BODY_ECHO_APP)
    result = sb.deploy(str(path), stack_name="form-bodies")
    api = result.apis["ServerlessRestApi/Prod"]
    url = urlsplit(result.outputs["Url"])
    boundary = "----sandbox"
    multipart = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--{boundary}--\r\n").encode()
    bodies = [(b'{"id": "i1", "name": "x"}', "application/x-www-form-urlencoded"),
              (b"a=1&b=x%20y&c=%2B&c=2", "application/x-www-form-urlencoded"),
              (multipart, f"multipart/form-data; boundary={boundary}"),
              (b'{"plain": true}', "application/json")]
    for body, content_type in bodies:
        via_api = requests.post(api.rstrip("/") + "/items", data=body, headers={"Content-Type": content_type},
                                timeout=30)
        assert via_api.status_code == 200, via_api.text
        assert bytes.fromhex(via_api.json()["hex"]) == body, (content_type, via_api.text)
        via_url = requests.post(f"http://127.0.0.1:{url.port}/", data=body, timeout=30,
                                headers={"Host": url.netloc, "Content-Type": content_type})
        assert via_url.status_code == 200, via_url.text
        assert bytes.fromhex(via_url.json()["hex"]) == body, (content_type, via_url.text)
    # the sandbox's own form requests still parse: an SQS query-protocol call is a url-encoded form
    queue = sb.client("sqs").create_queue(QueueName="form-bodies")["QueueUrl"]
    sent = requests.post(sb.endpoint, data={"Action": "SendMessage", "QueueUrl": queue, "MessageBody": "a b+c&d"},
                         headers={"Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sqs/"
                                                   "aws4_request, SignedHeaders=host, Signature=ab"}, timeout=30)
    assert sent.status_code == 200, sent.text
    [message] = sb.client("sqs").receive_message(QueueUrl=queue)["Messages"]
    assert message["Body"] == "a b+c&d"
