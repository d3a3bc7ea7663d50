"""downstream-outage: DynamoDB goes down for a few seconds while orders arrive at the synchronous crud-api and a
backlog of media jobs waits in the asynchronous media-pipeline. The API can only answer 5xx: a client that does
not retry loses its order. The pipeline's queue holds its jobs and they drain after the recovery. Fixed: the API
clients buffer too - retries with exponential backoff and jitter, and an Idempotency-Key so a retry never
creates a second item."""

from __future__ import annotations

import random
import statistics
import threading
import time
from datetime import datetime

from scenarios.kits import resilience as kr
from scenarios.model import Expectation, Param, Scenario, Step, Variant, observed
from scenarios.runner import RunContext, ScenarioError

MEDIA_BYTES = 16 * 1024
API_PARAMS = {"FunctionTimeout": "3"}  # the function gives up (and API Gateway answers 502) after 3 s
# Jobs take ~0.7 s each, one at a time, so a backlog waits in the queue; a failed job is retried after the
# visibility timeout (3 s = the worker timeout, as AWS requires), up to 10 receives (~40 s) before the DLQ.
PIPELINE_PARAMS = {"BatchSize": "1", "WorkerReservedConcurrency": "1", "WorkerTimeout": "3",
                   "VisibilityTimeout": "3", "MaxReceiveCount": "10",
                   "ProcessingMsPerMB": str(int(700 / (MEDIA_BYTES / 1024 / 1024)))}
CLIENT_TIMEOUT_S = 10
RETRY_BASE_S, RETRY_CAP_S, RETRY_DEADLINE_S = 0.25, 2.0, 45
RETRYABLE = {409, 429, 500, 502, 503, 504}


class OrderClients:
    """The API's clients. `retry`: exponential backoff with full jitter and an Idempotency-Key per order."""

    def __init__(self, ctx: RunContext, retry: bool):
        self.ctx, self.retry = ctx, retry
        self.url = ctx.output("crud-api", "ApiUrl") + "items"
        self._lock = threading.Lock()
        self.failed_once: set[str] = set()
        self.errors_seen = 0

    def _failed(self, order_id: str) -> None:
        with self._lock:
            self.failed_once.add(order_id)
            self.errors_seen += 1

    def place(self, order: dict, seed: int) -> dict:
        session, jitter = kr.http(), random.Random(seed)
        headers = {"x-correlation-id": order["order_id"]}
        if self.retry:
            headers["Idempotency-Key"] = order["order_id"]
        started, attempts = time.perf_counter(), 0
        deadline = time.monotonic() + RETRY_DEADLINE_S
        while True:
            attempts += 1
            c = kr.call(session, "POST", self.url, timeout=CLIENT_TIMEOUT_S, json={"payload": order}, headers=headers)
            if c.ok:
                return {"order_id": order["order_id"], "ok": True, "attempts": attempts,
                        "ms": (time.perf_counter() - started) * 1000}
            self._failed(order["order_id"])
            retryable = c.status is None or c.status in RETRYABLE
            if not (self.retry and retryable and time.monotonic() < deadline):
                return {"order_id": order["order_id"], "ok": False, "attempts": attempts, "status": c.status,
                        "ms": (time.perf_counter() - started) * 1000}
            wait = jitter.uniform(0, min(RETRY_CAP_S, RETRY_BASE_S * 2 ** (attempts - 1)))  # full jitter
            if not kr.sleep_unless_stopped(self.ctx, wait):
                return {"order_id": order["order_id"], "ok": False, "attempts": attempts, "status": "stopped",
                        "ms": (time.perf_counter() - started) * 1000}


def _orders(ctx: RunContext, first: int, count: int) -> list[tuple[dict, int]]:
    """(order, jitter seed) pairs, drawn from the run's RNG in the step's thread: the same seed, the same run."""
    return [({"order_id": f"order-{n:02d}", "amount": ctx.rng.randint(5, 500)}, ctx.rng.getrandbits(32))
            for n in range(first, first + count)]


def _jobs(ctx: RunContext) -> list[dict]:
    return kr.items_plain(kr.scan_all(ctx, ctx.output("media-pipeline", "JobsTableName")))


# --- steps -------------------------------------------------------------------------------------------------
def normal_traffic(ctx: RunContext) -> None:
    st = kr.state(ctx, "downstream-outage")
    clients = OrderClients(ctx, retry=bool(ctx.setting("client_retries")))
    st["clients"], st["orders"] = clients, []
    before = _orders(ctx, 0, ctx.param("orders_before"))
    results = [clients.place(o, seed) for o, seed in before]
    if not all(r["ok"] for r in results):
        raise ScenarioError(f"an order failed before any fault was injected: {results}")
    st["orders"] += [o["order_id"] for o, _ in before]
    ctx.latencies.extend(round(r["ms"], 1) for r in results)

    s3 = ctx.sb.client("s3")
    bucket = ctx.output("media-pipeline", "UploadsBucket")
    uploads = ctx.param("uploads")
    for n in range(uploads):
        body = b"MEDIA1" + bytes(ctx.rng.getrandbits(8) for _ in range(64)) * (MEDIA_BYTES // 64)
        s3.put_object(Bucket=bucket, Key=f"clips/clip-{n:02d}.mp4", Body=body,
                      Metadata={"correlation-id": f"clip-{n:02d}"})
    ctx.wait_until(lambda: len(_jobs(ctx)) >= uploads, timeout=60, what="the ingest function to queue every upload")
    ctx.narrate(f"{len(before)} orders stored; {uploads} media jobs queued - the worker takes ~0.7 s per job, "
                "one at a time, so most of them are still waiting in SQS")


def dynamodb_outage(ctx: RunContext) -> None:
    st = kr.state(ctx, "downstream-outage")
    clients: OrderClients = st["clients"]
    clock = kr.Clock()
    st["outage_started"] = clock.t0
    ctx.sb.faults.apply("service-outage", service="dynamodb")
    backlog = kr.queue_depth(ctx, ctx.output("media-pipeline", "JobsQueueUrl"))
    ctx.observe("pipeline.backlog_at_outage", backlog)
    ctx.narrate(f"DynamoDB answers 503 to everyone; {backlog} job(s) are in the queue")
    during = _orders(ctx, ctx.param("orders_before"), ctx.param("orders_during"))
    ids = [o["order_id"] for o, _ in during]
    st["orders"] += ids
    traffic = kr.Traffic(ctx)
    traffic.send([lambda o=o, s=s: clients.place(o, s) for o, s in during], ctx.param("pace_ms") / 1000)
    st["traffic"] = traffic
    # the outage lasts until every order placed during it has met it
    ctx.wait_until(lambda: set(ids) <= clients.failed_once, timeout=60,
                   what="every order placed during the outage to fail once")
    ctx.sb.faults.clear()
    st["outage_ms"] = clock.ms()
    ctx.observe("outage.seconds", round(st["outage_ms"] / 1000, 1))
    ctx.observe("api.errors_during_outage", clients.errors_seen)


def recovery(ctx: RunContext) -> None:
    st = kr.state(ctx, "downstream-outage")
    traffic: kr.Traffic = st["traffic"]
    results = traffic.wait(RETRY_DEADLINE_S + 30, "the clients to finish")
    traffic.close()
    ctx.latencies.extend(round(r["ms"], 1) for r in results)
    retries = sum(r["attempts"] - 1 for r in results)
    ctx.count("retried", retries)
    ok = [r for r in results if r["ok"]]
    ctx.observe("api.client_gave_up", len(results) - len(ok))
    if ok and ctx.setting("client_retries"):
        ctx.observe("api.recovered_p50_ms", round(statistics.median(r["ms"] for r in ok)))

    stored: dict[str, int] = {}
    for item in kr.items_plain(kr.scan_all(ctx, ctx.output("crud-api", "ItemsTableName"))):
        order_id = item.get("payload", {}).get("order_id")
        stored[order_id] = stored.get(order_id, 0) + 1
    orders = st["orders"]
    orders_landed = sum(1 for o in orders if stored.get(o))
    ctx.observe("orders.lost", len(orders) - orders_landed)
    ctx.observe("orders.duplicates", sum(n - 1 for n in stored.values() if n > 1))
    ctx.set_count("duplicated", sum(n - 1 for n in stored.values() if n > 1))

    uploads = ctx.param("uploads")
    dlq_url = ctx.output("media-pipeline", "DeadLetterQueueUrl")
    ctx.wait_until(lambda: sum(j.get("status") == "DONE" for j in _jobs(ctx)) + kr.queue_depth(ctx, dlq_url)
                   >= uploads, timeout=90, what="the media pipeline to drain its queue")
    jobs = _jobs(ctx)
    done = [j for j in jobs if j.get("status") == "DONE"]
    in_dlq = kr.queue_depth(ctx, dlq_url)
    buffered = [j for j in done if datetime.fromisoformat(j["finished_at"]).timestamp() >= st["outage_started"]]
    ctx.observe("pipeline.done", len(done))
    ctx.observe("pipeline.not_done", uploads - len(done))
    ctx.observe("pipeline.finished_after_outage_began", len(buffered))
    ctx.observe("pipeline.in_dlq", in_dlq)
    ctx.narrate(f"API: {orders_landed} of {len(orders)} orders stored. Pipeline: {len(done)} of {uploads} jobs "
                f"done, {len(buffered)} of them after the outage began (they waited in the queue)")

    ctx.set_count("sent", len(orders) + uploads)
    ctx.set_count("succeeded", orders_landed + len(done))
    ctx.set_count("in_dlq", in_dlq)
    ctx.set_count("lost", (len(orders) - orders_landed) + (uploads - len(done) - in_dlq))


SCENARIO = Scenario(
    id="downstream-outage",
    title="Downstream outage: synchronous calls fail, queues and retries buffer",
    summary="DynamoDB goes down for a few seconds. Orders keep arriving at crud-api (API Gateway -> Lambda -> "
            "DynamoDB) while media jobs wait in media-pipeline's SQS queue. Broken: the API's clients send each "
            "order once. Fixed: they retry with exponential backoff and jitter, with an Idempotency-Key.",
    learn=[
        "A synchronous path has no buffer: during an outage of its database the API can only answer 5xx",
        "What the caller does not retry is lost - the request is gone, and nothing on the server remembers it",
        "A queue is a buffer: jobs wait out the outage and drain after the recovery, if the retry budget "
        "(visibility timeout x maxReceiveCount) outlasts the outage",
        "Retries need backoff with jitter, and an idempotency key, so a retry cannot store the order twice",
    ],
    patterns=["crud-api", "media-pipeline"],
    params={"orders_before": Param(3, 1, 20), "orders_during": Param(5, 1, 20), "uploads": Param(5, 1, 20),
            "pace_ms": Param(300, 0, 2000, help="pause between orders")},
    lesson_is_loss=True,
    variants=[
        Variant("broken", "API clients send each order once and report the 5xx",
                parameters={"crud-api": API_PARAMS, "media-pipeline": PIPELINE_PARAMS},
                settings={"client_retries": False}),
        Variant("fixed", "API clients retry with backoff + full jitter and an Idempotency-Key",
                parameters={"crud-api": API_PARAMS, "media-pipeline": PIPELINE_PARAMS},
                settings={"client_retries": True}),
    ],
    steps=[
        Step("Orders and uploads flow normally", normal_traffic,
             "A few orders are stored through the API; media files are uploaded and become jobs in the "
             "pipeline's queue. The worker handles one job at a time, so a backlog builds up."),
        Step("DynamoDB goes down", dynamodb_outage,
             "A fault makes every DynamoDB call fail with 503. The API function's SDK retries, then the function "
             "times out and API Gateway answers 502. The worker fails too; its jobs go back to the queue. The "
             "outage lasts until every order placed during it has failed once."),
        Step("DynamoDB recovers", recovery,
             "The fault is lifted. Retrying clients get their orders stored (once each: the Idempotency-Key); "
             "clients that gave up have lost theirs. The queue drains: every job is done, none in the DLQ."),
    ],
    expectations=[
        Expectation("5xx answers of the API during the outage", observed("api.errors_during_outage"), ">=", 1,
                    why="a synchronous path fails with its database"),
        Expectation("orders lost", observed("orders.lost"), ">=", 1,
                    variants=("broken",), why="a client that does not retry drops the order"),
        Expectation("orders lost", observed("orders.lost"), "==", 0, variants=("fixed",),
                    why="retries with backoff outlasted the outage"),
        Expectation("orders stored twice", observed("orders.duplicates"), "==", 0, variants=("fixed",),
                    why="the Idempotency-Key makes a retry return the first result"),
        Expectation("client retries", lambda c: c.counts["retried"], ">=", 1, variants=("fixed",)),
        Expectation("jobs that waited out the outage in the queue", observed("pipeline.finished_after_outage_began"),
                    ">=", 1, why="the queue buffered them"),
        Expectation("jobs not done after the recovery", observed("pipeline.not_done"), "==", 0,
                    why="the retry budget outlasted the outage"),
        Expectation("jobs in the DLQ", observed("pipeline.in_dlq"), "==", 0),
        Expectation("items lost", lambda c: c.counts["lost"], "==", 0, variants=("fixed",)),
    ],
)
