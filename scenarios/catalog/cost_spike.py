"""cost-spike: a retry storm's cost against a budget, caught by a CloudWatch alarm.

The planned load is `uploads` uploads, one transcode each. The budget allows `headroom` times that many worker
invocations a minute; a CloudWatch alarm watches the worker's `AWS/Lambda` `Invocations` (Sum over 60 s) and
notifies an SNS topic (subscribed by a queue, so the scenario sees the alert arrive) when the budget is exceeded.

* broken: the retry-storm configuration (VisibilityTimeout 1 s < a 4 s transcode, no idempotency): the same uploads
  cost several times the planned invocations and GB-seconds, and the alarm goes to ALARM.
* fixed: VisibilityTimeout 6 x the function timeout and idempotency: one invocation per upload, the alarm stays OK.

The cost is estimated from the worker's REPORT lines (invocations x billed duration x memory) at the Lambda prices in
`scenarios/kits/media_pipeline.py`; the sandbox's own cost meter (`sb.cost`) is reported next to it when the backend has one.

Sandbox note: LocalStack evaluates a metric alarm when it is defined and then every Period x EvaluationPeriods
seconds from then on (AWS evaluates every minute on the minute). So that the run does not wait up to a minute for the
next evaluation, the last step puts the same alarm definition again, which evaluates it at once, over the same
last 60 seconds it would look at on its own. Lambda metrics reach CloudWatch once a second (patch
lambda_metrics_batching); the step first waits until they count every invocation.
"""

from __future__ import annotations

import json
import math
import time

from scenarios.kits import media_pipeline as km
from scenarios.model import Expectation, Param, Scenario, Step, Variant
from scenarios.runner import RunContext

ALARM = "media-worker-invocation-budget"
TOPIC = "budget-alerts"


def _alarm_definition(ctx: RunContext) -> dict:
    return ctx.state["alarm"]


def _alarm(ctx: RunContext) -> dict:
    return ctx.sb.client("cloudwatch").describe_alarms(AlarmNames=[ALARM])["MetricAlarms"][0]


def set_budget_alarm(ctx: RunContext) -> None:
    n, headroom = ctx.param("uploads"), ctx.param("headroom")
    worker = ctx.output(km.PATTERN, "WorkerFunctionName")
    config = ctx.sb.client("lambda").get_function_configuration(FunctionName=worker)
    budget = math.floor(n * headroom)
    per_job = km.lambda_cost([{"memory_mb": config["MemorySize"], "billed_ms": km.storm_transcode_s() * 1000}])
    ctx.observe("budget.planned_invocations", n)
    ctx.observe("budget.max_invocations_per_minute", budget)
    ctx.observe("budget.usd_per_minute", round(budget * per_job["usd"], 9))

    # Where the alarm's notifications go: an SNS topic, read here through a subscribed queue.
    sns, sqs = ctx.sb.client("sns"), ctx.sb.client("sqs")
    topic = sns.create_topic(Name=TOPIC)["TopicArn"]
    inbox = sqs.create_queue(QueueName=f"{TOPIC}-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=inbox, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
                                               "Action": "sqs:SendMessage", "Resource": inbox_arn,
                                               "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}]})})
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
    ctx.state["inbox"] = inbox

    definition = {
        "AlarmName": ALARM,
        "AlarmDescription": f"Worker invocations above the budget of {budget} a minute (planned: {n})",
        "Namespace": "AWS/Lambda", "MetricName": "Invocations",
        "Dimensions": [{"Name": "FunctionName", "Value": worker}],
        "Statistic": "Sum", "Period": 60, "EvaluationPeriods": 1, "Threshold": float(budget),
        "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching",
        "AlarmActions": [topic],
    }
    ctx.state["alarm"] = definition
    cloudwatch = ctx.sb.client("cloudwatch")
    cloudwatch.put_metric_alarm(**definition)
    state = ctx.wait_until(lambda: (s := _alarm(ctx)["StateValue"]) != "INSUFFICIENT_DATA" and s, timeout=30,
                           what="the alarm's first evaluation")
    ctx.observe("alarm.state_before", state)
    ctx.narrate(f"alarm {ALARM}: Sum(Invocations) of {worker} over 60 s > {budget} -> notify {TOPIC}; now {state}")


def run_uploads(ctx: RunContext) -> None:
    n = ctx.param("uploads")
    run = km.upload_and_settle(ctx, "spike", n, km.STORM_SIZE_KIB, timeout=ctx.param("timeout"))
    cost = km.lambda_cost(run["reports"])
    ctx.state["run"] = {"started": run["started"], "invocations": len(run["reports"])}
    ctx.observe("jobs.status", km.status_counts(run["jobs"]))
    ctx.observe("jobs.transcodes_per_job", round(run["transcodes"] / n, 2))
    ctx.observe("worker.invocations", len(run["reports"]))
    ctx.observe("worker.gb_seconds", cost["gb_seconds"])
    ctx.observe("cost.worker_usd", cost["usd"])
    ctx.observe("cost.worker_usd_per_job", round(cost["usd"] / n, 9))
    ctx.observe("cost.over_budget", round(cost["usd"] / ctx.observations["budget.usd_per_minute"], 2))
    metered = km.sandbox_cost(ctx, since_ts=run["started"])
    if metered is not None:
        ctx.observe("cost.sandbox_meter_usd", metered)
    ctx.narrate(f"{n} uploads cost {len(run['reports'])} worker invocations and {cost['gb_seconds']} GB-s: "
                f"USD {cost['usd']:.7f}, {cost['usd'] / ctx.observations['budget.usd_per_minute']:.1f} x the budget")


def evaluate_alarm(ctx: RunContext) -> None:
    cloudwatch = ctx.sb.client("cloudwatch")
    worker = ctx.output(km.PATTERN, "WorkerFunctionName")
    run = ctx.state["run"]

    def metric_sum():
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/Lambda", MetricName="Invocations", Dimensions=[{"Name": "FunctionName", "Value": worker}],
            StartTime=run["started"] - 60, EndTime=time.time() + 60, Period=60, Statistics=["Sum"])["Datapoints"]
        total = int(sum(p["Sum"] for p in points))
        return total if total >= run["invocations"] else None

    total = ctx.wait_until(metric_sum, timeout=30, what=f"CloudWatch to count {run['invocations']} invocations")
    seen = time.time()
    ctx.observe("metric.invocations_last_minute", total)
    # LocalStack's query window ends before the current whole second: a datum published this second would be
    # left out of the evaluation. Let the second pass.
    ctx.wait_until(lambda: time.time() >= math.floor(seen) + 1.2, timeout=5, what="the metric's second to pass",
                   interval=0.1)
    # Evaluate now (LocalStack evaluates a new or redefined alarm at once; see the module's docstring).
    cloudwatch.put_metric_alarm(**_alarm_definition(ctx))
    alarm = ctx.wait_until(lambda: (a := _alarm(ctx))["StateValue"] != "INSUFFICIENT_DATA" and a, timeout=30,
                           what="the alarm's evaluation")
    ctx.observe("alarm.state", alarm["StateValue"])
    ctx.observe("alarm.reason", alarm.get("StateReason"))
    try:
        ctx.observe("alarm.datapoints", json.loads(alarm.get("StateReasonData") or "{}").get("recentDatapoints"))
    except ValueError:
        pass
    ctx.narrate(f"{total} invocations in the last minute against a budget of "
                f"{int(_alarm_definition(ctx)['Threshold'])}: alarm {alarm['StateValue']}")
    alerts = []
    if alarm["StateValue"] == "ALARM":
        messages = ctx.wait_until(lambda: _inbox_messages(ctx), timeout=20, what="the alarm's notification")
        alerts = [json.loads(m["Body"]).get("Subject", "") for m in messages]
        ctx.narrate(f"notification received: {alerts[0]}")
    else:
        alerts = [json.loads(m["Body"]).get("Subject", "") for m in _inbox_messages(ctx) or []]
    ctx.observe("alarm.notifications", len([a for a in alerts if a.startswith("ALARM")]))


def _inbox_messages(ctx: RunContext) -> list[dict]:
    return ctx.sb.client("sqs").receive_message(QueueUrl=ctx.state["inbox"], MaxNumberOfMessages=10,
                                                WaitTimeSeconds=0).get("Messages", [])


SCENARIO = Scenario(
    id="cost-spike",
    title="Cost spike: a retry storm blows the budget, and a CloudWatch alarm says so",
    summary="The same few uploads, planned at one worker invocation each, against a budget alarm on the worker's "
            "invocations. A retry storm (visibility timeout shorter than the work, no idempotency) multiplies "
            "invocations and GB-seconds; the alarm fires and notifies. With the fix the same work stays in budget.",
    learn=[
        "Serverless cost follows invocations x duration x memory: duplicated work is billed work",
        "Set budgets and alarms: a CloudWatch alarm on Invocations (or on a cost metric) notices a spike in minutes, "
        "the invoice only at the end of the month",
        "The alarm is a symptom; the cure is the retry storm's: visibility >= 6 x timeout, and idempotency",
        "Alarm actions (SNS) turn a threshold into a notification someone acts on",
    ],
    patterns=[km.PATTERN],
    params={"uploads": Param(3, 1, 10, help="planned uploads, one invocation each"),
            "headroom": Param(1.5, 1.0, 10.0, help="budget as a multiple of the planned invocations"),
            "timeout": Param(90, 10, 600, help="seconds to wait for every job")},
    variants=[
        Variant("broken", "retry storm: VisibilityTimeout 1 s < a 4 s transcode, Idempotency disabled",
                parameters={km.PATTERN: km.STORM}),
        Variant("fixed", "VisibilityTimeout 60 s (6 x timeout), Idempotency enabled",
                parameters={km.PATTERN: km.CALM}),
    ],
    steps=[
        Step("Set a budget alarm on the worker", set_budget_alarm,
             "The budget: the planned uploads, one invocation each, with some headroom. A CloudWatch alarm on the "
             "worker's Invocations (Sum over 60 s) notifies an SNS topic when it is exceeded."),
        Step("Process the uploads", run_uploads,
             "The uploads are transcoded. Watch the invocations and GB-seconds: in a retry storm each job is paid "
             "for several times."),
        Step("The alarm evaluates the last minute", evaluate_alarm,
             "Lambda's Invocations metric reaches CloudWatch; the alarm compares the last minute's sum with the "
             "budget. Over it, the alarm goes to ALARM and its SNS action sends the notification."),
    ],
    expectations=[
        Expectation("jobs not done", lambda c: c.counts["lost"], "==", 0),
        Expectation("invocations over budget (per planned invocation)",
                    lambda c: c.observations["worker.invocations"] / c.observations["budget.planned_invocations"],
                    ">", 1.5, variants=("broken",), why="every duplicate delivery is a billed invocation"),
        Expectation("cost over budget (cost / budget)", lambda c: c.observations["cost.over_budget"], ">", 1,
                    variants=("broken",)),
        Expectation("state of the budget alarm", lambda c: c.observations["alarm.state"], "==", "ALARM",
                    variants=("broken",)),
        Expectation("ALARM notifications received", lambda c: c.observations["alarm.notifications"], ">=", 1,
                    variants=("broken",)),
        Expectation("invocations per upload",
                    lambda c: c.observations["worker.invocations"] / c.observations["budget.planned_invocations"],
                    "==", 1, variants=("fixed",)),
        Expectation("cost within budget (cost / budget)", lambda c: c.observations["cost.over_budget"], "<=", 1,
                    variants=("fixed",)),
        Expectation("state of the budget alarm", lambda c: c.observations["alarm.state"], "==", "OK",
                    variants=("fixed",)),
        Expectation("ALARM notifications received", lambda c: c.observations["alarm.notifications"], "==", 0,
                    variants=("fixed",)),
    ],
)
