"""Worker: "transcodes" the uploads of one SQS batch into processed/<name>.mp4 (a file must start with MEDIA1).

Every try adds 1 to the job's `attempts` and a failure is kept in `last_error`; only failed records go back to the
queue (partial batch response), and after 3 receives SQS parks them in the dead-letter queue.
"""

import json
import os

import boto3

s3 = boto3.client("s3")
jobs = boto3.resource("dynamodb").Table(os.environ["JOBS_TABLE"])


class InvalidMedia(Exception):
    """Not our media format: no retry will ever fix it."""


def set_job(key: str, status: str, attempt: bool = False, **fields) -> None:
    names = {"#s": "status", **{f"#{k}": k for k in fields}}
    values = {":s": status, **{f":{k}": v for k, v in fields.items()}}
    expression = "SET #s = :s" + "".join(f", #{k} = :{k}" for k in fields)
    if attempt:
        expression += " ADD attempts :one"
        values[":one"] = 1
    jobs.update_item(Key={"key": key}, UpdateExpression=expression, ExpressionAttributeNames=names,
                     ExpressionAttributeValues=values)


def output_key(key: str) -> str:
    """uploads/clip.mov -> processed/uploads/clip.mp4"""
    name = key.rsplit(".", 1)[0]  # "summer.2025.mp4": only the last dot starts the extension
    return f"processed/{name}.mp4"


def transcode(job: dict) -> None:
    set_job(job["key"], "PROCESSING", attempt=True)
    media = s3.get_object(Bucket=job["bucket"], Key=job["key"])["Body"].read()
    if not media.startswith(b"MEDIA1"):
        raise InvalidMedia(f"{job['key']} starts with {media[:6]!r}, not MEDIA1")
    s3.put_object(Bucket=os.environ["PROCESSED_BUCKET"], Key=output_key(job["key"]), Body=media)
    set_job(job["key"], "DONE")


def handler(event, context):
    failed = []
    for record in event["Records"]:
        job = json.loads(record["body"])
        try:
            transcode(job)
            print(json.dumps({"level": "INFO", "message": "Job done", "key": job["key"]}))
        except Exception as e:
            set_job(job["key"], "FAILED", last_error=f"{type(e).__name__}: {e}")
            print(json.dumps({"level": "ERROR", "message": "Transcode failed", "key": job["key"],
                              "error": f"{type(e).__name__}: {e}"}))
            failed.append(record["messageId"])
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}
