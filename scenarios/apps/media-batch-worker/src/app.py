"""A media worker with a switch for its batch handling (poison-message scenario).

REPORT_BATCH_ITEM_FAILURES=enabled: every record is tried; the failed ones are returned in `batchItemFailures`, so
only they go back to the queue (the mapping has FunctionResponseTypes ReportBatchItemFailures).
REPORT_BATCH_ITEM_FAILURES=disabled: every record is tried, and the invocation fails if any did: Lambda returns the
whole batch to the queue, the records that were fine included. (Raising at the first failure, the other common
way to write it, is no better: the records after it are not even tried.)

A "transcode" is the media-pipeline's: Jobs table `attempts` + 1 and status, the upload checked for an accepted
magic header (ACCEPTED_FORMATS), then copied to processed/<key>. Log lines are JSON with the same keys as the
pattern's worker (message, job_id, receive_count, function_request_id).
"""

import json
import os
import sys
from datetime import datetime, timezone

import boto3

s3 = boto3.client("s3")
jobs = boto3.resource("dynamodb").Table(os.environ["JOBS_TABLE"])
PARTIAL = os.environ["REPORT_BATCH_ITEM_FAILURES"] == "enabled"
ACCEPTED = tuple(f.strip().encode() for f in os.environ["ACCEPTED_FORMATS"].split(",") if f.strip())
MAX_RECEIVES = int(os.environ["MAX_RECEIVE_COUNT"])


class InvalidMedia(Exception):
    pass


class BatchFailed(Exception):
    pass


def log(level: str, message: str, **fields) -> None:
    line = {"level": level, "message": message, "timestamp": datetime.now(timezone.utc).isoformat(), **fields}
    sys.stdout.write(json.dumps(line, default=str) + "\n")
    sys.stdout.flush()


def now() -> str:
    return datetime.now(timezone.utc).isoformat()


def update_job(job_id: str, add_attempt: bool = False, **fields) -> dict:
    names = {f"#{k}": k for k in fields}
    values = {f":{k}": v for k, v in fields.items()}
    expression = "SET " + ", ".join(f"#{k} = :{k}" for k in fields)
    if add_attempt:
        expression += " ADD attempts :one"
        values[":one"] = 1
    return jobs.update_item(Key={"job_id": job_id}, UpdateExpression=expression, ExpressionAttributeNames=names,
                            ExpressionAttributeValues=values, ReturnValues="ALL_NEW")["Attributes"]


def transcode(job: dict, keys: dict) -> None:
    attempt = update_job(job["job_id"], add_attempt=True, status="PROCESSING", updated_at=now())["attempts"]
    log("INFO", "Transcoding", attempt=int(attempt), size=job["size"], **keys)
    media = s3.get_object(Bucket=job["bucket"], Key=job["key"])["Body"].read()
    if not media.startswith(ACCEPTED):
        accepted = ", ".join(f.decode() for f in ACCEPTED)
        raise InvalidMedia(f"{job['key']} starts with {media[:6]!r}; accepted: {accepted}")
    s3.put_object(Bucket=os.environ["PROCESSED_BUCKET"], Key=f"processed/{job['key']}", Body=media,
                  Metadata={"job-id": job["job_id"]})
    finished = now()
    update_job(job["job_id"], status="DONE", output=f"s3://{os.environ['PROCESSED_BUCKET']}/processed/{job['key']}",
               finished_at=finished, updated_at=finished)


def handler(event, context):
    records = event["Records"]
    failed = []
    for record in records:
        job = json.loads(record["body"])
        receives = int(record["attributes"]["ApproximateReceiveCount"])
        keys = {"job_id": job["job_id"], "key": job["key"], "message_id": record["messageId"],
                "receive_count": receives, "batch_size": len(records),
                "function_request_id": context.aws_request_id}
        try:
            transcode(job, keys)
            log("INFO", "Job done", **keys)
        except Exception as e:  # noqa: BLE001 - recorded on the job, then reported or raised below
            final = receives >= MAX_RECEIVES
            update_job(job["job_id"], status="FAILED" if final else "RETRYING", last_error=f"{type(e).__name__}: {e}",
                       updated_at=now())
            log("ERROR", "Transcode failed" + ("; the message goes to the dead-letter queue" if final else ""),
                error=f"{type(e).__name__}: {e}", **keys)
            failed.append(record["messageId"])
    if PARTIAL:
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}
    if failed:
        raise BatchFailed(f"{len(failed)} of {len(records)} record(s) failed: the whole batch goes back to the queue")
    return {}
