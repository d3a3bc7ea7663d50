"""Sends the welcome email (a stand-in for SES): an address that bounces is a permanent failure.

SES itself can be throttled or down for a while: those failures are transient (TransientEmailError), and the
lab's check injects them into this function while it runs.
"""

import uuid


class PermanentEmailError(Exception):
    """The address can never receive mail: retrying cannot help."""


def handler(event, context):
    email = event["user"]["email"]
    if email.endswith("@bounce.example"):
        raise PermanentEmailError(f"{email} bounced: the mailbox does not exist")
    return {"message_id": str(uuid.uuid4())}
