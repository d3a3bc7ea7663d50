"""sandbox/localstack_ext/deadlines.py and the REST integration timeout's value (patch apigateway_integration_timeout)."""

import threading
import time

import pytest

from sandbox.localstack_ext.deadlines import DeadlineExceeded, call_within
from sandbox.localstack_ext.patches.apigateway_integration_timeout import timeout_seconds


def test_a_call_within_its_deadline_answers_or_raises_as_it_would():
    assert call_within(5, lambda a, b=0: a + b, 1, b=2) == 3
    with pytest.raises(KeyError):
        call_within(5, lambda: {}["missing"])


def test_a_call_past_its_deadline_is_given_up_on_while_it_runs_on():
    finished = threading.Event()

    def slow():
        time.sleep(0.5)
        finished.set()

    with pytest.raises(DeadlineExceeded):
        call_within(0.05, slow)
    assert not finished.is_set()
    assert finished.wait(5), "the call itself went on"


def test_the_recorders_span_goes_with_the_call():
    from sandbox.observability.engine import propagation

    with propagation.bound(propagation.Current("trace-1", "span-1")):
        seen = call_within(5, lambda: propagation.current().span_id)
    assert seen == "span-1"


@pytest.mark.parametrize("integration, seconds", [
    ({}, 29.0), ({"timeoutInMillis": 1000}, 1.0), ({"timeoutInMillis": "1000"}, 1.0), ({"timeoutInMillis": "0"}, 29.0),
    ({"timeoutInMillis": 0}, 29.0), ({"timeoutInMillis": "soon"}, 29.0), ({"timeoutInMillis": 10}, 0.05),
    ({"timeoutInMillis": 60000}, 60.0)])
def test_an_integrations_timeout_is_read_as_api_gateway_reads_it(integration, seconds):
    assert timeout_seconds(integration) == seconds
