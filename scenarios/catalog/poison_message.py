"""poison-message: one upload the worker cannot process, in a batch with good ones.

A client starts uploading files in a newer container version (magic header MEDIA2) the worker does not know. The
worker rejects them; SQS redelivers the message until its receive count passes maxReceiveCount (3), then moves it
to the dead-letter queue. What happens to the good uploads that came in the same batch depends on how the worker
reports failure:

* broken: the invocation fails when any record failed (no ReportBatchItemFailures): Lambda returns the whole batch
  to the queue. The good jobs are transcoded again on every retry, and when the batch passes maxReceiveCount they
  are dead-lettered together with the poison message.
* fixed: partial batch response (FunctionResponseTypes ReportBatchItemFailures, `batchItemFailures`): only the bad
  record goes back; the good ones are transcoded once and deleted; the DLQ holds the poison message alone.

Then the fix ships (the worker learns MEDIA2), the mapping is paused while it deploys, the DLQ is redriven to the
jobs queue (`sb.dlq.redrive`), and the parked jobs complete: the DLQ empties and nothing is lost. With the parameter
`redrive=false` the run stops after the fix with the messages still parked, for you to look at them and redrive
them yourself (`sandbox dlq peek|redrive`, or the TUI's DLQ screen): when the run ends its own worker is removed and
the pattern's worker (which transcodes any file that is not marked POISON, MEDIA2 included) reads the queue again.

The pattern's own worker always reports batch item failures (Powertools BatchProcessor). To show the other way,
the scenario pauses the pattern's worker and puts its own on the jobs queue (scenarios/apps/media-batch-worker),
with the partial batch response as a parameter.
"""

from __future__ import annotations

import json

from scenarios.kits import media_pipeline as km
from scenarios.model import Expectation, Param, Scenario, Step, Variant
from scenarios.runner import RunContext

APP = "media-batch-worker"
MAX_RECEIVES = 3
POISON = b"MEDIA2"  # a format the worker does not accept yet
PIPELINE = {"VisibilityTimeout": "2", "MaxReceiveCount": str(MAX_RECEIVES)}


def _deploy_worker(ctx: RunContext, formats: str) -> dict:
    return ctx.deploy_app(APP, stack_name=APP, parameters={
        "JobsQueueArn": ctx.output(km.PATTERN, "JobsQueueArn"),
        "JobsTableName": ctx.output(km.PATTERN, "JobsTableName"),
        "UploadsBucket": ctx.output(km.PATTERN, "UploadsBucket"),
        "ProcessedBucket": ctx.output(km.PATTERN, "ProcessedBucket"),
        "ReportBatchItemFailures": ctx.setting("report_batch_item_failures"),
        "AcceptedFormats": formats,
        "BatchSize": "10",
        "MaxReceiveCount": str(MAX_RECEIVES),
        "MappingEnabled": "false",
    })


def _worker(ctx: RunContext) -> str:
    return ctx.output(APP, "BatchWorkerFunctionName")


def hand_over_the_queue(ctx: RunContext) -> None:
    km.set_mapping_enabled(ctx, ctx.output(km.PATTERN, "WorkerFunctionName"), False)
    _deploy_worker(ctx, "MEDIA1")
    esm = ctx.sb.client("lambda").get_event_source_mapping(UUID=km.mapping_of(ctx, _worker(ctx)))
    ctx.observe("worker.function_response_types", esm.get("FunctionResponseTypes") or [])
    ctx.narrate(f"the pattern's worker is paused; {_worker(ctx)} reads the jobs queue, "
                f"ReportBatchItemFailures {ctx.setting('report_batch_item_failures')}")


def upload_a_batch(ctx: RunContext) -> None:
    n = ctx.param("good")
    keys = [f"batch/good-{i}.mp4" for i in range(n)]
    bad = "batch/new-format.mp4"
    keys.insert(ctx.rng.randint(0, n), bad)
    for key in keys:
        body = km.media(ctx, ctx.rng.randint(2, 8) * km.KIB, magic=POISON if key == bad else km.MAGIC)
        km.upload(ctx, key, body)
    ctx.state["keys"] = keys
    ctx.state["bad"] = bad
    km.wait_jobs(ctx, keys, statuses=("QUEUED",), what="every upload queued as a job")
    ctx.wait_until(lambda: km.queue_total(ctx, ctx.output(km.PATTERN, "JobsQueueUrl")) == len(keys), timeout=30,
                   what=f"{len(keys)} messages in the jobs queue")
    km.set_mapping_enabled(ctx, _worker(ctx), True)
    ctx.narrate(f"{n} good uploads and 1 in the new format wait in the queue; the mapping resumes and receives them "
                f"as one batch")


def retry_until_the_dlq(ctx: RunContext) -> None:
    keys, bad = ctx.state["keys"], ctx.state["bad"]
    jobs_queue, dlq = ctx.output(km.PATTERN, "JobsQueueUrl"), ctx.output(km.PATTERN, "DeadLetterQueueUrl")
    ctx.wait_until(lambda: km.jobs_by_key(ctx).get(bad, {}).get("status") == "FAILED", timeout=60,
                   what="the bad job to fail for good", interval=0.5)
    ctx.wait_until(lambda: km.queue_total(ctx, jobs_queue) == 0, timeout=60,
                   what="the jobs queue to empty (processed, or moved to the DLQ)", interval=0.5)
    jobs, lines = km.wait_settled(ctx, _worker(ctx), keys, since=ctx.started, statuses=("DONE", "FAILED"))
    parked = [json.loads(p.body)["key"] for p in ctx.sb.dlq.peek(dlq, max_messages=50)]
    good = [k for k in keys if k != bad]
    first_batch = max((line.get("batch_size") or 0 for line in lines if line.get("receive_count") == 1), default=0)
    ctx.set_count("dead_lettered", len(parked))  # on the way; "in DLQ" is what is still parked at the end
    ctx.count("retried", sum(max(j["attempts"] - 1, 0) for j in jobs.values()))
    ctx.observe("first_batch_size", first_batch)
    ctx.observe("before_fix.bad_status", jobs[bad]["status"])
    ctx.observe("before_fix.bad_attempts", jobs[bad]["attempts"])
    ctx.observe("before_fix.good_attempts", [jobs[k]["attempts"] for k in good])
    ctx.observe("before_fix.good_transcodes_beyond_first", sum(jobs[k]["attempts"] - 1 for k in good))
    ctx.observe("before_fix.dlq", len(parked))
    ctx.observe("before_fix.good_in_dlq", sum(1 for k in parked if k != bad))
    ctx.narrate(f"the bad job failed {jobs[bad]['attempts']} times and was dead-lettered; the DLQ holds "
                f"{len(parked)} message(s), {sum(1 for k in parked if k != bad)} of them good jobs; good jobs were "
                f"transcoded {[jobs[k]['attempts'] for k in good]} times")


def fix_and_redrive(ctx: RunContext) -> None:
    keys, bad = ctx.state["keys"], ctx.state["bad"]
    jobs_queue, dlq = ctx.output(km.PATTERN, "JobsQueueUrl"), ctx.output(km.PATTERN, "DeadLetterQueueUrl")
    km.set_mapping_enabled(ctx, _worker(ctx), False)
    _deploy_worker(ctx, "MEDIA1,MEDIA2")
    if not ctx.param("redrive"):
        km.set_mapping_enabled(ctx, _worker(ctx), True)
        # what the run achieved without a redrive: a job is done unless its message waits in the DLQ (a good job
        # dead-lettered with its batch was transcoded, but its message says otherwise: a redrive transcodes it again)
        parked = {json.loads(p.body)["key"] for p in ctx.sb.dlq.peek(dlq, max_messages=50)}
        jobs = km.jobs_by_key(ctx)
        done = sum(jobs.get(k, {}).get("status") == "DONE" and k not in parked for k in keys)
        ctx.set_count("succeeded", done)
        ctx.set_count("in_dlq", len(parked))
        ctx.set_count("lost", len(keys) - done - len(parked))
        ctx.observe("after_fix.dlq", len(parked))
        ctx.narrate(f"fix deployed (MEDIA2 accepted); redrive=false: the DLQ keeps its {len(parked)} message(s) "
                    f"on purpose. When the run ends the scenario's worker is removed and the pattern's worker reads "
                    f"the jobs queue again (it accepts MEDIA2): peek at the messages and redrive them yourself, with "
                    f"`sandbox dlq redrive {dlq.rsplit('/', 1)[-1]}` or from the DLQ screen")
        return
    result = ctx.sb.dlq.redrive(dlq)
    ctx.narrate(f"fix deployed (MEDIA2 accepted); {result.moved} message(s) redriven to the jobs queue "
                f"({result.method}); the mapping resumes")
    km.set_mapping_enabled(ctx, _worker(ctx), True)
    ctx.wait_until(lambda: km.queue_total(ctx, jobs_queue) == 0 and km.queue_total(ctx, dlq) == 0, timeout=60,
                   what="the jobs queue and the DLQ to empty", interval=0.5)
    jobs, _ = km.wait_settled(ctx, _worker(ctx), keys, since=ctx.started, statuses=("DONE",))
    good = [k for k in keys if k != bad]
    transcodes = sum(j["attempts"] for j in jobs.values())
    done = sum(jobs.get(k, {}).get("status") == "DONE" for k in keys)
    in_dlq = km.queue_total(ctx, dlq)
    ctx.set_count("succeeded", done)
    ctx.set_count("in_dlq", in_dlq)
    ctx.set_count("lost", len(keys) - done - in_dlq)
    ctx.count("duplicated", sum(jobs[k]["attempts"] - 1 for k in good))
    # latency: upload to the job's last DONE (the redriven ones include their time in the DLQ)
    ctx.latencies.extend((km.iso_ts(j["finished_at"]) - km.iso_ts(j["created_at"])) * 1000 for j in jobs.values())
    ctx.observe("redrive.moved", result.moved)
    ctx.observe("after_fix.dlq", in_dlq)
    ctx.observe("after_fix.bad_status", jobs[bad]["status"])
    ctx.observe("after_fix.status", km.status_counts(jobs))
    ctx.observe("after_fix.good_attempts", [jobs[k]["attempts"] for k in good])
    ctx.observe("transcodes", transcodes)
    ctx.narrate(f"after the redrive: {km.status_counts(jobs)}; DLQ empty; {transcodes} transcodes for "
                f"{len(keys)} jobs")


def _redrives(params: dict) -> bool:
    return params.get("redrive", True)


def _keeps(params: dict) -> bool:
    return not _redrives(params)


SCENARIO = Scenario(
    id="poison-message",
    title="Poison message: partial batch failures keep one bad upload from taking its batch down",
    summary="One upload the worker cannot process arrives in a batch with good ones. It is retried until SQS moves "
            "it to the dead-letter queue. Without partial batch responses, the good jobs in its batch are retried "
            "(and transcoded) with it, and dead-lettered with it. After the fix, the DLQ is redriven and drains.",
    learn=[
        "A message that can never succeed is retried maxReceiveCount times, then parked in the DLQ",
        "Without ReportBatchItemFailures one bad record fails the batch: good records are reprocessed, and can be "
        "dead-lettered with it",
        "Partial batch response: return batchItemFailures (FunctionResponseTypes ReportBatchItemFailures) so only "
        "the failed records go back to the queue",
        "The DLQ keeps the original messages: fix the cause, then redrive them; nothing is lost",
    ],
    patterns=[km.PATTERN],
    params={"good": Param(4, 1, 9, help="good uploads in the poison message's batch, which holds 10"),
            "redrive": Param(True, help="redrive the DLQ after the fix")},
    variants=[
        Variant("broken", "all-or-nothing batches: the invocation fails if any record failed",
                parameters={km.PATTERN: PIPELINE}, settings={"report_batch_item_failures": "disabled"}),
        Variant("fixed", "partial batch response: ReportBatchItemFailures + batchItemFailures",
                parameters={km.PATTERN: PIPELINE}, settings={"report_batch_item_failures": "enabled"}),
    ],
    steps=[
        Step("Put a worker with a batch-failure switch on the jobs queue", hand_over_the_queue,
             "The pattern's worker always reports partial batch failures; to see the alternative, it is paused and "
             "a worker whose batch handling is a parameter takes over the same queue."),
        Step("Upload good files and one in a format the worker rejects", upload_a_batch,
             "The mapping is paused while the uploads queue up, so they are delivered as one batch: one poison "
             "message among good ones, as happens under load."),
        Step("The poison message is retried until the DLQ", retry_until_the_dlq,
             f"The queue hides a received message for 2 s; after {MAX_RECEIVES} receives SQS moves it to the "
             "dead-letter queue. Watch the good jobs' attempts: do they ride along with the bad one?"),
        Step("Ship the fix and redrive the DLQ", fix_and_redrive,
             "The worker learns MEDIA2. The mapping is paused while the fix deploys (so the old code does not "
             "consume the redriven messages), the DLQ is moved back to the jobs queue, and the mapping resumes. "
             "With redrive=false the messages stay parked, for you to peek at and redrive."),
    ],
    expectations=[
        Expectation("one batch held the poison message and the good ones",
                    lambda c: c.observations["first_batch_size"] == c.params["good"] + 1, "==", True),
        Expectation("times the poison message was tried (maxReceiveCount)",
                    lambda c: c.observations["before_fix.bad_attempts"], "==", MAX_RECEIVES),
        Expectation("fewest transcodes of any good job",
                    lambda c: min(c.observations["before_fix.good_attempts"]), ">=", 2,
                    variants=("broken",), why="the whole batch went back to the queue on every failure"),
        Expectation("good jobs dead-lettered with the poison message",
                    lambda c: c.observations["before_fix.good_in_dlq"], ">=", 1, variants=("broken",),
                    why="they shared its receive count"),
        Expectation("good jobs transcoded again", lambda c: c.observations["before_fix.good_transcodes_beyond_first"],
                    "==", 0, variants=("fixed",), why="only the failed record was returned"),
        Expectation("messages dead-lettered (the poison one alone)", lambda c: c.observations["before_fix.dlq"], "==",
                    1, variants=("fixed",)),
        Expectation("messages left in the DLQ after the fix and the redrive",
                    lambda c: c.observations["after_fix.dlq"], "==", 0, when=_redrives),
        Expectation("status of the redriven job", lambda c: c.observations["after_fix.bad_status"], "==", "DONE",
                    when=_redrives),
        Expectation("without the redrive every parked message still waits in the DLQ",
                    lambda c: c.observations["after_fix.dlq"] == c.observations["before_fix.dlq"], "==", True,
                    when=_keeps, why="redrive=false: they are yours to peek at and redrive"),
    ],
)
