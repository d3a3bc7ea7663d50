"""Existence probes (sandbox/observability/probes.py): the failed calls deployers and SDKs make on purpose are not
errors in an "errors only" view; real failures of the same services still are."""

from __future__ import annotations

import pytest

from sandbox.observability.probes import PROBES, is_expected_probe, is_real_error, probe_of


def span(service, operation, code, message="", **extra) -> dict:
    return {"kind": "request", "service": service, "operation": operation, "status": 400,
            "error": {"code": code, "message": message}, **extra}


PROBE_SPANS = [
    span("apigateway", "GetStage", "NotFoundException", "Invalid stage identifier specified"),
    span("cloudformation", "DescribeStacks", "ValidationError", "Stack with id user-onboarding does not exist"),
    span("s3", "HeadBucket", "NoSuchBucket"),
    span("s3", "HeadBucket", "404"),
    span("s3", "HeadObject", "NoSuchKey", "The specified key does not exist."),
    span("s3", "GetBucketPolicy", "NoSuchBucketPolicy"),
    span("s3", "GetBucketEncryption", "ServerSideEncryptionConfigurationNotFoundError"),
    span("sqs", "GetQueueUrl", "AWS.SimpleQueueService.NonExistentQueue"),
    span("dynamodb", "DescribeTable", "ResourceNotFoundException", "Requested resource not found"),
    span("lambda", "GetFunction", "ResourceNotFoundException", "Function not found"),
    span("iam", "GetRole", "NoSuchEntity"),
    span("logs", "CreateLogGroup", "ResourceAlreadyExistsException", "The specified log group already exists"),
]

REAL_ERRORS = [
    span("cloudformation", "DescribeStacks", "ValidationError", "1 validation error detected"),  # a bad request
    span("cloudformation", "CreateStack", "ValidationError", "Template format error"),
    span("s3", "GetObject", "NoSuchKey"),  # reading what should be there
    span("s3", "HeadBucket", "403"),  # there, but not yours
    span("dynamodb", "GetItem", "ResourceNotFoundException"),  # the app's table is missing
    span("dynamodb", "DescribeTable", "ResourceNotFoundException", injected={"rule": {"service": "dynamodb"}}),
    span("sqs", "SendMessage", "AWS.SimpleQueueService.NonExistentQueue"),
    span("lambda", "Invoke", "ResourceNotFoundException"),
    {"kind": "hop", "hop": "lambda-exec", "service": "lambda", "operation": "Execute",
     "error": {"code": "ResourceNotFoundException"}},
]


@pytest.mark.parametrize("probe", PROBE_SPANS, ids=lambda s: f"{s['service']} {s['operation']} {s['error']['code']}")
def test_existence_probes_are_expected_not_errors(probe):
    assert is_expected_probe(probe) and not is_real_error(probe)


@pytest.mark.parametrize("failed", REAL_ERRORS, ids=lambda s: f"{s['service']} {s['operation']} {s['error']['code']}")
def test_real_failures_stay_errors(failed):
    assert not is_expected_probe(failed) and is_real_error(failed)


def test_every_probe_rule_is_exercised_and_a_success_is_no_error():
    assert {id(probe_of(s)) for s in PROBE_SPANS} == {id(p) for p in PROBES}
    ok = {"kind": "request", "service": "s3", "operation": "HeadBucket", "status": 200}
    assert not is_expected_probe(ok) and not is_real_error(ok)


def test_the_errors_filter_leaves_out_expected_probes():
    """`sandbox events --errors` and `GET /_sandbox/events?errors=1` show what the TUI's errors-only view shows: a
    deploy's DescribeStacks "does not exist" is not listed; every real failure is."""
    from sandbox.observability.query import matcher

    errors_only = matcher(errors=True, include_noise=True)
    assert not any(errors_only(probe) for probe in PROBE_SPANS)
    assert all(errors_only(failed) for failed in REAL_ERRORS)


def test_a_batch_answer_that_reported_records_failed_is_shown_as_a_failure_not_as_ok():
    """A worker returning batchItemFailures succeeds to Lambda; its records go back to the queue, then to its DLQ.
    It appeared as `ok` everywhere, errors-only views included: the first sign was the DLQ minutes later."""
    from sandbox.observability.engine.gateway import batch_item_failures
    from sandbox.observability.render import outcome
    from tui.format import span_outcome

    assert batch_item_failures(b'{"batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": "b"}]}') == 2
    assert batch_item_failures(b'{"batchItemFailures": []}') == 0
    assert batch_item_failures(b'"batchItemFailures"') == 0 and batch_item_failures(None) == 0
    partial = {"kind": "request", "hop": "esm", "status": 200, "error": None,
               "attrs": {"batch_item_failures": 2, "report_batch_item_failures": True}}
    ignored = {**partial, "attrs": {"batch_item_failures": 2, "report_batch_item_failures": False}}
    done = {"kind": "request", "hop": "esm", "status": 200, "error": None, "attrs": {"batch_size": 3}}
    assert is_real_error(partial) and is_real_error(ignored) and not is_real_error(done)
    assert outcome(partial).plain == "batch: 2 failed" and outcome(done).plain == "200"
    assert outcome(ignored).plain == "batch: 2 failed, ignored (no ReportBatchItemFailures: all deleted)"
    assert span_outcome(partial).plain == "batch: 2 failed" and span_outcome(partial, width=8).plain == "batch: …"
    assert span_outcome(ignored).plain == "batch: 2 lost"


def test_the_flow_details_say_what_happened_to_the_records_of_a_batch():
    from rich.console import Console

    from tui.flow.waterfall import span_details

    def text(span) -> str:
        console = Console(width=200, record=True)
        console.print(span_details(span))
        return console.export_text()

    base = {"kind": "request", "hop": "esm", "service": "lambda", "operation": "Invoke", "status": 200, "error": None}
    retried = text({**base, "attrs": {"batch_item_failures": 2, "report_batch_item_failures": True}})
    lost = text({**base, "attrs": {"batch_item_failures": 2, "report_batch_item_failures": False}})
    assert "listed 2 failed record(s): they are received again" in retried
    assert "Lambda deleted the whole batch" in lost and "received again" not in lost
