def handler(event, context):
    """The aws-samples blueprint, cut down: 'Bearer reader' may read items, 'Bearer nobody' is denied,
    'Bearer nested' answers a context API Gateway refuses (an object), anything else is Unauthorized."""
    token = event["authorizationToken"].split(" ", 1)[1]
    if token not in ("reader", "nobody", "nested"):
        raise Exception("Unauthorized")
    api_arn = event["methodArn"].split("/", 2)  # arn:...:api-id / stage / METHOD/path
    resource = f"{api_arn[0]}/{api_arn[1]}/GET/items/*"
    return {
        "principalId": f"user-{token}",
        "policyDocument": {"Version": "2012-10-17", "Statement": [
            {"Action": "execute-api:Invoke", "Effect": "Deny" if token == "nobody" else "Allow",
             "Resource": resource}]},
        "context": {"role": token, "level": 3, "admin": False} if token != "nested" else {"team": {"id": 1}},
    }
