"""Send the receipt of a charged order (simulated: RECEIPT_MS) and mark the order COMPLETED."""

import os
import time
import uuid

from common import epoch_ms, now, table

RECEIPT_S = int(os.environ["RECEIPT_MS"]) / 1000


def handler(event, context):
    time.sleep(RECEIPT_S)
    receipt_id = f"rc_{uuid.uuid4().hex[:12]}"
    table.update_item(
        Key={"order_id": event["order_id"]},
        UpdateExpression="SET #s = :done, receipt_id = if_not_exists(receipt_id, :r), completed_at = :t, "
                         "completed_ms = if_not_exists(completed_ms, :ms)",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":done": "COMPLETED", ":r": receipt_id, ":t": now(), ":ms": epoch_ms()})
    return {"receipt_id": receipt_id}
