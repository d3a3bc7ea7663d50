"""Lab checks judged on what they read, without a sandbox: the table's states are played to the check in order."""

import importlib.util
from pathlib import Path

import pytest

from scenarios.labs.context import CheckContext
from scenarios.labs.kits import media

LABS = Path(__file__).resolve().parents[2] / "scenarios" / "labs"


class Failed(Exception):
    pass


class Ctx:
    def output(self, key: str) -> str:
        return key

    def note(self, **details) -> None:
        self.notes = details

    def fail(self, message: str, **details):
        raise Failed(message)

    def wait_until(self, condition, timeout: float, interval: float = 0.3, steady: float = 0):
        return CheckContext.wait_until(self, condition, min(timeout, 5), 0.01, steady)  # the real polling, faster


def _checks(lab: str):
    spec = importlib.util.spec_from_file_location(f"checks_{lab}", LABS / lab / "checks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_whole_batch_retried_poison_first_still_fails_the_partial_batch_task(monkeypatch):
    """The starter raises after its batch: Lambda retries the whole batch. When the retry tried the poison first,
    the check stopped at its second try, before the good records' second tries, and passed the starter (CI, on a
    loaded machine)."""
    checks = _checks("tame-the-poison")
    keys, poison = [f"good-{i}" for i in range(3)], "poison"

    def state(good_attempts: int, poison_attempts: int) -> dict:
        return {**{k: {"status": "DONE", "attempts": good_attempts} for k in keys},
                poison: {"status": "PROCESSING", "attempts": poison_attempts}}

    # first pass; the retry's poison try; then its good records' tries
    states = [state(1, 1)] * 2 + [state(1, 2)] * 3
    monkeypatch.setattr(checks, "_burst", lambda ctx, good: (keys, poison))
    monkeypatch.setattr(checks, "STEADY_SECONDS", 0.2)
    monkeypatch.setattr(media, "queue_attributes", lambda ctx, url: {"VisibilityTimeout": "1"})
    monkeypatch.setattr(media, "jobs", lambda ctx, wanted: states.pop(0) if states else state(2, 2))
    with pytest.raises(Failed, match="good jobs were transcoded more than once"):
        checks.check_partial_batch(Ctx())


def test_the_partial_batch_task_passes_once_the_jobs_hold_still(monkeypatch):
    checks = _checks("tame-the-poison")
    keys, poison = ["good-0"], "poison"
    monkeypatch.setattr(checks, "_burst", lambda ctx, good: (keys, poison))
    monkeypatch.setattr(checks, "STEADY_SECONDS", 0.05)
    monkeypatch.setattr(media, "queue_attributes", lambda ctx, url: {"VisibilityTimeout": "1"})
    monkeypatch.setattr(media, "jobs", lambda ctx, wanted: {"good-0": {"status": "DONE", "attempts": 1},
                                                            "poison": {"status": "PROCESSING", "attempts": 2}})
    assert "transcoded once each" in checks.check_partial_batch(Ctx())
