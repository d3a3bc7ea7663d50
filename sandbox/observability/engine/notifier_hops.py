"""S3 event notifications and SNS deliveries keep the trace of the request that caused them.

Patched LocalStack behaviour (localstack-core 2026.3.0): both services hand each delivery to a thread pool,
where the request's thread (and so its span) is gone.

* `localstack.services.s3.notifications.NotificationDispatcher._submit_notification` submits
  `notifier.notify(ctx, config)` (Lambda invoke, SQS SendMessage, SNS Publish, EventBridge PutEvents of an
  S3 event) to the `s3_ev` pool.
* `localstack.services.sns.publisher.PublishDispatcher._submit_notification` submits
  `notifier.publish(context=..., subscriber=...)` per subscriber (one message, or one batch of PublishBatch) to
  the `sns_pub` pools.

The patch hands the pool a stand-in whose method runs bound to the submitting thread's span, so the
notification's internal request (an Event Invoke of the function, a SendMessage, ...) is that span's child.
An SNS delivery is marked hop "sns-delivery" with the subscription and its protocol. S3's EventBridge
notifier calls PutEvents without naming itself (no client metadata, unlike its other notifiers), so that call
is attributed to the bucket here.
"""

from __future__ import annotations

from sandbox.observability.engine import propagation

# The calls an SNS notifier makes for its subscriber (and, on failure, to the subscription's dead-letter queue)
SNS_DELIVERY_OPERATIONS = frozenset({"Invoke", "SendMessage", "SendMessageBatch", "PutRecord", "PutRecordBatch"})


def _sns_current(cur: propagation.Current, subscriber) -> propagation.Current:
    subscriber = subscriber if isinstance(subscriber, dict) else {}
    return propagation.Current(cur.trace_id, cur.span_id, hop={
        "hop": "sns-delivery",
        "attrs": {"subscription": subscriber.get("SubscriptionArn"), "protocol": subscriber.get("Protocol")},
    }, hop_ops=SNS_DELIVERY_OPERATIONS)


def _s3_current(cur: propagation.Current, notifier, ctx) -> propagation.Current:
    if getattr(notifier, "service_name", None) != "events" or not getattr(ctx, "bucket_name", None):
        return cur
    caller = {"kind": "service", "name": "s3", "source_arn": f"arn:aws:s3:::{ctx.bucket_name}"}
    return propagation.Current(cur.trace_id, cur.span_id, hop={"caller": caller}, hop_ops={"PutEvents"})


def install() -> None:
    from localstack.services.s3.notifications import NotificationDispatcher
    from localstack.services.sns.publisher import PublishDispatcher

    original_s3 = NotificationDispatcher._submit_notification
    if not getattr(original_s3, "_sandbox_observability", False):
        def submit_s3(self, notifier, ctx, config):
            cur = propagation.current()
            if cur is not None:
                notifier = propagation.CarryingProxy(notifier, "notify", _s3_current(cur, notifier, ctx))
            return original_s3(self, notifier, ctx, config)

        submit_s3._sandbox_observability = True
        NotificationDispatcher._submit_notification = submit_s3

    original_sns = PublishDispatcher._submit_notification
    if not getattr(original_sns, "_sandbox_observability", False):
        def submit_sns(self, notifier, ctx, subscriber):
            cur = propagation.current()
            if cur is not None:
                notifier = propagation.CarryingProxy(notifier, "publish", _sns_current(cur, subscriber))
            return original_sns(self, notifier, ctx, subscriber)

        submit_sns._sandbox_observability = True
        PublishDispatcher._submit_notification = submit_sns
