"""The built-in pattern `user-onboarding`: EventBridge -> Step Functions (Lambda, DynamoDB, SES, SQS) with retries
and compensation, deployed by name into the real embedded LocalStack."""

import json

import pytest

PATTERN = "user-onboarding"
SENDER = "welcome@example.com"


# --- helpers -------------------------------------------------------------------------------------------------------
def deploy(sb, stack_name=None, **parameters) -> dict:
    result = sb.deploy(PATTERN, stack_name=stack_name, parameters={k: str(v) for k, v in parameters.items()} or None)
    assert result.status == "CREATE_COMPLETE", result
    return result.outputs


def put_user_created(sb, outputs, detail: dict) -> str:
    resp = sb.client("events").put_events(Entries=[{
        "EventBusName": outputs["EventBusName"], "Source": "app.users", "DetailType": "user.created",
        "Detail": json.dumps(detail)}])
    assert resp["FailedEntryCount"] == 0, resp
    return resp["Entries"][0]["EventId"]


def finished_execution(sb, helpers, outputs, event_id: str, timeout: float = 90) -> dict:
    """The execution the rule started for the event (its input is the event), once it has finished."""
    sfn = sb.client("stepfunctions")
    seen: dict[str, str] = {}  # execution arn -> id of the event it was started with

    def started():
        for e in sfn.list_executions(stateMachineArn=outputs["StateMachineArn"])["executions"]:
            if e["executionArn"] not in seen:
                given = json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"])
                seen[e["executionArn"]] = given.get("id")
        return next((arn for arn, given_id in seen.items() if given_id == event_id), None)

    arn = helpers.wait_for(started, timeout=60, message=f"an execution for event {event_id}")
    return helpers.wait_for(lambda: (d := sfn.describe_execution(executionArn=arn))["status"] != "RUNNING" and d,
                            timeout=timeout, message=f"execution {arn} to finish")


def history(sb, execution_arn: str) -> list[dict]:
    return sb.client("stepfunctions").get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]


def states_entered(events: list[dict]) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]


def task_outcomes(events: list[dict], state: str) -> list[str]:
    """`TaskSucceeded` / `TaskFailed:<error>` for every attempt of the task state `state`."""
    out, current = [], None
    for e in events:
        if e["type"].endswith("StateEntered"):
            current = e["stateEnteredEventDetails"]["name"]
        elif current == state and e["type"] == "TaskSucceeded":
            out.append("TaskSucceeded")
        elif current == state and e["type"] == "TaskFailed":
            out.append(f"TaskFailed:{e['taskFailedEventDetails']['error']}")
    return out


def user_record(sb, outputs, user_id: str) -> dict | None:
    item = sb.client("dynamodb").get_item(TableName=outputs["UsersTableName"], Key={"user_id": {"S": user_id}},
                                          ConsistentRead=True).get("Item")
    return {k: next(iter(v.values())) for k, v in item.items()} if item else None


def emails_to(sb, address: str) -> list[dict]:
    """Sent mail as LocalStack's SES developer endpoint shows it (it outlives `reset`: filter by recipient)."""
    messages = sb.http.get(f"{sb.endpoint}/_aws/ses", timeout=10).json()["messages"]
    return [m for m in messages if address in m["Destination"].get("ToAddresses", [])]


def receive_all(sb, queue_url: str) -> list[dict]:
    sqs = sb.client("sqs")
    messages = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                       MessageAttributeNames=["All"]).get("Messages", []):
        messages += batch
    return messages


def failure_events(sb, helpers, outputs, count: int = 1) -> list[dict]:
    """The `user.onboarding_failed` events, as the OnboardingFailures queue received them."""
    got: list[dict] = []

    def arrived():
        got.extend(json.loads(m["Body"]) for m in receive_all(sb, outputs["OnboardingFailuresQueueUrl"]))
        return len(got) >= count and got

    return helpers.wait_for(arrived, timeout=30, message=f"{count} user.onboarding_failed event(s)")


def function_json_logs(sb, helpers, function_name: str, until: str) -> list[dict]:
    """The function's own (JSON) log lines, once one with message `until` has arrived."""
    def lines():
        out = [json.loads(line) for line in helpers.log_text(sb, function_name).splitlines()
               if line.startswith("{")]
        return any(line.get("message") == until for line in out) and out

    return helpers.wait_for(lines, timeout=30, message=f"log line {until!r} of {function_name}")


def retriers(sb, outputs, state: str) -> list[dict]:
    definition = json.loads(sb.client("stepfunctions").describe_state_machine(
        stateMachineArn=outputs["StateMachineArn"])["definition"])
    return definition["States"][state]["Retry"]


# --- tests ---------------------------------------------------------------------------------------------------------
def test_pattern_is_listed_with_its_parameters():
    from sandbox.deploy import list_patterns

    [pattern] = [p for p in list_patterns() if p.name == PATTERN]
    assert "Step Functions" in pattern.description
    assert set(pattern.parameters) == {"RetryMaxAttempts", "RetryIntervalSeconds", "RetryBackoffRate",
                                       "EmailFailureMode", "EmailTransientFailures", "SenderEmail"}
    assert pattern.parameters["EmailFailureMode"]["AllowedValues"] == ["none", "transient", "permanent"]
    assert (pattern.template.parent / "README.md").is_file()


def test_user_created_event_onboards_the_user(sb, helpers):
    outputs = deploy(sb)
    assert {"EventBusName", "StateMachineArn", "UsersTableName", "AnalyticsQueueUrl", "OnboardingFailuresQueueUrl",
            "OnboardingFailedRuleArn", "OnboardingTriggerDLQUrl", "VerifyEmailFunctionName",
            "SendWelcomeEmailFunctionName"} <= set(outputs)
    assert outputs["EventBusName"] == "user-onboarding-bus"  # the default stack name is the pattern's

    user_id, correlation_id = helpers.unique("u"), helpers.unique("corr")
    address = f"{user_id}@Example.COM"
    # a name with quotes and a backslash: the event must still reach the state machine intact
    name = 'Ada "the Countess" L\\'
    event_id = put_user_created(sb, outputs, {"user_id": user_id, "email": address, "name": name,
                                              "correlation_id": correlation_id})
    done = finished_execution(sb, helpers, outputs, event_id)
    assert done["status"] == "SUCCEEDED", done
    events = history(sb, done["executionArn"])
    assert states_entered(events) == ["ResolveCorrelationId", "UseCallerCorrelationId", "VerifyEmail",
                                      "CreateUserRecord", "SendWelcomeEmail", "NotifyAnalytics", "Onboarded"]
    output = json.loads(done["output"])
    normalised = f"{user_id}@example.com"  # the domain is lower-cased by VerifyEmail
    assert output["correlation_id"] == correlation_id and output["event_id"] == event_id
    assert output["user"] == {"user_id": user_id, "email": normalised, "name": name}

    # the Users record
    record = user_record(sb, outputs, user_id)
    assert record["email"] == normalised and record["name"] == name
    assert record["correlation_id"] == correlation_id
    assert record["onboarding_execution"] == done["executionArn"]
    assert record["welcome_email_attempts"] == "1"

    # the welcome email, as SES sent it
    [email] = emails_to(sb, normalised)
    assert email["Source"] == SENDER and email["Subject"] == "Welcome aboard!"
    assert email["Id"] == record["welcome_email_message_id"] == output["welcome_email"]["message_id"]
    assert f"Reference: {correlation_id}" in email["Body"]["text_part"]
    assert 'Hi Ada "the Countess"' in email["Body"]["text_part"]

    # the analytics message
    [message] = receive_all(sb, outputs["AnalyticsQueueUrl"])
    body = json.loads(message["Body"])
    assert body["type"] == "user.onboarded" and body["user_id"] == user_id
    assert body["correlation_id"] == correlation_id
    assert body["welcome_email_message_id"] == email["Id"] and body["execution_arn"] == done["executionArn"]
    assert message["MessageAttributes"]["correlation_id"]["StringValue"] == correlation_id

    # every log line of both functions carries the correlation id (Powertools structured logs)
    for function, last in ((outputs["VerifyEmailFunctionName"], "Email address accepted"),
                           (outputs["SendWelcomeEmailFunctionName"], "Welcome email sent")):
        lines = function_json_logs(sb, helpers, function, until=last)
        assert all(line["correlation_id"] == correlation_id for line in lines), lines
        assert all(line["service"] == "user-onboarding" and line["user_id"] == user_id for line in lines)
        assert not any(address in json.dumps(line) or normalised in json.dumps(line) for line in lines)

    # nothing failed, nothing was left undelivered
    assert receive_all(sb, outputs["OnboardingFailuresQueueUrl"]) == []
    assert receive_all(sb, outputs["OnboardingTriggerDLQUrl"]) == []


def test_event_id_is_the_correlation_id_when_the_producer_sends_none(sb, helpers):
    outputs = deploy(sb)
    user_id = helpers.unique("u")
    event_id = put_user_created(sb, outputs, {"user_id": user_id, "email": f"{user_id}@example.com"})
    done = finished_execution(sb, helpers, outputs, event_id)
    assert done["status"] == "SUCCEEDED", done
    assert "UseEventIdAsCorrelationId" in states_entered(history(sb, done["executionArn"]))
    assert user_record(sb, outputs, user_id)["correlation_id"] == event_id
    [email] = emails_to(sb, f"{user_id}@example.com")
    assert email["Body"]["text_part"].startswith("Hi there,") and f"Reference: {event_id}" in email["Body"]["text_part"]
    [message] = receive_all(sb, outputs["AnalyticsQueueUrl"])
    assert json.loads(message["Body"])["correlation_id"] == event_id


def test_invalid_email_fails_verification_and_emits_onboarding_failed(sb, helpers):
    outputs = deploy(sb)
    user_id, correlation_id = helpers.unique("u"), helpers.unique("corr")
    event_id = put_user_created(sb, outputs, {"user_id": user_id, "email": "ada.example.com",
                                              "correlation_id": correlation_id})
    done = finished_execution(sb, helpers, outputs, event_id)
    assert done["status"] == "FAILED"
    assert done["error"] == "InvalidEmailError"
    assert "exactly one '@'" in json.loads(done["cause"])["errorMessage"]

    events = history(sb, done["executionArn"])
    assert task_outcomes(events, "VerifyEmail") == ["TaskFailed:InvalidEmailError"]  # final: not retried
    assert states_entered(events)[-4:] == ["VerifyEmail", "VerifyEmailFailed", "NotifyOnboardingFailed",
                                           "OnboardingFailed"]  # nothing was written: nothing to undo
    assert user_record(sb, outputs, user_id) is None

    [event] = failure_events(sb, helpers, outputs)
    assert event["source"] == "app.onboarding" and event["detail-type"] == "user.onboarding_failed"
    detail = event["detail"]
    assert detail["correlation_id"] == correlation_id and detail["user"]["user_id"] == user_id
    assert detail["failed_step"] == "VerifyEmail" and detail["error"] == "InvalidEmailError"
    assert "exactly one '@'" in detail["cause"] and detail["execution_arn"] == done["executionArn"]

    assert receive_all(sb, outputs["AnalyticsQueueUrl"]) == []
    [line] = [line for line in function_json_logs(sb, helpers, outputs["VerifyEmailFunctionName"],
                                                  until="Rejected email address")]
    assert line["correlation_id"] == correlation_id and line["level"] == "WARNING"


def test_transient_email_failures_are_retried_with_backoff_and_jitter(sb, helpers):
    outputs = deploy(sb, EmailFailureMode="transient", EmailTransientFailures=2, RetryMaxAttempts=4,
                     RetryIntervalSeconds=1, RetryBackoffRate=1.5)
    # the parameters are the state machine's retry policy
    [retrier] = retriers(sb, outputs, "SendWelcomeEmail")
    assert "TransientEmailError" in retrier["ErrorEquals"] and "PermanentEmailError" not in retrier["ErrorEquals"]
    assert (retrier["MaxAttempts"], retrier["IntervalSeconds"], retrier["BackoffRate"]) == (4, 1, 1.5)
    assert retrier["JitterStrategy"] == "FULL"

    user_id, correlation_id = helpers.unique("u"), helpers.unique("corr")
    event_id = put_user_created(sb, outputs, {"user_id": user_id, "email": f"{user_id}@example.com",
                                              "correlation_id": correlation_id})
    done = finished_execution(sb, helpers, outputs, event_id)
    assert done["status"] == "SUCCEEDED", done

    events = history(sb, done["executionArn"])
    assert task_outcomes(events, "SendWelcomeEmail") == ["TaskFailed:TransientEmailError"] * 2 + ["TaskSucceeded"]
    assert "RemovePartialUserRecord" not in states_entered(events)
    record = user_record(sb, outputs, user_id)
    assert record["welcome_email_attempts"] == "3" and record["correlation_id"] == correlation_id
    assert len(emails_to(sb, f"{user_id}@example.com")) == 1  # failed attempts sent nothing
    assert json.loads(done["output"])["welcome_email"]["attempts"] == 3
    assert len(receive_all(sb, outputs["AnalyticsQueueUrl"])) == 1
    failed = [line for line in function_json_logs(sb, helpers, outputs["SendWelcomeEmailFunctionName"],
                                                  until="Welcome email sent") if line["message"] != "Welcome email sent"]
    assert [(line["message"], line["attempt"]) for line in failed if line["level"] == "WARNING"] == [
        ("Welcome email failed", 1), ("Welcome email failed", 2)]


def test_retries_stop_at_max_attempts_and_the_onboarding_is_compensated(sb, helpers):
    outputs = deploy(sb, EmailFailureMode="transient", EmailTransientFailures=5, RetryMaxAttempts=1)
    user_id = helpers.unique("u")
    event_id = put_user_created(sb, outputs, {"user_id": user_id, "email": f"{user_id}@example.com"})
    done = finished_execution(sb, helpers, outputs, event_id)
    assert done["status"] == "FAILED" and done["error"] == "TransientEmailError"
    events = history(sb, done["executionArn"])
    assert task_outcomes(events, "SendWelcomeEmail") == ["TaskFailed:TransientEmailError"] * 2  # 1 + 1 retry
    assert task_outcomes(events, "RemovePartialUserRecord") == ["TaskSucceeded"]
    assert user_record(sb, outputs, user_id) is None
    [event] = failure_events(sb, helpers, outputs)
    assert event["detail"]["failed_step"] == "SendWelcomeEmail" and event["detail"]["error"] == "TransientEmailError"


def test_permanent_email_failure_removes_the_record_and_emits_onboarding_failed(sb, helpers):
    outputs = deploy(sb, EmailFailureMode="permanent")
    user_id, correlation_id = helpers.unique("u"), helpers.unique("corr")
    event_id = put_user_created(sb, outputs, {"user_id": user_id, "email": f"{user_id}@example.com",
                                              "correlation_id": correlation_id})
    done = finished_execution(sb, helpers, outputs, event_id)
    assert done["status"] == "FAILED"
    assert done["error"] == "PermanentEmailError"
    assert "EMAIL_FAILURE_MODE=permanent" in json.loads(done["cause"])["errorMessage"]

    events = history(sb, done["executionArn"])
    assert task_outcomes(events, "CreateUserRecord") == ["TaskSucceeded"]  # the record existed ...
    assert task_outcomes(events, "SendWelcomeEmail") == ["TaskFailed:PermanentEmailError"]  # not retried
    assert task_outcomes(events, "RemovePartialUserRecord") == ["TaskSucceeded"]  # ... and was removed
    assert states_entered(events)[-5:] == ["SendWelcomeEmail", "SendWelcomeEmailFailed", "RemovePartialUserRecord",
                                           "NotifyOnboardingFailed", "OnboardingFailed"]
    assert events[-1]["type"] == "ExecutionFailed"
    assert user_record(sb, outputs, user_id) is None

    [event] = failure_events(sb, helpers, outputs)
    detail = event["detail"]
    assert detail["correlation_id"] == correlation_id and detail["user"]["user_id"] == user_id
    assert detail["failed_step"] == "SendWelcomeEmail" and detail["error"] == "PermanentEmailError"
    assert "SES rejected the message" in detail["cause"]

    assert emails_to(sb, f"{user_id}@example.com") == []
    assert receive_all(sb, outputs["AnalyticsQueueUrl"]) == []
    lines = function_json_logs(sb, helpers, outputs["SendWelcomeEmailFunctionName"], until="Welcome email failed")
    assert [line["error"] for line in lines] == ["PermanentEmailError"]
    assert all(line["correlation_id"] == correlation_id for line in lines)


def test_a_second_user_created_for_an_existing_user_leaves_it_untouched(sb, helpers):
    outputs = deploy(sb)
    user_id = helpers.unique("u")
    first = finished_execution(sb, helpers, outputs, put_user_created(
        sb, outputs, {"user_id": user_id, "email": f"{user_id}@example.com", "correlation_id": "first"}))
    assert first["status"] == "SUCCEEDED", first

    second = finished_execution(sb, helpers, outputs, put_user_created(
        sb, outputs, {"user_id": user_id, "email": f"other-{user_id}@example.com", "correlation_id": "second"}))
    assert second["status"] == "FAILED"
    assert second["error"] == "DynamoDB.ConditionalCheckFailedException"
    events = history(sb, second["executionArn"])
    assert task_outcomes(events, "CreateUserRecord") == ["TaskFailed:DynamoDB.ConditionalCheckFailedException"]
    # compensation only deletes a record this execution wrote: the condition refuses, the user stays
    assert task_outcomes(events, "RemovePartialUserRecord") == ["TaskFailed:DynamoDB.ConditionalCheckFailedException"]
    record = user_record(sb, outputs, user_id)
    assert record["correlation_id"] == "first" and record["onboarding_execution"] == first["executionArn"]
    assert record["email"] == f"{user_id}@example.com"

    [event] = failure_events(sb, helpers, outputs)
    assert event["detail"]["failed_step"] == "CreateUserRecord" and event["detail"]["correlation_id"] == "second"
    assert emails_to(sb, f"other-{user_id}@example.com") == []



# --- the functions' rules, without a backend -----------------------------------------------------------------------
def load_function(name: str, monkeypatch):
    import importlib.util

    from sandbox.deploy.patterns import PATTERNS_DIR

    import os
    import sys

    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # no __pycache__ in the function's package
    monkeypatch.delenv("AWS_PROFILE", raising=False)  # the session sets a host profile that must not be read
    for variable in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.setenv(variable, os.devnull)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("USERS_TABLE", "Users")
    monkeypatch.setenv("SENDER_EMAIL", SENDER)
    spec = importlib.util.spec_from_file_location(f"onboarding_{name}", PATTERNS_DIR / PATTERN / "src" / name / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("raw, expected", [
    ("Ada@Example.COM", "Ada@example.com"),
    ("  first.last+tag@sub.example.org ", "first.last+tag@sub.example.org"),
    ("ada.example.com", None), ("ada@@example.com", None), ("ada@example", None), ("ada@-example.com", None),
    (".ada@example.com", None), ("ada..b@example.com", None), ("ada lovelace@example.com", None),
    ("ada@example.c0m", None), ("", None), (None, None), (42, None), ("a" * 65 + "@example.com", None),
])
def test_verify_email_rules(monkeypatch, raw, expected):
    verify = load_function("verify_email", monkeypatch)
    if expected is None:
        with pytest.raises(verify.InvalidEmailError):
            verify.normalise_email(raw)
    else:
        assert verify.normalise_email(raw) == expected


def test_email_errors_are_classified_transient_or_permanent(monkeypatch):
    from botocore.exceptions import ClientError, EndpointConnectionError

    send = load_function("send_welcome_email", monkeypatch)

    def client_error(code, status):
        return ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
                           "SendEmail")

    transient = [client_error("Throttling", 400), client_error("ServiceUnavailable", 503),
                 client_error("Anything", 500), client_error("TooManyRequestsException", 429),
                 EndpointConnectionError(endpoint_url="http://127.0.0.1:1")]
    permanent = [client_error("MessageRejected", 400), client_error("AccountSendingPausedException", 400),
                 client_error("InvalidParameterValue", 400)]
    assert all(isinstance(send.classify(e, "x"), send.TransientEmailError) for e in transient)
    assert all(isinstance(send.classify(e, "x"), send.PermanentEmailError) for e in permanent)
    assert send.tag_value("corr id/1") == "corr_id_1"
