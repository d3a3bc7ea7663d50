import os

import boto3

table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def put_note(event, context):
    table.put_item(Item={"id": event["id"], "text": event["text"]})
    return {"stored": event["id"]}


def get_note(event, context):
    return table.get_item(Key={"id": event["id"]}).get("Item")
