"""throttling: a burst bigger than a function's reserved concurrency. Synchronous callers get
TooManyRequestsException (429) and, unless they retry, the work is gone; asynchronous invocation or an SQS buffer
absorbs the same burst and every job is eventually done.

The worker has ReservedConcurrentExecutions=`reserved` (2) and each job takes `work_ms` (200 ms). `jobs` (30) jobs
are sent by 10 concurrent clients:

* broken: synchronous `Invoke` (RequestResponse). Beyond 2 in flight, Lambda answers 429; the clients do not retry.
* fixed: `InvocationType=Event`. Lambda queues the events; a throttled event goes back to its internal queue and is
  retried (on AWS for up to 6 hours; throttles do not count against the 2 retries for function errors).
* sqs: the jobs go to an SQS FIFO queue in `reserved` message groups; its event source mapping (BatchSize 5) runs
  at most one batch per group at a time, so never more than the function may run, and drains the queue at that
  pace. On a standard queue the bound would be the mapping's ScalingConfig.MaximumConcurrency (set here too).
  (Sandbox note: the sandbox's SQS mappings run up to 5 batches at once and do not honor MaximumConcurrency yet,
  so on a standard queue the mapping itself would be throttled and its batches would return only after the
  visibility timeout; the FIFO message groups bound the concurrency on AWS and in the sandbox alike.)

Every finished job is a row in the Jobs table, so "done" is counted where the work lands, not where it was sent.
Counts: sent, throttled (429s the clients saw), retried (throttled attempts Lambda retried by itself, from the
sandbox recorder), succeeded (jobs done), lost (sent but never done), in_dlq.
"""

import json
import time

from scenarios.kits import lambda_performance as kit
from scenarios.model import Expectation, Param, Scenario, Step, Variant
from scenarios.runner import RunContext, ScenarioError

APP = "throttling"
CLIENTS = 10


def _state(ctx: RunContext) -> dict:
    """What the burst step hands to the next step (kept out of the report's observations)."""
    return ctx.__dict__.setdefault("_throttling", {})


def deploy(ctx: RunContext) -> None:
    ctx.deploy_app(APP, stack_name="throttling", parameters={
        "ReservedConcurrency": str(ctx.param("reserved")), "WorkMs": str(ctx.param("work_ms"))})
    fn = ctx.output(APP, "WorkerFunctionName")
    reserved = ctx.sb.client("lambda").get_function_concurrency(FunctionName=fn).get("ReservedConcurrentExecutions")
    if reserved != ctx.param("reserved"):
        raise ScenarioError(f"the worker's reserved concurrency is {reserved}, expected {ctx.param('reserved')}")
    ctx.observe("reserved_concurrency", reserved)
    ctx.narrate(f"worker {fn}: at most {reserved} concurrent executions, {ctx.param('work_ms')} ms per job")


def _jobs_done(ctx: RunContext) -> dict[str, dict]:
    ddb = ctx.sb.client("dynamodb", observer=True)  # the run reading: noise, not billed
    done, kwargs = {}, {"TableName": ctx.output(APP, "JobsTableName"), "ConsistentRead": True}
    while True:
        page = ddb.scan(**kwargs)
        for item in page["Items"]:
            done[item["job_id"]["S"]] = item
        if "LastEvaluatedKey" not in page:
            return done
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def send_burst(ctx: RunContext) -> None:
    via = ctx.setting("via")
    fn = ctx.output(APP, "WorkerFunctionName")
    jobs = [f"job-{i:03d}" for i in range(ctx.param("jobs"))]
    ctx.rng.shuffle(jobs)
    state = _state(ctx)
    state["cursor"] = _recorder_cursor(ctx)
    state["started"] = time.time()
    lam, sqs = ctx.sb.client("lambda"), ctx.sb.client("sqs")
    groups = ctx.param("reserved")
    outcome: dict[str, str] = {}

    def client(i: int) -> None:
        for job_id in jobs[i::CLIENTS]:
            job = {"job_id": job_id, "sent_at": time.time()}
            if via == "sync":
                r = kit.invoke(ctx, fn, job, tail=False)
                outcome[job_id] = "throttled" if r["throttled"] else ("error" if r["error"] else "ok")
            elif via == "async":
                try:
                    lam.invoke(FunctionName=fn, InvocationType="Event", Payload=json.dumps(job).encode())
                    outcome[job_id] = "queued"
                except lam.exceptions.TooManyRequestsException:
                    outcome[job_id] = "throttled"
            else:
                sqs.send_message(QueueUrl=ctx.output(APP, "JobsQueueUrl"), MessageBody=json.dumps(job),
                                 MessageGroupId=f"group-{int(job_id.rsplit('-', 1)[1]) % groups}",
                                 MessageDeduplicationId=job_id)
                outcome[job_id] = "queued"

    kit.together(CLIENTS, client)
    throttled = sum(v == "throttled" for v in outcome.values())
    ctx.count("sent", len(jobs))
    ctx.count("throttled", throttled)
    ctx.observe("client.throttled", throttled)
    ctx.observe("client.errors", sum(v == "error" for v in outcome.values()))
    state["accepted"] = sum(v in ("ok", "queued") for v in outcome.values())
    if via == "sync":
        ctx.narrate(f"{len(jobs)} synchronous invokes from {CLIENTS} clients: {throttled} answered "
                    "429 TooManyRequestsException - those callers got an error, and the job was not done")
    else:
        ctx.narrate(f"{len(jobs)} jobs handed over ({'SQS SendMessage' if via == 'sqs' else 'async Invoke'}): "
                    f"every call returned at once, {throttled} throttled")


def _recorder_cursor(ctx: RunContext):
    try:
        return ctx.sb.events(limit=1).get("cursor")
    except Exception:  # noqa: BLE001 - a backend without the recorder
        return None


def _internal_throttles(ctx: RunContext, fn: str) -> int | None:
    """Throttled Invoke attempts on the worker that the recorder saw, beyond those the clients saw themselves."""
    cursor = _state(ctx).get("cursor")
    if cursor is None:
        return None
    try:
        spans = ctx.sb.events(since=cursor, limit=100000, all=True, service="lambda", errors=True)["events"]
    except Exception:  # noqa: BLE001
        return None
    recorded = sum(1 for s in spans if s.get("operation") == "Invoke" and s.get("resource_name") == fn
                   and (s.get("error") or {}).get("code") == "TooManyRequestsException")
    return max(recorded - ctx.observations.get("client.throttled", 0), 0)


def wait_for_the_work(ctx: RunContext) -> None:
    fn = ctx.output(APP, "WorkerFunctionName")
    state = _state(ctx)
    accepted = state["accepted"]
    done = ctx.wait_until(lambda: d if len(d := _jobs_done(ctx)) >= accepted else None, timeout=90,
                          what=f"{accepted} jobs to be done") if accepted else {}
    started = state["started"]
    finished = max((float(item["done_at"]["N"]) for item in done.values()), default=started)
    for item in done.values():
        ctx.latencies.append((float(item["done_at"]["N"]) - float(item["sent_at"]["N"])) * 1000)
    sent = ctx.counts["sent"]
    in_dlq = int(ctx.sb.client("sqs", observer=True).get_queue_attributes(
        QueueUrl=ctx.output(APP, "JobsDeadLetterQueueUrl"),
        AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"])
    retried = _internal_throttles(ctx, fn)
    ctx.set_count("succeeded", len(done))
    ctx.set_count("lost", sent - len(done) - in_dlq)
    ctx.set_count("in_dlq", in_dlq)
    if retried is not None:  # measured by the recorder; without one the row says "–"
        ctx.set_count("retried", retried)
    ctx.observe("jobs.done", len(done))
    ctx.observe("jobs.lost", sent - len(done) - in_dlq)
    ctx.observe("lambda.throttled_and_retried", retried)
    ctx.observe("drain_seconds", round(finished - started, 2))
    ctx.narrate(f"{len(done)}/{sent} jobs done in {finished - started:.1f} s; "
                + (f"Lambda itself was throttled {retried} times and retried" if retried is not None
                   else "(no recorder: internal throttles unknown)"))


SCENARIO = Scenario(
    id="throttling",
    title="Throttling: a burst over the concurrency limit fails sync callers; a queue absorbs it",
    summary="30 jobs from 10 concurrent clients hit a worker with reserved concurrency 2. Synchronous invokes "
            "are throttled (429) and those jobs are never done; through SQS or asynchronous invokes the same burst "
            "is absorbed and every job is done, a little later.",
    learn=[
        "Concurrency is a hard limit: reserved concurrency (or the account limit) turns a burst into 429s",
        "A synchronous caller must handle TooManyRequestsException itself; without a retry the work is lost",
        "A queue between producer and function absorbs a burst: work waits instead of failing",
        "Asynchronous invocation retries throttled events by itself (for hours on AWS) - nothing is lost",
        "An SQS buffer drains at the function's pace; bound the mapping's concurrency (MaximumConcurrency, or "
        "message groups on FIFO) by the function's, or its batches get throttled too",
        "The price is latency: the last job of the burst finishes seconds later",
    ],
    patterns=[],
    params={"jobs": Param(30, 1, 200), "reserved": Param(2, 1, 10, help="reserved concurrency of the worker"),
            "work_ms": Param(200, 10, 5000, help="work per job")},
    lesson_is_loss=True,
    variants=[
        Variant("broken", "synchronous invokes, no retry: throttled requests are errors and lost work",
                settings={"via": "sync"}),
        Variant("fixed", "asynchronous invokes: Lambda's internal queue retries throttled events",
                settings={"via": "async"}),
        Variant("sqs", "an SQS FIFO queue buffers the burst; its message groups bound the mapping's concurrency",
                settings={"via": "sqs"}),
    ],
    steps=[
        Step("Deploy the worker with reserved concurrency", deploy,
             "The worker may run at most `reserved` copies at once; each job takes `work_ms`. The same function "
             "is reachable by direct invoke and through an SQS queue."),
        Step("A burst of jobs from 10 clients at once", send_burst,
             "broken: each client waits for its invoke; beyond 2 in flight Lambda answers 429 and the client "
             "gives up. fixed/sqs: handing the job over returns at once, whatever the function's concurrency."),
        Step("Wait until the work is done", wait_for_the_work,
             "Count the jobs recorded in the Jobs table. Throttled sync jobs never arrive; queued jobs arrive as "
             "fast as 2 concurrent executions allow - the burst is flattened, not refused."),
    ],
    expectations=[
        Expectation("sync callers throttled", lambda c: c.counts["throttled"], ">", 0, variants=("broken",),
                    why="10 concurrent invokes against 2 reserved"),
        Expectation("jobs lost (throttled, not retried)", lambda c: c.counts["lost"], ">", 0,
                    variants=("broken",), why="a 429 to a synchronous caller is the caller's problem"),
        Expectation("lost jobs minus throttled calls (each throttle loses a job)",
                    lambda c: c.counts["lost"] - c.counts["throttled"], "==", 0, variants=("broken",),
                    why="observed: lost - throttled"),
        Expectation("throttles seen by clients", lambda c: c.counts["throttled"], "==", 0,
                    variants=("fixed", "sqs")),
        Expectation("jobs not done", lambda c: c.counts["sent"] - c.counts["succeeded"], "==", 0,
                    variants=("fixed", "sqs"), why="the burst was absorbed, not refused"),
        Expectation("jobs lost", lambda c: c.counts["lost"], "==", 0, variants=("fixed", "sqs")),
        Expectation("jobs in the DLQ", lambda c: c.counts["in_dlq"], "==", 0, variants=("sqs",),
                    why="the mapping never runs more batches than the function may"),
        Expectation("throttled invokes Lambda retried internally", lambda c: c.counts["retried"], ">", 0,
                    variants=("fixed",), why="throttled events go back to Lambda's queue, retried after a delay"),
    ],
)
