"""Who made a request: a client outside (external), a Lambda function (lambda), or a service of the sandbox.

* lambda: the sandbox starts every function with AWS_SDK_UA_APP_ID=<function name>, so the SDKs in it (boto3,
  AWS SDK for JavaScript v3) put `app/<function name>` into their user agent.
* service: LocalStack's internal calls carry its internal-request DTO (`context.internal_request_params`), with
  the calling service's principal and the ARN of the resource it acts for (the bucket of an S3 notification,
  the rule of an EventBridge target, ...), when the caller set them.
* external: everything else (your code, the CLI, a test).
"""

from __future__ import annotations

EXTERNAL = {"kind": "external", "name": None, "source_arn": None}


def app_id(user_agent: str | None) -> str | None:
    """`<name>` of an `app/<name>` token of an SDK user agent."""
    if not user_agent:
        return None
    i = user_agent.find("app/")
    while i != -1:
        if i == 0 or user_agent[i - 1] == " ":
            end = user_agent.find(" ", i)
            name = user_agent[i + 4:] if end == -1 else user_agent[i + 4:end]
            return name or None
        i = user_agent.find("app/", i + 4)
    return None


def principal_name(principal: str | None) -> str | None:
    """"s3.amazonaws.com" -> "s3"."""
    if not principal:
        return None
    return principal.split(".", 1)[0]


def caller_of(environ: dict, internal_params, account: str | None, region: str | None) -> dict:
    """`environ`: the WSGI environ of the request (its headers as HTTP_* keys; cheaper than werkzeug's Headers)."""
    if internal_params is not None:
        return {
            "kind": "service",
            "name": principal_name(internal_params.get("service_principal")),
            "source_arn": internal_params.get("source_arn"),
        }
    name = app_id(environ.get("HTTP_USER_AGENT")) or app_id(environ.get("HTTP_X_AMZ_USER_AGENT"))
    if name:
        return {"kind": "lambda", "name": name, "source_arn": f"arn:aws:lambda:{region}:{account}:function:{name}"}
    return EXTERNAL


def node_of_caller(caller: dict | None) -> str:
    """The service-map node a caller stands for."""
    from sandbox.observability.resources import node_of

    if not caller:
        return "external"
    kind = caller.get("kind")
    if kind == "external":
        return "external"
    if caller.get("source_arn"):
        return node_of(caller["source_arn"])
    return f"service:{caller.get('name') or 'localstack'}"
