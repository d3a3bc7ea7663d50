"""cold-starts: the first request to a new execution environment pays for its init; a fat package and heavy imports
make that worse, and a traffic spike on a cold function is a spike of cold starts. Provisioned concurrency moves
the init before the traffic.

Two functions answer the same request: SlimFunction (a few lines) and FatFunction (a generated dependency tree of
about 60 modules, imported at init and compiled every time as Lambda writes no .pyc, plus a 4 MB model file). The
scenario measures the first and the following requests of each (`Init Duration` of the REPORT line, from
`LogType=Tail`, and end-to-end time), then sends a spike of `burst` concurrent requests to the alias `live` of the
function that serves traffic: in `broken` the fat one, on demand; in `fixed` the slim one with provisioned
concurrency for the spike.

A request counts as cold when the environment that answered it finished its init after the request was sent (the
handler returns the time its module was imported).

Realistic cold starts (`--param realistic=true`, the default). The sandbox runs the function's init code for real,
but it skips what AWS does before that code runs (fetch and unpack the package, start a fresh runtime: our fork
server has boto3 imported already). The model adds that time back to every cold start with the Lambda fault
`startup-latency`, one rule per function:

    modeled_init_ms = 150 + 60 * package_mb * sqrt(1769 / clamp(memory_mb, 128, 1769))

`package_mb` is the zipped package (`CodeSize`), 1,769 MB is where a function gets a full vCPU. With 256 MB the
slim function gets 150 ms, the fat one (4.2 MB) ~810 ms. `--param realistic=false` leaves only the sandbox's own
init time.
See docs/cold-start-model.md and scenarios/kits/lambda_performance.py.

Sandbox note: the `startup-latency` fault is charged on the first invocation of an environment, not when the
environment starts, so a provisioned environment would still pay it once. With the model on, the fixed variant
therefore sends one warm-up request to every provisioned environment before the traffic (on AWS provisioned
concurrency alone does this).
"""

from scenarios.kits import lambda_performance as kit
from scenarios.model import Expectation, Param, Scenario, Step, Variant
from scenarios.runner import RunContext, ScenarioError

APP = "cold-starts"
ALIAS = "live"
WARM_REQUESTS = 5


def _function(ctx: RunContext, label: str) -> str:
    return ctx.output(APP, "FatFunctionName" if label == "fat" else "SlimFunctionName")


def _realistic(ctx: RunContext) -> bool:
    return ctx.param("realistic")


def deploy(ctx: RunContext) -> None:
    seed = ctx.rng.randrange(1 << 30)
    ctx.deploy_app(APP, stack_name="cold-starts", parameters={"FunctionMemorySize": str(ctx.param("memory"))},
                   build=lambda staged: kit.generate_heavy_deps(staged / "fat", seed=seed))
    lam = ctx.sb.client("lambda")
    for label in ("slim", "fat"):
        config = lam.get_function_configuration(FunctionName=_function(ctx, label))
        ctx.observe(f"{label}.package_kb", round(config["CodeSize"] / 1000, 1))
    if _realistic(ctx):
        model = kit.apply_cold_start_model(ctx, {label: _function(ctx, label) for label in ("slim", "fat")})
        ctx.narrate("realistic cold starts: " + ", ".join(
            f"{label} {m['package_kb']:.{1 if m['package_kb'] < 10 else 0}f} KB at {m['memory_mb']} MB -> +{m['startup_ms']} ms per cold start"
            for label, m in model.items()))
    else:
        ctx.narrate("realistic=false: cold starts cost only what the sandbox itself spends on init")


def first_and_warm_requests(ctx: RunContext) -> None:
    for label in ("slim", "fat"):
        fn = _function(ctx, label)
        first = kit.invoke(ctx, fn)
        if first["error"] or first["throttled"]:
            raise ScenarioError(f"{label} function failed: {first['error']} {first['payload']}")
        warm = [kit.invoke(ctx, fn) for _ in range(WARM_REQUESTS)]
        if any(r["error"] for r in warm):
            raise ScenarioError(f"{label} function failed on a warm request")
        init = first["report"].get("Init Duration")
        if init is None:
            raise ScenarioError(f"the first request to the {label} function reported no Init Duration: "
                                "it was not a cold start (was the sandbox reset?)")
        warm_ms = kit.p50([r["ms"] for r in warm])
        ctx.observe(f"{label}.init_ms", round(init, 1))
        ctx.observe(f"{label}.first_ms", round(first["ms"], 1))
        ctx.observe(f"{label}.warm_ms", warm_ms)
        ctx.observe(f"{label}.cold_penalty_ms", round(first["ms"] - warm_ms, 1))
        same_env = all(r["payload"]["env"] == first["payload"]["env"] for r in warm)
        served = "the same environment served them all" if same_env else "several environments served them"
        ctx.narrate(f"{label}: first request {first['ms']:.0f} ms (Init Duration {init:.0f} ms), then "
                    f"{warm_ms:.0f} ms; {served}")
        for name in ("sent", "invoked", "succeeded"):
            ctx.count(name, 1 + WARM_REQUESTS)


def prepare_for_traffic(ctx: RunContext) -> None:
    serve = ctx.setting("serve")
    fn = _function(ctx, serve)
    ctx.observe("serving", f"{serve}:{ALIAS}")
    burst = ctx.param("burst")
    if not ctx.setting("provisioned"):
        ctx.narrate(f"the {serve} function runs on demand: no environment of version {ALIAS} exists yet")
        ctx.observe("provisioned", 0)
        return
    lam = ctx.sb.client("lambda")
    lam.put_provisioned_concurrency_config(FunctionName=fn, Qualifier=ALIAS, ProvisionedConcurrentExecutions=burst)

    def settled():
        config = lam.get_provisioned_concurrency_config(FunctionName=fn, Qualifier=ALIAS)
        return config if config["Status"] != "IN_PROGRESS" else None

    status = ctx.wait_until(settled, timeout=60, what="provisioned concurrency to be READY")
    if status["Status"] != "READY":
        raise ScenarioError(f"provisioned concurrency is {status['Status']}: {status.get('StatusReason')}")
    ctx.observe("provisioned", status["AvailableProvisionedConcurrentExecutions"])
    ctx.narrate(f"{status['AvailableProvisionedConcurrentExecutions']} environments of {serve}:{ALIAS} "
                "initialized before any traffic")
    if _realistic(ctx):
        # The sandbox charges the modeled start-up latency on an environment's first invocation: pay it now.
        warmed: set[int] = set()
        for _ in range(5):
            results = kit.together(burst, lambda i: kit.invoke(ctx, fn, {"sleep": 0.3}, qualifier=ALIAS, tail=False))
            ctx.count("invoked", sum(not r["throttled"] for r in results))  # they ran: counted and billed as such
            warmed |= {r["payload"]["env"] for r in results if not r["error"] and not r["throttled"]}
            if len(warmed) >= burst:
                break
        ctx.observe("warmed_environments", len(warmed))
        ctx.narrate(f"warm-up: one request to each of the {len(warmed)} provisioned environments (the sandbox "
                    "charges the modeled init on an environment's first request; AWS does it at provisioning)")


def _spike(ctx: RunContext, prefix: str) -> None:
    serve = ctx.setting("serve")
    fn = _function(ctx, serve)
    burst = ctx.param("burst")
    results = kit.together(burst, lambda i: kit.invoke(ctx, fn, qualifier=ALIAS, tail=False))
    ok = [r for r in results if not r["error"] and not r["throttled"]]
    cold = [r for r in ok if r["payload"]["init_at"] > r["sent_at"]]
    ms = [r["ms"] for r in ok]
    ctx.count("sent", burst)
    ctx.count("invoked", burst)
    ctx.count("succeeded", len(ok))
    ctx.count("throttled", sum(r["throttled"] for r in results))
    ctx.latencies.extend(ms)
    ctx.observe(f"{prefix}.cold", len(cold))
    ctx.observe(f"{prefix}.p50_ms", kit.p50(ms))
    ctx.observe(f"{prefix}.max_ms", round(max(ms), 1) if ms else None)
    ctx.observe(f"{prefix}.environments", len({r["payload"]["env"] for r in ok}))
    if not ok:
        raise ScenarioError(f"every request of the spike failed: {results[0]['error']}")
    ctx.narrate(f"{burst} concurrent requests to {serve}:{ALIAS}: {len(cold)} cold, p50 {kit.p50(ms):.0f} ms, "
                f"slowest {max(ms):.0f} ms")


def spike(ctx: RunContext) -> None:
    _spike(ctx, "spike")


def spike_again(ctx: RunContext) -> None:
    _spike(ctx, "again")


def _spike_minus_warm_spike(ctx: RunContext) -> float | None:
    """How much longer the slowest request of the first spike took than the slowest of the same spike repeated.
    A difference, not a ratio, where both spikes are warm: two warm spikes take a few ms each, and their ratio
    swings with whatever else shares the CPUs (it read 2.4 and 2.7 with a test suite running beside it)."""
    first, again = ctx.observations.get("spike.max_ms"), ctx.observations.get("again.max_ms")
    return round(first - again, 1) if first is not None and again is not None else None


def _spike_over_warm_spike(ctx: RunContext) -> float | None:
    """The slowest request of the first spike over the slowest of the same spike repeated on warm environments:
    both bursts compete for the same CPUs, only cold starts make the first one slower."""
    first, again = ctx.observations.get("spike.max_ms"), ctx.observations.get("again.max_ms")
    return round(first / again, 1) if first and again else None


SCENARIO = Scenario(
    id="cold-starts",
    title="Cold starts: fat packages start slowly, a spike on a cold function is a spike of cold starts",
    summary="The same endpoint as a slim and as a fat function (dependency tree + model file). First vs warm "
            "requests of each, then a spike of concurrent requests: on the fat function on demand (broken), or on "
            "the slim one with provisioned concurrency (fixed).",
    learn=[
        "The first request to a new execution environment waits for its init: runtime start, package, imports",
        "Big packages and heavy imports make every cold start slower (Init Duration in the REPORT line)",
        "A burst on a cold function starts one environment per concurrent request: all of them cold",
        "Provisioned concurrency initializes environments before traffic; keep packages slim on top of it",
        "Once warm, environments are reused: the same burst again is served warm",
    ],
    patterns=[],
    outcomes=("succeeded", "throttled", "lost"),
    params={"burst": Param(4, 1, 10, help="concurrent requests in the spike"),
            "memory": Param(256, 128, 3008, help="function memory in MB"),
            "realistic": Param(True, help="model AWS cold-start latency")},
    variants=[
        Variant("broken", "traffic on the fat function, on demand: every environment is started by a request",
                settings={"serve": "fat", "provisioned": False}),
        Variant("fixed", "traffic on the slim function with provisioned concurrency = burst",
                settings={"serve": "slim", "provisioned": True}),
    ],
    steps=[
        Step("Deploy the slim and the fat function", deploy,
             "Both are the same endpoint. The fat package carries ~60 generated modules imported at init and a "
             "4 MB model file: look at the package sizes. With realistic=true each function gets a start-up "
             "latency rule from the cold-start model (package size and memory)."),
        Step("First request vs warm requests", first_and_warm_requests,
             "The first request to each function starts an environment: its REPORT line has an Init Duration. "
             "The next requests reuse that environment and are fast. Compare the fat function's init with the "
             "slim one's: imports are paid on every cold start."),
        Step("Get ready for traffic", prepare_for_traffic,
             "broken: nothing - the alias has no environment until a request needs one. fixed: provisioned "
             "concurrency for the expected burst starts and initializes those environments now, before traffic."),
        Step("A spike of concurrent requests", spike,
             "All requests arrive at once. Without warm environments each concurrent request starts its own "
             "environment and waits for its init: the whole spike sees cold-start latency. With provisioned "
             "environments nobody waits for an init."),
        Step("The same spike again", spike_again,
             "The environments from the spike are still there: this time every request is warm, in both variants. "
             "Cold starts hurt after deploys, scale-ups and idle periods, not in steady traffic."),
    ],
    expectations=[
        Expectation("heavy imports make init slower (ms more than slim)",
                    lambda c: round(c.observations["fat.init_ms"] - c.observations["slim.init_ms"], 1), ">=", 100,
                    why="60 modules compiled and run at every cold start, a model file read"),
        Expectation("the first request pays for the init (ms over warm)",
                    lambda c: c.observations["fat.cold_penalty_ms"], ">=", 100),
        Expectation("spike requests that were not cold starts", lambda c: c.params["burst"] -
                    c.observations["spike.cold"], "==", 0, variants=("broken",),
                    why="no warm environment: each concurrent request starts its own (observed: burst - cold)"),
        Expectation("slowest request: cold spike vs the same spike warm (x)", _spike_over_warm_spike, ">=", 3,
                    variants=("broken",), why="the first spike waits for cold starts"),
        Expectation("spike requests that waited for an init", lambda c: c.observations["spike.cold"], "==", 0,
                    variants=("fixed",), why="provisioned concurrency initialized the environments before"),
        Expectation("slowest request: first spike over the same spike again (ms)", _spike_minus_warm_spike, "<",
                    100, variants=("fixed",),
                    why="both spikes are served by warm environments: no request waits for an init"),
        Expectation("cold starts when the same spike comes again", lambda c: c.observations["again.cold"], "==", 0),
    ],
)
