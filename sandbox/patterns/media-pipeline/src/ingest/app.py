"""Ingest: one S3 upload -> one job (DynamoDB Jobs table, status QUEUED) -> one message on the jobs queue.

The correlation id is the object's `x-amz-meta-correlation-id` metadata if set, else its key; it goes into the
job record, every log line and the message attribute `correlation_id` the worker picks up.
"""

import json
import os
import uuid
from datetime import datetime, timezone
from urllib.parse import unquote_plus

import boto3
from aws_lambda_powertools import Logger

logger = Logger()
s3 = boto3.client("s3")
sqs = boto3.client("sqs")
jobs = boto3.resource("dynamodb").Table(os.environ["JOBS_TABLE"])
QUEUE_URL = os.environ["JOBS_QUEUE_URL"]


def job_id_for(bucket: str, key: str, etag: str) -> str:
    """The same content uploaded to the same key is the same job: S3 delivers notifications at least once."""
    content = etag.strip('"')
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"s3://{bucket}/{key}?etag={content}"))


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    for record in event.get("Records", []):  # s3:TestEvent, sent when the notification is set up, has none
        bucket = record["s3"]["bucket"]["name"]
        key = unquote_plus(record["s3"]["object"]["key"])  # "a b.mp4" arrives as a+b.mp4 (AWS) or a%20b.mp4
        head = s3.head_object(Bucket=bucket, Key=key)
        correlation_id = head.get("Metadata", {}).get("correlation-id") or key
        logger.set_correlation_id(correlation_id)
        job = {"job_id": job_id_for(bucket, key, head["ETag"]), "bucket": bucket, "key": key,
               "size": head["ContentLength"]}
        logger.append_keys(job_id=job["job_id"])

        now = datetime.now(timezone.utc).isoformat()
        # A repeated notification must not move a job that is already further along back to QUEUED.
        jobs.update_item(
            Key={"job_id": job["job_id"]},
            UpdateExpression="SET #bucket = :bucket, #key = :key, #size = :size, correlation_id = :cid, "
                             "#status = if_not_exists(#status, :queued), created_at = if_not_exists(created_at, :now), "
                             "updated_at = :now",
            ExpressionAttributeNames={"#bucket": "bucket", "#key": "key", "#size": "size", "#status": "status"},
            ExpressionAttributeValues={":bucket": bucket, ":key": key, ":size": job["size"], ":cid": correlation_id,
                                       ":queued": "QUEUED", ":now": now},
        )
        sent = sqs.send_message(
            QueueUrl=QUEUE_URL,
            MessageBody=json.dumps(job),
            MessageAttributes={"correlation_id": {"DataType": "String", "StringValue": correlation_id}},
        )
        logger.info("Job queued", extra={"bucket": bucket, "key": key, "size": job["size"],
                                         "message_id": sent["MessageId"]})
