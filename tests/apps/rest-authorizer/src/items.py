import json


def handler(event, context):
    return {"statusCode": 200, "body": json.dumps({"authorizer": event["requestContext"].get("authorizer"),
                                                   "path": event["path"]})}
