"""Writes a batch of orders ({"orders": [{"pk", "order_id", ...}]}) to the Orders table, 8 at a time.

Before each write the order's partition key pays one unit of its budget for the current second
(`PARTITION_WRITES_PER_SECOND`): an atomic `ADD used :one` with the condition `used < limit` on the item
"<pk>@<second>" of the Capacity table. A key whose budget is spent gets the error DynamoDB gives a partition
over its limit, ProvisionedThroughputExceededException, and the order is not written. Throttled orders are
returned to the caller, which decides whether to retry them.

This limiter is the sandbox's stand-in for DynamoDB's per-partition throughput limit (LocalStack has none). On
AWS each partition takes at most 1,000 WCU/s (and 3,000 RCU/s) whatever the table's capacity; every item with the
same partition key lives in the same partition.
"""

import os
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

ORDERS = os.environ["ORDERS_TABLE_NAME"]
CAPACITY = os.environ["CAPACITY_TABLE_NAME"]
LIMIT = int(os.environ.get("PARTITION_WRITES_PER_SECOND", "10"))
THROTTLED = "ProvisionedThroughputExceededException"

# No SDK retries: the caller sees every throttle (the default would retry it and hide it, adding load).
dynamodb = boto3.client("dynamodb", config=Config(retries={"total_max_attempts": 1, "mode": "standard"},
                                                  max_pool_connections=16))


def take_partition_capacity(pk: str) -> None:
    second = int(time.time())
    try:
        dynamodb.update_item(
            TableName=CAPACITY, Key={"id": {"S": f"{pk}@{second}"}},
            UpdateExpression="ADD used :one SET expires_at = :expires",
            ConditionExpression="attribute_not_exists(used) OR used < :limit",
            ExpressionAttributeValues={":one": {"N": "1"}, ":limit": {"N": str(LIMIT)},
                                       ":expires": {"N": str(second + 60)}})
    except ClientError as e:
        if e.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        raise ClientError({"Error": {"Code": THROTTLED, "Message": (
            f"The level of configured provisioned throughput for the table was exceeded (simulated partition "
            f"limit: {LIMIT} writes/s for partition key {pk!r})")}}, "PutItem") from None


def write(order: dict) -> str:
    try:
        take_partition_capacity(order["pk"])
        dynamodb.put_item(TableName=ORDERS, Item={
            "pk": {"S": order["pk"]}, "order_id": {"S": order["order_id"]},
            "sku": {"S": order.get("sku", "")}, "quantity": {"N": str(order.get("quantity", 1))},
            "written_at": {"N": str(time.time())}})
        return "written"
    except ClientError as e:
        if e.response["Error"]["Code"] == THROTTLED:
            return "throttled"
        raise


def handler(event, context):
    orders = event.get("orders", [])
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(write, orders))
    throttled = [o["order_id"] for o, r in zip(orders, results) if r == "throttled"]
    if throttled:
        print(f"{len(throttled)} of {len(orders)} writes throttled ({THROTTLED})")
    return {"written": results.count("written"), "throttled": throttled}
