"""esm_stream_bisect: BisectBatchOnFunctionError of a DynamoDB stream mapping splits a failing batch until the
poison record fails alone; a mapping without it retries the whole batch, as before. (Kinesis mappings take the same
path, but the embedded sandbox has no Kinesis: it is offline, and LocalStack's Kinesis downloads its engine.)"""

import json
import time

APP = """Transform: AWS::Serverless-2016-10-31
Resources:
  Items:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{{AttributeName: id, AttributeType: S}}]
      KeySchema: [{{AttributeName: id, KeyType: HASH}}]
      StreamSpecification: {{StreamViewType: NEW_IMAGE}}
  FailedRecords:
    Type: AWS::SQS::Queue
  Importer:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.13
      Handler: index.handler
      Timeout: 10
      InlineCode: |
        import json

        def handler(event, context):
            batch = [[r["dynamodb"]["Keys"]["id"]["S"], r["dynamodb"]["SequenceNumber"]] for r in event["Records"]]
            print("BATCH " + json.dumps(batch))
            if any(key.startswith("poison") for key, _ in batch):
                raise ValueError("a poison record in the batch")
            for key, _ in batch:
                print("PROCESSED " + key)
      Policies:
        - SQSSendMessagePolicy: {{QueueName: !GetAtt FailedRecords.QueueName}}
      Events:
        Changes:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Items.StreamArn
            StartingPosition: TRIM_HORIZON
            BatchSize: 10
            BisectBatchOnFunctionError: {bisect}
            MaximumRetryAttempts: {retries}
            DestinationConfig:
              OnFailure:
                Type: SQS
                Destination: !GetAtt FailedRecords.Arn
Outputs:
  Table: {{Value: !Ref Items}}
  Function: {{Value: !Ref Importer}}
  FailedRecordsQueueUrl: {{Value: !Ref FailedRecords}}
"""
RETRIES = 2
KEYS = ["a1", "a3", "poison-1", "a4"]


def is_poison(key: str) -> bool:
    return key.startswith("poison")


def bisected(batch: list[str], retries: int) -> list[list[str]]:
    """The batches a function gets, in order, when `batch` fails while it holds a poison record and every failure
    of several records splits it in two (no retry consumed); a record failing alone is retried `retries` times."""
    if not any(is_poison(k) for k in batch):
        return [batch]
    if len(batch) == 1:
        return [batch] * (retries + 1)
    middle = len(batch) // 2
    return [batch] + bisected(batch[:middle], retries) + bisected(batch[middle:], retries)


def deploy_and_write(sb, tmp_path, helpers, bisect: bool) -> dict:
    path = tmp_path / "template.yaml"
    path.write_text(APP.format(bisect="true" if bisect else "false", retries=RETRIES))
    out = sb.deploy(str(path), stack_name="bisect" if bisect else "whole").outputs
    lam = sb.client("lambda")
    [mapping] = lam.list_event_source_mappings(FunctionName=out["Function"])["EventSourceMappings"]
    assert mapping["BisectBatchOnFunctionError"] is bisect and mapping["MaximumRetryAttempts"] == RETRIES
    helpers.wait_for(lambda: lam.get_event_source_mapping(UUID=mapping["UUID"])["State"] == "Enabled",
                     message="the mapping enabled")
    # one BatchWriteItem: the four records are in the stream together and reach the function as one batch
    sb.client("dynamodb").batch_write_item(RequestItems={out["Table"]: [
        {"PutRequest": {"Item": {"id": {"S": key}}}} for key in KEYS]})
    return out


def log_lines(sb, function: str) -> list[str]:
    logs = sb.client("logs")
    try:
        pages = logs.get_paginator("filter_log_events").paginate(logGroupName=f"/aws/lambda/{function}")
        events = [e for page in pages for e in page["events"]]
    except logs.exceptions.ResourceNotFoundException:
        return []
    events.sort(key=lambda e: (e["timestamp"], e.get("ingestionTime", 0)))
    return [line for e in events for line in e["message"].splitlines()]


def batches(sb, function: str) -> list[list[list[str]]]:
    """What each invocation got, in order: [key, sequence number] of each record."""
    return [json.loads(line[len("BATCH "):]) for line in log_lines(sb, function) if line.startswith("BATCH ")]


def processed(sb, function: str) -> list[str]:
    return [line[len("PROCESSED "):] for line in log_lines(sb, function) if line.startswith("PROCESSED ")]


def failure_messages(sb, helpers, queue_url: str) -> list[dict]:
    """The OnFailure destination's messages, once there is one (and 2 s for any other)."""
    sqs = sb.client("sqs")

    def receive():
        return sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])

    messages = helpers.wait_for(receive, timeout=60, message="a message in the OnFailure queue")
    time.sleep(2)
    return [json.loads(m["Body"]) for m in messages + receive()]


def test_a_bisecting_mapping_processes_the_good_records_and_sends_only_the_poison_one_on(sb, tmp_path, helpers):
    """A function error splits the batch in two, each half is delivered on its own (split again while it fails),
    the poison record alone is retried MaximumRetryAttempts times and then only its range is sent to the OnFailure
    destination; a1, a3 and a4 are each processed once. LocalStack retried the whole batch 3 times, sent
    batchSize 4 on and processed none of them."""
    out = deploy_and_write(sb, tmp_path, helpers, bisect=True)
    fn = out["Function"]
    [message] = failure_messages(sb, helpers, out["FailedRecordsQueueUrl"])
    info = message["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1, "only the poison record is sent to the OnFailure destination"
    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    helpers.wait_for(lambda: "a4" in processed(sb, fn), message="a4, after the poison record, processed")
    time.sleep(2)  # no delivery after that

    seen = batches(sb, fn)
    first = [key for key, _ in seen[0]]
    assert sorted(first) == sorted(KEYS), "the four records are one batch"
    # [a1 a3 poison-1 a4] fails -> [a1 a3] ok, [poison-1 a4] fails -> [poison-1] x 3 (2 retries), [a4] ok
    assert [[key for key, _ in batch] for batch in seen] == bisected(first, RETRIES)
    assert sorted(processed(sb, fn)) == ["a1", "a3", "a4"], "each good record processed once"
    [poison_seq] = {seq for batch in seen for key, seq in batch if is_poison(key)}
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == poison_seq


def test_a_mapping_without_bisect_retries_the_whole_batch_as_before(sb, tmp_path, helpers):
    """Without BisectBatchOnFunctionError nothing changes: the batch is retried whole MaximumRetryAttempts times,
    then its whole range (batchSize 4) is sent to the OnFailure destination."""
    out = deploy_and_write(sb, tmp_path, helpers, bisect=False)
    fn = out["Function"]
    [message] = failure_messages(sb, helpers, out["FailedRecordsQueueUrl"])
    info = message["DDBStreamBatchInfo"]
    helpers.wait_for(lambda: len(batches(sb, fn)) >= RETRIES + 1, message="the batch's deliveries logged")
    time.sleep(2)  # no delivery after that
    seen = batches(sb, fn)
    assert len(seen) == RETRIES + 1 and all(batch == seen[0] for batch in seen)
    assert sorted(key for key, _ in seen[0]) == sorted(KEYS)
    assert processed(sb, fn) == []
    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert info["batchSize"] == len(KEYS)
    assert (info["startSequenceNumber"], info["endSequenceNumber"]) == (seen[0][0][1], seen[0][-1][1])
