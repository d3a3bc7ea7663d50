"""VerifyEmail: checks the new user's data and returns it normalised, or fails with a named error.

Input (from the state machine): {"correlation_id": "...", "user": {"user_id": "...", "email": "...", "name": "..."}}
Output: {"user_id": "...", "email": "<normalised>", "name": "..."}
Errors: InvalidUserError (no usable user_id), InvalidEmailError (not a deliverable-looking address). Both are final:
the state machine does not retry them.
"""

from __future__ import annotations

import re

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()  # service name from POWERTOOLS_SERVICE_NAME; JSON lines

MAX_EMAIL_LENGTH = 254
MAX_LOCAL_LENGTH = 64
LOCAL_PART = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
DOMAIN_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
TLD = re.compile(r"^[A-Za-z]{2,63}$")
USER_ID = re.compile(r"^[A-Za-z0-9_.:@-]{1,128}$")


class InvalidUserError(Exception):
    """The event does not identify a user."""


class InvalidEmailError(Exception):
    """The email address cannot be used."""


def masked(email: str) -> str:
    """`j***@example.com`: enough to recognise an address in a log without writing it out."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def normalise_email(raw) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidEmailError("the email address is missing")
    email = raw.strip()
    if len(email) > MAX_EMAIL_LENGTH:
        raise InvalidEmailError(f"{masked(email)} is longer than {MAX_EMAIL_LENGTH} characters")
    if email.count("@") != 1:
        raise InvalidEmailError(f"{masked(email)} must contain exactly one '@'")
    local, domain = email.split("@")
    if not local or len(local) > MAX_LOCAL_LENGTH or not LOCAL_PART.match(local):
        raise InvalidEmailError(f"{masked(email)} has an invalid local part")
    labels = domain.split(".")
    if len(labels) < 2 or not all(DOMAIN_LABEL.match(label) for label in labels) or not TLD.match(labels[-1]):
        raise InvalidEmailError(f"{masked(email)} has an invalid domain")
    return f"{local}@{domain.lower()}"  # the local part is case-sensitive in principle; the domain is not


@logger.inject_lambda_context(correlation_id_path="correlation_id", clear_state=True)
def handler(event: dict, context: LambdaContext) -> dict:
    user = event.get("user") if isinstance(event.get("user"), dict) else {}
    user_id = user.get("user_id")
    if not isinstance(user_id, str) or not USER_ID.match(user_id):
        logger.warning("Rejected user.created: no usable user_id", extra={"user_id": repr(user_id)[:140]})
        raise InvalidUserError(f"user_id {user_id!r} is missing or invalid (1-128 of A-Z a-z 0-9 _ . : @ -)")
    logger.append_keys(user_id=user_id)
    try:
        email = normalise_email(user.get("email"))
    except InvalidEmailError as e:
        logger.warning("Rejected email address", extra={"reason": str(e)})
        raise
    name = user.get("name") if isinstance(user.get("name"), str) else ""
    logger.info("Email address accepted", extra={"email": masked(email)})
    return {"user_id": user_id, "email": email, "name": name.strip()[:200]}
