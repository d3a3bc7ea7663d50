"""Records every event it is invoked with in the inbox queue, so a test (or you) can see what the schedule sent."""

import json
import os

import boto3

sqs = boto3.client("sqs")


def handler(event, context):
    sqs.send_message(QueueUrl=os.environ["INBOX_URL"],
                     MessageBody=json.dumps({"function": context.function_name, "event": event}))
    return {"ok": True}
