"""Worker: transcodes the jobs of one SQS batch; a failed job fails alone (ReportBatchItemFailures).

A "transcode" takes PROCESSING_MS_PER_MB per MB of any upload and writes processed/<key> to the processed bucket.
A poison upload (a file name containing "poison", or content starting with POISON) always fails: the explicit way
to watch retries and the DLQ, while a newcomer's first real clip.mp4 is transcoded. Every run adds 1 to the job's
`attempts`, so duplicates show.
With IDEMPOTENCY=enabled a job already transcoded is not transcoded again (Powertools idempotency, keyed on
job_id, records in their own DynamoDB table): its stored result is returned instead.
"""

import json
import os
import time
from datetime import datetime, timezone

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (DynamoDBPersistenceLayer, IdempotencyConfig,
                                                         idempotent_function)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

POISON = b"POISON"  # content that starts with it (or a name containing "poison") can never be transcoded
MB = 1024 * 1024

logger = Logger()
s3 = boto3.client("s3")
jobs = boto3.resource("dynamodb").Table(os.environ["JOBS_TABLE"])
# A batch whose every record failed is still a (partial) response, not an error: one code path, clean logs.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
idempotency = IdempotencyConfig(event_key_jmespath="job_id", raise_on_no_idempotency_key=True)


class InvalidMedia(Exception):
    """A poison upload: retrying cannot help, the message will end in the DLQ."""


def poison_reason(key: str, media: bytes) -> str | None:
    """Why an upload is poison (None: it is not): the marker is explicit, any other file is transcoded."""
    if "poison" in key.rsplit("/", 1)[-1].lower():
        return f"{key} is marked as poison (its name contains 'poison')"
    if media.startswith(POISON):
        return f"{key} is marked as poison (its content starts with POISON)"
    return None


def now() -> str:
    return datetime.now(timezone.utc).isoformat()


def update_job(job_id: str, add_attempt: bool = False, **fields):
    names = {f"#{k}": k for k in fields}
    values = {f":{k}": v for k, v in fields.items()}
    expression = "SET " + ", ".join(f"#{k} = :{k}" for k in fields)
    if add_attempt:
        expression += " ADD attempts :one"  # atomic: concurrent duplicate runs both count
        values[":one"] = 1
    return jobs.update_item(Key={"job_id": job_id}, UpdateExpression=expression, ExpressionAttributeNames=names,
                            ExpressionAttributeValues=values, ReturnValues="ALL_NEW")["Attributes"]


def transcode(job: dict) -> dict:
    attempt = update_job(job["job_id"], add_attempt=True, status="PROCESSING", updated_at=now())["attempts"]
    logger.info("Transcoding", extra={"attempt": int(attempt), "size": job["size"]})
    source = s3.get_object(Bucket=job["bucket"], Key=job["key"])
    media = source["Body"].read()
    reason = poison_reason(job["key"], media)
    if reason:
        raise InvalidMedia(reason)

    time.sleep(len(media) / MB * float(os.environ["PROCESSING_MS_PER_MB"]) / 1000)
    output = {"bucket": os.environ["PROCESSED_BUCKET"], "key": f"processed/{job['key']}"}
    s3.put_object(Bucket=output["bucket"], Key=output["key"], Body=media, ContentType="application/x-media",
                  Metadata={"job-id": job["job_id"], "correlation-id": logger.get_correlation_id() or ""})
    finished = now()
    update_job(job["job_id"], status="DONE", output=f"s3://{output['bucket']}/{output['key']}", finished_at=finished,
               updated_at=finished)
    return output


if os.environ["IDEMPOTENCY"] == "enabled":  # a job_id transcoded before returns its stored result instead
    persistence = DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE"])
    transcode = idempotent_function(transcode, data_keyword_argument="job", config=idempotency,
                                    persistence_store=persistence)


def handle_record(record: SQSRecord):
    job = json.loads(record.body)
    attribute = record.message_attributes["correlation_id"]  # None if the sender did not set it
    logger.set_correlation_id(attribute.string_value if attribute else job["key"])
    receives = int(record.attributes.approximate_receive_count)
    logger.append_keys(job_id=job["job_id"], message_id=record.message_id, receive_count=receives)
    try:
        output = transcode(job=job)
    except IdempotencyAlreadyInProgressError:
        logger.warning("Job is being transcoded by another invocation; retrying later")
        raise
    except Exception as e:
        final = receives >= int(os.environ["MAX_RECEIVE_COUNT"])
        update_job(job["job_id"], status="FAILED" if final else "RETRYING", last_error=f"{type(e).__name__}: {e}",
                   updated_at=now())
        logger.exception("Transcode failed" + ("; the message goes to the dead-letter queue" if final else ""))
        raise
    logger.info("Job done", extra={"output": output})


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    idempotency.register_lambda_context(context)
    logger.append_keys(batch_size=len(event["Records"]))
    return process_partial_response(event=event, record_handler=handle_record, processor=processor, context=context)
