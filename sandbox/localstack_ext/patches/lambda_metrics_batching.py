"""Lambda's per-invocation CloudWatch metrics, aggregated once a second instead of one PutMetricData per invoke.

`localstack.services.lambda_.invocation.version_manager` calls `record_cw_metric_invocation` (and
`record_cw_metric_error`) in a new thread after *every* invocation; each makes an internal PutMetricData call
through the gateway and an SQLite insert in the CloudWatch provider. Profiling a warm invoke loop showed that
to be the largest CPU cost of an invocation in LocalStack (about a fifth), which on a 2-core machine slows
every invocation. The counts are kept in memory and flushed each second as one datum per function and metric
(StatisticValues: SampleCount = Sum = n), so `Invocations` / `Errors` sums and alarms on them are unchanged,
only their timestamps are rounded to the flush.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import Counter
from datetime import datetime, timezone

LOG = logging.getLogger(__name__)
FLUSH_SECONDS = 1.0

_counts: Counter = Counter()
_lock = threading.Lock()
_flush_lock = threading.Lock()  # held while publishing, and by `paused()` (a state reset)
_flusher: threading.Thread | None = None


def _record(function_name: str, account_id: str, region_name: str, *metrics: str) -> None:
    global _flusher
    with _lock:
        for metric in metrics:
            _counts[(account_id, region_name, function_name, metric)] += 1
        if _flusher is None or not _flusher.is_alive():
            _flusher = threading.Thread(target=_flush_loop, name="sandbox-lambda-metrics", daemon=True)
            _flusher.start()


def record_invocation(function_name: str, account_id: str, region_name: str) -> None:
    _record(function_name, account_id, region_name, "Invocations")


def record_error(function_name: str, account_id: str, region_name: str) -> None:
    _record(function_name, account_id, region_name, "Invocations", "Errors")


def flush() -> None:
    """Publishes the counts gathered so far."""
    with _flush_lock:
        if not _stopped.is_set():
            _publish()


def _publish() -> None:
    from localstack.aws.connect import connect_to
    from localstack.utils.cloudwatch.cloudwatch_util import dimension_lambda

    with _lock:
        pending = dict(_counts)
        _counts.clear()
    by_target: dict[tuple[str, str], list[dict]] = {}
    now = datetime.now(timezone.utc)
    for (account, region, function, metric), n in pending.items():
        by_target.setdefault((account, region), []).append(
            {
                "MetricName": metric,
                "Dimensions": dimension_lambda({"func_name": function}),
                "Timestamp": now,
                "StatisticValues": {"SampleCount": n, "Sum": n, "Minimum": 1, "Maximum": 1},
                "Unit": "Count",
            }
        )
    for (account, region), data in by_target.items():
        try:
            client = connect_to(aws_access_key_id=account, region_name=region).cloudwatch
            for i in range(0, len(data), 500):
                client.put_metric_data(Namespace="AWS/Lambda", MetricData=data[i : i + 500])
        except Exception as e:  # noqa: BLE001 - metrics are best effort, as in LocalStack
            LOG.debug("Failed to publish Lambda metrics: %s", e)


@contextlib.contextmanager
def paused():
    """No publishing while a state reset empties CloudWatch (its SQLite file goes away); pending counts belong to
    resources that are being deleted, so they are dropped."""
    with _flush_lock:
        with _lock:
            _counts.clear()
        yield


_stopped = threading.Event()


def stop() -> None:
    """LocalStack is shutting down: the pending counts are published now, while CloudWatch still runs, and no more
    after (a publish would start CloudWatch again once its services were stopped, and its alarm scheduler's thread
    would keep the process alive)."""
    with _flush_lock:
        _stopped.set()
        if _counts:
            _publish()


def _flush_loop() -> None:
    while not _stopped.is_set():
        time.sleep(FLUSH_SECONDS)
        if _counts and not _stopped.is_set():
            flush()


TARGET = "localstack.services.lambda_.invocation.version_manager"


def apply() -> None:
    from localstack.services.lambda_.invocation import version_manager

    version_manager.record_cw_metric_invocation = record_invocation
    version_manager.record_cw_metric_error = record_error
