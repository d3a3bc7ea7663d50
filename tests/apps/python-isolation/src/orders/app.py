"""Validates an order and logs it with Powertools' structured logger (Powertools comes from AWS's public layer)."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict, context: LambdaContext) -> dict:
    items = event.get("items") or []
    if not items:
        raise ValueError("an order needs at least one item")
    total = sum(item["price"] * item.get("quantity", 1) for item in items)
    logger.info("order accepted", extra={"order_id": event["order_id"], "total": total})
    return {"order_id": event["order_id"], "total": total}
