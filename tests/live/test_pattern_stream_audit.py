"""The built-in `stream-audit` pattern on top of `crud-api`: every item change becomes an AuditTrail record."""

import json
import uuid
from datetime import datetime

import requests
from boto3.dynamodb.types import TypeDeserializer


def deploy_both(sb, audit_parameters=None):
    crud = sb.deploy("crud-api")
    audit = sb.deploy("stream-audit", parameters=audit_parameters)
    return crud.outputs, audit


def call(method: str, url: str, correlation_id: str, **kwargs) -> requests.Response:
    with requests.Session() as http:
        http.trust_env = False
        return http.request(method, url, headers={"x-correlation-id": correlation_id}, timeout=60, **kwargs)


def audit_trail(sb, audit_outputs, item_id: str) -> list[dict]:
    """The item's audit records, oldest first (the sort key starts with the time)."""
    items = sb.client("dynamodb").query(TableName=audit_outputs["AuditTableName"],
                                        KeyConditionExpression="item_id = :i",
                                        ExpressionAttributeValues={":i": {"S": item_id}})["Items"]
    return [_plain(i) for i in items]


def wait_trail(sb, helpers, audit_outputs, item_id: str, count: int = 1, timeout: float = 60) -> list[dict]:
    """The item's audit records, once there are `count` of them."""
    def enough():
        trail = audit_trail(sb, audit_outputs, item_id)
        return trail if len(trail) >= count else None

    return helpers.wait_for(enough, timeout=timeout, message=f"{count} audit record(s) of item {item_id}")


def _plain(item: dict) -> dict:
    return {name: TypeDeserializer().deserialize(value) for name, value in item.items()}


def test_item_changes_through_the_api_are_audited_with_correlation_ids(sb, helpers):
    crud, audit = deploy_both(sb)
    assert audit.status == "CREATE_COMPLETE"
    assert set(audit.outputs) >= {"AuditTableName", "FunctionName"}
    api = crud["ApiUrl"]
    run = uuid.uuid4().hex[:8]
    created = call("POST", api + "items", f"create-{run}", json={"payload": {"name": "widget", "qty": 1}})
    assert created.status_code == 201, created.text
    item_id = created.json()["id"]
    assert call("PUT", api + f"items/{item_id}", f"update-{run}", json={"payload": {"qty": 2}}).status_code == 200
    assert call("DELETE", api + f"items/{item_id}", f"delete-{run}").status_code == 204

    trail = wait_trail(sb, helpers, audit.outputs, item_id, count=3)
    assert [r["event_name"] for r in trail] == ["INSERT", "MODIFY", "REMOVE"]  # sorted by change_id
    insert, modify, remove = trail
    assert all(r["keys"] == {"id": item_id} for r in trail)

    assert insert["correlation_id"] == f"create-{run}"
    assert insert["new_image"]["payload"] == {"name": "widget", "qty": 1} and "old_image" not in insert
    assert modify["correlation_id"] == f"update-{run}"
    assert modify["old_image"]["payload"] == {"name": "widget", "qty": 1}
    assert modify["new_image"]["payload"] == {"qty": 2}
    # A REMOVE record has only the old image: the deletion is attributed to the request that last wrote it.
    assert remove["correlation_id"] == f"update-{run}"
    assert remove["old_image"]["payload"] == {"qty": 2} and "new_image" not in remove

    for r in trail:
        changed_at = datetime.fromisoformat(r["approximate_time"])
        assert abs((datetime.now(changed_at.tzinfo) - changed_at).total_seconds()) < 300
        assert r["change_id"] == f"{r['approximate_time']}#{r['sequence_number']}" and r["event_id"]

    # the trail of one request, across both stacks, by its correlation id
    by_request = sb.client("dynamodb").query(
        TableName=audit.outputs["AuditTableName"], IndexName="by-correlation-id",
        KeyConditionExpression="correlation_id = :c", ExpressionAttributeValues={":c": {"S": f"update-{run}"}})
    assert sorted(_plain(i)["event_name"] for i in by_request["Items"]) == ["MODIFY", "REMOVE"]

    # the audit function logs with the item's correlation id too
    def audit_logs():
        text = helpers.log_text(sb, audit.outputs["FunctionName"])
        return text if f'"correlation_id":"create-{run}"' in text else None

    assert '"message":"change audited"' in helpers.wait_for(audit_logs, timeout=30, message="audit logs")


def test_event_source_mapping_follows_the_parameters(sb):
    crud, audit = deploy_both(sb, {
        "BatchSize": 5, "StartingPosition": "LATEST", "MaximumRetryAttempts": 0, "BisectBatchOnFunctionError": "false"})
    lam = sb.client("lambda")
    mapping, = lam.list_event_source_mappings(FunctionName=audit.outputs["FunctionName"])["EventSourceMappings"]
    assert mapping["EventSourceArn"] == crud["ItemsTableStreamArn"]  # imported from the crud-api export
    assert (mapping["BatchSize"], mapping["StartingPosition"], mapping["MaximumRetryAttempts"]) == (5, "LATEST", 0)
    assert mapping["BisectBatchOnFunctionError"] is False
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    queue_arn = sb.client("sqs").get_queue_attributes(QueueUrl=audit.outputs["FailedRecordsQueueUrl"],
                                                      AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == queue_arn


def test_explicit_stream_arn_parameter(sb, helpers):
    crud = sb.deploy("crud-api", stack_name="shop").outputs
    audit = sb.deploy("stream-audit", stack_name="shop-audit",
                      parameters={"ItemsStreamArn": crud["ItemsTableStreamArn"]})
    mapping, = sb.client("lambda").list_event_source_mappings(
        FunctionName=audit.outputs["FunctionName"])["EventSourceMappings"]
    assert mapping["EventSourceArn"] == crud["ItemsTableStreamArn"]
    item_id = call("POST", crud["ApiUrl"] + "items", "explicit-1", json={"payload": {"a": 1}}).json()["id"]
    trail = wait_trail(sb, helpers, audit.outputs, item_id)
    assert trail[0]["event_name"] == "INSERT" and trail[0]["correlation_id"] == "explicit-1"


def test_poison_record_fails_alone_and_lands_in_the_failed_records_queue(sb, helpers):
    """A MODIFY of a 300 KB item: its audit entry (old + new image) exceeds DynamoDB's 400 KB item limit.

    Powertools reports just that record as failed; the records around it are audited, the poison one is retried
    MaximumRetryAttempts times, then its batch is described in the failed-records queue and the stream moves on.
    """
    crud, audit = deploy_both(sb, {"MaximumRetryAttempts": 1})
    ddb = sb.client("dynamodb")
    table = crud["ItemsTableName"]

    def put(item_id, **attributes):
        ddb.put_item(TableName=table, Item={"id": {"S": item_id}, "correlation_id": {"S": f"import-{item_id}"},
                                            **attributes})

    put("before")
    put("big", blob={"S": "x" * 300_000})
    ddb.update_item(TableName=table, Key={"id": {"S": "big"}}, UpdateExpression="SET note = :n",
                    ExpressionAttributeValues={":n": {"S": "the poison"}})
    put("after")

    sqs, queue = sb.client("sqs"), audit.outputs["FailedRecordsQueueUrl"]

    def failed_batch():
        messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", [])
        return json.loads(messages[0]["Body"]) if messages else None

    failure = helpers.wait_for(failed_batch, timeout=90, message="a message in the failed-records queue")
    info = failure["DDBStreamBatchInfo"]
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert info["streamArn"] == crud["ItemsTableStreamArn"]

    for item_id in ("before", "big", "after"):
        wait_trail(sb, helpers, audit.outputs, item_id)
    big = audit_trail(sb, audit.outputs, "big")
    assert [r["event_name"] for r in big] == ["INSERT"], "the MODIFY could not be audited"
    poison_seq = int(info["startSequenceNumber"])
    assert poison_seq > int(big[0]["sequence_number"]) and int(info["endSequenceNumber"]) >= poison_seq
    assert len(audit_trail(sb, audit.outputs, "after")) == 1, "a redelivered record is audited once"

    logs = helpers.log_text(sb, audit.outputs["FunctionName"])
    assert "change not audited" in logs and '"correlation_id":"import-big"' in logs

    # the stream is not stuck: a later change is audited
    item_id = call("POST", crud["ApiUrl"] + "items", "later", json={"payload": {}}).json()["id"]
    wait_trail(sb, helpers, audit.outputs, item_id)
