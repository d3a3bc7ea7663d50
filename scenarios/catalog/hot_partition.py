"""hot-partition: every write of a flash sale goes to one partition key, and one partition has a fixed write limit;
write sharding (a calculated key suffix) spreads the same load over many partitions.

A DynamoDB partition takes at most 1,000 write units per second however much capacity the table has, and all items
with the same partition key live in one partition. LocalStack does not model partitions, so the scenario's writer
function (scenarios/apps/hot-partition) stands in for that limit: each write first takes a unit from its partition
key's budget for the current second (`partition_limit` writes/s, an atomic conditional counter in DynamoDB), and a
key over budget gets ProvisionedThroughputExceededException, as DynamoDB answers. The limit is scaled down (10/s
instead of 1,000/s) so that a laptop can exceed it.

The sale: `rate` orders per second for `seconds` seconds, one batch per second to the writer (which writes them 8
in parallel, without SDK retries, so every throttle is seen).

* broken: partition key = the product ("sku-flash"): the whole sale lands on one partition.
* fixed: partition key = "sku-flash#<n>", n = crc32(order id) % `shards`: a calculated suffix, so the writer and
  any reader can find an order's key from its id; reading the whole sale back is `shards` queries.
"""

import math
import time
import zlib

from scenarios.kits import lambda_performance as kit
from scenarios.model import Expectation, Param, Scenario, Step, Variant
from scenarios.runner import RunContext, ScenarioError

APP = "hot-partition"
PRODUCT = "sku-flash"


def partition_key(ctx: RunContext, order_id: str) -> str:
    shards = ctx.param("shards") if ctx.setting("sharded") else 1
    if shards <= 1:
        return PRODUCT
    return f"{PRODUCT}#{zlib.crc32(order_id.encode()) % shards}"


def deploy(ctx: RunContext) -> None:
    ctx.deploy_app(APP, stack_name="hot-partition",
                   parameters={"PartitionWritesPerSecond": str(ctx.param("partition_limit"))})
    ctx.narrate(f"each partition key takes at most {ctx.param('partition_limit')} writes/s; "
                + (f"orders are spread over {ctx.param('shards')} keys {PRODUCT}#0..{ctx.param('shards') - 1}"
                   if ctx.setting("sharded") else f"every order uses the key {PRODUCT}"))


def flash_sale(ctx: RunContext) -> None:
    fn = ctx.output(APP, "WriterFunctionName")
    rate, seconds = ctx.param("rate"), ctx.param("seconds")
    written = throttled = 0
    per_second = []
    keys = set()
    started = time.time()
    for second in range(seconds):
        orders = []
        for _ in range(rate):
            order_id = f"o-{ctx.rng.getrandbits(40):010x}"
            pk = partition_key(ctx, order_id)
            keys.add(pk)
            orders.append({"pk": pk, "order_id": order_id, "sku": PRODUCT, "quantity": ctx.rng.randint(1, 3)})
        # Traffic pacing, not a wait for a condition: each batch starts just after a whole second, so one
        # second's orders meet one second's budget.
        ctx.sleep(math.ceil(time.time()) - time.time() + 0.02)
        r = kit.invoke(ctx, fn, {"orders": orders}, tail=False)
        if r["error"] or r["throttled"]:
            raise ScenarioError(f"the writer failed: {r['error']} {r['payload']}")
        ctx.latencies.append(r["ms"])
        ctx.count("invoked")
        batch_throttled = len(r["payload"]["throttled"])
        per_second.append(batch_throttled)
        written += r["payload"]["written"]
        throttled += batch_throttled
    elapsed = time.time() - started
    sent = rate * seconds
    ctx.count("sent", sent)
    ctx.count("succeeded", written)
    ctx.count("throttled", throttled)
    # a throttled order is not written and nobody retries it (retrying only adds load to the hot key): lost.
    # It read "items lost 0" beside "throttled 120" (the throttled were counted as an outcome of their own)
    ctx.count("lost", sent - written)
    ctx.observe("partition_keys", len(keys))
    ctx.observe("throttled_per_second", per_second)
    ctx.observe("throttled_pct", round(100 * throttled / sent, 1))
    ctx.observe("written_per_second", round(written / elapsed, 1))
    ctx.narrate(f"{sent} orders over {len(keys)} partition key(s): {written} written, {throttled} throttled "
                f"({100 * throttled / sent:.0f}%) - per second: {per_second}")


def read_back(ctx: RunContext) -> None:
    ddb = ctx.sb.client("dynamodb", observer=True)  # the run reading: noise, not billed
    shards = ctx.param("shards") if ctx.setting("sharded") else 1
    keys = [PRODUCT] if shards <= 1 else [f"{PRODUCT}#{n}" for n in range(shards)]
    items = queries = 0
    for key in keys:
        kwargs = {"TableName": ctx.output(APP, "OrdersTableName"), "KeyConditionExpression": "pk = :pk",
                  "ExpressionAttributeValues": {":pk": {"S": key}}, "Select": "COUNT", "ConsistentRead": True}
        while True:
            page = ddb.query(**kwargs)
            queries += 1
            items += page["Count"]
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    ctx.observe("read.queries", queries)
    ctx.observe("read.orders", items)
    ctx.narrate(f"reading the whole sale back took {queries} quer{'y' if queries == 1 else 'ies'}: {items} orders"
                + (" (scatter-gather over the shards, the price of write sharding)" if shards > 1 else ""))


SCENARIO = Scenario(
    id="hot-partition",
    title="Hot partition: one partition key takes the whole load and is throttled; sharded keys spread it",
    summary="A flash sale writes 40 orders/s for 4 s under a per-partition limit of 10 writes/s. With the product "
            "as partition key most writes are throttled; with a calculated key suffix over 10 shards none are.",
    learn=[
        "A partition has its own throughput limit, whatever the table's capacity (on-demand included)",
        "All items with the same partition key share one partition: a popular key is a hot partition",
        "Retrying throttled writes only adds load to the same hot key",
        "Write sharding: add a suffix (random, or calculated from the item so reads can find it) to spread writes",
        "The price: reading everything back is one query per shard (scatter-gather)",
    ],
    patterns=[],
    outcomes=("succeeded", "lost"),
    lesson_is_loss=True,
    params={"rate": Param(40, 1, 200, help="orders a second"), "seconds": Param(4, 1, 30),
            "shards": Param(10, 1, 100, help="write shards of the fixed variant"),
            "partition_limit": Param(10, 1, 1000, help="writes a second one partition takes")},
    variants=[
        Variant("broken", "partition key = the product: the whole sale on one key", settings={"sharded": False}),
        Variant("fixed", "partition key = product#(crc32(order id) % shards): the sale spread over the shards",
                settings={"sharded": True}),
    ],
    steps=[
        Step("Deploy the order writer", deploy,
             "The writer stands in for DynamoDB's per-partition limit: a key over its budget for the current second "
             "gets ProvisionedThroughputExceededException (scaled down from 1,000 to 10 writes/s)."),
        Step("The flash sale", flash_sale,
             "One batch of orders per second. broken: 40 writes/s into one key that takes 10 - three in four are "
             "throttled, every second. fixed: the same 40 writes/s over 10 keys is about 4 per key, well under "
             "the limit."),
        Step("Read the sale back", read_back,
             "Every written order must be found. One key: one query. Sharded: one query per shard, merged - "
             "write sharding moves cost to the readers."),
    ],
    expectations=[
        Expectation("share of writes throttled (%)", lambda c: c.observations["throttled_pct"], ">=", 40,
                    variants=("broken",), why="40 writes/s into a key that takes 10"),
        Expectation("share of writes throttled (%)", lambda c: c.observations["throttled_pct"], "<=", 2,
                    variants=("fixed",), why="about 4 writes/s per key"),
        Expectation("partition keys used", lambda c: c.observations["partition_keys"], "==", 1,
                    variants=("broken",)),
        Expectation("partition keys used", lambda c: c.observations["partition_keys"], ">=", 8,
                    variants=("fixed",), why="the suffix spreads the orders"),
        Expectation("orders lost - writes throttled", lambda c: c.counts["lost"] - c.counts["throttled"], "==", 0,
                    why="a throttled order is never written: each throttle loses one"),
        Expectation("orders lost", lambda c: c.counts["lost"], ">", 0, variants=("broken",),
                    why="three in four orders are throttled and not written"),
        Expectation("orders read back - orders written",
                    lambda c: c.observations["read.orders"] - c.counts["succeeded"], "==", 0,
                    why="every written order is found, also across shards"),
        Expectation("queries to read the sale back", lambda c: c.observations["read.queries"], ">=", 8,
                    variants=("fixed",), why="scatter-gather: the cost of sharding"),
    ],
)
