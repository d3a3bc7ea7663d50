"""Which spans are platform machinery rather than your application: recorded, but hidden unless asked for.

    any request whose user agent carries OBSERVER_USER_AGENT: the sandbox's own observers (the TUI's DLQ list,
        log following, stack listing, `sandbox dlq` reads), whose clients are made with
        `Sandbox.client(..., observer=True)`
    sts AssumeRole / GetCallerIdentity by a service   (Lambda assumes the function's role per environment)
    logs PutLogEvents, CreateLogStream; other logs calls by a service  (function logs shipped by Lambda)
    cloudwatch PutMetricData                          (Lambda and SQS metrics)
    cloudwatch DescribeAlarms / GetMetricData / GetMetricStatistics by a service  (the alarm scheduler's checks)
    s3 on the deploy artifact bucket sandbox-artifacts-*, and Lambda's code store awslambda-<region>-tasks
    lambda Invoke of type DryRun by a service (S3 checking a notification target)
    events PutEvents by a service of events from AWS sources only (Step Functions status changes, ...)
    sqs ReceiveMessage by a service that returned nothing (event source mapping polls), GetQueueUrl and
        GetQueueAttributes by a service
    dynamodbstreams / kinesis reads by a service that returned no records, and their iterator/describe calls
    whatever CloudFormation does to a stack's resources (hop "cfn-deploy", engine/cfn_hops.py; gateway.py marks it)
"""

from __future__ import annotations

ARTIFACT_BUCKET_PREFIX = "sandbox-artifacts-"
LAMBDA_CODE_BUCKET = ("awslambda-", "-tasks")
# Appended to the user agent of the sandbox's observer clients (botocore Config(user_agent_extra=...)).
OBSERVER_USER_AGENT = "serverless-sandbox/observer"
_ALARM_CHECKS = frozenset({"DescribeAlarms", "GetMetricData", "GetMetricStatistics"})
_STREAM_SETUP = frozenset({"GetShardIterator", "DescribeStream", "ListStreams", "ListShards", "DescribeStreamSummary"})


def is_observer(user_agent: str | None) -> bool:
    """Whether a request comes from one of the sandbox's own observers (see OBSERVER_USER_AGENT)."""
    if not user_agent:
        return False
    return any(token == OBSERVER_USER_AGENT for token in user_agent.split())


def is_noise(service: str | None, operation: str | None, internal: bool, resource_name: str | None,
             params, response, user_agent: str | None = None) -> bool:
    """`user_agent`: the request's User-Agent header (None for internal calls that have none)."""
    if not internal and is_observer(user_agent):
        return True
    if service == "logs":
        return operation in ("PutLogEvents", "CreateLogStream") or internal
    if service == "sts":
        return internal
    if service == "cloudwatch":
        return operation == "PutMetricData" or (internal and operation in _ALARM_CHECKS)
    if service == "s3":
        if not resource_name:
            return False
        if resource_name.startswith(ARTIFACT_BUCKET_PREFIX):
            return True
        bucket = resource_name.split("/", 1)[0]
        return internal and bucket.startswith(LAMBDA_CODE_BUCKET[0]) and bucket.endswith(LAMBDA_CODE_BUCKET[1])
    if not internal:
        return False
    if service == "lambda":
        return operation == "Invoke" and isinstance(response, dict) and response.get("StatusCode") == 204
    if service == "events" and operation == "PutEvents" and isinstance(params, dict):
        entries = params.get("Entries") or []
        return bool(entries) and all(str((e or {}).get("Source", "")).startswith("aws.") for e in entries)
    if service == "sqs":
        if operation == "ReceiveMessage":
            return not (isinstance(response, dict) and response.get("Messages"))
        return operation in ("GetQueueUrl", "GetQueueAttributes")
    if service in ("dynamodbstreams", "kinesis"):
        if operation == "GetRecords":
            return not (isinstance(response, dict) and response.get("Records"))
        return operation in _STREAM_SETUP
    return False
