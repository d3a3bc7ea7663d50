"""What a schedule sends and how a failed delivery is retried and dead-lettered; which schedule a name means."""

from types import SimpleNamespace

import pytest

from sandbox.schedules.lookup import NotFound, find
from sandbox.schedules.targets import (RetryPolicy, TargetError, is_retryable, render_input, rule_dlq_attributes,
                                       scheduler_dlq_attributes, target_kind)

ARN = "arn:aws:scheduler:us-east-1:000000000000:schedule/default/nightly"


def test_target_kinds_and_unsupported_targets():
    assert target_kind("arn:aws:lambda:us-east-1:000000000000:function:f") == "lambda"
    assert target_kind("arn:aws:sqs:us-east-1:000000000000:q") == "sqs"
    assert target_kind("arn:aws:states:us-east-1:000000000000:stateMachine:m") == "states"
    assert target_kind("arn:aws:events:us-east-1:000000000000:event-bus/ops") == "events"
    assert target_kind("arn:aws:scheduler:::aws-sdk:sqs:sendMessage") == "universal"
    with pytest.raises(TargetError, match="ecs.*Lambda Invoke"):
        target_kind("arn:aws:ecs:us-east-1:000000000000:cluster/c")


def test_input_gets_the_context_attributes_and_defaults_to_an_empty_object():
    text = render_input('{"s": "<aws.scheduler.schedule-arn>", "t": "<aws.scheduler.scheduled-time>", '
                        '"n": <aws.scheduler.attempt-number>, "x": "<aws.scheduler.execution-id>"}',
                        schedule_arn=ARN, scheduled_time=0, execution_id="e-1", attempt=2)
    assert text == f'{{"s": "{ARN}", "t": "1970-01-01T00:00:00Z", "n": 2, "x": "e-1"}}'
    assert render_input(None, schedule_arn=ARN, scheduled_time=0, execution_id="e", attempt=1) == "{}"


def test_retry_policy_defaults_backoff_and_limits():
    assert RetryPolicy.of({}) == RetryPolicy(185, 86400)
    policy = RetryPolicy.of({"RetryPolicy": {"MaximumRetryAttempts": "2", "MaximumEventAgeInSeconds": "60"}})
    assert policy == RetryPolicy(2, 60.0)
    assert [policy.delay(n) for n in (1, 2, 3)] == [1.0, 2.0, 4.0] and policy.delay(20) == 30.0
    assert policy.gives_up(1, age=1, next_delay=2) is None
    assert policy.gives_up(2, age=1, next_delay=4) == "MaximumRetryAttempts"
    assert policy.gives_up(0, age=59.5, next_delay=1) == "MaximumEventAgeInSeconds"


def test_which_errors_are_retried():
    assert is_retryable("ServiceUnavailable", 503) and is_retryable("TooManyRequestsException", 429)
    assert is_retryable("ThrottlingException", 400) and is_retryable("EndpointConnectionError", None)
    assert not is_retryable("ResourceNotFoundException", 404) and not is_retryable("ValidationException", 400)


def test_dead_letter_attributes():
    attrs = scheduler_dlq_attributes(code="ServiceUnavailable", message="down", execution_id="e", schedule_arn=ARN,
                                     scheduled_time=0, target_arn="arn:t", attempts=3)
    assert {k: v["StringValue"] for k, v in attrs.items()} == {
        "ERROR_CODE": "ServiceUnavailable", "ERROR_MESSAGE": "down", "EXECUTION_ID": "e", "SCHEDULE_ARN": ARN,
        "SCHEDULED_TIME": "1970-01-01T00:00:00Z", "TARGET_ARN": "arn:t", "RETRY_ATTEMPTS": "2"}
    rule = rule_dlq_attributes(code="X", message="", rule_arn="arn:r", target_arn="arn:t", attempts=1,
                               exhausted="NonRetryableError")
    assert rule["EXHAUSTED_RETRY_CONDITION"]["StringValue"] == "NonRetryableError"
    assert rule["ERROR_MESSAGE"]["StringValue"] == "X" and rule["RETRY_ATTEMPTS"]["StringValue"] == "0"


def entry(name, group="default", kind="schedule"):
    return SimpleNamespace(name=name, group=group, kind=kind, arn=f"arn:{kind}:{group}/{name}",
                           label=name if group == "default" else f"{group}/{name}")


def test_a_name_finds_one_schedule_or_says_which_exist():
    entries = [entry("daily-report", "reports"), entry("daily-report"), entry("stack-NightlyFnNightly-X1", kind="rule")]
    assert find(entries, "daily-report", "reports").group == "reports"
    assert find(entries, "NightlyFnNightly").kind == "rule"  # a unique part of a generated name
    assert find(entries, "arn:schedule:reports/daily-report").group == "reports"
    with pytest.raises(NotFound, match="matches 2 schedules .*--group"):
        find(entries, "daily-report")
    with pytest.raises(NotFound, match="did you mean daily-report"):
        find(entries, "daily-reprot")
    with pytest.raises(NotFound, match="there are no schedules"):
        find([], "x")
