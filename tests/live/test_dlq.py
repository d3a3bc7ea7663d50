"""Dead-letter queue tools (`sandbox dlq list|peek|redrive|purge`, `sandbox.dlq`) against the embedded LocalStack.

Messages reach the DLQs the real way: a source queue with RedrivePolicy maxReceiveCount 1 is received from without
deleting, or a failing function's async invoke lands in its DeadLetterConfig queue and OnFailure destination.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox import SandboxError
from sandbox.dlq import DeadLetterQueues, parse_queue_ref

BIN = Path(sys.executable).parent
FAILING = "def handler(event, context):\n    raise ValueError('cannot handle ' + event.get('marker', ''))\n"


def cli(sb, *args, input=None):
    return subprocess.run([str(BIN / "sandbox"), "--state-dir", str(sb.settings.state_dir), "dlq", *args],
                          capture_output=True, text=True, input=input, timeout=120)


def make_queue(sb, name: str, **attributes) -> tuple[str, str]:
    sqs = sb.client("sqs")
    url = sqs.create_queue(QueueName=name, Attributes={k: str(v) for k, v in attributes.items()})["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def counts(sb, url: str) -> tuple[int, int]:
    """(visible, in flight) of a queue."""
    a = sb.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"])


def receive_all(sb, url: str, n: int, helpers) -> list[dict]:
    """Receives (and hides for 60 s) until n messages were seen."""
    sqs, seen = sb.client("sqs"), {}

    def poll():
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60,
                                     MessageSystemAttributeNames=["All"], MessageAttributeNames=["All"]
                                     ).get("Messages", []):
            seen[m["MessageId"]] = m
        return len(seen) >= n and list(seen.values())

    return helpers.wait_for(poll, timeout=20, message=f"{n} messages in {url}")


def attrs_of(m: dict) -> dict:
    return {k: (v["DataType"], v.get("StringValue")) for k, v in m.get("MessageAttributes", {}).items()}


MESSAGES = [
    ({"order": 1, "items": ["a", "b"]}, {"tenant": ("String", "acme"), "attempt": ("Number", "1")}),
    ({"order": 2, "items": []}, {"tenant": ("String", "globex")}),
    ("not json: plain text", {}),
]


def dead_letters(sb, helpers, fifo: bool = False, prefix: str = "orders"):
    """A source queue whose messages all went to its DLQ (RedrivePolicy maxReceiveCount 1): (src_url, src_arn,
    dlq_url, dlq_arn), with MESSAGES in the DLQ."""
    sqs = sb.client("sqs")
    suffix = ".fifo" if fifo else ""
    extra = {"FifoQueue": "true"} if fifo else {}
    dlq_url, dlq_arn = make_queue(sb, helpers.unique(f"{prefix}-dlq") + suffix, **extra)
    src_url, src_arn = make_queue(sb, helpers.unique(prefix) + suffix, **extra,
                                  RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1}))
    for i, (body, attrs) in enumerate(MESSAGES):
        kwargs = {"MessageGroupId": "g1", "MessageDeduplicationId": f"d{i}"} if fifo else {}
        sqs.send_message(QueueUrl=src_url, MessageBody=body if isinstance(body, str) else json.dumps(body),
                         MessageAttributes={k: {"DataType": t, "StringValue": v} for k, (t, v) in attrs.items()},
                         **kwargs)
    # Receive without deleting, visibility 0: the first receive counts 1, the next one exceeds maxReceiveCount.
    helpers.wait_for(lambda: sqs.receive_message(QueueUrl=src_url, MaxNumberOfMessages=10, VisibilityTimeout=0)
                     and counts(sb, dlq_url)[0] == len(MESSAGES), message="the messages to reach the DLQ")
    assert counts(sb, src_url) == (0, 0)
    return src_url, src_arn, dlq_url, dlq_arn


def expected_bodies() -> list[str]:
    return [b if isinstance(b, str) else json.dumps(b) for b, _ in MESSAGES]


def failing_function(sb, helpers, dlq_arn=None, on_failure_arn=None) -> str:
    kwargs = {"DeadLetterConfig": {"TargetArn": dlq_arn}} if dlq_arn else {}
    fn = helpers.create_function(sb, FAILING, **kwargs)
    config = {"DestinationConfig": {"OnFailure": {"Destination": on_failure_arn}}} if on_failure_arn else {}
    sb.client("lambda").put_function_event_invoke_config(FunctionName=fn, MaximumRetryAttempts=0, **config)
    return fn


# --- list ------------------------------------------------------------------------------------------------
def test_list_finds_every_kind_of_dlq_with_sources_and_depth(sb, helpers):
    sqs, lam = sb.client("sqs"), sb.client("lambda")
    src_url, src_arn, dlq_url, dlq_arn = dead_letters(sb, helpers)
    second_src, _ = make_queue(sb, helpers.unique("refunds"), RedrivePolicy=json.dumps(
        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1}))
    plain_url, _ = make_queue(sb, helpers.unique("plain"))
    fn_dlq_url, fn_dlq_arn = make_queue(sb, helpers.unique("fn-dlq"))
    onf_url, onf_arn = make_queue(sb, helpers.unique("fn-on-failure"))
    fn = failing_function(sb, helpers, dlq_arn=fn_dlq_arn, on_failure_arn=onf_arn)
    lam.invoke(FunctionName=fn, InvocationType="Event", Payload=json.dumps({"marker": "m-1"}))
    # A stream mapping's OnFailure destination, an SNS subscription's and an EventBridge target's DLQ.
    esm_url, esm_arn = make_queue(sb, helpers.unique("stream-failures"))
    table = sb.client("dynamodb").create_table(
        TableName=helpers.unique("tbl"), KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})["TableDescription"]
    esm = lam.create_event_source_mapping(EventSourceArn=table["LatestStreamArn"], FunctionName=fn,
                                          StartingPosition="LATEST", MaximumRetryAttempts=0,
                                          DestinationConfig={"OnFailure": {"Destination": esm_arn}})
    sns = sb.client("sns")
    topic = sns.create_topic(Name=helpers.unique("news"))["TopicArn"]
    sns_dlq_url, sns_dlq_arn = make_queue(sb, helpers.unique("sns-dlq"))
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=src_arn, ReturnSubscriptionArn=True,
                  Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": sns_dlq_arn})})
    events = sb.client("events")
    eb_dlq_url, eb_dlq_arn = make_queue(sb, helpers.unique("eb-dlq"))
    events.put_rule(Name="on-orders", EventPattern=json.dumps({"source": ["shop"]}))
    # ... and a DLQ that is configured but gone.
    gone_url, gone_arn = make_queue(sb, helpers.unique("gone-dlq"))
    events.put_targets(Rule="on-orders", Targets=[
        {"Id": "to-queue", "Arn": src_arn, "DeadLetterConfig": {"Arn": eb_dlq_arn}},
        {"Id": "to-topic", "Arn": topic, "DeadLetterConfig": {"Arn": gone_arn}}])
    sqs.delete_queue(QueueUrl=gone_url)
    helpers.wait_for(lambda: counts(sb, fn_dlq_url)[0] == 1 and counts(sb, onf_url)[0] == 1,
                     message="the failed invoke in the DLQ and the OnFailure destination")

    by_name = {d.name: d for d in sb.dlq.list()}
    name = dlq_arn.rsplit(":", 1)[1]
    assert set(by_name) == {name, *(a.rsplit(":", 1)[1] for a in (fn_dlq_arn, onf_arn, esm_arn, sns_dlq_arn,
                                                                  eb_dlq_arn, gone_arn))}
    redrive = by_name[name]
    assert (redrive.url, redrive.arn, redrive.depth, redrive.visible, redrive.exists) == (dlq_url, dlq_arn, 3, 3, True)
    assert sorted((s.kind, s.name, s.max_receive_count) for s in redrive.sources) == sorted([
        ("sqs-redrive", src_arn.rsplit(":", 1)[1], 1), ("sqs-redrive", second_src.rsplit("/", 1)[1], 1)])
    assert redrive.max_receive_count == 1

    def only(arn):
        (d,) = [d for d in by_name.values() if d.arn == arn]
        return d, [(s.kind, s.name) for s in d.sources]

    assert only(fn_dlq_arn)[1] == [("lambda-dlq", fn)] and only(fn_dlq_arn)[0].depth == 1
    assert only(onf_arn)[1] == [("lambda-on-failure", fn)] and only(onf_arn)[0].depth == 1
    d, sources = only(esm_arn)
    assert sources == [("esm-on-failure", fn)] and table["LatestStreamArn"] in d.sources[0].detail
    assert esm["UUID"] in d.sources[0].detail
    assert only(sns_dlq_arn)[1] == [("sns-redrive", topic.rsplit(":", 1)[1])]
    assert only(eb_dlq_arn)[1] == [("eventbridge-target", "on-orders")]
    gone, sources = only(gone_arn)
    assert not gone.exists and gone.url is None and sources == [("eventbridge-target", "on-orders")]
    with pytest.raises(SandboxError, match="is the DLQ of EventBridge rule on-orders .* but it does not exist"):
        sb.dlq.peek(gone_arn)
    assert plain_url.rsplit("/", 1)[1] not in by_name

    out = cli(sb, "list", "--json")
    assert out.returncode == 0, out.stderr
    listed = {d["arn"]: d for d in json.loads(out.stdout)["dlqs"]}
    assert listed[dlq_arn]["depth"] == 3 and listed[dlq_arn]["url"] == dlq_url
    assert listed[dlq_arn]["max_receive_count"] == 1
    assert {s["kind"] for s in listed[fn_dlq_arn]["sources"]} == {"lambda-dlq"}
    assert listed[gone_arn]["exists"] is False
    text = cli(sb, "list")
    assert text.returncode == 0, text.stderr
    assert f"{name}  depth 3 (3 visible, 0 in flight)" in text.stdout
    assert f"queue {src_arn.rsplit(':', 1)[1]} (RedrivePolicy, maxReceiveCount 1)" in text.stdout
    assert f"function {fn} (DeadLetterConfig)" in text.stdout
    assert "MISSING" in text.stdout


def test_list_is_per_region(sb, helpers):
    west = sb.client("sqs", "eu-west-1")
    dlq_url = west.create_queue(QueueName="west-dlq")["QueueUrl"]
    dlq_arn = west.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    west.create_queue(QueueName="west-src", Attributes={"RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})})
    assert [d.name for d in DeadLetterQueues(sb, "eu-west-1").list()] == ["west-dlq"]
    assert "west-dlq" not in [d.name for d in sb.dlq.list()]
    # A URL or ARN names its region.
    assert sb.dlq.get(dlq_arn).region == "eu-west-1" and sb.dlq.get(dlq_url).arn == dlq_arn
    west.send_message(QueueUrl=dlq_url, MessageBody="from the west")
    assert [m.body for m in sb.dlq.peek(dlq_arn)] == ["from the west"]
    assert sb.dlq.purge(dlq_url).deleted == 1
    assert west.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"]["ApproximateNumberOfMessages"] == "0"
    out = cli(sb, "list", "--region", "eu-west-1", "--json")
    assert out.returncode == 0, out.stderr
    (only,) = json.loads(out.stdout)["dlqs"]
    assert only["name"] == "west-dlq" and only["sources"][0]["max_receive_count"] == 3


# --- peek ------------------------------------------------------------------------------------------------
def test_peek_shows_messages_and_leaves_the_queue_as_it_was(sb, helpers):
    src_url, src_arn, dlq_url, dlq_arn = dead_letters(sb, helpers)
    peeked = sb.dlq.peek(dlq_url)
    assert counts(sb, dlq_url) == (3, 0), "depth unchanged, nothing left in flight"
    assert [p.body for p in peeked] == expected_bodies()
    first = peeked[0]
    assert first.is_json and first.json == {"order": 1, "items": ["a", "b"]}
    assert first.pretty_body() == json.dumps({"order": 1, "items": ["a", "b"]}, indent=2)
    assert not peeked[2].is_json and peeked[2].pretty_body() == "not json: plain text"
    assert {k: (v["type"], v["value"]) for k, v in first.message_attributes.items()} == MESSAGES[0][1]
    assert first.attributes["DeadLetterQueueSourceArn"] == src_arn
    assert first.failure == {"kind": "sqs-redrive", "source_arn": src_arn, "source": src_arn.rsplit(":", 1)[1]}
    assert first.sent and first.attributes["SentTimestamp"].isdigit()
    # Received once from the source before; our receive is not counted...
    assert [p.receive_count for p in peeked] == [1, 1, 1]
    assert first.attributes["ApproximateReceiveCount"] == "1"
    # ...but it did count (as on AWS): the next peek sees one more.
    assert [p.receive_count for p in sb.dlq.peek(dlq_arn, max_messages=2)] == [2, 2]
    assert counts(sb, dlq_url) == (3, 0)
    # Consumers get the messages right away.
    got = sb.client("sqs").receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=0)
    assert len(got["Messages"]) == 3

    out = cli(sb, "peek", dlq_url.rsplit("/", 1)[1], "--max", "5")
    assert out.returncode == 0, out.stderr
    assert "3 of 3 message(s)" in out.stdout
    assert '      "order": 1,' in out.stdout, "pretty-printed JSON body"
    assert "tenant (String): acme" in out.stdout and f"DeadLetterQueueSourceArn: {src_arn}" in out.stdout
    assert "ApproximateReceiveCount is now one higher" in out.stderr
    assert counts(sb, dlq_url) == (3, 0)


def test_peek_shows_lambda_failures(sb, helpers):
    fn_dlq_url, fn_dlq_arn = make_queue(sb, helpers.unique("fn-dlq"))
    onf_url, onf_arn = make_queue(sb, helpers.unique("fn-on-failure"))
    fn = failing_function(sb, helpers, dlq_arn=fn_dlq_arn, on_failure_arn=onf_arn)
    resp = sb.client("lambda").invoke(FunctionName=fn, InvocationType="Event", Payload=json.dumps({"marker": "m-7"}))
    helpers.wait_for(lambda: counts(sb, fn_dlq_url)[0] == 1 and counts(sb, onf_url)[0] == 1,
                     message="the failed invoke in the DLQ and the OnFailure destination")

    (dead,) = sb.dlq.peek(fn_dlq_url)
    assert dead.json == {"marker": "m-7"}
    assert dead.failure["kind"] == "lambda-dlq" and "cannot handle m-7" in dead.failure["error_message"]
    assert dead.failure["error_code"] == "200" and dead.failure["request_id"]
    assert dead.message_attributes["ErrorMessage"]["value"] == dead.failure["error_message"]
    (record,) = sb.dlq.peek(onf_url)
    assert record.failure["kind"] == "lambda-destination"
    assert record.failure["condition"] == "RetriesExhausted" and record.failure["approximate_invoke_count"] == 1
    assert record.failure["error_type"] == "ValueError" and record.failure["error_message"] == "cannot handle m-7"
    assert record.failure["request_id"] == resp["ResponseMetadata"]["RequestId"]
    assert record.failure["function_arn"].endswith(f":function:{fn}:$LATEST")
    assert counts(sb, fn_dlq_url) == (1, 0) and counts(sb, onf_url) == (1, 0)

    out = cli(sb, "peek", onf_arn, "--json")
    assert out.returncode == 0, out.stderr
    (m,) = json.loads(out.stdout)["messages"]
    assert m["json"]["requestPayload"] == {"marker": "m-7"} and m["failure"]["condition"] == "RetriesExhausted"
    assert m["receive_count"] == 1, "the earlier peek counted; this one is not"


def test_an_async_invoke_of_a_function_with_no_concurrency_goes_to_its_dlq_as_zero_reserved_concurrency(sb, helpers):
    """The async poller's invoke is throttled (429, retried as botocore retries it), and the poller knows the throttle
    by the Lambda client's own exception class (patches/lambda_invoke_direct must raise it): the event is dropped
    with the condition ZeroReservedConcurrency, not retried as a function error, and reaches the DLQ too (LocalStack
    lost it there: patches/lambda_dlq_throttled_events)."""
    fn_dlq_url, fn_dlq_arn = make_queue(sb, helpers.unique("fn-dlq"))
    onf_url, onf_arn = make_queue(sb, helpers.unique("fn-on-failure"))
    fn = failing_function(sb, helpers, dlq_arn=fn_dlq_arn, on_failure_arn=onf_arn)
    sb.client("lambda").put_function_concurrency(FunctionName=fn, ReservedConcurrentExecutions=0)
    sb.client("lambda").invoke(FunctionName=fn, InvocationType="Event", Payload=json.dumps({"marker": "z-1"}))
    helpers.wait_for(lambda: counts(sb, onf_url)[0] == 1 and counts(sb, fn_dlq_url)[0] == 1, timeout=60,
                     message="the throttled event in the OnFailure destination and the DLQ")
    (record,) = sb.dlq.peek(onf_url)
    assert record.failure["condition"] == "ZeroReservedConcurrency"
    assert record.failure["kind"] == "lambda-destination"
    (dead,) = sb.dlq.peek(fn_dlq_url)
    assert dead.json == {"marker": "z-1"}
    assert dead.message_attributes["ErrorMessage"]["value"] == "Rate Exceeded."


# --- redrive ---------------------------------------------------------------------------------------------
def test_redrive_back_to_the_source_queue(sb, helpers):
    src_url, src_arn, dlq_url, dlq_arn = dead_letters(sb, helpers)
    result = sb.dlq.redrive(dlq_url.rsplit("/", 1)[1])
    assert result.moved == 3 and result.remaining == 0
    assert result.method == "StartMessageMoveTask" and result.destination_arn == src_arn and result.note is None
    assert counts(sb, dlq_url) == (0, 0)
    arrived = receive_all(sb, src_url, 3, helpers)
    assert sorted(m["Body"] for m in arrived) == sorted(expected_bodies())
    by_body = {m["Body"]: attrs_of(m) for m in arrived}
    for body, attrs in zip(expected_bodies(), (a for _, a in MESSAGES)):
        assert by_body[body] == attrs


def test_redrive_to_another_queue_via_cli(sb, helpers):
    src_url, src_arn, dlq_url, dlq_arn = dead_letters(sb, helpers)
    other_url, other_arn = make_queue(sb, helpers.unique("replay"))
    out = cli(sb, "redrive", dlq_arn, "--to", other_url.rsplit("/", 1)[1], "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["moved"] == 3 and result["destination_arn"] == other_arn and result["remaining"] == 0
    assert counts(sb, dlq_url) == (0, 0) and counts(sb, src_url) == (0, 0)
    arrived = receive_all(sb, other_url, 3, helpers)
    assert sorted((m["Body"], tuple(sorted(attrs_of(m).items()))) for m in arrived) == sorted(
        (b, tuple(sorted(a.items()))) for b, a in zip(expected_bodies(), (a for _, a in MESSAGES)))

    text = cli(sb, "redrive", dlq_arn, "--to", other_arn)
    assert text.returncode == 0, text.stderr
    assert "moved 0 message(s)" in text.stdout


def test_redrive_of_a_lambda_dlq_needs_a_destination_and_keeps_attributes(sb, helpers):
    fn_dlq_url, fn_dlq_arn = make_queue(sb, helpers.unique("fn-dlq"))
    fn = helpers.create_function(sb, FAILING, DeadLetterConfig={"TargetArn": fn_dlq_arn})
    # What Lambda writes to a DLQ (see test_flows_core), written here to spare a failing invoke.
    sqs = sb.client("sqs")
    for i in range(12):
        sqs.send_message(QueueUrl=fn_dlq_url, MessageBody=json.dumps({"marker": f"m-{i}"}), MessageAttributes={
            "ErrorCode": {"DataType": "Number", "StringValue": "200"},
            "ErrorMessage": {"DataType": "String", "StringValue": f"cannot handle m-{i}"},
            "RequestID": {"DataType": "String", "StringValue": f"req-{i}"}})
    with pytest.raises(SandboxError, match=rf"cannot redrive .*without --to: its source is not a queue.*"
                                           rf"function {fn} \(DeadLetterConfig\)"):
        sb.dlq.redrive(fn_dlq_url)
    replay_url, replay_arn = make_queue(sb, helpers.unique("replay"))
    result = sb.dlq.redrive(fn_dlq_arn, to=replay_arn)
    # Not a RedrivePolicy target: StartMessageMoveTask refuses it (as on AWS), the messages move by hand.
    assert result.method == "receive-send-delete" and "StartMessageMoveTask was refused" in result.note
    assert result.moved == 12 and counts(sb, fn_dlq_url) == (0, 0)
    arrived = receive_all(sb, replay_url, 12, helpers)
    assert sorted(json.loads(m["Body"])["marker"] for m in arrived) == sorted(f"m-{i}" for i in range(12))
    for m in arrived:
        i = json.loads(m["Body"])["marker"].split("-")[1]
        assert attrs_of(m) == {"ErrorCode": ("Number", "200"), "ErrorMessage": ("String", f"cannot handle m-{i}"),
                               "RequestID": ("String", f"req-{i}")}


def test_redrive_refuses_several_sources_without_to(sb, helpers):
    src_url, src_arn, dlq_url, dlq_arn = dead_letters(sb, helpers)
    other_url, _ = make_queue(sb, helpers.unique("refunds"), RedrivePolicy=json.dumps(
        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 4}))
    names = sorted([src_url.rsplit("/", 1)[1], other_url.rsplit("/", 1)[1]])
    with pytest.raises(SandboxError, match="it has several sources") as err:
        sb.dlq.redrive(dlq_url)
    assert f"queue {names[0]} (RedrivePolicy" in str(err.value) and f"queue {names[1]} (RedrivePolicy" in str(err.value)
    assert "--to QUEUE" in str(err.value)
    assert counts(sb, dlq_url) == (3, 0), "nothing moved"
    out = cli(sb, "redrive", dlq_url)
    assert out.returncode == 1 and "several sources" in out.stderr and "Traceback" not in out.stderr
    with pytest.raises(SandboxError, match="into itself"):
        sb.dlq.redrive(dlq_url, to=dlq_arn)
    with pytest.raises(SandboxError, match="no queue 'nowhere' in us-east-1 to redrive to"):
        sb.dlq.redrive(dlq_url, to="nowhere")


def test_redrive_fifo_keeps_order_and_is_not_deduplicated(sb, helpers):
    """LocalStack's move task would re-send with the original deduplication ids: back in the source within
    5 minutes, FIFO messages would be dropped as duplicates. They are moved by hand with new ids."""
    src_url, src_arn, dlq_url, dlq_arn = dead_letters(sb, helpers, fifo=True)
    result = sb.dlq.redrive(dlq_arn)
    assert result.moved == 3 and result.method == "receive-send-delete" and counts(sb, dlq_url) == (0, 0)
    sqs, bodies = sb.client("sqs"), []
    for _ in range(3):  # one at a time: a FIFO group hands out its next message once the previous is gone
        (m,) = sqs.receive_message(QueueUrl=src_url, MaxNumberOfMessages=1, MessageSystemAttributeNames=["All"],
                                   MessageAttributeNames=["All"])["Messages"]
        assert m["Attributes"]["MessageGroupId"] == "g1"
        bodies.append((m["Body"], attrs_of(m)))
        sqs.delete_message(QueueUrl=src_url, ReceiptHandle=m["ReceiptHandle"])
    assert bodies == list(zip(expected_bodies(), (a for _, a in MESSAGES)))


# --- purge -----------------------------------------------------------------------------------------------
def test_purge_asks_first(sb, helpers):
    src_url, src_arn, dlq_url, dlq_arn = dead_letters(sb, helpers)
    name = dlq_url.rsplit("/", 1)[1]
    declined = cli(sb, "purge", name, input="n\n")
    assert declined.returncode == 1 and "Delete all 3 message(s)" in declined.stderr
    assert "Aborted" in declined.stderr
    assert counts(sb, dlq_url) == (3, 0)
    no_input = cli(sb, "purge", name, input="")
    assert no_input.returncode == 1 and counts(sb, dlq_url) == (3, 0)
    done = cli(sb, "purge", name, "--yes")
    assert done.returncode == 0, done.stderr
    assert f"purged {name}: 3 message(s) deleted" in done.stdout
    assert counts(sb, dlq_url) == (0, 0)
    # and through the API, with a message in flight (purge takes those too)
    sb.client("sqs").send_message(QueueUrl=dlq_url, MessageBody="again")
    sb.client("sqs").receive_message(QueueUrl=dlq_url, VisibilityTimeout=60)
    assert sb.dlq.purge(dlq_arn).deleted == 1 and counts(sb, dlq_url) == (0, 0)


# --- errors ----------------------------------------------------------------------------------------------
def test_unknown_and_non_dlq_queues_are_clear_errors(sb, helpers):
    src_url, src_arn, dlq_url, dlq_arn = dead_letters(sb, helpers)
    dlq_name = dlq_url.rsplit("/", 1)[1]
    # name, URL and ARN all name the same DLQ
    assert sb.dlq.get(dlq_name).arn == sb.dlq.get(dlq_url).arn == sb.dlq.get(dlq_arn).arn == dlq_arn
    with pytest.raises(SandboxError, match=rf"no queue 'missing-q' in us-east-1. DLQs in us-east-1: {dlq_name}$"):
        sb.dlq.peek("missing-q")
    with pytest.raises(SandboxError, match=rf"queue '{src_url.rsplit('/', 1)[1]}' is not a dead-letter queue.*"
                                           rf"DLQs in us-east-1: {dlq_name}$"):
        sb.dlq.purge(src_url)
    assert counts(sb, src_url) == (0, 0) and counts(sb, dlq_url) == (3, 0)
    out = cli(sb, "peek", "missing-q")
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert f"error: no queue 'missing-q' in us-east-1. DLQs in us-east-1: {dlq_name}" in out.stderr
    out = cli(sb, "purge", "missing-q", "--yes", "--region", "eu-west-1")
    assert out.returncode == 1 and "DLQs in eu-west-1: none" in out.stderr


def test_queue_refs_are_parsed():
    assert parse_queue_ref("jobs") == (None, "jobs")
    assert parse_queue_ref("arn:aws:sqs:eu-west-1:000000000000:jobs.fifo") == ("eu-west-1", "jobs.fifo")
    assert parse_queue_ref("http://127.0.0.1:4566/queue/eu-west-1/000000000000/jobs") == ("eu-west-1", "jobs")
    assert parse_queue_ref("http://sqs.us-east-2.localhost.localstack.cloud:4566/000000000000/jobs") == (
        "us-east-2", "jobs")
    assert parse_queue_ref("http://localhost:4566/000000000000/jobs") == (None, "jobs")
