"""HTTP API of the schedule engine (served by the LocalStack gateway; writes need the sandbox token).

    GET  /_sandbox/schedules                     every schedule and scheduled rule: expression, state, targets,
                                                 next firing, last firing
    POST /_sandbox/schedules/fire                {"name": ..., "group": ...?, "wait": seconds?} fires it now, as
                                                 its timer would; answers each target's delivery (outcome,
                                                 attempts, trace id) once done or after `wait` (default 10 s)
    POST /_sandbox/schedules/advance             {"seconds": n} moves the engine's clock forward; answers the
                                                 firings that became due
"""

from __future__ import annotations

import json
import time

from localstack.http import Request, Response, route

from sandbox.schedules.engine import sources
from sandbox.schedules.engine.timer import TIMER
from sandbox.schedules.lookup import NotFound, find


def _bad(message: str, status: int = 400) -> Response:
    error = {400: "BadRequest", 404: "NotFound", 409: "Conflict"}[status]
    return Response.for_json({"error": error, "message": message}, status=status)


def _body(request: Request) -> dict:
    raw = request.get_data()
    if not raw.strip():
        return {}
    body = json.loads(raw)
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


def _localstack_jobs() -> int:
    """Jobs in LocalStack's own timer of scheduled rules: 0 while patches/events_schedule_jobs is in force."""
    import sys

    module = sys.modules.get("localstack.services.events.scheduler")
    return len(module.JobScheduler.instance().jobs) if module else 0


class SchedulesApi:
    @route("/_sandbox/schedules", methods=["GET"])
    def list(self, request: Request) -> Response:
        entries = sources.all_entries()
        listed = [TIMER.describe(e) for e in entries]
        listed.sort(key=lambda d: (d["kind"] != "schedule", d["group"], d["name"]))
        return Response.for_json({"now": TIMER.now(), "offset_seconds": TIMER.offset, "schedules": listed,
                                  "localstack_jobs": _localstack_jobs()})

    @route("/_sandbox/schedules/fire", methods=["POST"])
    def fire(self, request: Request) -> Response:
        try:
            body = _body(request)
            name = body.get("name")
            if not isinstance(name, str) or not name:
                raise ValueError('the body needs "name": the schedule (or rule) to fire')
            wait = float(body.get("wait", 10))
        except ValueError as e:
            return _bad(f"invalid request: {e}")
        try:
            entry = find(sources.all_entries(), name, body.get("group"))
        except NotFound as e:
            return _bad(str(e), 404)
        if entry.state != "ENABLED":
            return _bad(f"{entry.kind} {entry.label} is {entry.state}: a disabled schedule never fires. Enable it "
                        "first (aws scheduler update-schedule --state ENABLED ..., or aws events enable-rule).", 409)
        deliveries = TIMER.fire_now(entry)
        deadline = time.monotonic() + max(0.0, wait)
        for d in deliveries:
            d.done.wait(max(0.0, deadline - time.monotonic()))
        return Response.for_json({"schedule": TIMER.describe(entry),
                                  "deliveries": [d.as_dict() for d in deliveries]})

    @route("/_sandbox/schedules/advance", methods=["POST"])
    def advance(self, request: Request) -> Response:
        try:
            seconds = float(_body(request).get("seconds"))
            if not 0 < seconds <= 366 * 86400:
                raise ValueError("seconds must be more than 0 and at most a year")
        except (TypeError, ValueError) as e:
            return _bad(f'invalid request: {e} (the body is {{"seconds": n}})')
        fired = TIMER.advance(seconds)
        return Response.for_json({"now": TIMER.now(), "offset_seconds": TIMER.offset, "fired": fired})
