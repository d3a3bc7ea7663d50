"""Worker: "transcodes" the uploads of one SQS batch (a file must start with MEDIA1).

Every try adds 1 to the job's `attempts` in the Jobs table, so work done twice shows.
"""

import json
import os

import boto3

s3 = boto3.client("s3")
jobs = boto3.resource("dynamodb").Table(os.environ["JOBS_TABLE"])


class InvalidMedia(Exception):
    """Not our media format: no retry will ever fix it."""


def transcode(job: dict) -> None:
    jobs.update_item(Key={"key": job["key"]}, UpdateExpression="SET #s = :s ADD attempts :one",
                     ExpressionAttributeNames={"#s": "status"},
                     ExpressionAttributeValues={":s": "PROCESSING", ":one": 1})
    media = s3.get_object(Bucket=job["bucket"], Key=job["key"])["Body"].read()
    if not media.startswith(b"MEDIA1"):
        raise InvalidMedia(f"{job['key']} starts with {media[:6]!r}, not MEDIA1")
    s3.put_object(Bucket=os.environ["PROCESSED_BUCKET"], Key=f"processed/{job['key']}", Body=media)
    jobs.update_item(Key={"key": job["key"]}, UpdateExpression="SET #s = :s",
                     ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":s": "DONE"})


def handler(event, context):
    failed = []
    for record in event["Records"]:
        job = json.loads(record["body"])
        try:
            transcode(job)
            print(json.dumps({"level": "INFO", "message": "Job done", "key": job["key"]}))
        except InvalidMedia as e:
            print(json.dumps({"level": "ERROR", "message": "Transcode failed", "key": job["key"], "error": str(e)}))
            failed.append(record["messageId"])
    # Partial batch response: only the failed messages go back to the queue; the good ones are deleted.
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}
