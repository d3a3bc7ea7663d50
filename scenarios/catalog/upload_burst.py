"""upload-burst: a burst of uploads hits the media pipeline. The queue absorbs it either way; how fast it drains
is set by the worker's batch size and concurrency.

* broken: the worker is held to one environment (reserved concurrency 1, "to protect the database") and takes one
  message per invocation (BatchSize 1). The jobs wait in the queue. The mapping's other pollers are throttled
  (429) and back off, as AWS's do; a throttled batch is tried again only while its visibility timeout leaves room
  for a whole run (here none: 3 s = the function timeout, the least AWS accepts), so its message waits out the
  visibility timeout and comes back with a higher receive count.
* fixed: batches of up to 5 and no reservation: several environments drain the queue in parallel (visibility
  timeout 60 s = 6 x the 10 s function timeout).

Every upload is a ~0.5 s transcode, so one environment can never do better than ~2 jobs a second. Both variants
must finish every job, lose nothing and never transcode a job twice; the fixed one must drain faster than that
single-environment ceiling, with far fewer invocations than jobs.

Measured: throughput (uploads / seconds from the first upload to the last job DONE), the queue's depth over time
(ApproximateNumberOfMessages and ...NotVisible, sampled every 0.25 s), the worker's environments (one log stream
each) and, with the sandbox recorder, its most concurrent executions and throttled invokes.

Sandbox notes: the mapping polls again as soon as a batch is handed off (`sandbox up --esm-poll-interval` adds a
pause), with up to 5 batches in flight per mapping (patch sqs_esm_concurrency), which ignores
ScalingConfig.MaximumConcurrency, AWS's cure for throttled pollers.
"""

from __future__ import annotations

import time

from scenarios.kits import media_pipeline as km
from scenarios.model import Expectation, Param, Scenario, Step, Variant, observed
from scenarios.runner import RunContext

MS_PER_MB = 4000  # simulated transcode: 128 KiB take 500 ms
SIZES_KIB = (100, 156)  # upload sizes, drawn from the seeded RNG
# Throttled receives count towards maxReceiveCount: 30 keeps a good job that is throttled many times in a row out
# of the DLQ (AWS advises at least 5).
COMMON = {"ProcessingMsPerMB": str(MS_PER_MB), "MaxReceiveCount": "30"}


def warm_up(ctx: RunContext) -> None:
    worker = ctx.output(km.PATTERN, "WorkerFunctionName")
    config = ctx.sb.client("lambda").get_function_concurrency(FunctionName=worker)
    ctx.observe("worker.reserved_concurrency", config.get("ReservedConcurrentExecutions", "unreserved"))
    esm = ctx.sb.client("lambda").get_event_source_mapping(UUID=km.mapping_of(ctx, worker))
    ctx.observe("worker.batch_size", esm["BatchSize"])
    km.upload(ctx, "warmup/first.mp4", km.media(ctx, 16 * km.KIB))
    job = km.wait_jobs(ctx, ["warmup/first.mp4"], timeout=60, what="the warm-up job")["warmup/first.mp4"]
    ctx.count("succeeded")
    took = km.iso_ts(job["finished_at"]) - km.iso_ts(job["created_at"])
    ctx.narrate(f"warm-up job {job['status']} after {took:.1f} s; "
                f"the worker has an environment and its mapping is polling")


def burst(ctx: RunContext) -> None:
    n = ctx.param("uploads")
    files = {f"burst/{i:03d}.mp4": km.media(ctx, ctx.rng.randint(*SIZES_KIB) * km.KIB) for i in range(n)}
    one_upload_s = km.transcode_ms(sum(map(len, files.values())) / n, MS_PER_MB) / 1000
    worker = ctx.output(km.PATTERN, "WorkerFunctionName")
    cursor = km.recorder_cursor(ctx)
    started = time.time()
    with km.QueueSampler(ctx, ctx.output(km.PATTERN, "JobsQueueUrl")) as sampler:
        seconds = km.upload_many(ctx, files)
        ctx.narrate(f"{n} uploads sent in {seconds:.1f} s; watching the jobs queue drain")
        last = {"done": -1}

        def all_done():
            jobs = km.jobs_by_key(ctx)
            done = sum(1 for k in files if jobs.get(k, {}).get("status") == "DONE")
            if done // 10 != last["done"] // 10:
                s = sampler.samples[-1] if sampler.samples else (0, 0, 0)
                ctx.narrate(f"{done}/{n} done, queue: {s[1]} waiting, {s[2]} in flight")
            last["done"] = done
            return done == n and jobs

        jobs = ctx.wait_until(all_done, timeout=ctx.param("timeout"), what=f"all {n} jobs DONE", interval=0.5)
        ctx.wait_until(lambda: km.queue_total(ctx, ctx.output(km.PATTERN, "JobsQueueUrl")) == 0, timeout=30,
                       what="the jobs queue to be empty")
    burst_jobs = {k: jobs[k] for k in files}
    finished = max(km.iso_ts(j["finished_at"]) for j in burst_jobs.values())
    drain_s = finished - started
    ctx.count("succeeded", sum(j["status"] == "DONE" for j in burst_jobs.values()))
    ctx.count("duplicated", sum(max(j["attempts"] - 1, 0) for j in burst_jobs.values()))
    ctx.set_count("lost", sum(1 for k in files if k not in jobs or jobs[k]["status"] != "DONE"))
    ctx.latencies.extend((km.iso_ts(j["finished_at"]) - km.iso_ts(j["created_at"])) * 1000 for j in burst_jobs.values())

    ctx.observe("burst.uploads", n)
    ctx.observe("burst.drain_seconds", round(drain_s, 2))
    ctx.observe("burst.throughput_jobs_per_s", round(n / drain_s, 2))
    ctx.observe("burst.single_environment_ceiling_jobs_per_s", round(1 / one_upload_s, 2))
    ctx.observe("burst.speedup", round(n / drain_s * one_upload_s, 2))
    ctx.observe("burst.status", km.status_counts(burst_jobs))
    ctx.observe("burst.not_done", ctx.counts["lost"])
    ctx.observe("queue.max_waiting", sampler.max_visible)
    ctx.observe("queue.max_waiting_per_upload", round(sampler.max_visible / n, 2))
    ctx.observe("queue.max_in_flight", sampler.max_in_flight)
    ctx.observe("queue.depth_over_time", sampler.series())

    ids = [j["job_id"] for j in burst_jobs.values()]
    lines = km.wait_job_lines(ctx, worker, ids, since=started)
    invocations = km.invocations_of(lines, ids)
    ctx.observe("queue.highest_receive_count", max((line.get("receive_count") or 1 for line in lines
                                                if line.get("job_id") in ids), default=0))
    ctx.count("invoked", invocations)
    ctx.observe("worker.invocations", invocations)
    ctx.observe("worker.invocations_per_job", round(invocations / n, 2))
    ctx.observe("worker.environments", km.log_streams(ctx, worker))
    spans = km.recorded(ctx, cursor, resource=worker)
    if spans is not None:
        throttled = km.throttled_invokes(spans, worker)
        ctx.count("throttled", throttled)
        ctx.observe("worker.throttled_invokes", throttled)
        ctx.observe("worker.max_concurrent", km.max_overlap(km.executions(spans, worker)))
        if throttled:
            ctx.narrate(f"{throttled} invokes of the mapping were throttled (429); the mapping backed off, and "
                        f"their messages waited a visibility timeout and came back with a higher receive count")
    ctx.narrate(f"drained {n} jobs in {drain_s:.1f} s ({n / drain_s:.1f} jobs/s) with {invocations} invocations; "
                f"at most {sampler.max_visible} jobs were waiting")


SCENARIO = Scenario(
    id="upload-burst",
    title="Upload burst: the queue absorbs it, batch size and concurrency set how fast it drains",
    summary="A burst of uploads reaches the media pipeline at once. Each becomes a job on the SQS queue; the worker "
            "drains it. Held to one environment and one message per invocation, the worker makes the burst wait; "
            "with batches and parallel environments it is gone in a fraction of the time.",
    learn=[
        "The queue absorbs a burst: nothing is refused or lost, jobs wait (queue depth) instead",
        "Drain rate = environments x messages per invocation / time per invocation: BatchSize and concurrency set it",
        "Reserved concurrency below the mapping's pollers throttles them; throttled batches return to the queue after "
        "their visibility timeout (cap pollers with ScalingConfig.MaximumConcurrency instead)",
        "Watch ApproximateNumberOfMessages over time: a depth that keeps growing means the workers cannot keep up",
    ],
    patterns=[km.PATTERN],
    params={"uploads": Param(24, 1, 200), "timeout": Param(90, 10, 600, help="seconds to wait for every job")},
    variants=[
        Variant("broken", "reserved concurrency 1, BatchSize 1: one job at a time",
                parameters={km.PATTERN: {**COMMON, "WorkerReservedConcurrency": "1", "BatchSize": "1",
                                         "WorkerTimeout": "3", "VisibilityTimeout": "3"}}),
        Variant("fixed", "BatchSize 5, unreserved: parallel environments, several jobs per invocation",
                parameters={km.PATTERN: {**COMMON, "WorkerReservedConcurrency": "-1", "BatchSize": "5",
                                         "WorkerTimeout": "10", "VisibilityTimeout": "60"}}),
    ],
    steps=[
        Step("Warm up the pipeline with one upload", warm_up,
             "One upload goes through first, so the burst meets a warm worker and a polling mapping: what follows "
             "measures the drain, not a cold start."),
        Step("A burst of uploads", burst,
             "All uploads arrive within a second or two. Watch the queue depth: the ingest function turns each upload "
             "into a job at once, the worker takes them off as fast as its batch size and concurrency allow. With "
             "reserved concurrency 1 the mapping's extra pollers get 429 TooManyRequests: the mapping backs off (fewer "
             "batches in flight) and their messages wait a visibility timeout before they are tried again."),
    ],
    expectations=[
        Expectation("jobs not done", lambda c: c.observations["burst.not_done"], "==", 0,
                    why="the queue holds the burst until the workers get to it"),
        Expectation("duplicate transcodes", lambda c: c.counts["duplicated"], "==", 0),
        Expectation("worker environments", observed("worker.environments"), "==", 1,
                    variants=("broken",), why="reserved concurrency 1"),
        Expectation("invocations per job", lambda c: c.observations["worker.invocations_per_job"], ">=", 1,
                    variants=("broken",), why="BatchSize 1"),
        Expectation("the burst piled up in the queue (max waiting / uploads)",
                    lambda c: c.observations["queue.max_waiting_per_upload"], ">=", 0.4, variants=("broken",),
                    why="the uploads arrive faster than one environment drains them"),
        Expectation("slower than one environment's ceiling (throughput / ceiling)",
                    lambda c: c.observations["burst.speedup"], "<", 1, variants=("broken",)),
        Expectation("worker environments", observed("worker.environments"), ">=", 2,
                    variants=("fixed",)),
        Expectation("batches: far fewer invocations than jobs", lambda c: c.observations["worker.invocations_per_job"],
                    "<=", 0.5, variants=("fixed",), why="up to 5 messages per invocation"),
        Expectation("faster than one environment could ever be (throughput / ceiling)",
                    lambda c: c.observations["burst.speedup"], ">", 1.2, variants=("fixed",),
                    why="only parallel environments beat 1 / transcode time"),
    ],
)
