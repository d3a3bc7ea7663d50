"""No retries for LocalStack's own calls once it is stopping, so `sandbox down` does not wait them out.

LocalStack's internal boto3 clients retry a failed call (botocore's legacy mode: 4 retries, exponential sleeps of up
to several seconds). While LocalStack stops, the calls still in flight - S3 notifications, asynchronous Lambda
invokes, mapping batches - fail against services that have stopped, and each sleeps through its retries: Python's
exit joins those worker threads, so `sandbox down` after a burst of uploads took 11 s even with the queued
notifications dropped (patch s3_notifications_shutdown). From the quiesce hook on (sandbox/localstack_ext/hooks.py),
a failed internal call fails at once.
"""

from __future__ import annotations


def stop() -> None:
    """From now on botocore asks for no retry: a call that fails, fails. Installed only here, when LocalStack
    stops, so the request path pays nothing before then."""
    from botocore.endpoint import Endpoint

    if getattr(Endpoint._needs_retry, "_sandbox_shutdown", False):
        return

    def _needs_retry(self, *args, **kwargs):
        return False

    _needs_retry._sandbox_shutdown = True
    Endpoint._needs_retry = _needs_retry
