"""The host's client of the schedule engine (`Sandbox.schedules`).

    sb.schedules.list()                       # every schedule and scheduled rule, with its next and last firing
    sb.schedules.fire("daily-report")         # fires it now, as its timer would: each target's delivery
    sb.schedules.advance(3600)                # the engine's clock an hour ahead: what was due fires
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import requests

from sandbox.errors import SandboxError

if TYPE_CHECKING:
    from sandbox.api import Sandbox

PATH = "/_sandbox/schedules"


class ScheduleError(SandboxError):
    """A schedule that cannot be fired or found; the message says why."""


class Schedules:
    def __init__(self, sandbox: Sandbox):
        self.sandbox = sandbox

    def _call(self, method: str, path: str, body: dict | None = None, timeout: float = 30):
        url = f"{self.sandbox.endpoint}{path}"
        try:
            resp = self.sandbox.http.request(method, url, data=None if body is None else json.dumps(body),
                                             headers={"Content-Type": "application/json"}, timeout=timeout)
        except requests.RequestException:
            raise SandboxError(self.sandbox.not_running_message()) from None
        if resp.status_code in (400, 404, 409):
            try:
                message = resp.json().get("message") or resp.text
            except ValueError:
                message = resp.text
            if resp.status_code == 404 and not message.startswith("no schedule") and "matches" not in message:
                raise SandboxError(f"This backend has no schedule engine ({method} {path} answered 404): it needs "
                                   "the sandbox's embedded backend.")
            raise ScheduleError(message)
        if resp.status_code == 405:
            raise SandboxError("This backend has no schedule engine: it needs the sandbox's embedded backend.")
        resp.raise_for_status()
        return resp.json()

    def list(self) -> list[dict]:
        """Every schedule (EventBridge Scheduler) and scheduled EventBridge rule, schedules first."""
        return self._call("GET", PATH)["schedules"]

    def status(self) -> dict:
        """The whole listing: {"now", "offset_seconds", "schedules", "localstack_jobs"}."""
        return self._call("GET", PATH)

    def fire(self, name: str, group: str | None = None, wait: float = 10.0) -> dict:
        """Fires a schedule now, exactly as its timer would (Input, retries, dead-letter queue, a span). Answers
        {"schedule": ..., "deliveries": [{"target", "outcome", "attempts", "trace_id", ...}]} once every delivery
        is done, or after `wait` seconds (a delivery still retrying says "retrying")."""
        body = {"name": name, "wait": wait}
        if group:
            body["group"] = group
        return self._call("POST", f"{PATH}/fire", body, timeout=wait + 30)

    def advance(self, seconds: float) -> dict:
        """Moves the schedule engine's clock forward (it never goes back, except by `sb.reset()`); what became
        due fires. Answers {"now", "offset_seconds", "fired": [...]}."""
        return self._call("POST", f"{PATH}/advance", {"seconds": seconds})
