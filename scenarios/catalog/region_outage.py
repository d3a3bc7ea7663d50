"""region-outage: "it's AWS, so it's resilient" - until us-east-1 goes dark. A single-region API fails every write
for the length of the outage; with a standby region, stream replication and health-checked failover, writes move
to us-west-2 within seconds, at the price of the writes replication had not copied yet (the RPO).

Requests that reach us-east-1 during the outage take ~8 s to fail: API Gateway retries its call to Lambda (503)
with backoff before it answers 502. The clients wait for that answer instead of giving up after a shorter
timeout, because a request abandoned early can still succeed when the region recovers; then the client would not
know which of its writes were stored. So the outage lasts until every write sent during it has its answer.
"""

from __future__ import annotations

import threading
import time

from scenarios.kits import resilience as kr
from scenarios.model import Expectation, Param, Scenario, Step, Variant, observed
from scenarios.runner import RunContext, ScenarioError

PRIMARY, STANDBY = "us-east-1", "us-west-2"
API_PARAMS = {"FunctionTimeout": "3"}
HEALTH_INTERVAL_S, HEALTH_TIMEOUT_S, HEALTH_FAILURES = 0.25, 1.0, 2
WRITE_TIMEOUT_S = 20  # a client that waits for the real answer: a 502 after the platform gave up, not a guess


class RegionClient:
    """The client side of failover: writes go to the active region; health checks of the primary switch it."""

    def __init__(self, ctx: RunContext, urls: dict[str, str], failover: bool, standby_table: str | None):
        self.ctx, self.urls, self.failover, self.standby_table = ctx, urls, failover, standby_table
        self.active = kr.Flag(PRIMARY)
        self.replicated_at_failover: set[str] | None = None
        self._stop = threading.Event()
        self._health: threading.Thread | None = None

    # health checks: a cheap read of the primary, every 250 ms; two failures in a row (1 s timeout) = failover
    def start_health_checks(self) -> None:
        if self.failover:
            self._health = threading.Thread(target=self._health_loop, name="health-check", daemon=True)
            self._health.start()

    def stop(self) -> None:
        self._stop.set()

    def _health_loop(self) -> None:
        session, failures = kr.http(), 0
        deadline = time.monotonic() + 180  # a run that failed half-way must not leave a prober behind for long
        while (not self._stop.is_set() and not self.ctx.stop_event.is_set() and self.active.value == PRIMARY
               and time.monotonic() < deadline):
            c = kr.call(session, "GET", self.urls[PRIMARY] + "items?limit=1", timeout=HEALTH_TIMEOUT_S)
            failures = 0 if c.ok else failures + 1
            if failures >= HEALTH_FAILURES:
                # what the standby holds at the moment it takes over: the RPO is what it lacks
                items = kr.scan_all(self.ctx, self.standby_table, region=STANDBY)
                self.replicated_at_failover = {i["id"]["S"] for i in items}
                self.active.set(STANDBY)
                return
            self._stop.wait(HEALTH_INTERVAL_S)

    def write(self, n: int, payload: dict) -> dict:
        session = kr.http()
        t0 = time.perf_counter()
        attempts = []
        while True:
            region = self.active.value
            c = kr.call(session, "POST", self.urls[region] + "items", timeout=WRITE_TIMEOUT_S,
                        json={"payload": payload}, headers={"x-correlation-id": f"region-write-{n}"})
            attempts.append({"region": region, "status": c.status, "ms": round(c.ms)})
            if c.ok:
                return {"n": n, "ok": True, "region": region, "id": c.body["id"], "acked_at": time.time(),
                        "attempts": attempts, "ms": (time.perf_counter() - t0) * 1000}
            if self.failover and region == PRIMARY:
                # the health checks decide where traffic goes; give them a moment to move it
                deadline = time.monotonic() + 5
                while self.active.value == PRIMARY and time.monotonic() < deadline:
                    if not kr.sleep_unless_stopped(self.ctx, 0.05):
                        break
            if self.active.value == region:  # nowhere else to go
                return {"n": n, "ok": False, "region": region, "id": None, "acked_at": None,
                        "attempts": attempts, "ms": (time.perf_counter() - t0) * 1000}


def _state(ctx: RunContext) -> dict:
    return kr.state(ctx, "region-outage")


def _payloads(ctx: RunContext, first: int, count: int) -> list[dict]:
    return [{"order": n, "amount": ctx.rng.randint(5, 500)} for n in range(first, first + count)]


# --- steps -------------------------------------------------------------------------------------------------
def stand_up_standby(ctx: RunContext) -> None:
    st = _state(ctx)
    urls = {PRIMARY: ctx.output("crud-api", "ApiUrl")}
    standby_table = None
    if ctx.setting("multi_region"):
        standby = kr.deploy_pattern(ctx, "crud-api", name="crud-api-standby", parameters=API_PARAMS, region=STANDBY)
        urls[STANDBY] = standby["ApiUrl"]
        standby_table = standby["ItemsTableName"]
        ctx.deploy_app("region-replication", parameters={
            "SourceStreamArn": ctx.output("crud-api", "ItemsTableStreamArn"), "TargetTableName": standby_table,
            "TargetRegion": STANDBY, "ReplicationLagMs": ctx.param("replication_lag_ms")})
        warm = kr.call(kr.http(), "GET", urls[STANDBY] + "items?limit=1", timeout=30)
        if not warm.ok:
            raise ScenarioError(f"the standby API in {STANDBY} does not answer: {warm.status} {warm.body}")
        ctx.narrate(f"standby: crud-api in {STANDBY}, fed by a replicator on the {PRIMARY} table's stream "
                    f"(lag {ctx.param('replication_lag_ms')} ms per batch)")
    else:
        ctx.narrate(f"single region: everything lives in {PRIMARY}; there is nowhere to fail over to")
    st["client"] = RegionClient(ctx, urls, bool(ctx.setting("multi_region")), standby_table)
    st["acked"] = {}  # item id -> (region, acked_at, n)


def normal_traffic(ctx: RunContext) -> None:
    st = _state(ctx)
    client: RegionClient = st["client"]
    before = ctx.param("writes_before")
    pace = ctx.param("pace_ms") / 1000
    warm = kr.call(kr.http(), "GET", client.urls[PRIMARY] + "items?limit=1", timeout=30)
    if not warm.ok:
        raise ScenarioError(f"the primary API does not answer: {warm.status} {warm.body}")
    client.start_health_checks()
    half = max(1, before // 2)
    results = []
    for part, (first, count) in enumerate(((0, half), (half, before - half))):
        traffic = kr.Traffic(ctx)
        traffic.send([lambda n=n, p=p: client.write(n, p) for n, p in
                      zip(range(first, first + count), _payloads(ctx, first, count))], pace)
        results += traffic.wait(60, "the writes before the outage")
        traffic.close()
        if part == 0 and client.standby_table:
            ctx.wait_until(lambda: kr.scan_all(ctx, client.standby_table, region=STANDBY), timeout=60,
                           what="the first write to reach the standby region")
            ctx.narrate("replication works: the first writes are in the standby table")
    _record(ctx, results)
    failed = [r for r in results if not r["ok"]]
    if failed:
        raise ScenarioError(f"{len(failed)} write(s) failed before any fault was injected: {failed[:2]}")
    ctx.observe("before.acked", len(results))


def region_goes_dark(ctx: RunContext) -> None:
    st = _state(ctx)
    client: RegionClient = st["client"]
    during = ctx.param("writes_during")
    clock = kr.Clock()
    st["outage_started"] = clock.t0
    ctx.sb.faults.apply("region-outage", region=PRIMARY)
    ctx.narrate(f"every API call in {PRIMARY} now fails with 503 - Lambda, DynamoDB, its stream")
    traffic = kr.Traffic(ctx)
    first = ctx.param("writes_before")
    traffic.send([lambda n=n, p=p: client.write(n, p) for n, p in
                  zip(range(first, first + during), _payloads(ctx, first, during))], ctx.param("pace_ms") / 1000)
    results = traffic.wait(90, "the writes sent during the outage")
    traffic.close()
    _record(ctx, results)
    failed = [r for r in results if not r["ok"]]
    ctx.observe("during.sent", during)
    ctx.observe("during.failed", len(failed))
    ctx.observe("during.slowest_ms", round(max(r["ms"] for r in results)))
    if client.failover:
        on_standby = [r for r in results if r["ok"] and r["region"] == STANDBY]
        ctx.observe("failover.region", client.active.value)
        ctx.observe("failover.detect_ms", clock.ms(client.active.changed_at) if client.active.changed_at else None)
        ctx.observe("failover.rto_ms", clock.ms(min(r["acked_at"] for r in on_standby)) if on_standby else None)
        ctx.count("retried", sum(len(r["attempts"]) - 1 for r in results))
        snapshot = client.replicated_at_failover
        if snapshot is not None:
            missing = [(i, a) for i, a in st["acked"].items() if a[0] == PRIMARY and i not in snapshot]
            ctx.observe("rpo.writes", len(missing))
            ctx.observe("rpo.seconds", round(clock.t0 - min(a[1] for _, a in missing), 2) if missing else 0.0)
            ctx.narrate(f"at failover the standby lacked {len(missing)} acknowledged write(s): that is the RPO")
    else:
        ctx.observe("failover.region", None)
        ctx.observe("failover.rto_ms", None)
        ctx.narrate(f"{len(failed)} of {during} writes failed; the clients can only wait for {PRIMARY}")
    st["outage_ms"] = clock.ms()


def region_recovers(ctx: RunContext) -> None:
    st = _state(ctx)
    client: RegionClient = st["client"]
    client.stop()
    ctx.sb.faults.clear()
    ctx.observe("outage.seconds", round(st["outage_ms"] / 1000, 1))
    acked = st["acked"]
    if client.standby_table:
        primary_ids = {i for i, a in acked.items() if a[0] == PRIMARY}
        clock = kr.Clock()

        def caught_up():
            have = {i["id"]["S"] for i in kr.scan_all(ctx, client.standby_table, region=STANDBY)}
            return primary_ids <= have

        ctx.wait_until(caught_up, timeout=60, what="replication to catch up after the recovery", interval=0.5)
        ctx.observe("recovery.catch_up_ms", clock.ms())
        ctx.narrate(f"{PRIMARY} is back; the stream resumed and the writes the standby lacked arrived late. "
                    "Had the region not come back, they would have been lost.")
        stored = {i["id"]["S"] for i in kr.scan_all(ctx, client.standby_table, region=STANDBY)}
    else:
        stored = {i["id"]["S"] for i in kr.scan_all(ctx, ctx.output("crud-api", "ItemsTableName"))}
    sent = ctx.param("writes_before") + ctx.param("writes_during")
    landed = sum(1 for i in acked if i in stored)
    ctx.set_count("sent", sent)
    ctx.set_count("succeeded", landed)
    ctx.set_count("lost", sent - landed)


def _record(ctx: RunContext, results: list[dict]) -> None:
    st = _state(ctx)
    for r in results:
        ctx.latencies.append(round(r["ms"], 1))
        if r["ok"]:
            st["acked"][r["id"]] = (r["region"], r["acked_at"], r["n"])


SCENARIO = Scenario(
    id="region-outage",
    title="Region outage: single region vs. a replicated standby with failover",
    summary="Writes go to crud-api in us-east-1 when the whole region goes dark (every call there fails with "
            "503). Broken: that is the only region. Fixed: crud-api also runs in us-west-2, a replicator on the "
            "us-east-1 table's stream copies every write there, and the client fails over on health checks.",
    learn=[
        "Serverless services are regional: when the region fails, API Gateway, Lambda and DynamoDB fail together",
        "Multi-region resilience is designed, not default: a standby region, replication and a failover decision",
        "RTO is how long writes fail before traffic moves; health checks with short timeouts keep it to seconds",
        "Asynchronous replication has an RPO: the writes still in flight when the region fails are not in the "
        "standby - they arrive only if the region comes back",
    ],
    patterns=["crud-api"],
    params={"writes_before": Param(6, 1, 50), "writes_during": Param(12, 1, 50),
            "pace_ms": Param(300, 0, 2000, help="pause between writes"),
            "replication_lag_ms": Param(3000, 0, 30000)},
    lesson_is_loss=True,
    variants=[
        Variant("broken", "single region: crud-api in us-east-1 only",
                parameters={"crud-api": API_PARAMS}, settings={"multi_region": False}),
        Variant("fixed", "standby in us-west-2 with stream replication; the client fails over on health checks",
                parameters={"crud-api": API_PARAMS}, settings={"multi_region": True}),
    ],
    steps=[
        Step("Stand up the standby region", stand_up_standby,
             "Fixed deploys a second crud-api in us-west-2 and a replicator Lambda on the us-east-1 table's "
             "stream (what DynamoDB global tables do for you). Broken has one region: nothing to deploy."),
        Step("Normal traffic", normal_traffic,
             "Orders are written to us-east-1. In fixed, a health check reads the primary every 250 ms, and the "
             "replicator copies each batch to us-west-2 a few seconds later."),
        Step("us-east-1 goes dark", region_goes_dark,
             "A region-wide fault: every call in us-east-1 answers 503, including API Gateway's call to Lambda "
             "and the stream the replicator reads. Watch the writes: broken ones wait for the platform to give up "
             "and get 502; fixed ones move to us-west-2 once two health checks in a row fail (the RTO)."),
        Step("us-east-1 recovers", region_recovers,
             "The fault is lifted. The stream resumes and the writes the standby lacked at failover (the RPO) "
             "arrive late - they were at risk for the whole outage."),
    ],
    expectations=[
        Expectation("writes that failed during the outage", observed("during.failed"), ">=", 1, variants=("broken",),
                    why="one region: nothing can take the writes while it is down"),
        Expectation("writes lost", lambda c: c.counts["lost"], ">=", 1, variants=("broken",),
                    why="a write that failed was never stored anywhere"),
        Expectation("writes that failed during the outage", observed("during.failed"), "==", 0, variants=("fixed",),
                    why="the client moved to the standby region and retried there"),
        Expectation("region serving the traffic after failover", observed("failover.region"), "==", STANDBY,
                    variants=("fixed",)),
        Expectation("RTO: ms until writes resumed", observed("failover.rto_ms"), "<", 10_000, variants=("fixed",),
                    why="health checks with a 1 s timeout detect the outage in seconds"),
        Expectation("RPO: acknowledged writes the standby lacked at failover", observed("rpo.writes"), ">=", 1,
                    variants=("fixed",), why="replication is asynchronous: its lag is the data at risk"),
        Expectation("writes lost once replication caught up", lambda c: c.counts["lost"], "==", 0,
                    variants=("fixed",), why="the region came back and the stream delivered the late writes"),
    ],
)
