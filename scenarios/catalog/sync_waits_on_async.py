"""sync-waits-on-async: an upload API that holds the client's request open until an S3-triggered processor has
finished. Quick files make it look fine; slow ones outlast the client's timeout, so the client reports a failure
for work that then completes unseen. Fixed: 202 Accepted with a status URL, and the client polls."""

from __future__ import annotations

import statistics
import time

from scenarios.kits import resilience as kr
from scenarios.model import Expectation, Param, Scenario, Step, Variant, observed
from scenarios.runner import RunContext, ScenarioError

APP = "sync-waits"
POLL_INTERVAL_S = 0.25
RESULT_DEADLINE_S = 40


def _api(ctx: RunContext) -> str:
    return ctx.output(APP, "ApiUrl")


def _uploads(ctx: RunContext) -> dict[str, dict]:
    """Uploads by the client's file name."""
    return {u["name"]: u for u in kr.items_plain(kr.scan_all(ctx, ctx.output(APP, "UploadsTableName")))}


def _upload(ctx: RunContext, name: str, processing_ms: int) -> dict:
    """One client: POST the file with the client's timeout; with 202, poll the status URL until it is done."""
    session = kr.http()
    timeout = ctx.param("client_timeout_s")
    body = {"name": name, "content": f"{name}: " + "x" * 256, "processing_ms": processing_ms}
    posted = kr.call(session, "POST", _api(ctx) + "uploads", timeout=timeout, json=body)
    out = {"name": name, "processing_ms": processing_ms, "answer_ms": posted.ms, "status": posted.status,
           "timed_out": posted.error == "timeout", "result": None, "result_ms": None, "polls": 0}
    if posted.status == 200:
        out.update(result=posted.body, result_ms=posted.ms)
    elif posted.status == 202:
        url = _api(ctx) + posted.body["status_url"]
        deadline = time.monotonic() + RESULT_DEADLINE_S
        while time.monotonic() < deadline and kr.sleep_unless_stopped(ctx, POLL_INTERVAL_S):
            got = kr.call(session, "GET", url, timeout=timeout)
            out["polls"] += 1
            if got.ok and got.body.get("status") == "DONE":
                out.update(result=got.body, result_ms=(time.time() - posted.started) * 1000)
                break
    return out


# --- steps -------------------------------------------------------------------------------------------------
def deploy_upload_api(ctx: RunContext) -> None:
    mode = ctx.setting("mode")
    ctx.deploy_app(APP, parameters={"Mode": mode})
    warm = _upload(ctx, "warm-up", 0)
    if warm["result"] is None:
        raise ScenarioError(f"the warm-up upload got no result: {warm}")
    ctx.narrate("wait: POST /uploads answers when the processor is done" if mode == "wait" else
                "accept: POST /uploads answers 202 with a status URL; the client polls GET /uploads/{id}")


def clients_upload(ctx: RunContext) -> None:
    st = kr.state(ctx, "sync-waits")
    n = ctx.param("uploads")
    slow = max(1, n // 2)
    durations = [ctx.param("slow_ms")] * slow + [ctx.param("fast_ms")] * (n - slow)
    ctx.rng.shuffle(durations)
    files = [(f"file-{i:02d}", ms) for i, ms in enumerate(durations)]
    ctx.narrate(f"{n} uploads: {slow} take {ctx.param('slow_ms')} ms to process, {n - slow} take "
                f"{ctx.param('fast_ms')} ms; the clients give up after {ctx.param('client_timeout_s')} s")
    traffic = kr.Traffic(ctx)
    traffic.send([lambda f=f, ms=ms: _upload(ctx, f, ms) for f, ms in files], ctx.param("pace_ms") / 1000)
    results = traffic.wait(RESULT_DEADLINE_S + 30, "the clients to finish")
    traffic.close()
    ctx.latencies.extend(round(r["answer_ms"], 1) for r in results)
    st["results"] = results
    timed_out = [r for r in results if r["timed_out"]]
    received = [r for r in results if r["result"] is not None]
    ctx.observe("clients.timed_out", len(timed_out))
    ctx.observe("clients.timed_out_slow", sum(r["processing_ms"] == ctx.param("slow_ms") for r in timed_out))
    ctx.observe("clients.got_result", len(received))
    ctx.observe("clients.without_result", len(results) - len(received))
    ctx.observe("clients.answer_p99_ms", round(max(r["answer_ms"] for r in results)))
    if received:
        ctx.observe("clients.result_p50_ms", round(statistics.median(r["result_ms"] for r in received)))
    ctx.observe("clients.statuses", sorted({str(r["status"]) for r in results}))


def what_happened(ctx: RunContext) -> None:
    st = kr.state(ctx, "sync-waits")
    results = st["results"]
    names = [r["name"] for r in results]
    ctx.wait_until(lambda: all(_uploads(ctx).get(n, {}).get("status") == "DONE" for n in names),
                   timeout=60, what="the processor to finish every upload")
    uploads = _uploads(ctx)
    done = sum(uploads.get(n, {}).get("status") == "DONE" for n in names)
    unseen = [r["name"] for r in results if r["result"] is None and uploads.get(r["name"], {}).get("status") == "DONE"]
    ctx.observe("files.processed", done)
    ctx.observe("files.processed_unseen", len(unseen))
    if unseen:
        ctx.narrate(f"{len(unseen)} file(s) were processed after their client had given up: the client reported "
                    "a failure, and a retry would upload and process the file again")
    ctx.set_count("sent", len(results))
    ctx.set_count("succeeded", sum(r["result"] is not None for r in results))
    ctx.set_count("client_gave_up", len(unseen))  # processed, but its client had stopped waiting for the result
    ctx.set_count("lost", len(results) - done)


SCENARIO = Scenario(
    id="sync-waits-on-async",
    title="A synchronous API waiting on asynchronous work: client timeouts",
    summary="POST /uploads stores a file in S3; an S3-triggered function processes it. Broken: the API holds the "
            "request open until the result is there. Fixed: it answers 202 Accepted with a status URL, and the "
            "client polls. Some files take 5 s to process; the clients wait 3 s.",
    learn=[
        "An API that waits for an asynchronous pipeline inherits its worst-case latency: sometimes it works, "
        "sometimes the client times out",
        "A timeout is not a failure: the work finishes anyway, unseen, and a retrying client repeats it",
        "Keep APIs for fast, synchronous work: accept the job (202 + status URL) and let the client poll "
        "(or call it back)",
        "A function that waits is billed for waiting",
    ],
    patterns=[],
    outcomes=("succeeded", "client_gave_up", "lost"),
    params={"uploads": Param(6, 1, 20), "slow_ms": Param(5000, 100, 20000), "fast_ms": Param(500, 10, 10000),
            "client_timeout_s": Param(3.0, 0.5, 30.0), "pace_ms": Param(200, 0, 2000, help="pause between uploads")},
    variants=[
        Variant("broken", "POST /uploads waits for the processor's result", settings={"mode": "wait"}),
        Variant("fixed", "POST /uploads answers 202 + status URL; the client polls", settings={"mode": "accept"}),
    ],
    steps=[
        Step("Deploy the upload API", deploy_upload_api,
             "The app lives in scenarios/apps/sync-waits: API Gateway -> upload function -> S3 -> processor "
             "function -> uploads table. A warm-up upload takes the cold starts out of the numbers. (API Gateway "
             "would wait up to 29 s; the clients here give up after 3 s, as mobile and browser clients do.)"),
        Step("Clients upload files", clients_upload,
             "Each client uploads one file and waits at most 3 s for an answer. Broken: the quick files come back "
             "with their result, the slow ones time out. Fixed: every upload is answered 202 in milliseconds and "
             "the client polls the status URL until the result is there."),
        Step("What happened to the files", what_happened,
             "Every file was processed in both variants. In broken, the clients of the slow files saw a timeout "
             "for work that succeeded; the upload function kept waiting (and being billed) after they left."),
    ],
    expectations=[
        Expectation("slow uploads that timed out at the client", observed("clients.timed_out"), ">=", 1,
                    variants=("broken",),
                    why="processing takes longer than the client will wait"),
        Expectation("uploads answered in time (sometimes it works)", observed("clients.got_result"), ">=", 1,
                    variants=("broken",), why="which is what makes this anti-pattern hard to spot"),
        Expectation("uploads processed after their client gave up", observed("files.processed_unseen"), ">=", 1,
                    variants=("broken",)),
        Expectation("client timeouts", observed("clients.timed_out"), "==", 0, variants=("fixed",)),
        Expectation("clients without their result", observed("clients.without_result"), "==", 0,
                    variants=("fixed",), why="202 + status URL: the wait moved to the client"),
        Expectation("slowest answer to an upload, ms", observed("clients.answer_p99_ms"), "<", 2000,
                    variants=("fixed",), why="accepting a job is fast; doing it is not the API's business"),
    ],
)
