"""Ingest: one S3 upload -> one job (Jobs table, status QUEUED) -> one message on the jobs queue."""

import json
import os
from urllib.parse import unquote_plus

import boto3

sqs = boto3.client("sqs")
jobs = boto3.resource("dynamodb").Table(os.environ["JOBS_TABLE"])


def handler(event, context):
    for record in event.get("Records", []):  # s3:TestEvent, sent when the notification is set up, has none
        bucket = record["s3"]["bucket"]["name"]
        key = unquote_plus(record["s3"]["object"]["key"])
        jobs.put_item(Item={"key": key, "status": "QUEUED", "attempts": 0})
        sqs.send_message(QueueUrl=os.environ["JOBS_QUEUE_URL"], MessageBody=json.dumps({"bucket": bucket, "key": key}))
        print(json.dumps({"level": "INFO", "message": "Job queued", "key": key}))
