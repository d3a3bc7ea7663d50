import json


def handler(event, context):
    """Echoes what API Gateway passed, so the test can check both payload formats."""
    version = event.get("version", "1.0")
    if version == "2.0":
        seen = {
            "version": version,
            "routeKey": event["routeKey"],
            "rawPath": event["rawPath"],
            "method": event["requestContext"]["http"]["method"],
            "pathParameters": event.get("pathParameters"),
            "query": event.get("queryStringParameters"),
            "stageVariables": event.get("stageVariables"),
            "authorizer": event["requestContext"].get("authorizer"),
            "cookies": event.get("cookies"),
            "body": event.get("body"),
        }
    else:
        seen = {
            "version": version,
            "resource": event["resource"],
            "path": event["path"],
            "method": event["httpMethod"],
            "pathParameters": event.get("pathParameters"),
            "body": event.get("body"),
        }
    if event.get("rawPath", "").endswith("/plain"):
        return "just a string"  # format 2.0 turns this into a 200 JSON response
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json", "x-handler": "notes"},
        "cookies": ["session=abc; Secure"],
        "body": json.dumps(seen),
    }
