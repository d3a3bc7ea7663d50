"""POST /orders: validate the order, record it, then

* MODE=sync: invoke Charge and wait for it (Charge in turn waits for Receipt); answer 200 with the receipt, or
  fail when anything down the chain fails;
* MODE=async: start the order workflow (execution name = order id, so a repeated POST starts nothing new) and
  answer 202 at once.
"""

import json
import os
from decimal import Decimal

import boto3

from common import ChainError, epoch_ms, now, table

MODE = os.environ["MODE"]
lam = boto3.client("lambda")
sfn = boto3.client("stepfunctions")


def handler(event, context):
    try:
        body = json.loads(event.get("body") or "")
    except ValueError:
        return _response(400, {"message": "the body must be JSON: {\"order_id\": \"...\", \"amount\": 12.5}"})
    order_id, amount = (body.get("order_id"), body.get("amount")) if isinstance(body, dict) else (None, None)
    if not isinstance(order_id, str) or not order_id or isinstance(amount, bool) \
            or not isinstance(amount, (int, float)) or amount <= 0:
        return _response(400, {"message": "an order needs an order_id (string) and an amount > 0"})

    table.update_item(
        Key={"order_id": order_id},
        UpdateExpression="SET amount = :a, received_at = if_not_exists(received_at, :t), "
                         "received_ms = if_not_exists(received_ms, :ms), #s = if_not_exists(#s, :received)",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":a": Decimal(str(amount)), ":t": now(), ":ms": epoch_ms(),
                                   ":received": "RECEIVED"})
    order = {"order_id": order_id, "amount": amount}

    if MODE == "sync":
        resp = lam.invoke(FunctionName=os.environ["CHARGE_FUNCTION"], InvocationType="RequestResponse",
                          Payload=json.dumps(order))
        result = json.loads(resp["Payload"].read() or b"null")
        if resp.get("FunctionError"):
            raise ChainError(f"Charge failed for order {order_id}: "
                             f"{result.get('errorType')}: {result.get('errorMessage')}")
        return _response(200, {"order_id": order_id, "status": "COMPLETED", **result})

    try:
        sfn.start_execution(stateMachineArn=os.environ["STATE_MACHINE_ARN"], name=order_id, input=json.dumps(order))
    except sfn.exceptions.ExecutionAlreadyExists:
        pass  # the same order posted again: its workflow is already running (or done)
    return _response(202, {"order_id": order_id, "status": "ACCEPTED"})


def _response(status: int, body: dict) -> dict:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}
