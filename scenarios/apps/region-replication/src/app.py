"""Replicator: applies a batch of item changes from the primary table's stream to the standby table.

Each copy gets `replicated_at` (epoch seconds, when it reached the standby), so the lag of every write can be
measured afterwards. Applying a change twice is harmless (put/delete of the same image), which matters because a
stream batch is retried as a whole after a failure.
"""

import os
import time

import boto3

TARGET_TABLE = os.environ["TARGET_TABLE"]
LAG_S = int(os.environ.get("REPLICATION_LAG_MS", "0")) / 1000
target = boto3.client("dynamodb", region_name=os.environ["TARGET_REGION"])


def handler(event, context):
    records = event.get("Records", [])
    if LAG_S:
        time.sleep(LAG_S)
    for record in records:
        change = record["dynamodb"]
        if record["eventName"] == "REMOVE":
            target.delete_item(TableName=TARGET_TABLE, Key=change["Keys"])
        else:
            item = dict(change["NewImage"])
            item["replicated_at"] = {"N": f"{time.time():.3f}"}
            target.put_item(TableName=TARGET_TABLE, Item=item)
    print(f"replicated {len(records)} change(s) to {TARGET_TABLE}")
    return {"replicated": len(records)}
