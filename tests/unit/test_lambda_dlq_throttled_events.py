"""patch lambda_dlq_throttled_events: what the dead-letter queue is handed when LocalStack has no response for it
(the live test in tests/live/test_dlq.py throttles a real async invoke)."""

from __future__ import annotations

import pytest

from sandbox.localstack_ext.patches import lambda_dlq_throttled_events as patch


@pytest.fixture
def poller(monkeypatch):
    from localstack.services.lambda_.invocation.event_manager import Poller

    handed = []
    monkeypatch.setattr(Poller, "process_dead_letter_queue", lambda self, inv, payload: handed.append(payload))
    monkeypatch.setattr(Poller, "_handle_invoke_exception",
                        lambda self, inv, error, config: self.process_dead_letter_queue(inv, None) or "failed")
    patch.apply()
    return Poller.__new__(Poller), handed


def test_a_throttled_event_gets_the_throttle_message(poller):
    from botocore.exceptions import ClientError

    p, handed = poller
    throttle = ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "Rate Exceeded."}}, "Invoke")
    assert p._handle_invoke_exception(None, throttle, None) == "failed"
    assert handed == [{"errorMessage": "Rate Exceeded."}]


@pytest.mark.parametrize("payload,message", [
    (None, "The event was not processed"),
    ({}, "The event was not processed"),
    ("boom", "boom"),
    (["a", 1], '["a", 1]'),
    ({"errorType": "X"}, '{"errorType": "X"}'),
])
def test_function_errors_without_an_error_message(poller, payload, message):
    p, handed = poller
    p.process_dead_letter_queue(None, payload)
    assert handed[0]["errorMessage"] == message


def test_a_payload_with_its_message_is_untouched(poller):
    p, handed = poller
    p.process_dead_letter_queue(None, {"errorMessage": "bad", "errorType": "ValueError"})
    assert handed == [{"errorMessage": "bad", "errorType": "ValueError"}]
