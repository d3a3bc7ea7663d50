def handler(event, context):
    team = event["headers"].get("X-Api-Team") or event["headers"].get("x-api-team")
    tenant = event["queryStringParameters"].get("tenant")
    effect = "Allow" if team == "blue" and tenant == "acme" else "Deny"
    return {"principalId": f"{team}@{tenant}", "policyDocument": {"Version": "2012-10-17", "Statement": [
        {"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}]},
        "context": {"team": team}}
