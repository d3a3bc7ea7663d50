"""CloudWatch metrics that LocalStack publishes per request, aggregated and published once a second instead.

LocalStack publishes some service metrics with one internal PutMetricData (and one SQLite insert in the CloudWatch
provider) per request: Lambda's Invocations/Errors per invoke, SQS's NumberOfMessagesSent/SentMessageSize per
SendMessage and more. On a 2-core machine those calls are a large share of a request's CPU. A batch keeps the
sums in memory and publishes one datum per metric and dimension each second (StatisticValues: SampleCount, Sum,
Minimum, Maximum), so sums, counts and alarms are unchanged; only timestamps are rounded to the flush.
Used by the patches lambda_metrics_batching and sqs_metrics_batching.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from datetime import datetime, timezone

LOG = logging.getLogger(__name__)
FLUSH_SECONDS = 1.0

_flush_lock = threading.Lock()  # held while publishing, and by `paused()` (a state reset)
_stopped = threading.Event()
_batches: list[MetricBatch] = []


class MetricBatch:
    def __init__(self, namespace: str):
        self.namespace = namespace
        self._lock = threading.Lock()
        # (account, region, metric, dimensions, unit) -> [count, sum, min, max]
        self._stats: dict[tuple, list[float]] = {}
        _batches.append(self)

    def record(self, account: str, region: str, metric: str, dimensions: tuple[tuple[str, str], ...],
               value: float = 1, unit: str = "Count") -> None:
        key = (account, region, metric, dimensions, unit)
        with self._lock:
            stat = self._stats.get(key)
            if stat is None:
                self._stats[key] = [1, value, value, value]
            else:
                stat[0] += 1
                stat[1] += value
                stat[2] = min(stat[2], value)
                stat[3] = max(stat[3], value)
        _ensure_flusher()

    def clear(self) -> None:
        with self._lock:
            self._stats.clear()

    def publish(self) -> None:
        from localstack.aws.connect import connect_to

        with self._lock:
            pending, self._stats = self._stats, {}
        if not pending:
            return
        now = datetime.now(timezone.utc)
        by_target: dict[tuple[str, str], list[dict]] = {}
        for (account, region, metric, dimensions, unit), (n, total, low, high) in pending.items():
            by_target.setdefault((account, region), []).append({
                "MetricName": metric, "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions],
                "Timestamp": now, "Unit": unit,
                "StatisticValues": {"SampleCount": n, "Sum": total, "Minimum": low, "Maximum": high}})
        for (account, region), data in by_target.items():
            try:
                client = connect_to(aws_access_key_id=account, region_name=region).cloudwatch
                for i in range(0, len(data), 500):
                    client.put_metric_data(Namespace=self.namespace, MetricData=data[i: i + 500])
            except Exception as e:  # noqa: BLE001 - metrics are best effort, as in LocalStack
                LOG.debug("Failed to publish %s metrics: %s", self.namespace, e)


_flusher: threading.Thread | None = None
_flusher_lock = threading.Lock()


def _ensure_flusher() -> None:
    global _flusher
    if _flusher is not None and _flusher.is_alive():
        return
    with _flusher_lock:
        if _flusher is None or not _flusher.is_alive():
            _flusher = threading.Thread(target=_flush_loop, name="sandbox-metric-batches", daemon=True)
            _flusher.start()


def flush() -> None:
    """Publishes what every batch gathered so far."""
    with _flush_lock:
        if not _stopped.is_set():
            for batch in _batches:
                batch.publish()


def _flush_loop() -> None:
    while not _stopped.is_set():
        time.sleep(FLUSH_SECONDS)
        if not _stopped.is_set():
            flush()


@contextlib.contextmanager
def paused():
    """No publishing while a state reset empties CloudWatch (its SQLite file goes away); pending values belong to
    resources that are being deleted, so they are dropped."""
    with _flush_lock:
        for batch in _batches:
            batch.clear()
        yield


def stop() -> None:
    """LocalStack is shutting down: what is pending is published now, while CloudWatch still runs, and nothing
    after (a publish would start CloudWatch again once its services were stopped, and its alarm scheduler's thread
    would keep the process alive)."""
    with _flush_lock:
        _stopped.set()
        for batch in _batches:
            batch.publish()
