"""S3 event notifications and SNS deliveries keep the trace of the request that caused them.

Patched LocalStack behaviour (localstack-core 2026.3.0): both services hand each delivery to a thread pool,
where the request's thread (and so its span) is gone.

* `localstack.services.s3.notifications.NotificationDispatcher._submit_notification` submits
  `notifier.notify(ctx, config)` (Lambda invoke, SQS SendMessage, SNS Publish, EventBridge PutEvents of an
  S3 event) to the `s3_ev` pool.
* `localstack.services.sns.publisher.PublishDispatcher._submit_notification` submits
  `notifier.publish(context=..., subscriber=...)` per subscriber to the `sns_pub` pools.

The patch hands the pool a stand-in whose method runs bound to the submitting thread's span, so the
notification's internal request (an Event Invoke of the function, a SendMessage, ...) is that span's child.
"""

from __future__ import annotations

from sandbox.observability.engine import propagation


def _patch(cls, method_name: str) -> None:
    original = cls._submit_notification
    if getattr(original, "_sandbox_observability", False):
        return

    def _submit_notification(self, notifier, *args, **kwargs):
        cur = propagation.current()
        if cur is not None:
            notifier = propagation.CarryingProxy(notifier, method_name, cur)
        return original(self, notifier, *args, **kwargs)

    _submit_notification._sandbox_observability = True
    cls._submit_notification = _submit_notification


def install() -> None:
    from localstack.services.s3.notifications import NotificationDispatcher
    from localstack.services.sns.publisher import PublishDispatcher

    _patch(NotificationDispatcher, "notify")
    _patch(PublishDispatcher, "publish")
