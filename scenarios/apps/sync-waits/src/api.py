"""POST /uploads and GET /uploads/{id}.

POST body: {"name": "report.csv", "content": "...", "processing_ms": 1000} (processing_ms simulates how long the
processor will take for this file). The file goes to S3 under uploads/<upload_id>; S3 then starts the processor.

* MODE=wait: poll the uploads table until the processor recorded the result, then answer 200 with it. If the
  function is about to time out first, answer 504. The client waits all along (and may give up earlier).
* MODE=accept: answer 202 at once: {"upload_id", "status": "PROCESSING", "status_url": "uploads/<id>"}.
"""

import json
import os
import time
import uuid
from datetime import UTC, datetime

import boto3

MODE = os.environ["MODE"]
BUCKET = os.environ["UPLOADS_BUCKET"]
POLL_S = 0.2
s3 = boto3.client("s3")
table = boto3.resource("dynamodb").Table(os.environ["UPLOADS_TABLE"])


def handler(event, context):
    if event.get("httpMethod") == "GET":
        return status(event["pathParameters"]["id"])
    try:
        body = json.loads(event.get("body") or "")
    except ValueError:
        return _response(400, {"message": "the body must be JSON"})
    if not isinstance(body, dict) or not isinstance(body.get("content"), str):
        return _response(400, {"message": "an upload needs 'content' (a string)"})
    processing_ms = int(body.get("processing_ms", 1000))
    upload_id = str(uuid.uuid4())
    table.put_item(Item={"upload_id": upload_id, "name": str(body.get("name", upload_id)), "status": "PROCESSING",
                         "received_at": _now(), "received_ms": int(time.time() * 1000)})
    s3.put_object(Bucket=BUCKET, Key=f"uploads/{upload_id}", Body=body["content"].encode(),
                  Metadata={"upload-id": upload_id, "processing-ms": str(processing_ms)})
    if MODE == "accept":
        return _response(202, {"upload_id": upload_id, "status": "PROCESSING", "status_url": f"uploads/{upload_id}"},
                         headers={"Location": f"uploads/{upload_id}"})

    # MODE=wait: the anti-pattern - hold the client's connection while an asynchronous system does the work
    while context.get_remaining_time_in_millis() > 1000:
        item = table.get_item(Key={"upload_id": upload_id}, ConsistentRead=True).get("Item")
        if item and item["status"] != "PROCESSING":
            return _response(200, _public(item))
        time.sleep(POLL_S)
    return _response(504, {"upload_id": upload_id, "message": "processing did not finish in time"})


def status(upload_id: str) -> dict:
    item = table.get_item(Key={"upload_id": upload_id}, ConsistentRead=True).get("Item")
    if not item:
        return _response(404, {"message": f"upload {upload_id} not found"})
    return _response(200, _public(item))


def _public(item: dict) -> dict:
    return {k: (int(v) if hasattr(v, "to_integral_value") else v) for k, v in item.items()}


def _response(status_code: int, body: dict, headers: dict | None = None) -> dict:
    return {"statusCode": status_code, "headers": {"Content-Type": "application/json", **(headers or {})},
            "body": json.dumps(body)}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
