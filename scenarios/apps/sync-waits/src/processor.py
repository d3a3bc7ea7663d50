"""Processes uploaded files: takes the time the upload asked for (metadata processing-ms), records the result."""

import hashlib
import os
import time
from datetime import UTC, datetime
from urllib.parse import unquote_plus

import boto3

s3 = boto3.client("s3")
table = boto3.resource("dynamodb").Table(os.environ["UPLOADS_TABLE"])


def handler(event, context):
    for record in event.get("Records", []):
        bucket = record["s3"]["bucket"]["name"]
        key = unquote_plus(record["s3"]["object"]["key"])
        obj = s3.get_object(Bucket=bucket, Key=key)
        content = obj["Body"].read()
        meta = obj.get("Metadata", {})
        time.sleep(int(meta.get("processing-ms", "1000")) / 1000)  # the real work: thumbnails, parsing, a model
        table.update_item(
            Key={"upload_id": meta.get("upload-id") or key.rsplit("/", 1)[-1]},
            UpdateExpression="SET #s = :done, sha256 = :h, size_bytes = :n, processed_at = :t, processed_ms = :ms",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":done": "DONE", ":h": hashlib.sha256(content).hexdigest(), ":n": len(content),
                                       ":t": datetime.now(UTC).isoformat(timespec="milliseconds"),
                                       ":ms": int(time.time() * 1000)})
