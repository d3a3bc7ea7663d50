"""Helpers of the media-pipeline scenarios (upload-burst, poison-message, retry-storm, cost-spike).

Everything is read where the work lands: the Jobs table (status, `attempts` = transcodes), the queues'
attributes, the worker's structured log lines and REPORT lines, and the sandbox recorder's spans (throttled
invokes, overlapping executions) when the backend has one.

Prices for the cost estimate (AWS Lambda, us-east-1, x86_64, list prices without free tier, as of 2025):
    requests      USD 0.20 per 1 million invocations
    compute       USD 0.0000166667 per GB-second (memory in GB x billed duration in seconds)
Source: https://aws.amazon.com/lambda/pricing/. The sandbox's own cost meter (`sb.cost`, sandbox/data/prices.json)
is shown next to it when the backend records traffic.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterable
from datetime import datetime

from scenarios.runner import RunContext, ScenarioError

PATTERN = "media-pipeline"
MAGIC = b"MEDIA1"  # any bytes are media to the pattern's worker (only a POISON marker fails); a header the
# poison-message scenario's own worker checks (it accepts MEDIA1, and MEDIA2 only after the fix)
KIB = 1024
MB = 1024 * 1024

LAMBDA_REQUEST_USD = 0.20 / 1_000_000
LAMBDA_GB_SECOND_USD = 0.0000166667

_REPORT = re.compile(r"REPORT RequestId: (?P<id>\S+)\s+Duration: (?P<ms>[\d.]+) ms\s+Billed Duration: "
                     r"(?P<billed>\d+) ms\s+Memory Size: (?P<mb>\d+) MB")


# --- uploads -----------------------------------------------------------------------------------------------
def media(ctx: RunContext, size: int, magic: bytes = MAGIC) -> bytes:
    """A media file of `size` bytes: a header, then seeded noise (so the ETag, hence the job, is new)."""
    return magic + ctx.rng.randbytes(max(size - len(magic), 0))


def transcode_ms(size: int, ms_per_mb: float) -> float:
    """How long the worker "transcodes" an upload of `size` bytes (the pattern's ProcessingMsPerMB)."""
    return size / MB * ms_per_mb


def upload(ctx: RunContext, key: str, body: bytes, pattern: str = PATTERN, count: bool = True) -> None:
    if len(body) >= 512 * KIB:
        raise ScenarioError(f"upload {key} is {len(body)} bytes: keep uploads under 512 KiB (see the pattern README)")
    ctx.sb.client("s3").put_object(Bucket=ctx.output(pattern, "UploadsBucket"), Key=key, Body=body)
    if count:
        ctx.count("sent")


def upload_many(ctx: RunContext, files: dict[str, bytes], threads: int = 8) -> float:
    """Uploads concurrently (a burst, as many clients would send it); returns the seconds it took."""
    started = time.monotonic()
    items = list(files.items())
    errors: list[Exception] = []

    def worker(part):
        try:
            for key, body in part:
                upload(ctx, key, body, count=False)  # counted below, in the step's thread
        except Exception as e:  # noqa: BLE001 - re-raised below, in the step's thread
            errors.append(e)

    parts = [items[i::threads] for i in range(threads)]
    pool = [threading.Thread(target=worker, args=(p,), daemon=True) for p in parts if p]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if errors:
        raise errors[0]
    ctx.count("sent", len(items))
    return time.monotonic() - started


# --- jobs --------------------------------------------------------------------------------------------------
def jobs_by_key(ctx: RunContext, pattern: str = PATTERN) -> dict[str, dict]:
    """The Jobs table as {key: job}, numbers as ints."""
    ddb = ctx.sb.client("dynamodb", observer=True)  # the harness reading: noise, not billed
    out: dict[str, dict] = {}
    kwargs = {"TableName": ctx.output(pattern, "JobsTableName"), "ConsistentRead": True}
    while True:
        page = ddb.scan(**kwargs)
        for item in page["Items"]:
            job = {}
            for name, value in item.items():
                kind, raw = next(iter(value.items()))
                job[name] = int(raw) if kind == "N" else raw
            job.setdefault("attempts", 0)
            out[job["key"]] = job
        if "LastEvaluatedKey" not in page:
            return out
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def wait_jobs(ctx: RunContext, keys: Iterable[str], statuses=("DONE",), timeout: float = 60,
              what: str | None = None) -> dict[str, dict]:
    keys = list(keys)

    def ready():
        jobs = jobs_by_key(ctx)
        if all(jobs.get(k, {}).get("status") in statuses for k in keys):
            return {k: jobs[k] for k in keys}
        return None

    return ctx.wait_until(ready, timeout=timeout, what=what or f"{len(keys)} job(s) in {'/'.join(statuses)}")


def status_counts(jobs: dict[str, dict]) -> dict[str, int]:
    out: dict[str, int] = {}
    for job in jobs.values():
        out[job.get("status", "?")] = out.get(job.get("status", "?"), 0) + 1
    return dict(sorted(out.items()))


# --- queues ------------------------------------------------------------------------------------------------
def queue_attrs(ctx: RunContext, url: str) -> dict[str, int]:
    attrs = ctx.sb.client("sqs", observer=True).get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                                      "ApproximateNumberOfMessagesDelayed"])["Attributes"]
    return {"visible": int(attrs.get("ApproximateNumberOfMessages", 0)),
            "in_flight": int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)),
            "delayed": int(attrs.get("ApproximateNumberOfMessagesDelayed", 0))}


def queue_total(ctx: RunContext, url: str) -> int:
    a = queue_attrs(ctx, url)
    return a["visible"] + a["in_flight"] + a["delayed"]


class QueueSampler:
    """Samples a queue's depth (visible, in flight) on a thread until stopped: the depth-over-time curve."""

    def __init__(self, ctx: RunContext, url: str, interval: float = 0.25):
        self.ctx, self.url, self.interval = ctx, url, interval
        self.samples: list[tuple[float, int, int]] = []  # (seconds since start, visible, in flight)
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="queue-sampler", daemon=True)

    def __enter__(self) -> "QueueSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                a = queue_attrs(self.ctx, self.url)
                self.samples.append((round(time.monotonic() - self.started, 2), a["visible"], a["in_flight"]))
            except Exception:  # noqa: BLE001 - a missed sample is no reason to fail the step
                pass
            self._stop.wait(self.interval)

    @property
    def max_visible(self) -> int:
        return max((s[1] for s in self.samples), default=0)

    @property
    def max_in_flight(self) -> int:
        return max((s[2] for s in self.samples), default=0)

    def series(self, points: int = 24) -> list[list]:
        """At most `points` samples [t, visible, in_flight], evenly spread, for the report."""
        if len(self.samples) <= points:
            return [list(s) for s in self.samples]
        step = (len(self.samples) - 1) / (points - 1)
        return [list(self.samples[round(i * step)]) for i in range(points)]


# --- event source mappings ---------------------------------------------------------------------------------
def mapping_of(ctx: RunContext, function: str) -> str:
    (esm,) = ctx.sb.client("lambda", observer=True).list_event_source_mappings(FunctionName=function)["EventSourceMappings"]
    return esm["UUID"]


def set_mapping_enabled(ctx: RunContext, function: str, enabled: bool) -> str:
    """Pauses or resumes a function's SQS mapping (a resumed mapping polls at once: no empty-poll backoff)."""
    lam = ctx.sb.client("lambda")
    uuid = mapping_of(ctx, function)
    lam.update_event_source_mapping(UUID=uuid, Enabled=enabled)
    want = "Enabled" if enabled else "Disabled"
    ctx.wait_until(lambda: lam.get_event_source_mapping(UUID=uuid)["State"] == want, timeout=30,
                   what=f"the mapping of {function} to be {want.lower()}")
    return uuid


# --- what the worker did -----------------------------------------------------------------------------------
def log_events(ctx: RunContext, function: str, since: float | None = None) -> list[dict]:
    logs = ctx.sb.client("logs", observer=True)
    group = f"/aws/lambda/{function}"
    kwargs = {"logGroupName": group}
    if since is not None:
        kwargs["startTime"] = int(since * 1000)
    try:
        return [e for page in logs.get_paginator("filter_log_events").paginate(**kwargs) for e in page["events"]]
    except logs.exceptions.ResourceNotFoundException:
        return []


def json_lines(events: list[dict]) -> list[dict]:
    """The structured (JSON) log lines among the log events."""
    out = []
    for e in events:
        for line in e["message"].splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
    return out


def reports(events: list[dict]) -> list[dict]:
    """The REPORT lines: {"request_id", "ms", "billed_ms", "memory_mb"}, one per invocation that ended."""
    out = {}
    for e in events:
        for m in _REPORT.finditer(e["message"]):
            out[m["id"]] = {"request_id": m["id"], "ms": float(m["ms"]), "billed_ms": int(m["billed"]),
                            "memory_mb": int(m["mb"])}
    return list(out.values())


def wait_job_lines(ctx: RunContext, function: str, job_ids: Iterable[str], since: float,
                   message: str = "Job done", timeout: float = 30) -> list[dict]:
    """The worker's structured log lines since `since`, once every job in `job_ids` has logged `message`."""
    ids = set(job_ids)

    def poll():
        lines = json_lines(log_events(ctx, function, since))
        return lines if ids <= {line.get("job_id") for line in lines if line.get("message") == message} else None

    return ctx.wait_until(poll, timeout=timeout, what=f"{len(ids)} x {message!r} in the logs of {function}",
                          interval=0.5)


def wait_settled(ctx: RunContext, function: str, keys: Iterable[str], since: float, statuses=("DONE",),
                 timeout: float = 60) -> tuple[dict[str, dict], list[dict]]:
    """(jobs, worker log lines) once the jobs of `keys` are in `statuses` and quiet: every transcode the Jobs table
    counted (`attempts`) has logged its start and its end. A duplicate that started after the job was DONE sets it
    back to PROCESSING, and a late duplicate's lines arrive after the first "Job done": this waits for all of them."""
    keys = list(keys)

    def poll():
        jobs = jobs_by_key(ctx)
        if not all(jobs.get(k, {}).get("status") in statuses for k in keys):
            return None
        ids = {jobs[k]["job_id"] for k in keys}
        lines = [line for line in json_lines(log_events(ctx, function, since)) if line.get("job_id") in ids]
        started = sum(line.get("message") == "Transcoding" for line in lines)
        ended = sum(line.get("message") == "Job done" or str(line.get("message", "")).startswith("Transcode failed")
                    for line in lines)
        attempts = sum(jobs[k]["attempts"] for k in keys)
        if started == ended == attempts:
            return {k: jobs[k] for k in keys}, lines
        return None

    return ctx.wait_until(poll, timeout=timeout, interval=0.5,
                          what=f"{len(keys)} job(s) in {'/'.join(statuses)} with every transcode logged")


def invocations_of(lines: list[dict], job_ids: Iterable[str]) -> int:
    """How many invocations transcoded (or tried) these jobs: distinct request ids of their "Transcoding" lines."""
    ids = set(job_ids)
    return len({line.get("function_request_id") for line in lines
                if line.get("message") == "Transcoding" and line.get("job_id") in ids})


def retries_of(lines: list[dict], job_ids: Iterable[str]) -> int:
    """How many times these jobs were received again after their first delivery: per job, its highest receive count
    in its "Transcoding" lines, less one. (Adding up `receive_count - 1` over every delivery counted a job delivered
    three times as 0 + 1 + 2 = 3 retries.)"""
    ids, highest = set(job_ids), {}
    for line in lines:
        if line.get("message") == "Transcoding" and line.get("job_id") in ids:
            job = line["job_id"]
            highest[job] = max(highest.get(job, 0), int(line.get("receive_count") or 1))
    return sum(count - 1 for count in highest.values())


def log_streams(ctx: RunContext, function: str) -> int:
    """Log streams of a function: one per execution environment it ever had."""
    try:
        return len(ctx.sb.client("logs", observer=True).describe_log_streams(logGroupName=f"/aws/lambda/{function}")["logStreams"])
    except ctx.sb.client("logs", observer=True).exceptions.ResourceNotFoundException:
        return 0


def lambda_cost(invocations: list[dict]) -> dict:
    """What the invocations (REPORT lines) cost on AWS: requests + GB-seconds (see the module's prices)."""
    gb_s = sum(r["memory_mb"] / 1024 * r["billed_ms"] / 1000 for r in invocations)
    usd = len(invocations) * LAMBDA_REQUEST_USD + gb_s * LAMBDA_GB_SECOND_USD
    return {"invocations": len(invocations), "gb_seconds": round(gb_s, 4), "usd": round(usd, 9)}


def wait_reports(ctx: RunContext, function: str, since: float, at_least: int, timeout: float = 20) -> list[dict]:
    """The function's REPORT lines since `since`, once there are `at_least` (logs arrive shortly after the end)."""
    return ctx.wait_until(lambda: (r := reports(log_events(ctx, function, since))) and len(r) >= at_least and r,
                          timeout=timeout, what=f"{at_least} REPORT line(s) of {function}")


# --- the retry storm (retry-storm, cost-spike) --------------------------------------------------------------
STORM_MS_PER_MB = 40000  # ~100 KiB uploads: a ~4 s transcode
STORM_SIZE_KIB = (96, 104)
# One job per invocation: a batch of several 4 s transcodes would outlast the 10 s function timeout.
STORM_COMMON = {"ProcessingMsPerMB": str(STORM_MS_PER_MB), "WorkerTimeout": "10", "MaxReceiveCount": "10",
                "BatchSize": "1"}
STORM = {**STORM_COMMON, "VisibilityTimeout": "1", "Idempotency": "disabled"}  # hidden 1 s, a job takes 4
CALM = {**STORM_COMMON, "VisibilityTimeout": "60", "Idempotency": "enabled"}  # 6 x the 10 s timeout


def storm_transcode_s() -> float:
    return transcode_ms(sum(STORM_SIZE_KIB) / 2 * KIB, STORM_MS_PER_MB) / 1000


def upload_and_settle(ctx: RunContext, prefix: str, n: int, size_kib: tuple[int, int], timeout: float) -> dict:
    """Uploads `n` files at once and waits until every job is DONE, the queue is empty and every transcode
    (late duplicates too) is logged. Counts sent/succeeded/duplicated/invoked/retried/in_dlq/lost; returns
    {"jobs", "lines", "transcodes", "invocations", "max_receive", "reports", "started", "finished"}."""
    files = {f"{prefix}/{i:02d}.mp4": media(ctx, ctx.rng.randint(*size_kib) * KIB) for i in range(n)}
    worker = ctx.output(PATTERN, "WorkerFunctionName")
    started = time.time()
    upload_many(ctx, files)
    wait_jobs(ctx, files, timeout=timeout, what=f"all {n} jobs DONE")
    ctx.wait_until(lambda: queue_total(ctx, ctx.output(PATTERN, "JobsQueueUrl")) == 0, timeout=60,
                   what="the jobs queue to drain")
    jobs, lines = wait_settled(ctx, worker, files, since=started)
    ids = {j["job_id"] for j in jobs.values()}
    transcodes = sum(j["attempts"] for j in jobs.values())
    receives = [line.get("receive_count") or 1 for line in lines
                if line.get("message") == "Transcoding" and line.get("job_id") in ids]
    invocations = invocations_of(lines, ids)
    in_dlq = queue_total(ctx, ctx.output(PATTERN, "DeadLetterQueueUrl"))
    ctx.count("succeeded", sum(j["status"] == "DONE" for j in jobs.values()))
    ctx.count("duplicated", transcodes - len(jobs))
    ctx.count("invoked", invocations)
    ctx.count("retried", retries_of(lines, ids))
    ctx.count("in_dlq", in_dlq)
    ctx.set_count("lost", sum(1 for k in files if jobs.get(k, {}).get("status") != "DONE"))
    ctx.latencies.extend((iso_ts(j["finished_at"]) - iso_ts(j["created_at"])) * 1000 for j in jobs.values())
    reports_ = wait_reports(ctx, worker, started, at_least=invocations) if invocations else []
    return {"jobs": jobs, "lines": lines, "transcodes": transcodes, "invocations": invocations,
            "max_receive": max(receives, default=0), "reports": reports_, "started": started,
            "finished": max(iso_ts(j["finished_at"]) for j in jobs.values())}


def iso_ts(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


# --- the recorder (optional) -------------------------------------------------------------------------------
def recorder_cursor(ctx: RunContext) -> int | None:
    """The recorder's newest cursor, or None if this backend records nothing."""
    try:
        return int(ctx.sb.observe.cursor())
    except Exception:  # noqa: BLE001
        return None


def recorded(ctx: RunContext, cursor: int | None, resource: str | None = None) -> list[dict] | None:
    """Spans recorded after `cursor` (on `resource`), or None without a recorder."""
    if cursor is None:
        return None
    out, since = [], cursor
    try:
        while True:
            page = ctx.sb.events(since=since, limit=5000, all=True, resource=resource)
            out += page["events"]
            if not page["events"] or page["cursor"] == since:
                return out
            since = page["cursor"]
    except Exception:  # noqa: BLE001
        return None


def executions(spans: list[dict], function: str) -> list[dict]:
    return [s for s in spans if s.get("hop") == "lambda-exec" and (s.get("attrs") or {}).get("function") == function]


def throttled_invokes(spans: list[dict], function: str) -> int:
    """Invokes of the function that Lambda refused with 429 (TooManyRequestsException)."""
    return sum(1 for s in spans if s.get("service") == "lambda" and s.get("operation") == "Invoke"
               and s.get("status") == 429 and function in (s.get("resource") or ""))


def max_overlap(spans: list[dict]) -> int:
    """Most executions running at the same moment (a sweep over [start, start + duration))."""
    edges = []
    for s in spans:
        start = s["ts"]
        edges += [(start, 1), (start + (s.get("duration_ms") or 0) / 1000, -1)]
    running = peak = 0
    for _, delta in sorted(edges, key=lambda e: (e[0], e[1])):
        running += delta
        peak = max(peak, running)
    return peak


def sandbox_cost(ctx: RunContext, since_ts: float, until_ts: float | None = None) -> float | None:
    """The sandbox cost meter's total for the window, or None if the backend has none."""
    cost = getattr(ctx.sb, "cost", None)
    if cost is None:
        return None
    try:
        result = cost(since_ts=since_ts, until_ts=until_ts)
    except Exception:  # noqa: BLE001
        return None
    total = result.get("total_usd", result.get("total")) if isinstance(result, dict) else None
    return round(float(total), 9) if total is not None else None
