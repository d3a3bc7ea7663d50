"""What a schedule sends, and what happens when sending fails, as AWS documents it (pure: no LocalStack).

EventBridge Scheduler's templated targets get the schedule's `Input` (`{}` when it has none), with the context
attributes `<aws.scheduler.schedule-arn>`, `<aws.scheduler.scheduled-time>`, `<aws.scheduler.execution-id>` and
`<aws.scheduler.attempt-number>` filled in. An EventBridge rule with a ScheduleExpression sends its targets a
"Scheduled Event" (or the target's Input / InputPath / InputTransformer result).

A failed delivery is retried while the target's RetryPolicy allows (MaximumRetryAttempts, default 185;
MaximumEventAgeInSeconds, default 86400) and the error is one AWS retries (throttling, server errors); a client
error (the target does not exist, a bad parameter) is not retried. Then the payload goes to the target's
DeadLetterConfig queue with the message attributes AWS adds, or is dropped.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

DEFAULT_RETRY_ATTEMPTS = 185
DEFAULT_EVENT_AGE = 86400
RETRY_BASE_DELAY = 1.0  # seconds; AWS backs off over minutes - a workshop wants to watch retries happen
RETRY_MAX_DELAY = 30.0
THROTTLING = {"Throttling", "ThrottlingException", "ThrottledException", "TooManyRequestsException",
              "RequestLimitExceeded", "ProvisionedThroughputExceededException", "RequestThrottled",
              "SlowDown", "KMSThrottlingException", "EC2ThrottledException"}
UNIVERSAL = re.compile(r"^arn:aws[a-z-]*:scheduler:::aws-sdk:(?P<service>[a-z0-9-]+):(?P<action>[A-Za-z0-9]+)$")
TEMPLATED = {"lambda": "Lambda Invoke", "sqs": "SQS SendMessage", "sns": "SNS Publish",
             "states": "Step Functions StartExecution", "events": "EventBridge PutEvents"}


class TargetError(ValueError):
    """A target the sandbox cannot deliver to; the message says which and what is supported."""


def now_iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_execution_id() -> str:
    return str(uuid.uuid4())


def target_kind(arn: str) -> str:
    """"lambda", "sqs", "sns", "states", "events" (a bus) or "universal" (arn:aws:scheduler:::aws-sdk:svc:action)."""
    if UNIVERSAL.match(arn or ""):
        return "universal"
    parts = (arn or "").split(":")
    service = parts[2] if len(parts) > 5 and parts[0] == "arn" else None
    if service == "events" and ":event-bus/" in arn:
        return "events"
    if service in TEMPLATED and service != "events":
        return service
    supported = ", ".join(TEMPLATED.values())
    raise TargetError(f"target {arn!r} is not one the sandbox's scheduler delivers to: {supported}, or a universal "
                      "target arn:aws:scheduler:::aws-sdk:<service>:<apiAction>")


def render_input(template: str | None, *, schedule_arn: str, scheduled_time: float, execution_id: str,
                 attempt: int) -> str:
    """The payload a Scheduler target gets: its Input with the context attributes filled in, or `{}`."""
    if template is None:
        return "{}"
    values = {
        "aws.scheduler.schedule-arn": schedule_arn,
        "aws.scheduler.scheduled-time": now_iso(scheduled_time),
        "aws.scheduler.execution-id": execution_id,
        "aws.scheduler.attempt-number": str(attempt),
    }
    return re.sub(r"<(aws\.scheduler\.[a-z-]+)>", lambda m: values.get(m[1], m[0]), template)


def scheduled_event(rule_arn: str, account: str, region: str, at: float) -> dict:
    """The event an EventBridge rule with a ScheduleExpression sends (AWS "Scheduled Event")."""
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": account, "time": now_iso(at), "region": region, "resources": [rule_arn], "detail": {}}


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = DEFAULT_RETRY_ATTEMPTS  # retries after the first attempt
    max_age: float = DEFAULT_EVENT_AGE

    @classmethod
    def of(cls, target: dict) -> RetryPolicy:
        """The target's RetryPolicy (AWS's defaults for what it leaves out); CloudFormation may pass strings."""
        policy = target.get("RetryPolicy") or {}
        try:
            attempts = int(policy.get("MaximumRetryAttempts", DEFAULT_RETRY_ATTEMPTS))
            age = float(policy.get("MaximumEventAgeInSeconds", DEFAULT_EVENT_AGE))
        except (TypeError, ValueError):
            raise TargetError(f"RetryPolicy {policy!r}: MaximumRetryAttempts and MaximumEventAgeInSeconds must be "
                              "numbers") from None
        return cls(max_attempts=max(0, attempts), max_age=max(0.0, age))

    def delay(self, retry: int) -> float:
        """Seconds before retry number `retry` (1, 2, ...): doubling from RETRY_BASE_DELAY, at most RETRY_MAX_DELAY."""
        return min(RETRY_BASE_DELAY * 2 ** (retry - 1), RETRY_MAX_DELAY)

    def gives_up(self, retries_done: int, age: float, next_delay: float) -> str | None:
        """Why no further retry is made ("MaximumRetryAttempts", "MaximumEventAgeInSeconds"), or None."""
        if retries_done >= self.max_attempts:
            return "MaximumRetryAttempts"
        if age + next_delay > self.max_age:
            return "MaximumEventAgeInSeconds"
        return None


def is_retryable(code: str | None, status: int | None) -> bool:
    """AWS retries throttling and server-side errors (and no answer at all); not client errors."""
    if code in THROTTLING or status == 429:
        return True
    if status is None:
        return code is None or code in ("ConnectionError", "EndpointConnectionError", "ReadTimeout")
    return status >= 500


def _attr(value) -> dict:
    return {"DataType": "String", "StringValue": str(value)}


def scheduler_dlq_attributes(*, code: str, message: str, execution_id: str, schedule_arn: str,
                             scheduled_time: float, target_arn: str, attempts: int) -> dict:
    """The message attributes EventBridge Scheduler puts on a dead-letter event (SendMessage shape)."""
    return {"ERROR_CODE": _attr(code), "ERROR_MESSAGE": _attr(message[:1000] or code),
            "EXECUTION_ID": _attr(execution_id), "SCHEDULE_ARN": _attr(schedule_arn),
            "SCHEDULED_TIME": _attr(now_iso(scheduled_time)), "TARGET_ARN": _attr(target_arn),
            "RETRY_ATTEMPTS": _attr(max(0, attempts - 1))}


def rule_dlq_attributes(*, code: str, message: str, rule_arn: str, target_arn: str, attempts: int,
                        exhausted: str) -> dict:
    """The message attributes EventBridge puts on an event a rule target could not take (SendMessage shape)."""
    return {"ERROR_CODE": _attr(code), "ERROR_MESSAGE": _attr(message[:1000] or code),
            "EXHAUSTED_RETRY_CONDITION": _attr(exhausted), "RETRY_ATTEMPTS": _attr(max(0, attempts - 1)),
            "RULE_ARN": _attr(rule_arn), "TARGET_ARN": _attr(target_arn)}


def input_is_json(payload: str) -> bool:
    try:
        json.loads(payload)
        return True
    except ValueError:
        return False
