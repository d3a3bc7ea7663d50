"""The worker: one job per direct invocation ({"job_id", "sent_at"}), or one per SQS record (same JSON as body).

A job takes WORK_MS milliseconds, then is recorded in the Jobs table (keyed by job id, so a retried job is
recorded once) with when it was sent, when it finished, and how it arrived.
"""

import json
import os
import time

import boto3

TABLE = os.environ["JOBS_TABLE_NAME"]
WORK_S = int(os.environ.get("WORK_MS", "200")) / 1000
dynamodb = boto3.client("dynamodb")


def do_job(job: dict, via: str) -> None:
    time.sleep(WORK_S)
    dynamodb.put_item(TableName=TABLE, Item={
        "job_id": {"S": job["job_id"]},
        "sent_at": {"N": str(job.get("sent_at", 0))},
        "done_at": {"N": str(time.time())},
        "via": {"S": via},
    })


def handler(event, context):
    if "Records" in event:
        failures = []
        for record in event["Records"]:
            try:
                do_job(json.loads(record["body"]), "sqs")
            except Exception as e:  # noqa: BLE001 - only this record goes back to the queue
                print(f"[ERROR] job in message {record['messageId']} failed: {e}")
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}
    do_job(event, "invoke")
    return {"job_id": event["job_id"], "done": True}
