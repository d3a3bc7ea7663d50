"""An async event dropped without running - its function has no concurrency (ZeroReservedConcurrency) or the event
got too old between throttled attempts (EventAgeExceeded) - reaches the function's dead-letter queue.

`localstack.services.lambda_.invocation.event_manager.Poller._handle_invoke_exception` hands such an event to
`process_dead_letter_queue(sqs_invocation, None)`, which reads `response_payload.get("errorMessage")`: an
AttributeError on None, logged as "Error sending invocation result to DLQ ...: 'NoneType' object has no attribute
'get'", and the event was lost (its OnFailure destination, if any, did get it). A reserved concurrency of 0 is how
a function is switched off on AWS; its async events go to the DLQ there.

The patch keeps the invoke error `_handle_invoke_exception` was given and, when the DLQ is handed no response,
gives it one whose errorMessage is that error's message ("Rate Exceeded." for a throttle), which the DLQ message
carries in its ErrorMessage attribute. A function error whose payload is not an object with an errorMessage (a
string, a list, `{}`: LocalStack failed on those too) has its payload, as JSON and at most 1 KB, as the message.
"""

from __future__ import annotations

import json
import threading

TARGET = "localstack.services.lambda_.invocation.event_manager"

_local = threading.local()


def error_message(error: BaseException | None) -> str:
    """What the DLQ message says went wrong: the error's message as the Lambda API worded it."""
    if error is None:
        return "The event was not processed"
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        message = (response.get("Error") or {}).get("Message")
        if message:
            return str(message)
    return str(error) or type(error).__name__


def apply() -> None:
    from localstack.services.lambda_.invocation.event_manager import Poller

    if getattr(Poller.process_dead_letter_queue, "_sandbox_patched", False):
        return
    original_handle, original_dlq = Poller._handle_invoke_exception, Poller.process_dead_letter_queue

    def _handle_invoke_exception(self, sqs_invocation, error, event_invoke_config):
        _local.error = error
        try:
            return original_handle(self, sqs_invocation, error, event_invoke_config)
        finally:
            _local.error = None

    def process_dead_letter_queue(self, sqs_invocation, response_payload):
        # None from the throttle paths; a function error's payload may also be a string, a list or a dict without
        # errorMessage, on which LocalStack fails the same way (or sends the SQS message attribute None)
        if not isinstance(response_payload, dict) or not response_payload.get("errorMessage"):
            error = getattr(_local, "error", None)
            if error is None and response_payload not in (None, {}, "", []):
                message = (response_payload if isinstance(response_payload, str)
                           else json.dumps(response_payload, default=str))[:1024]
            else:
                message = error_message(error)
            response_payload = {**(response_payload if isinstance(response_payload, dict) else {}),
                                "errorMessage": message}
        return original_dlq(self, sqs_invocation, response_payload)

    process_dead_letter_queue._sandbox_patched = True
    Poller._handle_invoke_exception = _handle_invoke_exception
    Poller.process_dead_letter_queue = process_dead_letter_queue
