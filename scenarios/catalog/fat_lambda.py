"""fat-lambda: one function for every feature (a "fat Lambda") vs one function per feature.

The shop API has three routes: GET /users/{id}, POST /payments, POST /notifications. Payments needs a big
dependency tree (a payment SDK and a fraud model: `heavydeps`, generated at deploy time) and reads its fee table
from configuration when its module is imported. The code is the same in both layouts (scenarios/apps/fat-lambda):

* broken (monolith): one function behind every route; its package has all features and all dependencies, and
  its router imports every feature at init.
* fixed (split): one function per route, each package with only its feature and its own dependencies.

What is measured: the package size behind /users, the cold start of /users (Init Duration of the REPORT line in the
function's log, plus end-to-end time), and the blast radius of one bad change: a config push for payments with a
trailing comma in its JSON. Payments' import fails, so the init of any function that carries payments fails. In
the monolith that is every route; split, only /payments.

With `realistic=true` (default) cold starts also get the modeled start-up latency of the cold-start model (package
size and memory, see docs/cold-start-model.md).
"""

import shutil
import time
from pathlib import Path

from scenarios.kits import lambda_performance as kit
from scenarios.model import Expectation, Param, Scenario, Step, Variant
from scenarios.runner import RunContext, ScenarioError

APP = "fat-lambda"
ROUTES = {  # route -> (method, path, body)
    "users": ("GET", "users/42", None),
    "payments": ("POST", "payments", {"amount": 120.0, "method": "card"}),
    "notifications": ("POST", "notifications", {"name": "Ada", "order": "o-1"}),
}
LAYOUTS = {
    "monolith": {"monolith": ["users", "payments", "notifications"]},
    "split": {"users": ["users"], "payments": ["payments"], "notifications": ["notifications"]},
}
NEEDS_HEAVY_DEPS = {"payments"}
WARM_REQUESTS = 3
REQUESTS_AFTER_CHANGE = 3
BAD_FEES = '{"card": 2.9, "sepa": 0.35,}'  # the trailing comma


def build_packages(staged: Path, layout: str, seed: int) -> None:
    """Assembles build/<function>/ for the layout: the router as app.py, the function's features, their deps."""
    src = staged / "src"
    for function, features in LAYOUTS[layout].items():
        out = staged / "build" / function
        (out / "features").mkdir(parents=True)
        shutil.copy(src / "router.py", out / "app.py")
        shutil.copy(src / "features" / "__init__.py", out / "features" / "__init__.py")
        for feature in features:
            shutil.copy(src / "features" / f"{feature}.py", out / "features" / f"{feature}.py")
        if NEEDS_HEAVY_DEPS & set(features):
            kit.generate_heavy_deps(out, seed=seed)


def _function(ctx: RunContext, route: str) -> str:
    return ctx.output(APP, f"{route.title()}FunctionName")


def request(ctx: RunContext, route: str) -> tuple[int, float, str]:
    method, path, body = ROUTES[route]
    started = time.perf_counter()
    resp = ctx.sb.http.request(method, ctx.output(APP, "ApiUrl") + path, json=body, timeout=60)
    return resp.status_code, (time.perf_counter() - started) * 1000, resp.text


def deploy(ctx: RunContext) -> None:
    layout = ctx.setting("layout")
    seed = ctx.rng.randrange(1 << 30)
    ctx.deploy_app(APP, stack_name="fat-lambda", template=f"{layout}.yaml",
                   parameters={"FunctionMemorySize": str(ctx.param("memory"))},
                   build=lambda staged: build_packages(staged, layout, seed))
    lam = ctx.sb.client("lambda")
    functions = {route: _function(ctx, route) for route in ROUTES}
    for route, fn in functions.items():
        size = lam.get_function_configuration(FunctionName=fn)["CodeSize"]
        ctx.observe(f"{route}.package_kb", round(size / 1000, 1))
    ctx.observe("functions", len(set(functions.values())))
    ctx.narrate(f"{layout}: {len(set(functions.values()))} function(s); package behind /users "
                f"{ctx.observations['users.package_kb']:.0f} KB, behind /payments "
                f"{ctx.observations['payments.package_kb']:.0f} KB")
    if ctx.param("realistic"):
        labels = {label: _function(ctx, LAYOUTS[layout][label][0]) for label in LAYOUTS[layout]}
        model = kit.apply_cold_start_model(ctx, labels, observe_prefix="model")
        ctx.narrate("realistic cold starts: " + ", ".join(
            f"{label} {m['package_kb']:.0f} KB -> +{m['startup_ms']} ms" for label, m in model.items()))


def _init_duration(ctx: RunContext, fn: str) -> float | None:
    """Init Duration of the function's first REPORT line in its log group."""
    logs = ctx.sb.client("logs", observer=True)  # the run reading: noise, not billed
    try:
        pages = logs.get_paginator("filter_log_events").paginate(logGroupName=f"/aws/lambda/{fn}")
        for page in pages:
            for event in page["events"]:
                if event["message"].startswith("REPORT"):
                    return kit.parse_report(event["message"]).get("Init Duration")
    except logs.exceptions.ResourceNotFoundException:
        return None
    return None


def first_requests(ctx: RunContext) -> None:
    for route in ROUTES:
        status, first_ms, body = request(ctx, route)
        if status >= 300:
            raise ScenarioError(f"{route}: HTTP {status} {body[:200]}")
        warm = []
        for _ in range(WARM_REQUESTS):
            status, ms, body = request(ctx, route)
            if status >= 300:
                raise ScenarioError(f"{route}: HTTP {status} {body[:200]}")
            warm.append(ms)
        for name in ("sent", "invoked", "succeeded"):
            ctx.count(name, 1 + WARM_REQUESTS)
        ctx.latencies.extend([first_ms, *warm])
        ctx.observe(f"{route}.first_ms", round(first_ms, 1))
        ctx.observe(f"{route}.warm_ms", kit.p50(warm))
        ctx.narrate(f"/{route}: first request {first_ms:.0f} ms, then {kit.p50(warm):.0f} ms")
    fn = _function(ctx, "users")
    init = ctx.wait_until(lambda: _init_duration(ctx, fn), timeout=30, what=f"the REPORT line of {fn} in its log")
    ctx.observe("users.init_ms", round(init, 1))
    ctx.narrate(f"the cold start that served /users: Init Duration {init:.0f} ms "
                + ("(it imported payments' dependencies too)" if ctx.setting("layout") == "monolith"
                   else "(only the users feature)"))


def bad_payments_change(ctx: RunContext) -> None:
    lam = ctx.sb.client("lambda")
    carriers = sorted({_function(ctx, "payments")})
    for fn in carriers:
        env = lam.get_function_configuration(FunctionName=fn).get("Environment", {}).get("Variables", {})
        lam.update_function_configuration(FunctionName=fn,
                                          Environment={"Variables": {**env, "PAYMENTS_FEES": BAD_FEES}})
        kit.wait_active(ctx, fn)
    ctx.narrate(f"PAYMENTS_FEES={BAD_FEES} pushed to {', '.join(carriers)}")
    down, error = [], None
    ctx.count("failed", 0)  # measured: a request answered with an error (5xx) is a failed one
    for route in ROUTES:
        ok = 0
        for _ in range(REQUESTS_AFTER_CHANGE):
            status, ms, body = request(ctx, route)
            ctx.count("sent")
            ctx.count("invoked")
            if status < 300:
                ok += 1
                ctx.count("succeeded")
                ctx.latencies.append(ms)
            else:
                ctx.count("failed")
                error = error or f"HTTP {status} {body[:120]}"
        ctx.observe(f"after_change.{route}_ok", ok)
        if ok == 0:
            down.append(route)
    if error:
        ctx.observe("after_change.error", error)
    ctx.observe("after_change.routes_down", len(down))
    others_ok = sum(ctx.observations[f"after_change.{r}_ok"] for r in ROUTES if r != "payments")
    ctx.observe("after_change.other_routes_ok", others_ok)
    ctx.narrate(f"routes down: {', '.join('/' + r for r in down) or 'none'}"
                + (f" - {error}" if error else ""))
    error_type = _init_error_type(ctx, _function(ctx, "users"))
    if error_type:
        ctx.observe("after_change.users_function_error", error_type)


def _init_error_type(ctx: RunContext, fn: str) -> str | None:
    """What the function behind /users answers now (a direct invoke shows the error API Gateway hides)."""
    r = kit.invoke(ctx, fn, {"httpMethod": "GET", "resource": "/users/{id}", "pathParameters": {"id": "1"}},
                   tail=False)
    return r["error"]


SCENARIO = Scenario(
    id="fat-lambda",
    title="Fat Lambda: one function for every feature - bigger packages, slower cold starts, one bug downs all",
    summary="The shop API (users, payments, notifications) as one monolithic function or as one function per "
            "feature. Payments needs heavy dependencies. Compare package size and cold start behind /users, then "
            "push a broken payments config and count the routes that go down.",
    learn=[
        "A monolithic function's package carries every feature's dependencies, needed or not",
        "Every cold start pays for all of them: the light routes get the heavy init",
        "A bad change to one feature breaks the init of the whole function: every route goes down",
        "Split by feature: each function has its own package, cold start, configuration and blast radius",
        "One SAM template can still deploy them together",
    ],
    patterns=[],
    outcomes=("succeeded", "failed", "lost"),
    params={"memory": Param(256, 128, 3008, help="function memory in MB"),
            "realistic": Param(True, help="model AWS cold-start latency")},
    variants=[
        Variant("broken", "monolith: one function (all features, all dependencies) behind every route",
                settings={"layout": "monolith"}),
        Variant("fixed", "split: one function per feature, each with only its own dependencies",
                settings={"layout": "split"}),
    ],
    steps=[
        Step("Deploy the shop API", deploy,
             "The same code in both layouts; only the packaging differs. Look at the package behind /users: in the "
             "monolith it carries the payment SDK and fraud model that only /payments needs."),
        Step("First and warm requests on every route", first_requests,
             "The first request starts an environment. In the monolith the /users request pays for importing "
             "payments' dependencies; afterwards that one environment serves every route. Split, each function "
             "pays a cold start of its own size."),
        Step("A bad config change for payments", bad_payments_change,
             "A typo in PAYMENTS_FEES (a trailing comma) makes payments' module fail to import. Wherever payments "
             "is packaged, the function cannot initialize: every route it serves answers 502."),
    ],
    expectations=[
        Expectation("package behind /users (KB)", lambda c: c.observations["users.package_kb"], ">=", 1000,
                    variants=("broken",), why="it carries payments' dependencies"),
        Expectation("package behind /users (KB)", lambda c: c.observations["users.package_kb"], "<", 100,
                    variants=("fixed",), why="only the users feature"),
        Expectation("Init Duration of the cold start behind /users (ms)", lambda c: c.observations["users.init_ms"],
                    ">=", 100, variants=("broken",), why="imports every feature and dependency"),
        Expectation("Init Duration of the cold start behind /users (ms)", lambda c: c.observations["users.init_ms"],
                    "<", 100, variants=("fixed",)),
        Expectation("payments requests that worked after the bad change",
                    lambda c: c.observations["after_change.payments_ok"], "==", 0,
                    why="the bug is real in both layouts"),
        Expectation("routes down after a bad payments change", lambda c: c.observations["after_change.routes_down"],
                    "==", 3, variants=("broken",), why="one init for all routes"),
        Expectation("routes down after a bad payments change", lambda c: c.observations["after_change.routes_down"],
                    "==", 1, variants=("fixed",), why="only the payments function"),
        Expectation("users and notifications requests that worked after the change",
                    lambda c: c.observations["after_change.other_routes_ok"], "==", 2 * REQUESTS_AFTER_CHANGE,
                    variants=("fixed",)),
    ],
)
