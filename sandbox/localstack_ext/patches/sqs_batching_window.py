"""An SQS event source mapping's `MaximumBatchingWindowInSeconds` gathered nothing: every message was its own batch.

The mapping's poller (`localstack.services.lambda_.event_source_mapping.pollers.sqs_poller.SqsPoller.poll_events`,
localstack-core 2026.3.0) receives with `WaitTimeSeconds` = its batching window, a plain long poll: it answers as
soon as a message is there. LocalStack only gathers a batch for windows over 20 s (its override header makes
`localstack.services.sqs.models.StandardQueue.receive` keep waiting, `poll_empty_queue`), and even then its loop
subtracts the time elapsed since the start from the time left at every message (`timeout -= time.time() - start`),
so the window runs out after a message or two. Four messages 0.2 s apart under a 2 s window and BatchSize 10
reached the function as four batches of one; AWS gathers them into one. More invocations than on AWS, smaller
partial-batch failures, a higher Lambda bill in `sandbox cost`.

Workaround: a ReceiveMessage made by Lambda's pollers (LocalStack's internal request with the `lambda` service
principal) with a wait time goes on gathering, once it has a first message, until the batch is full or the window
has passed since that message (at most the queue's visibility timeout less a second, so that no message of the batch
becomes visible again and is received twice): what is sent within one window is one batch, whenever the poll began.
A receive that finds nothing ends the gathering (the window is over, or the queue was deleted or stopped). Clients'
long polls are left as they are, and so are FIFO queues.
"""

from __future__ import annotations

import functools
import threading
import time

TARGET = ("localstack.services.sqs.models", "localstack.services.sqs.provider")
_polling = threading.local()  # set while a ReceiveMessage of Lambda's pollers is served


def gathers(internal_request_params) -> bool:
    """Whether a request is one of Lambda's pollers' (an event source mapping's or a pipe's)."""
    return bool(internal_request_params) and internal_request_params.get("service_principal") == "lambda"


def apply(target: str) -> None:
    if target.endswith(".provider"):
        from localstack.services.sqs.provider import SqsProvider

        original_receive_message = SqsProvider.receive_message
        if getattr(original_receive_message, "_sandbox_patch", False):
            return

        @functools.wraps(original_receive_message)
        def receive_message(self, context, *args, **kwargs):
            _polling.active = gathers(context.internal_request_params)
            try:
                return original_receive_message(self, context, *args, **kwargs)
            finally:
                _polling.active = False

        receive_message._sandbox_patch = True
        SqsProvider.receive_message = receive_message
        return

    from localstack.services.sqs.models import StandardQueue

    original = StandardQueue.receive
    if getattr(original, "_sandbox_patch", False):
        return

    def receive(self, num_messages=1, wait_time_seconds=None, visibility_timeout=None, *, poll_empty_queue=False):
        result = original(self, num_messages, wait_time_seconds, visibility_timeout,
                          poll_empty_queue=poll_empty_queue)
        if not wait_time_seconds or not result.successful or \
                not (poll_empty_queue or getattr(_polling, "active", False)):
            return result
        # the window counts from the first message received (LocalStack's own gathering, on its header path for
        # windows over 20 s, is part of it), and ends before that message could become visible again
        first = min((m.last_received or time.time()) for m in result.successful)
        hidden = self.visibility_timeout if visibility_timeout is None else visibility_timeout
        deadline = first + min(wait_time_seconds, max(0.0, hidden - 1.0))
        seen = {id(m) for m in result.successful}
        while len(result.successful) < num_messages:
            remaining = deadline - time.time()
            if remaining <= 0:
                break
            more = original(self, num_messages - len(result.successful), remaining, visibility_timeout,
                            poll_empty_queue=True)
            if not more.successful and not more.dead_letter_messages:
                break  # the window passed, or the queue is shut down (deleted, the sandbox stopping): no spin
            for message, handle in zip(more.successful, more.receipt_handles):
                if id(message) not in seen:
                    seen.add(id(message))
                    result.successful.append(message)
                    result.receipt_handles.append(handle)
            result.dead_letter_messages += more.dead_letter_messages
        return result

    receive._sandbox_patch = True
    StandardQueue.receive = receive
