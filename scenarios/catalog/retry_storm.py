"""retry-storm: the jobs queue's visibility timeout is shorter than a transcode, and the worker is not idempotent.

While a job is still being transcoded, its message becomes visible again and another poller hands it to another
worker environment, which transcodes it again: every receive is a full, billed transcode. The message's receive
count climbs towards the DLQ although nothing ever failed.

* broken: VisibilityTimeout 1 s against a ~4 s transcode, Idempotency disabled.
* fixed: VisibilityTimeout 60 s (6 x the 10 s function timeout, AWS's advice) and Powertools idempotency keyed on
  the job id: one transcode per job.

Counts: `invoked` (worker invocations that transcoded these jobs), `duplicated` (transcodes beyond the first, from
the Jobs table's `attempts`), `retried` (receives beyond the first, from the worker's `receive_count`).

In the sandbox an SQS mapping runs at most 5 batches at once (patch sqs_esm_concurrency), so with BatchSize 1 a
storm is at most 5 transcodes wide: a handful of uploads leaves room for duplicates. On AWS the pollers scale up.
"""

from __future__ import annotations

from scenarios.kits import media_pipeline as km
from scenarios.model import Expectation, Param, Scenario, Step, Variant
from scenarios.runner import RunContext


def check_settings(ctx: RunContext) -> None:
    worker = ctx.output(km.PATTERN, "WorkerFunctionName")
    config = ctx.sb.client("lambda").get_function_configuration(FunctionName=worker)
    visibility = int(ctx.sb.client("sqs", observer=True).get_queue_attributes(
        QueueUrl=ctx.output(km.PATTERN, "JobsQueueUrl"), AttributeNames=["VisibilityTimeout"]
    )["Attributes"]["VisibilityTimeout"])
    transcode_s = km.storm_transcode_s()
    ctx.observe("queue.visibility_timeout_s", visibility)
    ctx.observe("worker.timeout_s", config["Timeout"])
    ctx.observe("worker.idempotency", config["Environment"]["Variables"]["IDEMPOTENCY"])
    ctx.observe("job.transcode_s", round(transcode_s, 1))
    ctx.observe("queue.visibility_over_timeout", round(visibility / config["Timeout"], 1))
    if visibility < transcode_s:
        ctx.narrate(f"a message is hidden for {visibility} s, a transcode takes {transcode_s:.1f} s: it will be "
                    f"visible again long before its job is done")
    else:
        ctx.narrate(f"a message stays hidden {visibility} s = {visibility / config['Timeout']:.0f} x the worker "
                    f"timeout: no second receive while a transcode runs")


def upload_and_drain(ctx: RunContext) -> None:
    n = ctx.param("uploads")
    run = km.upload_and_settle(ctx, "storm", n, km.STORM_SIZE_KIB, timeout=ctx.param("timeout"))
    jobs, worker = run["jobs"], ctx.output(km.PATTERN, "WorkerFunctionName")
    cost = km.lambda_cost(run["reports"])
    ctx.observe("jobs.status", km.status_counts(jobs))
    ctx.observe("jobs.attempts", sorted(j["attempts"] for j in jobs.values()))
    ctx.observe("jobs.transcodes_per_job", round(run["transcodes"] / n, 2))
    ctx.observe("queue.highest_receive_count", run["max_receive"])
    ctx.observe("queue.in_dlq", ctx.counts["in_dlq"])
    ctx.observe("worker.invocations", run["invocations"])
    ctx.observe("worker.environments", km.log_streams(ctx, worker))
    ctx.observe("worker.gb_seconds", cost["gb_seconds"])
    ctx.observe("worker.cost_usd", cost["usd"])
    ctx.observe("worker.cost_per_job_usd", round(cost["usd"] / n, 9))
    ctx.narrate(f"{n} jobs, {run['transcodes']} transcodes ({run['transcodes'] / n:.1f} per job) in "
                f"{run['invocations']} invocations; highest receive count {run['max_receive']}; "
                f"{cost['gb_seconds']} GB-s billed (USD {cost['usd']:.7f})")


SCENARIO = Scenario(
    id="retry-storm",
    title="Retry storm: a visibility timeout shorter than the work, and no idempotency",
    summary="Uploads whose transcode takes ~4 s go through a jobs queue that hides a received message for 1 s only. "
            "The message reappears mid-transcode and is handed to another worker, again and again; without "
            "idempotency every delivery transcodes the file once more.",
    learn=[
        "A message whose visibility timeout expires mid-processing is delivered again: SQS is at-least-once",
        "Set the queue's visibility timeout to at least 6 x the function timeout (plus the batching window)",
        "Make the worker idempotent, keyed on the job (not the message): a duplicate delivery then costs a lookup, "
        "not a second transcode",
        "Receive counts rise without any failure: with a low maxReceiveCount, duplicates alone can dead-letter jobs",
        "Every duplicate is a billed invocation: a storm multiplies the cost of the same work",
    ],
    patterns=[km.PATTERN],
    params={"uploads": Param(3, 1, 10), "timeout": Param(90, 10, 600, help="seconds to wait for every job")},
    variants=[
        Variant("broken", "VisibilityTimeout 1 s < a 4 s transcode, Idempotency disabled",
                parameters={km.PATTERN: km.STORM}),
        Variant("fixed", "VisibilityTimeout 60 s (6 x the 10 s timeout), Idempotency enabled",
                parameters={km.PATTERN: km.CALM}),
    ],
    steps=[
        Step("Compare the visibility timeout with the work", check_settings,
             "The visibility timeout is how long a received message stays hidden. If the work takes longer, "
             "the message comes back while it is still being processed."),
        Step("Upload files and let the workers drain the queue", upload_and_drain,
             "Each upload is a ~4 s transcode. Watch the receive counts in the worker's log lines (receive_count) and "
             "the jobs' attempts: when the visibility timeout is shorter than the transcode (broken: 1 s), the same "
             "job runs in several environments at once, each run billed; when it is longer (fixed: 60 s), once."),
    ],
    expectations=[
        Expectation("jobs not done", lambda c: c.counts["lost"], "==", 0,
                    why="duplicates waste work but do not lose jobs"),
        Expectation("messages dead-lettered", lambda c: c.counts["in_dlq"], "==", 0),
        Expectation("duplicate transcodes", lambda c: c.counts["duplicated"], ">", 0, variants=("broken",),
                    why="the message reappeared while its transcode was running"),
        Expectation("transcodes per job (the same work paid again)",
                    lambda c: c.observations["jobs.transcodes_per_job"], ">=", 1.5, variants=("broken",)),
        Expectation("highest receive count", lambda c: c.observations["queue.highest_receive_count"], ">", 1,
                    variants=("broken",)),
        Expectation("duplicate transcodes", lambda c: c.counts["duplicated"], "==", 0, variants=("fixed",),
                    why="visibility >= 6 x timeout, and idempotency keyed on job_id"),
        Expectation("transcodes per job", lambda c: c.observations["jobs.transcodes_per_job"], "==", 1,
                    variants=("fixed",)),
        Expectation("highest receive count", lambda c: c.observations["queue.highest_receive_count"], "==", 1,
                    variants=("fixed",)),
    ],
)
