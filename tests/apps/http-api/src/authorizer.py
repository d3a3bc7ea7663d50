def handler(event, context):
    """A REQUEST authorizer with simple responses (payload format 2.0)."""
    token = (event.get("headers") or {}).get("authorization", "")
    return {"isAuthorized": token == "Bearer letmein", "context": {"user": "ada", "plan": "pro"}}
