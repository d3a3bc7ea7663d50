"""What LocalStack does while it stops, with our shutdown fixes (sandbox/localstack_ext/shutdown_retries.py, patch
s3_notifications_shutdown): nothing queued is sent to stopped services, no call sleeps through retries. Both make
`sandbox down` right after a burst quick (the live test in tests/live/test_patches.py sees them together)."""

from __future__ import annotations

import threading

import boto3
import pytest
from botocore.config import Config
from botocore.endpoint import Endpoint
from botocore.exceptions import EndpointConnectionError

from sandbox.embedded import free_port
from sandbox.localstack_ext import shutdown_retries
from sandbox.localstack_ext.patches import s3_notifications_shutdown


pytestmark = pytest.mark.usefixtures("no_host_profile")  # tests/conftest.py


def test_queued_s3_notifications_are_dropped_when_s3_stops(monkeypatch):
    from localstack.services.s3.notifications import NotificationDispatcher

    monkeypatch.setattr(NotificationDispatcher, "shutdown", NotificationDispatcher.shutdown)  # restored after
    s3_notifications_shutdown.apply()
    dispatcher = NotificationDispatcher(num_thread=1)
    release, ran = threading.Event(), []
    busy = dispatcher.executor.submit(release.wait, 10)  # the one being sent
    queued = [dispatcher.executor.submit(ran.append, i) for i in range(5)]
    dispatcher.shutdown()
    release.set()
    assert busy.result(timeout=10) is True, "the notification being sent finishes"
    assert all(f.cancelled() for f in queued) and ran == [], "queued notifications were sent after the shutdown"


@pytest.fixture
def restored_retries(monkeypatch):
    """shutdown_retries.stop() changes botocore for the whole process: undone after the test."""
    monkeypatch.setattr(Endpoint, "_needs_retry", Endpoint._needs_retry)


def _attempts_against_a_closed_port() -> int:
    client = boto3.session.Session().client("sqs", endpoint_url=f"http://127.0.0.1:{free_port()}", region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test",
                          config=Config(retries={"mode": "legacy", "max_attempts": 1}, connect_timeout=1))
    sent = []
    client.meta.events.register("before-send", lambda **_: sent.append(1))
    with pytest.raises(EndpointConnectionError):
        client.list_queues()
    return len(sent)


def test_a_failing_internal_call_is_not_retried_once_localstack_stops(restored_retries):
    assert _attempts_against_a_closed_port() == 2, "a retry before the shutdown, as LocalStack's clients do"
    shutdown_retries.stop()
    assert _attempts_against_a_closed_port() == 1


HUNG_LOCALSTACK = """
import signal, sys, threading, time
from sandbox.localstack_ext import thread_dump
thread_dump.install()
signal.signal(signal.SIGTERM, signal.SIG_IGN)  # like a LocalStack whose exit waits for a thread that never ends
def joined_at_exit_and_never_ending():
    time.sleep(600)
threading.Thread(target=joined_at_exit_and_never_ending).start()
print("ready", flush=True)
"""


def test_a_localstack_that_does_not_stop_leaves_its_threads_in_its_log(tmp_path):
    """A forced `down` (SIGKILL after the grace period) used to leave no trace of why LocalStack hung, and CI then
    showed only "was killed": now its threads' stacks are in its log, under a banner, before the kill."""
    import subprocess
    import sys
    import time

    from sandbox import Settings
    from sandbox.embedded import EmbeddedBackend, Instance
    from sandbox.localstack_ext import thread_dump

    backend = EmbeddedBackend(Settings(state_dir=tmp_path, endpoint=None))
    with open(backend.log_file, "ab") as log:
        proc = subprocess.Popen([sys.executable, "-c", HUNG_LOCALSTACK], stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    rec = backend.registry.add(proc.pid, "localstack", "localstack")
    deadline = time.monotonic() + 30
    while "ready" not in backend.log_file.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    inst = Instance(pid=proc.pid, create_time=rec.create_time, port=0, endpoint="", started_at=time.time(), knobs={})

    assert backend._stop_process(inst, grace=1.0) is False, "a process that ignores SIGTERM stopped by itself?"
    assert proc.wait(timeout=10) == -9, "it was not killed"
    log = backend.log_file.read_text()
    banner = thread_dump.BANNER.format(grace=1.0)
    assert banner in log, log
    after = log.split(banner, 1)[1]
    named, _, faults = after.partition("--- every thread of LocalStack, with its name")[2].partition(
        "(most recent call first)")
    assert '"MainThread"' in named and "joined_at_exit_and_never_ending" in named, f"no named dump:\n{log}"
    assert "joined_at_exit_and_never_ending" in faults, f"no faulthandler dump after the named one:\n{log}"
