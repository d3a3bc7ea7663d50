"""S3 notifications still queued when LocalStack stops are dropped, not sent to services already stopped.

localstack/services/s3/notifications.py `NotificationDispatcher.shutdown` (called by the S3 provider's
`on_before_stop`) shuts its thread pool down without `cancel_futures`: every notification still queued then runs
while Python exits (`concurrent.futures` joins its workers at exit), each one an Invoke or SendMessage to a service
that has stopped, through botocore's retries. After a burst of uploads `sandbox down` waited its 20 s and killed
LocalStack (measured: 600 media-pipeline uploads, down 5 s later). The notifications being sent finish; the queued
ones are cancelled, as LocalStack's own Lambda event manager does with its invoker pool.
"""

from __future__ import annotations

TARGET = "localstack.services.s3.notifications"


def apply() -> None:
    from localstack.services.s3.notifications import NotificationDispatcher

    def shutdown(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)

    NotificationDispatcher.shutdown = shutdown
