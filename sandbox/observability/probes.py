"""Which failed requests are existence probes: calls that deployers and SDKs make expecting "no" as a normal
answer (does this stack exist yet? is this bucket there? is the log group already made?). They are recorded and
listed like any request, but an "errors only" view leaves them out: they are not what went wrong.

A probe is a request (not a hop) that was not made to fail by an injected fault, whose service, operation and
error code are in PROBES (and, where given, whose error message says "does not exist").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NOT_FOUND = ("404", "NotFound")


@dataclass(frozen=True)
class Probe:
    service: str
    operations: frozenset[str] | None  # None: any operation of the service
    codes: frozenset[str]
    message: re.Pattern | None = None  # when the code alone also means real mistakes (ValidationError)
    why: str = ""


def _probe(service: str, operations, codes, message: str | None = None, why: str = "") -> Probe:
    return Probe(service, frozenset(operations) if operations is not None else None, frozenset(codes),
                 re.compile(message, re.IGNORECASE) if message else None, why)


PROBES: tuple[Probe, ...] = (
    _probe("cloudformation", ["DescribeStacks"], ["ValidationError"], r"does not exist",
           "a deploy asks whether the stack exists before creating it"),
    _probe("s3", ["HeadBucket"], ["NoSuchBucket", *_NOT_FOUND], why="is the bucket there (deployers, SDKs)"),
    _probe("s3", ["HeadObject"], ["NoSuchKey", *_NOT_FOUND],
           why="is the object there (artifact uploads skip what exists)"),
    _probe("s3", None, ["NoSuchBucketPolicy", "NoSuchCORSConfiguration", "NoSuchWebsiteConfiguration", "NoSuchTagSet",
                        "NoSuchLifecycleConfiguration", "ServerSideEncryptionConfigurationNotFoundError",
                        "ObjectLockConfigurationNotFoundError", "NoSuchPublicAccessBlockConfiguration",
                        "OwnershipControlsNotFoundError", "ReplicationConfigurationNotFoundError"],
           why="reading a bucket's optional settings: none set is a normal answer (Terraform, CDK)"),
    _probe("sqs", ["GetQueueUrl"], ["AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"],
           why="get-or-create a queue"),
    _probe("dynamodb", ["DescribeTable"], ["ResourceNotFoundException"], why="create a table if missing, waiters"),
    _probe("lambda", ["GetFunction", "GetFunctionConfiguration"], ["ResourceNotFoundException"],
           why="a deploy asks whether the function exists"),
    _probe("iam", ["GetRole", "GetPolicy", "GetUser"], ["NoSuchEntity"], why="create a role if missing"),
    _probe("logs", ["CreateLogGroup", "CreateLogStream"], ["ResourceAlreadyExistsException"],
           why="create-if-missing: it exists already, as wanted"),
    _probe("apigateway", ["GetStage"], ["NotFoundException"],
           why="a deploy's stage asks whether it exists before creating it (a REST API's AWS::ApiGateway::Stage)"),
)


def probe_of(span: dict) -> Probe | None:
    """The PROBES entry a failed span matches, if it is an expected existence probe."""
    error = span.get("error")
    if not error or span.get("kind", "request") != "request" or span.get("injected"):
        return None
    code, message = str(error.get("code") or ""), str(error.get("message") or "")
    service, operation = span.get("service"), span.get("operation")
    for probe in PROBES:
        if probe.service == service and (probe.operations is None or operation in probe.operations) \
                and code in probe.codes and (probe.message is None or probe.message.search(message)):
            return probe
    return None


def is_expected_probe(span: dict) -> bool:
    """Whether a failed span is an existence probe whose "no" was expected (see PROBES)."""
    return probe_of(span) is not None


def failed_records(span: dict) -> int:
    """The records an event source mapping's Invoke answer listed as failed (`batchItemFailures`): a success to Lambda,
    but the records are retried or, without ReportBatchItemFailures, all deleted. Shown and counted as a failure."""
    return (span.get("attrs") or {}).get("batch_item_failures") or 0


def is_real_error(span: dict) -> bool:
    """Whether a span failed in a way worth looking at: it has an error that is not an expected probe's, or its batch
    answer listed failed records."""
    if span.get("error"):
        return not is_expected_probe(span)
    return bool(failed_records(span))
