"""SendWelcomeEmail: sends the welcome email through SES, at most once per user, and says whether a failure is worth
retrying.

Input (from the state machine): {"correlation_id": "...", "execution_id": "...",
                                 "user": {"user_id": "...", "email": "...", "name": "..."}}
Output: {"message_id": "<SES message id>", "attempts": <attempts so far for this user>}
Errors:
  TransientEmailError  SES throttled, unavailable or unreachable: the state machine retries with backoff and jitter.
  PermanentEmailError  SES refused the message (unverified sender, rejected recipient, ...): retrying cannot help.
  UserRecordMissingError  the Users record is gone (the workflow must create it first).

Every attempt is counted on the Users record (`welcome_email_attempts`); a sent email is recorded there too
(`welcome_email_message_id`), so a retry after a lost response does not send a second email.

Failure injection, for scenarios and tests, from the environment (template parameter EmailFailureMode):
  EMAIL_FAILURE_MODE=none       the real SES call (default)
  EMAIL_FAILURE_MODE=transient  the first EMAIL_TRANSIENT_FAILURES attempts per user fail with TransientEmailError
  EMAIL_FAILURE_MODE=permanent  every attempt fails with PermanentEmailError
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, ReadTimeoutError

logger = Logger()  # service name from POWERTOOLS_SERVICE_NAME; JSON lines

# One retry policy, in one place: the state machine's (visible in the execution history). The SDK does not retry.
SDK_CONFIG = Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=2, read_timeout=5)
ses = boto3.client("ses", config=SDK_CONFIG)
table = boto3.resource("dynamodb", config=SDK_CONFIG).Table(os.environ["USERS_TABLE"])

SENDER = os.environ["SENDER_EMAIL"]
FAILURE_MODES = ("none", "transient", "permanent")
FAILURE_MODE = os.environ.get("EMAIL_FAILURE_MODE", "none").strip().lower()
TRANSIENT_FAILURES = int(os.environ.get("EMAIL_TRANSIENT_FAILURES", "2"))
ENSURE_SENDER_IDENTITY = os.environ.get("ENSURE_SENDER_IDENTITY", "false").lower() == "true"

TRANSIENT_CODES = {"Throttling", "ThrottlingException", "TooManyRequestsException", "ServiceUnavailable",
                   "ServiceUnavailableException", "InternalFailure", "InternalServerError", "RequestTimeout",
                   "RequestTimeoutException", "LimitExceededException", "ProvisionedThroughputExceededException",
                   "RequestLimitExceeded"}
TAG_VALUE_UNSAFE = re.compile(r"[^A-Za-z0-9_\-.@]")  # SES message tag values allow only these characters

_sender_checked = False


class TransientEmailError(Exception):
    """SES could not take the message now; a later attempt may succeed."""


class PermanentEmailError(Exception):
    """SES will not send this message; retrying cannot help."""


class UserRecordMissingError(Exception):
    """There is no Users record to send a welcome email for."""


def classify(error: Exception, what: str) -> Exception:
    """The error the state machine sees for an AWS SDK failure: transient (retried) or permanent."""
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        message = f"{what}: {code}: {error.response.get('Error', {}).get('Message', '')}"
        if code in TRANSIENT_CODES or status >= 500 or status == 429:
            return TransientEmailError(message)
        return PermanentEmailError(message)
    if isinstance(error, (ConnectionError, ReadTimeoutError)):
        return TransientEmailError(f"{what}: service unreachable: {error}")
    return PermanentEmailError(f"{what}: {error}")


def tag_value(value: str) -> str:
    return TAG_VALUE_UNSAFE.sub("_", value)[:255] or "none"


def ensure_sender_identity() -> None:
    """Verifies the sender once per environment if SES does not list it: the sandbox's stand-in for an
    AWS::SES::EmailIdentity resource (LocalStack's CloudFormation cannot create one). Off on AWS."""
    global _sender_checked
    if _sender_checked or not ENSURE_SENDER_IDENTITY:
        return
    try:
        identities = ses.list_identities(IdentityType="EmailAddress")["Identities"]
        if SENDER not in identities:
            ses.verify_email_identity(EmailAddress=SENDER)
            logger.info("Verified the sender identity", extra={"sender": SENDER})
    except (ClientError, BotoCoreError) as e:
        raise classify(e, "checking the sender identity") from e
    _sender_checked = True


def forget_sender_check() -> None:
    global _sender_checked
    _sender_checked = False


def count_attempt(user_id: str) -> dict:
    """Counts this attempt on the Users record and returns the record as it is now."""
    try:
        return table.update_item(
            Key={"user_id": user_id},
            UpdateExpression="ADD welcome_email_attempts :one",
            ConditionExpression="attribute_exists(user_id)",
            ExpressionAttributeValues={":one": 1},
            ReturnValues="ALL_NEW",
        )["Attributes"]
    except ClientError as e:
        if e.response["Error"]["Code"] == "ConditionalCheckFailedException":
            raise UserRecordMissingError(f"no Users record for {user_id}") from e
        raise classify(e, "counting the attempt on the Users record") from e
    except BotoCoreError as e:
        raise classify(e, "counting the attempt on the Users record") from e


def injected_failure(attempt: int) -> Exception | None:
    if FAILURE_MODE not in FAILURE_MODES:
        return PermanentEmailError(f"EMAIL_FAILURE_MODE={FAILURE_MODE!r} is not one of {', '.join(FAILURE_MODES)}")
    if FAILURE_MODE == "permanent":
        return PermanentEmailError("SES rejected the message (simulated: EMAIL_FAILURE_MODE=permanent)")
    if FAILURE_MODE == "transient" and attempt <= TRANSIENT_FAILURES:
        return TransientEmailError(f"SES unavailable (simulated: EMAIL_FAILURE_MODE=transient, attempt {attempt} "
                                   f"of the first {TRANSIENT_FAILURES} failing)")
    return None


def welcome_message(user: dict, correlation_id: str) -> dict:
    greeting = f"Hi {user['name']}," if user.get("name") else "Hi there,"
    text = (f"{greeting}\n\nWelcome aboard! Your account {user['user_id']} is ready.\n\n"
            f"-- The team\n\nReference: {correlation_id}\n")
    return {"Subject": {"Data": "Welcome aboard!", "Charset": "UTF-8"},
            "Body": {"Text": {"Data": text, "Charset": "UTF-8"}}}


@logger.inject_lambda_context(correlation_id_path="correlation_id", clear_state=True)
def handler(event: dict, context: LambdaContext) -> dict:
    user = event["user"]
    correlation_id = event["correlation_id"]
    logger.append_keys(user_id=user["user_id"])

    record = count_attempt(user["user_id"])
    attempt = int(record.get("welcome_email_attempts", 1))
    if record.get("welcome_email_message_id"):
        logger.info("Welcome email already sent: not sending it again",
                    extra={"message_id": record["welcome_email_message_id"], "attempt": attempt})
        return {"message_id": record["welcome_email_message_id"], "attempts": attempt}

    failure = injected_failure(attempt)
    if failure:
        logger.warning("Welcome email failed", extra={"attempt": attempt, "error": type(failure).__name__,
                                                      "reason": str(failure), "failure_mode": FAILURE_MODE})
        raise failure

    ensure_sender_identity()
    try:
        message_id = ses.send_email(
            Source=SENDER,
            Destination={"ToAddresses": [user["email"]]},
            Message=welcome_message(user, correlation_id),
            Tags=[{"Name": "correlation_id", "Value": tag_value(correlation_id)},
                  {"Name": "email_type", "Value": "welcome"}],
        )["MessageId"]
    except (ClientError, BotoCoreError) as e:
        error = classify(e, "sending the welcome email")
        if ENSURE_SENDER_IDENTITY and "not verified" in str(e):
            forget_sender_check()  # the identity went away under a warm environment: verify it next attempt
            error = TransientEmailError(str(error))
        logger.warning("Welcome email failed", extra={"attempt": attempt, "error": type(error).__name__,
                                                      "reason": str(error)})
        raise error from e

    try:
        table.update_item(
            Key={"user_id": user["user_id"]},
            UpdateExpression="SET welcome_email_message_id = :id, welcome_email_sent_at = :at",
            ExpressionAttributeValues={":id": message_id,
                                       ":at": datetime.now(UTC).isoformat(timespec="milliseconds")},
        )
    except (ClientError, BotoCoreError) as e:
        # The email is out: failing now would make the state machine send it again.
        logger.warning("Welcome email sent but not recorded on the Users record", extra={"error": str(e)})
    logger.info("Welcome email sent", extra={"message_id": message_id, "attempt": attempt})
    return {"message_id": message_id, "attempts": attempt}
