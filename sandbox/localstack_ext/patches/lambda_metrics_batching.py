"""Lambda's per-invocation CloudWatch metrics, aggregated once a second instead of one PutMetricData per invoke.

`localstack.services.lambda_.invocation.version_manager` calls `record_cw_metric_invocation` (and
`record_cw_metric_error`) in a new thread after *every* invocation; each makes an internal PutMetricData call
through the gateway and an SQLite insert in the CloudWatch provider. Profiling a warm invoke loop showed that
to be the largest CPU cost of an invocation in LocalStack (about a fifth). The counts go to a metric batch
(localstack_ext/metric_batches.py): `Invocations` / `Errors` sums and alarms on them are unchanged.

Counting in a batch takes microseconds, so the thread LocalStack starts per invocation to record them is not
started either: 6 % of LocalStack's CPU in a warm invoke loop was thread creation (py-spy).
"""

from __future__ import annotations

from sandbox.localstack_ext.metric_batches import MetricBatch

BATCH = MetricBatch("AWS/Lambda")


def record_invocation(function_name: str, account_id: str, region_name: str) -> None:
    BATCH.record(account_id, region_name, "Invocations", (("FunctionName", function_name),))


def record_error(function_name: str, account_id: str, region_name: str) -> None:
    record_invocation(function_name, account_id, region_name)
    BATCH.record(account_id, region_name, "Errors", (("FunctionName", function_name),))


TARGET = "localstack.services.lambda_.invocation.version_manager"


def apply() -> None:
    from localstack.services.lambda_.invocation import version_manager

    version_manager.record_cw_metric_invocation = record_invocation
    version_manager.record_cw_metric_error = record_error
    original_start_thread = version_manager.start_thread

    def start_thread(method, *args, **kwargs):
        if str(kwargs.get("name", "")).startswith("record-cloudwatch-metric"):
            return method(None)  # record_invocation/record_error: a count in the batch
        return original_start_thread(method, *args, **kwargs)

    version_manager.start_thread = start_thread
