"""Helpers of the resilience scenarios (downstream-outage, sync-chain, sync-waits-on-async, region-outage).

* deploying a scenario app from `scenarios/apps/<name>/` (or a built-in pattern in another region) from a step,
  with its outputs in `ctx.outputs[name]` like those of the patterns the runner deploys,
* HTTP clients that never go through a proxy, with the outcome and timing of each call,
* traffic at a steady pace, each request in its own thread (a slow answer does not hold back the next request),
* reading a whole table, and the hit counts of the fault rules.

Steps emit events (observations, counts) from the step's own thread only; the request threads return results.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests

from scenarios import events
from scenarios.runner import RunContext



# --- deploying from a step ---------------------------------------------------------------------------------
def deploy_pattern(ctx: RunContext, pattern: str, *, name: str, parameters: dict | None = None,
                   region: str | None = None) -> dict[str, str]:
    """A built-in pattern deployed by a step (e.g. a second copy in another region)."""
    where = f" in {region}" if region else ""
    ctx.emit(events.Phase(text=f"deploying {pattern}{where}"))
    result = ctx.sb.deploy(pattern, parameters={k: str(v) for k, v in (parameters or {}).items()}, region=region)
    ctx.outputs[name] = result.outputs
    ctx.deployed.append((result.stack_name, region))
    return result.outputs


# --- HTTP --------------------------------------------------------------------------------------------------
def http() -> requests.Session:
    """A session for one thread: loopback only, never through a proxy from the environment."""
    session = requests.Session()
    session.trust_env = False
    return session


@dataclass
class Call:
    """One HTTP call as the client saw it: status (None = no answer: timeout, connection error), body, timing."""

    status: int | None
    body: Any
    started: float
    ms: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def server_error(self) -> bool:
        return self.status is not None and self.status >= 500


def call(session: requests.Session, method: str, url: str, timeout: float, **kwargs) -> Call:
    started = time.time()
    t0 = time.perf_counter()
    try:
        resp = session.request(method, url, timeout=timeout, **kwargs)
    except requests.Timeout:
        return Call(None, None, started, (time.perf_counter() - t0) * 1000, "timeout")
    except requests.RequestException as e:
        return Call(None, None, started, (time.perf_counter() - t0) * 1000, type(e).__name__)
    try:
        body = resp.json() if resp.content else None
    except ValueError:
        body = resp.text
    return Call(resp.status_code, body, started, (time.perf_counter() - t0) * 1000)


# --- traffic -----------------------------------------------------------------------------------------------
@dataclass
class Traffic:
    """Requests started at a steady pace, each in its own thread; `wait()` returns their results in order."""

    ctx: RunContext
    pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(max_workers=32))
    futures: list[Future] = field(default_factory=list)

    def send(self, jobs: list[Callable[[], Any]], interval: float) -> None:
        for i, job in enumerate(jobs):
            if i:
                self.ctx.sleep(interval)
            self.futures.append(self.pool.submit(job))

    def done(self) -> int:
        return sum(f.done() for f in self.futures)

    def wait(self, timeout: float, what: str = "the requests to finish") -> list[Any]:
        self.ctx.wait_until(lambda: self.done() == len(self.futures), timeout=timeout, what=what, interval=0.1)
        return [f.result() for f in self.futures]

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def sleep_unless_stopped(ctx: RunContext, seconds: float) -> bool:
    """For request threads: sleep, or return False at once when the run is stopped."""
    return not ctx.stop_event.wait(seconds)


# --- state -------------------------------------------------------------------------------------------------
def scan_all(ctx: RunContext, table: str, region: str | None = None) -> list[dict]:
    """Every item of a table (low-level attribute values), read consistently."""
    ddb = ctx.sb.client("dynamodb", region=region)
    items, kwargs = [], {"TableName": table, "ConsistentRead": True}
    while True:
        page = ddb.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def plain(value: dict) -> Any:
    """A low-level DynamoDB attribute value as a Python value (S, N, BOOL, M, L, NULL)."""
    (kind, v), = value.items()
    if kind == "N":
        return float(v) if "." in v else int(v)
    if kind == "M":
        return {k: plain(x) for k, x in v.items()}
    if kind == "L":
        return [plain(x) for x in v]
    if kind == "NULL":
        return None
    return v


def items_plain(items: list[dict]) -> list[dict]:
    return [{k: plain(v) for k, v in item.items()} for item in items]


def lambda_fault_hits(ctx: RunContext) -> int:
    """How many invocations the current Lambda fault rules have failed (or delayed)."""
    return sum(int(r.get("hits", 0)) for r in ctx.sb.faults.status().get("lambda", []))


def queue_depth(ctx: RunContext, queue_url: str) -> int:
    """Messages in a queue: waiting plus in flight."""
    attrs = ctx.sb.client("sqs", observer=True).get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
    return sum(int(v) for v in attrs["Attributes"].values())


class Clock:
    """Milliseconds since a moment, for observations such as RTO."""

    def __init__(self):
        self.t0 = time.time()

    def ms(self, at: float | None = None) -> int:
        return int(round(((at if at is not None else time.time()) - self.t0) * 1000))


class Flag:
    """A thread-safe value with the time it was set (e.g. the region a client routes to)."""

    def __init__(self, value: Any):
        self._lock = threading.Lock()
        self.value, self.changed_at = value, None

    def set(self, value: Any) -> bool:
        with self._lock:
            if value == self.value:
                return False
            self.value, self.changed_at = value, time.time()
            return True


def state(ctx: RunContext, key: str) -> dict:
    """Objects a scenario's steps share that are not observations (clients, threads, timestamps), kept on the
    run's context so that they go away with it."""
    return ctx.state.setdefault(key, {})
