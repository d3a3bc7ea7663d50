"""The built-in pattern `media-pipeline` (S3 -> ingest Lambda -> SQS -> worker Lambda -> S3, DLQ), deployed by name.

Jobs are read back from the Jobs table; what the functions did, from their structured (JSON) logs.
"""

import json
import uuid

import pytest

PATTERN = "media-pipeline"
MEDIA = b"MEDIA1"  # any bytes are media; this prefix only makes test uploads easy to spot


# --- helpers -----------------------------------------------------------------------------------------------
def deploy(sb, stack_name: str | None = None, **parameters) -> dict:
    """Deploys the pattern by name. Each test names its own stack, so its buckets are its own: embedded LocalStacks
    on one host share S3's spill directory, keyed by bucket name."""
    stack_name = stack_name or f"{PATTERN}-{uuid.uuid4().hex[:8]}"
    result = sb.deploy(PATTERN, stack_name=stack_name, parameters={k: str(v) for k, v in parameters.items()})
    assert result.status == "CREATE_COMPLETE", result
    return result.outputs


def upload(sb, out, key: str, body: bytes, correlation_id: str | None = None) -> None:
    extra = {"Metadata": {"correlation-id": correlation_id}} if correlation_id else {}
    sb.client("s3").put_object(Bucket=out["UploadsBucket"], Key=key, Body=body, **extra)


def jobs_by_key(sb, out) -> dict[str, dict]:
    items = sb.client("dynamodb").scan(TableName=out["JobsTableName"], ConsistentRead=True)["Items"]
    return {item["key"]["S"]: {k: next(iter(v.values())) for k, v in item.items()} for item in items}


def wait_jobs(sb, helpers, out, keys, statuses=("DONE",), timeout=60) -> dict[str, dict]:
    """The jobs of `keys`, once every one is in one of `statuses`."""

    def ready():
        jobs = jobs_by_key(sb, out)
        if all(jobs.get(k, {}).get("status") in statuses for k in keys):
            return {k: jobs[k] for k in keys}
        return None

    return helpers.wait_for(ready, timeout=timeout, message=f"jobs {list(keys)} in {statuses}")


def log_lines(sb, helpers, fn: str) -> list[dict]:
    """The function's structured log lines (Powertools JSON), stream after stream (one per environment)."""
    out = []
    for line in helpers.log_text(sb, fn).splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def wait_log_lines(sb, helpers, fn: str, message: str, count: int, timeout=30) -> list[dict]:
    """The function's log lines, once `count` of them say `message`."""

    def poll():
        lines = log_lines(sb, helpers, fn)
        return lines if sum(line["message"] == message for line in lines) >= count else None

    return helpers.wait_for(poll, timeout=timeout, message=f"{count} x {message!r} in the logs of {fn}")


def dead_letters(sb, helpers, out, count: int, timeout=60) -> list[dict]:
    sqs = sb.client("sqs")
    seen: dict[str, dict] = {}

    def poll():
        for m in sqs.receive_message(QueueUrl=out["DeadLetterQueueUrl"], MaxNumberOfMessages=10, VisibilityTimeout=300,
                                     AttributeNames=["All"], MessageAttributeNames=["All"]).get("Messages", []):
            seen[m["MessageId"]] = m
        return list(seen.values()) if len(seen) >= count else None

    return helpers.wait_for(poll, timeout=timeout, interval=0.5, message=f"{count} message(s) in the DLQ")


def queue_depth(sb, url: str) -> int:
    attrs = sb.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def transcodes(lines: list[dict], job_id: str) -> list[dict]:
    return [line for line in lines if line["message"] == "Transcoding" and line.get("job_id") == job_id]


# --- tests -------------------------------------------------------------------------------------------------
def test_parameters_reach_the_resources(sb):
    out = deploy(sb, PATTERN, FunctionMemorySize=512, WorkerTimeout=7, VisibilityTimeout=42,
                 MaxReceiveCount=4, BatchSize=6, MaximumBatchingWindowInSeconds=2, ProcessingMsPerMB=10,
                 Idempotency="disabled")
    assert sb.stacks()[0]["name"] == PATTERN, "a pattern deploys by name, as a stack of that name"
    assert set(out) >= {"UploadsBucket", "ProcessedBucket", "JobsTableName", "JobsQueueUrl", "JobsQueueArn",
                        "DeadLetterQueueUrl", "DeadLetterQueueArn", "IngestDeadLetterQueueUrl", "IngestFunctionName",
                        "WorkerFunctionName"}
    lam, sqs = sb.client("lambda"), sb.client("sqs")
    worker = lam.get_function(FunctionName=out["WorkerFunctionName"])
    config = worker["Configuration"]
    assert (config["MemorySize"], config["Timeout"]) == (512, 7)
    env = config["Environment"]["Variables"]
    assert env["IDEMPOTENCY"] == "disabled" and env["PROCESSING_MS_PER_MB"] == "10" and env["MAX_RECEIVE_COUNT"] == "4"
    assert lam.get_function(FunctionName=out["IngestFunctionName"])["Configuration"]["MemorySize"] == 512

    attrs = sqs.get_queue_attributes(QueueUrl=out["JobsQueueUrl"], AttributeNames=["All"])["Attributes"]
    assert attrs["VisibilityTimeout"] == "42"
    redrive = json.loads(attrs["RedrivePolicy"])
    assert redrive == {"deadLetterTargetArn": out["DeadLetterQueueArn"], "maxReceiveCount": 4}
    (esm,) = lam.list_event_source_mappings(FunctionName=out["WorkerFunctionName"])["EventSourceMappings"]
    assert esm["EventSourceArn"] == out["JobsQueueArn"]
    assert (esm["BatchSize"], esm["MaximumBatchingWindowInSeconds"]) == (6, 2)
    assert esm["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName=out["WorkerFunctionName"])
    # The log groups are declared by the stack (for their retention, which LocalStack does not apply).
    for fn in (out["IngestFunctionName"], out["WorkerFunctionName"]):
        (group,) = sb.client("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{fn}")["logGroups"]
        assert group["logGroupName"] == f"/aws/lambda/{fn}"


def test_knobs_turn_by_redeploying_the_stack(sb, helpers):
    stack = f"{PATTERN}-{uuid.uuid4().hex[:8]}"
    out = deploy(sb, stack)
    updated = sb.deploy(PATTERN, stack_name=stack, parameters={"Idempotency": "disabled", "VisibilityTimeout": "5",
                                                               "BatchSize": "3", "ProcessingMsPerMB": "1"})
    assert updated.status == "UPDATE_COMPLETE" and updated.outputs == out, "same resources, new settings"
    lam = sb.client("lambda")
    env = lam.get_function_configuration(FunctionName=out["WorkerFunctionName"])["Environment"]["Variables"]
    assert (env["IDEMPOTENCY"], env["PROCESSING_MS_PER_MB"]) == ("disabled", "1")
    assert sb.client("sqs").get_queue_attributes(QueueUrl=out["JobsQueueUrl"], AttributeNames=["VisibilityTimeout"]
                                                 )["Attributes"]["VisibilityTimeout"] == "5"
    (esm,) = lam.list_event_source_mappings(FunctionName=out["WorkerFunctionName"])["EventSourceMappings"]
    assert esm["BatchSize"] == 3
    upload(sb, out, "after-update.mp4", MEDIA + b"still works")
    assert wait_jobs(sb, helpers, out, ["after-update.mp4"])["after-update.mp4"]["attempts"] == "1"


def test_worker_reserved_concurrency(sb):
    """-1 leaves the worker unreserved (Condition + AWS::NoValue); a number reserves it, and -1 again removes it."""
    stack = f"{PATTERN}-{uuid.uuid4().hex[:8]}"
    out = deploy(sb, stack, WorkerReservedConcurrency=2)
    lam = sb.client("lambda")
    assert lam.get_function_concurrency(FunctionName=out["WorkerFunctionName"])["ReservedConcurrentExecutions"] == 2
    sb.deploy(PATTERN, stack_name=stack, parameters={"WorkerReservedConcurrency": "-1"})
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName=out["WorkerFunctionName"])


def test_upload_is_transcoded_and_the_correlation_id_follows_it(sb, helpers):
    out = deploy(sb)
    clip = MEDIA + b"\x00" * 2048
    upload(sb, out, "in/clip one.mp4", clip)  # the key's space arrives URL-encoded in the S3 event
    upload(sb, out, "in/trailer.mp4", MEDIA + b"trailer", correlation_id="req-42")

    jobs = wait_jobs(sb, helpers, out, ["in/clip one.mp4", "in/trailer.mp4"])
    clip_job, trailer_job = jobs["in/clip one.mp4"], jobs["in/trailer.mp4"]
    assert clip_job["correlation_id"] == "in/clip one.mp4", "without metadata the key is the correlation id"
    assert trailer_job["correlation_id"] == "req-42", "x-amz-meta-correlation-id wins"
    processed = out["ProcessedBucket"]
    assert clip_job["output"] == f"s3://{processed}/processed/in/clip one.mp4"
    assert clip_job["attempts"] == "1" and clip_job["size"] == str(len(clip))
    assert clip_job["bucket"] == out["UploadsBucket"]
    assert clip_job["created_at"] <= clip_job["finished_at"] <= clip_job["updated_at"]

    obj = sb.client("s3").get_object(Bucket=processed, Key="processed/in/clip one.mp4")
    assert obj["Body"].read() == clip
    assert obj["Metadata"] == {"job-id": clip_job["job_id"], "correlation-id": "in/clip one.mp4"}

    # The correlation id is in every line the functions log, from the S3 key through SQS to the worker.
    for fn, last in ((out["IngestFunctionName"], "Job queued"), (out["WorkerFunctionName"], "Job done")):
        lines = wait_log_lines(sb, helpers, fn, last, 2)
        assert all(line.get("correlation_id") in ("in/clip one.mp4", "req-42") for line in lines), lines
        by_job = {line["job_id"]: line["correlation_id"] for line in lines}
        assert by_job == {clip_job["job_id"]: "in/clip one.mp4", trailer_job["job_id"]: "req-42"}
    worker_lines = log_lines(sb, helpers, out["WorkerFunctionName"])
    assert {line["message"] for line in worker_lines} == {"Transcoding", "Job done"}
    helpers.wait_for(lambda: queue_depth(sb, out["JobsQueueUrl"]) == 0, message="the jobs queue to drain")
    assert queue_depth(sb, out["DeadLetterQueueUrl"]) == 0


def test_a_real_file_is_transcoded_and_only_a_poison_upload_is_dead_lettered(sb, helpers):
    """#14, 12: a newcomer's own clip.mp4 (any bytes, no magic header) ends DONE; the poison is explicit: a name
    containing "poison", or content starting with POISON."""
    out = deploy(sb, VisibilityTimeout=2, MaxReceiveCount=2, WorkerTimeout=2)
    real_mp4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(range(256)) * 8
    upload(sb, out, "clip.mp4", real_mp4)
    upload(sb, out, "in/poison-clip.mp4", MEDIA + b" fine content, poison name")
    upload(sb, out, "marked.mp4", b"POISON in the content")
    jobs = wait_jobs(sb, helpers, out, ["clip.mp4", "in/poison-clip.mp4", "marked.mp4"],
                     statuses=("DONE", "FAILED"))
    assert jobs["clip.mp4"]["status"] == "DONE" and jobs["clip.mp4"]["attempts"] == "1", jobs["clip.mp4"]
    processed = sb.client("s3").get_object(Bucket=out["ProcessedBucket"], Key="processed/clip.mp4")["Body"].read()
    assert processed == real_mp4
    assert [jobs[k]["status"] for k in ("in/poison-clip.mp4", "marked.mp4")] == ["FAILED", "FAILED"]
    assert "its name contains 'poison'" in jobs["in/poison-clip.mp4"]["last_error"]
    assert "its content starts with POISON" in jobs["marked.mp4"]["last_error"]
    dead = dead_letters(sb, helpers, out, 2)
    assert sorted(json.loads(d["Body"])["key"] for d in dead) == ["in/poison-clip.mp4", "marked.mp4"]


def test_poison_upload_is_retried_then_dead_lettered(sb, helpers):
    out = deploy(sb, VisibilityTimeout=2, MaxReceiveCount=2, WorkerTimeout=2)
    upload(sb, out, "broken.mp4", b"POISON: never transcodes", correlation_id="req-broken")

    (dead,) = dead_letters(sb, helpers, out, 1)
    job = jobs_by_key(sb, out)["broken.mp4"]
    assert json.loads(dead["Body"])["job_id"] == job["job_id"]
    assert dead["MessageAttributes"]["correlation_id"]["StringValue"] == "req-broken"
    assert dead["Attributes"]["DeadLetterQueueSourceArn"] == out["JobsQueueArn"]
    assert job["status"] == "FAILED", job
    assert job["attempts"] == "2", "one transcode attempt per receive, MaxReceiveCount=2"
    assert "marked as poison" in job["last_error"]
    assert "Contents" not in sb.client("s3").list_objects_v2(Bucket=out["ProcessedBucket"])
    assert queue_depth(sb, out["JobsQueueUrl"]) == 0

    failures = [line for line in log_lines(sb, helpers, out["WorkerFunctionName"]) if line["level"] == "ERROR"]
    failures.sort(key=lambda line: line["receive_count"])  # log streams (one per environment) are not interleaved
    assert [f["receive_count"] for f in failures] == [1, 2]
    assert failures[-1]["message"].endswith("the message goes to the dead-letter queue")
    assert {f["correlation_id"] for f in failures} == {"req-broken"}


def test_bad_upload_in_a_batch_fails_alone(sb, helpers):
    good = [f"batch/good-{i}.mp4" for i in range(4)]
    out = deploy(sb, VisibilityTimeout=2, MaxReceiveCount=2, BatchSize=len(good) + 1)
    # The worker's mapping is paused while the uploads queue up, so that they are delivered as one batch. (With a
    # batching window, LocalStack's poller would still be in a long poll of the mapping it replaced when disabled.)
    lam = sb.client("lambda")
    (esm,) = lam.list_event_source_mappings(FunctionName=out["WorkerFunctionName"])["EventSourceMappings"]
    lam.update_event_source_mapping(UUID=esm["UUID"], Enabled=False)
    helpers.wait_for(lambda: lam.get_event_source_mapping(UUID=esm["UUID"])["State"] == "Disabled",
                     message="the mapping to be disabled")
    for key in good[:2]:
        upload(sb, out, key, MEDIA + key.encode())
    upload(sb, out, "batch/bad.mp4", b"POISON")
    for key in good[2:]:
        upload(sb, out, key, MEDIA + key.encode())
    wait_jobs(sb, helpers, out, [*good, "batch/bad.mp4"], statuses=("QUEUED",))
    helpers.wait_for(lambda: queue_depth(sb, out["JobsQueueUrl"]) == len(good) + 1, message="5 jobs in the queue")
    lam.update_event_source_mapping(UUID=esm["UUID"], Enabled=True)

    (dead,) = dead_letters(sb, helpers, out, 1)
    jobs = wait_jobs(sb, helpers, out, good)
    bad = jobs_by_key(sb, out)["batch/bad.mp4"]
    assert json.loads(dead["Body"])["key"] == "batch/bad.mp4"
    assert (bad["status"], bad["attempts"]) == ("FAILED", "2")
    assert all(j["attempts"] == "1" for j in jobs.values()), {k: j["attempts"] for k, j in jobs.items()}

    lines = log_lines(sb, helpers, out["WorkerFunctionName"])
    for job in jobs.values():
        assert len(transcodes(lines, job["job_id"])) == 1, f"{job['key']} transcoded exactly once"
    # The bad job's first delivery was one batch with the four good ones, which were not retried with it.
    first_failure = next(line for line in lines if line["level"] == "ERROR" and line["receive_count"] == 1)
    assert first_failure["batch_size"] == len(good) + 1
    done_with_it = {line["job_id"] for line in lines if line["message"] == "Job done"
                    and line["function_request_id"] == first_failure["function_request_id"]}
    assert done_with_it == {j["job_id"] for j in jobs.values()}
    keys = sb.client("s3").list_objects_v2(Bucket=out["ProcessedBucket"])["Contents"]
    assert sorted(o["Key"] for o in keys) == sorted(f"processed/{k}" for k in good)


def test_notification_that_cannot_become_a_job_is_kept(sb, helpers):
    """An S3 event for an object deleted before the ingest function read it: 3 attempts, then the ingest DLQ."""
    out = deploy(sb)
    event = {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                          "s3": {"bucket": {"name": out["UploadsBucket"]}, "object": {"key": "gone.mp4", "size": 7}}}]}
    lam = sb.client("lambda")
    lam.invoke(FunctionName=out["IngestFunctionName"], InvocationType="Event", Payload=json.dumps(event))

    sqs = sb.client("sqs")

    def dead():
        return sqs.receive_message(QueueUrl=out["IngestDeadLetterQueueUrl"], MessageAttributeNames=["All"],
                                   VisibilityTimeout=300).get("Messages")

    (msg,) = helpers.wait_for(dead, timeout=60, interval=0.5, message="the event in the ingest DLQ")
    assert json.loads(msg["Body"]) == event, "the DLQ keeps the original event, to replay it"
    assert "Not Found" in msg["MessageAttributes"]["ErrorMessage"]["StringValue"]
    helpers.wait_for(lambda: helpers.log_text(sb, out["IngestFunctionName"]).count("START RequestId") == 3,
                     message="1 attempt + 2 retries in the ingest logs")
    assert jobs_by_key(sb, out) == {} and queue_depth(sb, out["JobsQueueUrl"]) == 0


@pytest.mark.parametrize("idempotency, runs", [("enabled", 1), ("disabled", 2)])
def test_duplicate_delivery_of_a_job(sb, helpers, idempotency, runs):
    """S3 notifies at least once, and the same content uploaded again is the same job: two messages, one job."""
    out = deploy(sb, Idempotency=idempotency, MaximumBatchingWindowInSeconds=1)
    body = MEDIA + b"same bytes"
    upload(sb, out, "dup.mp4", body)
    job = wait_jobs(sb, helpers, out, ["dup.mp4"])["dup.mp4"]
    upload(sb, out, "dup.mp4", body)

    lines = wait_log_lines(sb, helpers, out["WorkerFunctionName"], "Job done", 2, timeout=60)
    job = jobs_by_key(sb, out)["dup.mp4"]
    assert job["status"] == "DONE"
    assert job["attempts"] == str(runs), f"Idempotency={idempotency}: transcoded {job['attempts']} time(s)"
    assert len(transcodes(lines, job["job_id"])) == runs
    assert queue_depth(sb, out["JobsQueueUrl"]) == 0


@pytest.mark.parametrize("idempotency", ["enabled", "disabled"])
def test_visibility_timeout_shorter_than_the_transcode(sb, helpers, idempotency):
    """The transcode takes ~3 s; the message is hidden for 1 s only. On AWS other pollers receive it again while
    the first run is busy: without idempotency every delivery transcodes again (a retry storm)."""
    # 100 KiB at 30 s/MB: ~3 s of "transcoding" (objects over 512 KiB are avoided, see the README's quirks).
    out = deploy(sb, Idempotency=idempotency, VisibilityTimeout=1, ProcessingMsPerMB=30000, WorkerTimeout=10,
                 MaxReceiveCount=10)
    upload(sb, out, "long.mp4", MEDIA + b"\x00" * (100 * 1024))
    wait_jobs(sb, helpers, out, ["long.mp4"], timeout=90)
    helpers.wait_for(lambda: queue_depth(sb, out["JobsQueueUrl"]) == 0, timeout=60, message="the queue to drain")
    attempts = int(jobs_by_key(sb, out)["long.mp4"]["attempts"])
    if idempotency == "enabled":
        assert attempts == 1, "further deliveries found the job in progress or done, and did not transcode"
    else:
        # needs several batches in flight per mapping, as on AWS (patches/sqs_esm_concurrency.py)
        assert attempts > 1, "no second delivery ran while the first was still transcoding"
    wait_jobs(sb, helpers, out, ["long.mp4"])  # late duplicates end DONE too
    assert queue_depth(sb, out["DeadLetterQueueUrl"]) == 0
