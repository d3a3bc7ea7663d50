"""Worker: "transcodes" each upload (TRANSCODE_SECONDS of work) into processed/<name>.mp4.

Every transcode adds 1 to the job's `attempts`, so work done twice shows; a failure is kept in `last_error`, and
only failed records go back to the queue (partial batch response).
"""

import json
import os
import time

import boto3
from aws_lambda_powertools.utilities.idempotency import (DynamoDBPersistenceLayer, IdempotencyConfig,
                                                         idempotent_function)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

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
    name = key.rsplit(".", 1)[0]
    return f"processed/{name}.mp4"


def transcode(job: dict) -> None:
    set_job(job["key"], "PROCESSING", attempt=True)
    media = s3.get_object(Bucket=job["bucket"], Key=job["key"])["Body"].read()
    if not media.startswith(b"MEDIA1"):
        raise InvalidMedia(f"{job['key']} starts with {media[:6]!r}, not MEDIA1")
    time.sleep(float(os.environ["TRANSCODE_SECONDS"]))  # the work
    s3.put_object(Bucket=os.environ["PROCESSED_BUCKET"], Key=output_key(job["key"]), Body=media)
    set_job(job["key"], "DONE")


# A job delivered again (its message became visible while a worker still had it) is not transcoded twice: the
# second call finds the job's record - in progress (IdempotencyAlreadyInProgressError: the record fails and comes
# back later) or done (the stored result is returned, no work).
config = IdempotencyConfig(event_key_jmespath="key")
transcode = idempotent_function(transcode, data_keyword_argument="job", config=config,
                                persistence_store=DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE"]))


def handler(event, context):
    config.register_lambda_context(context)  # a record in progress expires with the invocation
    failed = []
    for record in event["Records"]:
        job = json.loads(record["body"])
        try:
            transcode(job=job)
            print(json.dumps({"level": "INFO", "message": "Job done", "key": job["key"]}))
        except IdempotencyAlreadyInProgressError:
            # another invocation is transcoding this job right now: try again later, the job is not failed
            failed.append(record["messageId"])
        except Exception as e:
            set_job(job["key"], "FAILED", last_error=f"{type(e).__name__}: {e}")
            print(json.dumps({"level": "ERROR", "message": "Transcode failed", "key": job["key"],
                              "error": f"{type(e).__name__}: {e}"}))
            failed.append(record["messageId"])
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}
