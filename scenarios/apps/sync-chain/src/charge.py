"""Charge an order with the payment provider (simulated: CHARGE_MS), at most once per order.

MODE=sync: then invoke Receipt and wait for it; a failed receipt fails the charge call too (the order is
charged, but the caller is told it failed - one more surprise of a synchronous chain).
"""

import json
import os
import time
import uuid

import boto3

from common import ChainError, epoch_ms, now, table

MODE = os.environ["MODE"]
CHARGE_S = int(os.environ["CHARGE_MS"]) / 1000
lam = boto3.client("lambda")


def handler(event, context):
    order_id = event["order_id"]
    time.sleep(CHARGE_S)  # the payment provider's answer
    charge_id = f"ch_{uuid.uuid4().hex[:12]}"
    try:
        # the provider's idempotency key is the order id: a retried charge never charges twice
        table.update_item(
            Key={"order_id": order_id},
            UpdateExpression="SET #s = :charged, charge_id = :c, charged_at = :t, charged_ms = :ms",
            ConditionExpression="attribute_not_exists(charge_id)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":charged": "CHARGED", ":c": charge_id, ":t": now(), ":ms": epoch_ms()})
    except table.meta.client.exceptions.ConditionalCheckFailedException:
        charge_id = table.get_item(Key={"order_id": order_id}, ConsistentRead=True)["Item"]["charge_id"]
    result = {"charge_id": charge_id}

    if MODE == "sync":
        resp = lam.invoke(FunctionName=os.environ["RECEIPT_FUNCTION"], InvocationType="RequestResponse",
                          Payload=json.dumps({**event, "charge_id": charge_id}))
        receipt = json.loads(resp["Payload"].read() or b"null")
        if resp.get("FunctionError"):
            raise ChainError(f"Receipt failed for order {order_id}: {receipt.get('errorType')}")
        result.update(receipt)
    return result
