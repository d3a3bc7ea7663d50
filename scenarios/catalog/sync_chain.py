"""sync-chain: Validate -> Charge -> Receipt as synchronous Lambda-to-Lambda calls. Every hop waits for the next,
so the client pays for all of them, and when the payment provider is down the failure travels back up: Validate
fails too and the client gets a 502. Decoupled (Validate hands the order to a workflow and answers 202), the
outage becomes a delay: the workflow retries Charge with backoff and every order completes."""

from __future__ import annotations

import statistics

from scenarios.kits import onboarding as kit
from scenarios.kits import resilience as kr
from scenarios.model import Expectation, Param, Scenario, Step, Variant, observed
from scenarios.runner import RunContext, ScenarioError

APP = "sync-chain"
CHARGE_MS, RECEIPT_MS = 300, 150
CLIENT_TIMEOUT_S = 15


def _order(ctx: RunContext, order_id: str) -> dict:
    return {"order_id": order_id, "amount": ctx.rng.randint(500, 20000) / 100}


def _post(ctx: RunContext, order: dict) -> kr.Call:
    return kr.call(kr.http(), "POST", ctx.output(APP, "ApiUrl") + "orders", timeout=CLIENT_TIMEOUT_S, json=order)


def _orders(ctx: RunContext) -> dict[str, dict]:
    return {o["order_id"]: o for o in kr.items_plain(kr.scan_all(ctx, ctx.output(APP, "OrdersTableName")))}


def _completed(ctx: RunContext, ids: list[str]) -> bool:
    orders = _orders(ctx)
    return all(orders.get(i, {}).get("status") == "COMPLETED" for i in ids)


def _answered(call: kr.Call) -> bool:
    return call.status in (200, 202)


def _latencies(ctx: RunContext, calls: list[kr.Call]) -> None:
    """The report's latency is that of answered orders (200/202): what a client waits for an order to go through.
    Failed calls are in the observations (outage.client_p50_ms)."""
    ctx.latencies.extend(round(c.ms, 1) for c in calls if _answered(c))


# --- steps -------------------------------------------------------------------------------------------------
def deploy_order_service(ctx: RunContext) -> None:
    mode = ctx.setting("mode")
    ctx.deploy_app(APP, parameters={"Mode": mode, "ChargeMs": CHARGE_MS, "ReceiptMs": RECEIPT_MS})
    warm = _post(ctx, {"order_id": "warm-up", "amount": 1})
    if not _answered(warm):
        raise ScenarioError(f"the warm-up order failed: {warm.status} {warm.body}")
    ctx.wait_until(lambda: _completed(ctx, ["warm-up"]), timeout=60, what="the warm-up order to complete")
    ctx.narrate(f"{mode}: " + ("Validate -> Charge -> Receipt, each one waiting for the next" if mode == "sync"
                               else "Validate -> workflow (Charge -> Receipt, with retries); the client gets 202"))


def normal_traffic(ctx: RunContext) -> None:
    st = kr.state(ctx, "sync-chain")
    ids, calls = [], []
    for n in range(ctx.param("orders_before")):
        order = _order(ctx, f"order-{n:02d}")
        ids.append(order["order_id"])
        calls.append(_post(ctx, order))
    _latencies(ctx, calls)
    failed = [c for c in calls if not _answered(c)]
    if failed:
        raise ScenarioError(f"{len(failed)} order(s) failed before any fault: {failed[0].status} {failed[0].body}")
    ctx.wait_until(lambda: _completed(ctx, ids), timeout=60, what="the orders to complete")
    orders = _orders(ctx)
    ctx.observe("normal.client_p50_ms", round(statistics.median(c.ms for c in calls)))
    ctx.observe("normal.completed_p50_ms", round(statistics.median(
        orders[i]["completed_ms"] - orders[i]["received_ms"] for i in ids)))
    ctx.observe("normal.downstream_ms", CHARGE_MS + RECEIPT_MS)
    st["ids"] = list(ids)


def payment_outage(ctx: RunContext) -> None:
    st = kr.state(ctx, "sync-chain")
    during = ctx.param("orders_during")
    ctx.sb.faults.apply("lambda-errors", function=ctx.output(APP, "ChargeFunctionName"),
                        error_type="PaymentProviderUnavailable", error_message="the payment provider is down")
    ctx.narrate("every Charge invocation now fails with PaymentProviderUnavailable (its handler does not run)")
    orders = [_order(ctx, f"order-{n:02d}") for n in range(ctx.param("orders_before"),
                                                           ctx.param("orders_before") + during)]
    traffic = kr.Traffic(ctx)
    traffic.send([lambda o=o: _post(ctx, o) for o in orders], ctx.param("pace_ms") / 1000)
    calls = traffic.wait(60, "the orders sent during the outage")
    traffic.close()
    # the outage lasts until every order has met it: one failed Charge per order
    ctx.wait_until(lambda: kr.lambda_fault_hits(ctx) >= during, timeout=60,
                   what="every order to reach the failing Charge function")
    ctx.observe("outage.charge_failures", kr.lambda_fault_hits(ctx))
    ctx.sb.faults.clear()
    ctx.narrate("the payment provider is back")
    _latencies(ctx, calls)
    errors = [c for c in calls if c.server_error or c.status is None]
    ctx.observe("outage.client_errors", len(errors))
    ctx.observe("outage.client_statuses", sorted({str(c.status) for c in calls}))
    ctx.observe("outage.client_p50_ms", round(statistics.median(c.ms for c in calls)))
    st["ids"] += [o["order_id"] for o in orders]


def after_recovery(ctx: RunContext) -> None:
    st = kr.state(ctx, "sync-chain")
    ids = st["ids"]
    if ctx.setting("mode") == "async":
        ctx.wait_until(lambda: _completed(ctx, ids), timeout=60, what="the workflow to finish every order")
        sfn = ctx.sb.client("stepfunctions")
        retries = 0
        for e in sfn.list_executions(stateMachineArn=ctx.output(APP, "StateMachineArn"))["executions"]:
            retries += kit.task_failures(kit.execution_history(ctx, e["executionArn"]), "Charge")
        ctx.count("retried", retries)
    orders = _orders(ctx)
    statuses = [orders.get(i, {}).get("status", "MISSING") for i in ids]
    completed = statuses.count("COMPLETED")
    ctx.observe("orders.completed", completed)
    ctx.observe("orders.stuck_received", statuses.count("RECEIVED"))
    ctx.set_count("sent", len(ids))
    ctx.set_count("succeeded", completed)
    ctx.set_count("lost", len(ids) - completed)
    if statuses.count("RECEIVED"):
        ctx.narrate(f"{statuses.count('RECEIVED')} order(s) were validated and recorded, then abandoned half-way: "
                    "nothing will ever charge them")


SCENARIO = Scenario(
    id="sync-chain",
    title="Synchronous Lambda chains: latency adds up, failures cascade",
    summary="An order service: Validate -> Charge -> Receipt. Broken: each function invokes the next with "
            "RequestResponse and waits. Fixed: Validate starts a Step Functions workflow and answers 202. Then the "
            "payment provider goes down (every Charge invocation fails) while orders keep coming.",
    learn=[
        "In a synchronous chain the caller waits for every hop: the latencies add up",
        "A failure deep in the chain cascades: Validate fails because Charge failed, and the client gets a 502",
        "Half-done work is left behind: orders recorded by Validate that nothing will ever charge",
        "Decouple with events or a workflow: the client gets 202 at once, and the platform retries the failing "
        "step with backoff until the provider is back",
    ],
    patterns=[],
    params={"orders_before": Param(4, 1, 20), "orders_during": Param(5, 1, 20),
            "pace_ms": Param(300, 0, 2000, help="pause between orders")},
    lesson_is_loss=True,
    variants=[
        Variant("broken", "Validate invokes Charge, which invokes Receipt: RequestResponse, each hop waits",
                settings={"mode": "sync"}),
        Variant("fixed", "Validate starts a workflow (Charge -> Receipt, retries with backoff) and answers 202",
                settings={"mode": "async"}),
    ],
    steps=[
        Step("Deploy the order service", deploy_order_service,
             "The app lives in scenarios/apps/sync-chain: the same three functions in both variants; the Mode "
             "parameter decides whether Validate calls Charge directly or through a workflow. A warm-up order "
             "takes the cold starts out of the numbers."),
        Step("Normal traffic", normal_traffic,
             f"Orders one at a time. Charge takes {CHARGE_MS} ms (the payment provider), Receipt {RECEIPT_MS} ms. "
             "Watch the client latency: in the chain it includes every hop; with the workflow only Validate."),
        Step("The payment provider goes down", payment_outage,
             "A Lambda fault fails every Charge invocation. In the chain, Validate's invoke returns the error, "
             "Validate fails too and the client gets 502. With the workflow the client still gets 202; Charge "
             "fails inside the workflow and waits for its next retry."),
        Step("After the recovery", after_recovery,
             "The fault is lifted. The workflow's retries (1 s, 2 s, 4 s ... with full jitter) charge the waiting "
             "orders and send their receipts. In the chain nothing retries: the failed orders stay half-done."),
    ],
    expectations=[
        Expectation("client latency in ms (the chain waits for every hop)", observed("normal.client_p50_ms"), ">=",
                    CHARGE_MS + RECEIPT_MS, variants=("broken",),
                    why="Validate waits for Charge, which waits for Receipt"),
        Expectation("client errors during the outage (it cascaded)", observed("outage.client_errors"), ">=", 1,
                    variants=("broken",),
                    why="Charge's error became Validate's error became a 502"),
        Expectation("orders abandoned half-way", observed("orders.stuck_received"), ">=", 1, variants=("broken",),
                    why="validated and recorded, never charged: nothing retries a synchronous chain"),
        Expectation("orders lost", lambda c: c.counts["lost"], ">=", 1, variants=("broken",)),
        Expectation("client latency in ms (no waiting for downstream hops)", observed("normal.client_p50_ms"), "<",
                    CHARGE_MS + RECEIPT_MS, variants=("fixed",), why="202 Accepted once the workflow has the order"),
        Expectation("client errors during the outage", observed("outage.client_errors"), "==", 0,
                    variants=("fixed",)),
        Expectation("Charge retries by the workflow", lambda c: c.counts["retried"], ">=", 1,
                    variants=("fixed",), why="Retry with backoff rides out the outage"),
        Expectation("orders lost", lambda c: c.counts["lost"], "==", 0, variants=("fixed",)),
    ],
)
