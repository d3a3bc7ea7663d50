"""Schedules fire (#12, 4): EventBridge Scheduler schedules (AWS::Scheduler::Schedule, SAM ScheduleV2) and
EventBridge rules with a ScheduleExpression (SAM Schedule), deployed from tests/apps/schedules unchanged, deliver
their exact payload to Lambda, SQS, SNS, Step Functions and an event bus; on their own, by `fire`, and through
retries into the dead-letter queue."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from sandbox.cli import main
from sandbox.schedules import ScheduleError

APP = Path(__file__).resolve().parents[1] / "apps" / "schedules"


def wait_for(predicate, timeout=30.0, interval=0.3, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


def drain(sqs, url) -> list[dict]:
    out = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                  MessageAttributeNames=["All"]).get("Messages", [])
        if not got:
            return out
        out += got
        for m in got:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


class Inbox:
    """Messages of a queue, kept across polls (a poll deletes what it received)."""

    def __init__(self, sqs, url):
        self.sqs, self.url, self.seen = sqs, url, []

    def find(self, predicate, timeout=20.0, message="a message"):
        def poll():
            self.seen += drain(self.sqs, self.url)
            return [m for m in self.seen if predicate(m)]
        return wait_for(poll, timeout, message=message)

    def bodies(self) -> list:
        self.seen += drain(self.sqs, self.url)
        return [json.loads(m["Body"]) for m in self.seen]


def cli(sb, *args):
    result = CliRunner().invoke(main, ["--state-dir", str(sb.settings.state_dir), "schedule", *args])
    return result.exit_code, result.output


@pytest.fixture
def app(sb):
    return sb.deploy(str(APP), stack_name="schedules").outputs


def test_fire_delivers_the_exact_payload_to_each_kind_of_target(sb, app):
    sqs = sb.client("sqs")
    # SQS target in a schedule group, cron in a time zone - fired from the CLI
    code, out = cli(sb, "fire", "daily-report", "--group", "reports")
    assert code == 0, out
    assert "delivered" in out and "sandbox trace 1-" in out, out
    jobs = Inbox(sqs, app["JobsUrl"])
    jobs.find(lambda m: m["Body"] == '{"report": "daily", "format": "pdf"}', message="the daily report job")

    # SNS target (raw delivery to a queue): the Input is the message
    fired = sb.schedules.fire("hourly-alert")
    assert [d["outcome"] for d in fired["deliveries"]] == ["delivered"]
    Inbox(sqs, app["AlertsInboxUrl"]).find(lambda m: m["Body"] == '{"alert": "hourly digest"}',
                                           message="the SNS message")

    # Step Functions target: an execution whose input is the Input
    sb.schedules.fire("year-end-invoices")
    sfn = sb.client("stepfunctions")
    executions = wait_for(lambda: sfn.list_executions(stateMachineArn=app["InvoiceWorkflowArn"])["executions"],
                          message="an execution")
    described = sfn.describe_execution(executionArn=executions[0]["executionArn"])
    assert json.loads(described["input"]) == {"run": "year-end"}

    # EventBridge target: PutEvents with EventBridgeParameters, the Input as detail
    sb.schedules.fire("weekly-cleanup")
    ops = Inbox(sqs, app["OpsInboxUrl"]).find(lambda m: json.loads(m["Body"]).get("source") == "ops.scheduler",
                                              message="the event on the ops bus")
    event = json.loads(ops[0]["Body"])
    assert event["detail-type"] == "CleanupRequested" and event["detail"] == {"olderThanDays": 30}

    # EventBridge rule (SAM Schedule) -> Lambda: AWS's "Scheduled Event"; found by a part of its generated name
    fired = sb.schedules.fire("NightlyFunctionNightly")
    rule_arn = fired["schedule"]["arn"]
    assert fired["schedule"]["kind"] == "rule" and fired["deliveries"][0]["outcome"] == "delivered"
    inbox = Inbox(sqs, app["InboxUrl"])
    got = inbox.find(lambda m: json.loads(m["Body"])["function"] == app["NightlyFunction"], message="nightly run")
    event = json.loads(got[0]["Body"])["event"]
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["resources"] == [rule_arn] and event["detail"] == {}

    # the firing is a span, and the target's request is its child in the same trace
    trace_id = fired["deliveries"][0]["trace_id"]
    spans = wait_for(lambda: [s for s in sb.trace(trace_id)["spans"] if s.get("service") == "lambda"] and
                     sb.trace(trace_id)["spans"], message="the trace of the firing")
    fire_span = next(s for s in spans if s.get("hop") == "schedule")
    assert fire_span["resource"] == rule_arn and fire_span["attrs"]["outcome"] == "delivered"
    invoke = next(s for s in spans if s.get("service") == "lambda" and s.get("operation") == "Invoke"
                  and s.get("parent_id") == fire_span["span_id"])
    assert invoke["caller"]["source_arn"] == rule_arn or invoke["caller"]["name"] == "events"


def test_schedules_fire_on_their_own_and_a_disabled_one_never(sb, app):
    sqs = sb.client("sqs")
    inbox, jobs = Inbox(sqs, app["InboxUrl"]), Inbox(sqs, app["JobsUrl"])
    heartbeat = lambda m: json.loads(m["Body"])["event"] == {"job": "heartbeat"}  # noqa: E731
    # a Scheduler rate() with no StartDate starts at once (AWS), with no `fire`
    inbox.find(heartbeat, timeout=20, message="the first heartbeat, on its own")
    # the next one a minute later: the engine's clock moved a minute ahead instead of waiting
    fired = sb.schedules.advance(61)
    assert any(f["schedule"] == "HeartbeatFunctionHeartbeat" for f in fired["fired"]), fired
    wait_for(lambda: len([b for b in inbox.bodies() if b["event"] == {"job": "heartbeat"}]) >= 2,
             message="the second heartbeat")
    # cron(0 3 * * ? *) UTC on the rule: a day ahead it has fired once
    fired = sb.schedules.advance(86400)
    assert any("NightlyFunctionNightly" in f["schedule"] for f in fired["fired"]), fired

    listed = {s["name"]: s for s in sb.schedules.list()}
    paused = listed["paused-export"]
    assert paused["state"] == "DISABLED" and paused["status"] == "disabled" and paused["next_fire"] is None
    assert paused["fired"] == 0
    assert listed["daily-report"]["timezone"] == "Europe/Paris" and listed["daily-report"]["group"] == "reports"
    assert listed["year-end-invoices"]["next_fire"] == "2031-01-01T04:00:00Z"  # 23:00 in New York
    time.sleep(1.5)
    assert not [b for b in jobs.bodies() if b == {"export": "paused"}], "a DISABLED schedule fired"
    with pytest.raises(ScheduleError, match="DISABLED"):
        sb.schedules.fire("paused-export")

    code, out = cli(sb, "list")
    assert code == 0 and "paused-export" in out and "cron(30 8 ? * MON-FRI *) Europe/Paris" in out, out
    code, out = cli(sb, "fire", "no-such-schedule")
    assert code == 1 and "no schedule 'no-such-schedule'" in out, out
    code, out = cli(sb, "advance", "1m")
    assert code == 0 and "HeartbeatFunctionHeartbeat" in out, out
    code, out = cli(sb, "advance", "soon")
    assert code == 1 and "not a duration" in out, out


def test_a_failing_target_is_retried_then_dead_lettered(sb, app):
    """ScheduleV2 with RetryPolicy MaximumRetryAttempts 2 and a SAM-made DLQ: Lambda is down (fault), so the
    firing is tried three times and its payload lands in the DLQ with the attributes Scheduler adds."""
    sqs = sb.client("sqs")
    heartbeat = next(s for s in sb.schedules.list() if s["name"] == "HeartbeatFunctionHeartbeat")
    dlq_url = sqs.get_queue_url(QueueName=heartbeat["dead_letter_queues"][0].rsplit(":", 1)[1])["QueueUrl"]
    with sb.faults.injected("service-outage", service="lambda", operation="Invoke"):
        fired = sb.schedules.fire("HeartbeatFunctionHeartbeat", wait=30)
    delivery = fired["deliveries"][0]
    assert delivery["outcome"] == "dead-lettered" and delivery["attempts"] == 3, delivery
    assert delivery["error"]["code"] == "ServiceUnavailable"
    message = Inbox(sqs, dlq_url).find(
        lambda m: m["MessageAttributes"]["EXECUTION_ID"]["StringValue"] == delivery["execution_id"],
        message="the dead-letter event")[0]
    assert json.loads(message["Body"]) == {"job": "heartbeat"}
    attrs = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attrs["ERROR_CODE"] == "ServiceUnavailable" and attrs["SCHEDULE_ARN"] == fired["schedule"]["arn"]
    assert attrs["TARGET_ARN"].endswith(f":function:{app['HeartbeatFunction']}") and attrs["RETRY_ATTEMPTS"] == "2"
    spans = sb.trace(delivery["trace_id"])["spans"]
    invokes = [s for s in spans if s.get("service") == "lambda" and s.get("operation") == "Invoke"]
    assert len(invokes) == 3 and all(s["status"] == 503 for s in invokes)
    assert any(s.get("service") == "sqs" and s.get("operation") == "SendMessage" for s in spans), "DLQ send in trace"
