"""An audit trail from a DynamoDB stream: one AuditTrail record per change of an item.

Powertools' batch utility processes the records one by one and reports the ones that failed
(ReportBatchItemFailures), so Lambda retries from the first failed record instead of re-sending the whole batch.
Writes are keyed by the stream record itself, so a retried record overwrites its own audit entry: no duplicates.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

logger = Logger()  # service name from POWERTOOLS_SERVICE_NAME
table = boto3.resource("dynamodb").Table(os.environ["AUDIT_TABLE_NAME"])
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def audit(record: DynamoDBRecord) -> None:
    change = record.dynamodb
    new_image, old_image = change.new_image, change.old_image
    # The item carries the correlation id of the request that last wrote it. A REMOVE has only the old image,
    # so a deletion is attributed to the last write's id (a stream record knows nothing of the delete request).
    correlation_id = str((new_image or old_image).get("correlation_id") or "unknown")
    logger.set_correlation_id(correlation_id)
    changed_at = datetime.fromtimestamp(change.approximate_creation_date_time or 0, UTC)
    entry = {
        "item_id": "|".join(str(change.keys[k]) for k in sorted(change.keys)),
        # sorts by time, unique per stream record: a redelivered record rewrites the same entry
        "change_id": f"{changed_at.isoformat()}#{change.sequence_number}",
        "event_name": record.event_name.name,  # INSERT, MODIFY or REMOVE
        "event_id": record.event_id,
        "keys": change.keys,
        "old_image": old_image,  # none for INSERT
        "new_image": new_image,  # none for REMOVE
        "correlation_id": correlation_id,
        "approximate_time": changed_at.isoformat(),
        "sequence_number": change.sequence_number,
    }
    entry = {name: value for name, value in entry.items() if value}
    try:
        table.put_item(Item=entry)
    except Exception:
        # the batch utility reports this record as failed; say why, with the record's correlation id
        logger.exception("change not audited", item_id=entry["item_id"], sequence_number=change.sequence_number)
        raise
    logger.info("change audited", item_id=entry["item_id"], event_name=entry["event_name"])


@logger.inject_lambda_context
def lambda_handler(event: dict, context) -> dict:
    result = process_partial_response(event=event, record_handler=audit, processor=processor, context=context)
    logger.set_correlation_id(None)
    logger.info("batch done", records=len(event.get("Records", [])), failed=len(result["batchItemFailures"]))
    return result
