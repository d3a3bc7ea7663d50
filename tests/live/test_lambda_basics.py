"""The process executor: sync/async invokes and every way a handler can go wrong."""

import base64
import json
import re

HANDLER = '''
import json, os, sys, time, uuid
ENVIRONMENT = uuid.uuid4().hex  # one per execution environment (each runs in a PID namespace: getpid() is 1)
print("init ran")
def handler(event, context):
    print("event", json.dumps(event))
    action = event.get("action")
    if action == "fail":
        raise ValueError("boom: " + event.get("why", ""))
    if action == "sleep":
        time.sleep(event["seconds"])
    if action == "exit":
        os._exit(3)
    if action == "sysexit":
        sys.exit(2)
    if action == "shout":
        sys.stdout.write("y" * 10_000_000)
    if action == "env":
        return dict(os.environ)
    if action == "measure":
        return {"chars": len(event["data"]), "quotes": event["data"].count('"'), "text": event["data"][:3]}
    return {"ok": True, "pid": ENVIRONMENT, "remaining": context.get_remaining_time_in_millis(),
            "request_id": context.aws_request_id}
'''


def test_sync_invoke_returns_result(sb, helpers):
    fn = helpers.create_function(sb, HANDLER)
    body, resp = helpers.invoke(sb, fn, {"hello": 1})
    assert resp["StatusCode"] == 200 and "FunctionError" not in resp
    assert body["ok"] is True and 0 < body["remaining"] <= 5000


def test_warm_environment_is_reused(sb, helpers):
    fn = helpers.create_function(sb, HANDLER)
    first, _ = helpers.invoke(sb, fn)
    second, _ = helpers.invoke(sb, fn)
    assert first["pid"] == second["pid"]


def test_unhandled_error_has_type_message_and_no_sandbox_frames(sb, helpers):
    fn = helpers.create_function(sb, HANDLER)
    body, resp = helpers.invoke(sb, fn, {"action": "fail", "why": "bad input"})
    assert resp["FunctionError"] == "Unhandled"
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "boom: bad input"
    trace = "".join(body["stackTrace"])
    assert "app.py" in trace and "bootstrap" not in trace and "sandbox/" not in trace.replace(".sandbox", "")


def test_timeout_kills_environment_and_next_invoke_is_fresh(sb, helpers):
    fn = helpers.create_function(sb, HANDLER, timeout=1)
    before, _ = helpers.invoke(sb, fn)
    body, resp = helpers.invoke(sb, fn, {"action": "sleep", "seconds": 5}, LogType="Tail")
    assert resp["FunctionError"] == "Unhandled"
    assert "Task timed out after 1.00 seconds" in body["errorMessage"]
    log = base64.b64decode(resp["LogResult"]).decode()
    assert "Status: timeout" in log
    # the peak of the environment's processes, as AWS reports it (it said 0 MB): a Python runtime is over 5 MB
    used = int(re.search(r"Max Memory Used: (\d+) MB", log).group(1))
    assert 5 < used <= 128, log
    after, _ = helpers.invoke(sb, fn)
    assert after["ok"] and after["pid"] != before["pid"]


def test_crash_is_runtime_exit_error_and_recovers(sb, helpers):
    fn = helpers.create_function(sb, HANDLER)
    for action, code in (("exit", 3), ("sysexit", 2)):  # sys.exit(2) said "exit status 1"
        body, resp = helpers.invoke(sb, fn, {"action": action})
        assert resp["FunctionError"] == "Unhandled"
        assert body["errorType"] == "Runtime.ExitError", body
        assert f"exit status {code}" in body["errorMessage"], body
        again, resp = helpers.invoke(sb, fn)
        assert again["ok"] is True


def test_import_error_is_reported(sb, helpers):
    fn = helpers.create_function(sb, "import not_a_module_anywhere\ndef handler(e, c): return 1\n")
    body, resp = helpers.invoke(sb, fn)
    assert resp["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert "not_a_module_anywhere" in body["errorMessage"]


def test_missing_handler_function(sb, helpers):
    fn = helpers.create_function(sb, "def other(e, c): return 1\n")
    body, _ = helpers.invoke(sb, fn)
    assert body["errorType"] == "Runtime.HandlerNotFound"


def test_ten_megabytes_of_stdout_does_not_break_anything(sb, helpers):
    fn = helpers.create_function(sb, HANDLER)
    body, resp = helpers.invoke(sb, fn, {"action": "shout"}, LogType="Tail")
    assert body["ok"] is True
    assert "dropped" in base64.b64decode(resp["LogResult"]).decode()
    again, _ = helpers.invoke(sb, fn)
    assert again["ok"] is True


def test_a_payload_near_lambdas_6_mb_arrives_whole_whatever_its_characters(sb, helpers):
    """The executor wraps the payload in JSON once more: 2.9 MB of quotes became 11.6 MB on the wire (each escaped
    twice), an emoji 12 bytes instead of 4 - over the runtime's cap of 8 MB; the invocation was refused."""
    fn = helpers.create_function(sb, HANDLER)
    lam = sb.client("lambda")
    for data in ('"' * 2_900_000, "\U0001F600" * 1_450_000):
        payload = json.dumps({"action": "measure", "data": data}, ensure_ascii=False).encode()
        assert len(payload) < 6 * 1024 * 1024, "within Lambda's limit"
        resp = lam.invoke(FunctionName=fn, Payload=payload)
        body = json.loads(resp["Payload"].read())
        assert resp["StatusCode"] == 200 and "FunctionError" not in resp, body
        assert body == {"chars": len(data), "quotes": data.count('"'), "text": data[:3]}


def test_stopped_environments_leave_no_connection_open(sb, helpers):
    """LocalStack keeps a stopped environment's executor: its connection to the runtime stayed in CLOSE-WAIT, one
    descriptor for each environment stopped (a function deleted, an idle one expired)."""
    import psutil

    localstack = psutil.Process(sb.embedded.instance().pid)

    def close_wait() -> int:
        return sum(c.status == psutil.CONN_CLOSE_WAIT for c in localstack.net_connections(kind="tcp"))

    before = close_wait()
    lam = sb.client("lambda")
    for _ in range(6):
        fn = helpers.create_function(sb, HANDLER)
        helpers.invoke(sb, fn)
        lam.delete_function(FunctionName=fn)
    # (one of another test's environments may stop meanwhile; six did before the fix)
    helpers.wait_for(lambda: close_wait() - before <= 1, 10,
                     message="the stopped environments' connections to close")


def test_a_reset_right_after_deletions_leaves_no_environment_running(sb, helpers):
    """LocalStack queues the stop of a deleted function's environment on a thread pool that a reset shuts down
    with its queue cancelled: environments of functions deleted just before a reset stayed up (reset hook
    "lambda environments of deleted functions")."""
    import psutil

    lam = sb.client("lambda")
    names = [helpers.create_function(sb, HANDLER) for _ in range(8)]
    for fn in names:
        helpers.invoke(sb, fn)
    processes = set(sb.info()["lambda_processes"])
    assert len(processes) >= 8
    for fn in names:
        lam.delete_function(FunctionName=fn)
    sb.reset()
    helpers.wait_for(lambda: not any(psutil.pid_exists(pid) for pid in processes), 10,
                     message=f"the deleted functions' environments {processes} to stop")
    assert sb.info()["lambda_processes"] == []


def test_environment_has_no_host_credentials(sb, helpers):
    fn = helpers.create_function(sb, HANDLER)
    env, _ = helpers.invoke(sb, fn, {"action": "env"})
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == fn
    assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    for var, secret in helpers.HOST_SECRETS.items():
        assert secret not in env.values(), f"host {var} leaked into the function"
    assert "AWS_PROFILE" not in env and "AWS_DEFAULT_PROFILE" not in env
    assert env["AWS_SHARED_CREDENTIALS_FILE"] == "/dev/null" and env["AWS_CONFIG_FILE"] == "/dev/null"
    assert env["LAMBDA_TASK_ROOT"].startswith(str(sb.settings.state_dir))
    assert env["TMPDIR"] == env["HOME"] == "/tmp"  # a /tmp of its own (private mount), as on AWS
    assert "SANDBOX_INVOKE_TOKEN" not in env and "SANDBOX_TOKEN" not in env  # the secrets stay out of its sight


def test_logs_reach_cloudwatch(sb, helpers):
    fn = helpers.create_function(sb, HANDLER)
    helpers.invoke(sb, fn, {"marker": "find-me-123"})
    text = helpers.wait_for(lambda: "find-me-123" in helpers.log_text(sb, fn) and helpers.log_text(sb, fn),
                            message="the invocation's log lines in CloudWatch Logs")
    assert "init ran" in text
    assert "START RequestId:" in text and "END RequestId:" in text and "REPORT RequestId:" in text
    assert "Init Duration:" in text


JSON_LOGS_HANDLER = """
import logging
logger = logging.getLogger("orders")
def handler(event, context):
    logger.debug("not at WARN")
    logger.info("not at WARN either")
    logger.warning("stock low", extra={"order": 7})
    try:
        1 / 0
    except ZeroDivisionError:
        logger.exception("could not price")
    raise ValueError("boom")
"""


def test_logging_config_json_writes_json_lines_at_the_application_log_level(sb, helpers):
    """`LoggingConfig: LogFormat: JSON` (as `sam init`'s templates set in Globals): the logging module writes AWS's JSON
    lines, filtered by ApplicationLogLevel, and an uncaught error is one JSON line with its stack trace."""
    fn = helpers.create_function(sb, JSON_LOGS_HANDLER, LoggingConfig={"LogFormat": "JSON",
                                                                      "ApplicationLogLevel": "WARN"})
    _, resp = helpers.invoke(sb, fn)
    assert resp.get("FunctionError") == "Unhandled"
    text = helpers.wait_for(lambda: "boom" in helpers.log_text(sb, fn) and helpers.log_text(sb, fn),
                            message="the invocation's log lines")
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    warning = next(line for line in lines if line.get("message") == "stock low")
    assert warning["level"] == "WARNING" and warning["logger"] == "orders" and warning["order"] == 7
    assert len(warning["requestId"]) == 36 and warning["timestamp"].endswith("Z")
    logged = next(line for line in lines if line.get("message") == "could not price")
    assert logged["level"] == "ERROR" and logged["errorType"] == "ZeroDivisionError"
    assert any("1 / 0" in frame for frame in logged["stackTrace"]) and logged["location"].endswith(":handler:11")
    uncaught = next(line for line in lines if line.get("log_level") == "ERROR")
    assert uncaught["errorType"] == "ValueError" and uncaught["errorMessage"] == "boom"
    assert uncaught["requestId"] == warning["requestId"] and uncaught["stackTrace"]
    assert "not at WARN" not in text and "Traceback" not in text  # filtered; the trace is inside the JSON line


TEXT_LOGS_HANDLER = """
import logging
def handler(event, context):
    print("two\\nprinted lines")
    try:
        {}["missing"]
    except KeyError:
        logging.getLogger().exception("lookup failed")
    raise ValueError("boom")
"""


def test_a_traceback_is_one_log_event_as_on_aws(sb, helpers):
    """Text format: an uncaught error is one event (`[ERROR] ValueError: boom`, then the traceback, lines joined by
    "\\r" and indented with no-break spaces, as AWS's runtime writes it), so is a logged exception; a print's lines
    stay one event each."""
    fn = helpers.create_function(sb, TEXT_LOGS_HANDLER)
    helpers.invoke(sb, fn)
    logs = sb.client("logs")

    def messages() -> list[str]:
        try:
            return [e["message"] for e in logs.filter_log_events(logGroupName=f"/aws/lambda/{fn}")["events"]]
        except logs.exceptions.ResourceNotFoundException:  # not shipped yet
            return []

    events = helpers.wait_for(lambda: (found := messages()) and any("boom" in m for m in found) and found,
                              message="the invocation's log events")
    uncaught = next(m for m in events if m.startswith("[ERROR] ValueError: boom"))
    assert uncaught.endswith("\n") and uncaught.count("\n") == 1
    lines = uncaught.rstrip("\n").split("\r")
    assert lines[1] == "Traceback (most recent call last):"
    assert any(line.startswith("\u00a0\u00a0File ") and "line 9, in handler" in line for line in lines)
    assert any(line.strip("\u00a0") == 'raise ValueError("boom")' for line in lines)
    logged = next(m for m in events if m.startswith("[ERROR]\t") and "lookup failed" in m)
    assert "\rTraceback (most recent call last):\r" in logged and "KeyError: 'missing'" in logged
    assert "two\n" in events and "printed lines\n" in events


def test_async_invoke_runs(sb, helpers):
    fn = helpers.create_function(sb, HANDLER)
    resp = sb.client("lambda").invoke(FunctionName=fn, InvocationType="Event", Payload=b'{"marker": "async-42"}')
    assert resp["StatusCode"] == 202
    helpers.wait_for(lambda: "async-42" in helpers.log_text(sb, fn), message="the async invocation's log")


def test_boto3_and_powertools_importable_in_handler(sb, helpers):
    code = '''
import boto3
from aws_lambda_powertools import Logger
logger = Logger(service="probe")
def handler(event, context):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=event["bucket"])
    logger.info("created", extra={"bucket": event["bucket"]})
    return [b["Name"] for b in s3.list_buckets()["Buckets"]]
'''
    # Powertools from AWS's public layer, as on AWS (the sandbox serves its bundled copy; test_function_packages.py)
    powertools = "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-x86_64:18"
    fn = helpers.create_function(sb, code, Layers=[powertools])
    body, resp = helpers.invoke(sb, fn, {"bucket": "from-lambda"})
    assert "FunctionError" not in resp, body
    assert "from-lambda" in body
    assert "from-lambda" in [b["Name"] for b in sb.client("s3").list_buckets()["Buckets"]]


def test_invocation_metrics_reach_cloudwatch(sb, helpers):
    """Invocations/Errors arrive (aggregated per second by the lambda_metrics_batching patch) with exact sums."""
    import datetime

    fn = helpers.create_function(sb, HANDLER)
    for event in ({}, {}, {"action": "fail"}):
        helpers.invoke(sb, fn, event)
    cw = sb.client("cloudwatch")
    now = datetime.datetime.now(datetime.timezone.utc)

    def total(metric):
        points = cw.get_metric_statistics(
            Namespace="AWS/Lambda", MetricName=metric, Dimensions=[{"Name": "FunctionName", "Value": fn}],
            StartTime=now - datetime.timedelta(minutes=5), EndTime=now + datetime.timedelta(minutes=5),
            Period=60, Statistics=["Sum"])["Datapoints"]
        return sum(p["Sum"] for p in points)

    helpers.wait_for(lambda: total("Invocations") == 3 and total("Errors") == 1, timeout=15,
                     message="Invocations=3 and Errors=1 in CloudWatch")


def test_a_functions_sdk_calls_go_over_the_lean_connection_and_answer_as_botocore_does(sb, helpers):
    """lean_http.py in a real function against the sandbox: S3 with and without 100-continue, a streamed body read
    in parts, errors as botocore's exceptions, JSON and query protocols; one kept-alive socket per client."""
    code = '''
import io, uuid
import boto3, botocore.httpsession
def handler(event, context):
    bucket = event["bucket"]
    s3, ddb, sqs = boto3.client("s3"), boto3.client("dynamodb"), boto3.client("sqs")
    s3.create_bucket(Bucket=bucket)
    media = bytes(range(256)) * 300
    s3.put_object(Bucket=bucket, Key="up/a b+ä.bin", Body=media)
    s3.put_object(Bucket=bucket, Key="up/file.bin", Body=io.BytesIO(media[:5000]))
    body = s3.get_object(Bucket=bucket, Key="up/a b+ä.bin")["Body"]
    parts = body.read(10) + b"".join(body.iter_chunks(4096))
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="up/")["Contents"]]
    try:
        s3.head_object(Bucket=bucket, Key="missing")
        missing = "found"
    except s3.exceptions.ClientError as e:
        missing = e.response["Error"]["Code"]
    try:
        ddb.describe_table(TableName="no-such-table-" + uuid.uuid4().hex[:6])
        table = "found"
    except ddb.exceptions.ResourceNotFoundException as e:
        table = type(e).__name__
    queue = sqs.create_queue(QueueName=bucket)["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody="héllo")
    received = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"][0]["Body"]
    caller = boto3.client("sts").get_caller_identity()["Account"]
    pools = s3._endpoint.http_session.__dict__.get("_sandbox_lean_pools", {})
    return {"same": parts == media, "file": s3.get_object(Bucket=bucket, Key="up/file.bin")["Body"].read() == media[:5000],
            "listed": listed, "missing": missing, "table": table, "received": received, "account": caller,
            "lean": getattr(botocore.httpsession.URLLib3Session, "_sandbox_lean", False),
            "s3_sockets": sum(len(p.idle) for p in pools.values())}
'''
    fn = helpers.create_function(sb, code, timeout=20)
    body, resp = helpers.invoke(sb, fn, {"bucket": "lean-calls"})
    assert "FunctionError" not in resp, body
    assert body["lean"] is True and body["s3_sockets"] == 1
    assert body["same"] is True and body["file"] is True
    assert body["listed"] == ["up/a b+ä.bin", "up/file.bin"]
    assert body["missing"] == "404" and body["table"] == "ResourceNotFoundException"
    assert body["received"] == "héllo" and body["account"] == "000000000000"
    stored = sb.client("s3").get_object(Bucket="lean-calls", Key="up/a b+ä.bin")["Body"].read()
    assert stored == bytes(range(256)) * 300
