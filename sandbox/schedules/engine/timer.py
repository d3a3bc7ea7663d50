"""The timer: every second, plans each schedule's next firing and fires those that are due.

A plan is made when a schedule is first seen and again whenever its expression, time zone, state or dates
change. First firings follow AWS: an EventBridge Scheduler rate() starts at its StartDate, or at once when it
has none; a rule's rate() one period after it was created; cron() at its next matching minute; at() at its time
(one whose time had passed before it was seen never fires). A firing that is overdue (the clock was advanced)
fires once; missed periods are not replayed.

The engine's clock is the wall clock plus an offset that `advance()` moves forward, so a workshop (or a test)
can see an hourly schedule fire without waiting an hour. Reset forgets every plan, zeroes the offset and
cancels the retries of deliveries in flight.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from dataclasses import dataclass, field

from sandbox.schedules import expressions as X
from sandbox.schedules import targets as T
from sandbox.schedules.engine import delivery as D
from sandbox.schedules.engine import sources
from sandbox.schedules.engine.sources import Entry

LOG = logging.getLogger(__name__)
TICK_SECONDS = 1.0
HISTORY = 20


@dataclass
class Plan:
    signature: tuple
    expr: X.Expression | None = None
    error: str | None = None
    anchor: float | None = None
    next_due: float | None = None
    completed: bool = False
    fired: int = 0
    history: collections.deque = field(default_factory=lambda: collections.deque(maxlen=HISTORY))


class Timer:
    def __init__(self):
        self.offset = 0.0
        self.plans: dict[str, Plan] = {}
        self.lock = threading.RLock()
        self.cancelled = threading.Event()  # set by reset: deliveries in flight stop retrying
        self.stopped = threading.Event()
        self.thread: threading.Thread | None = None

    # --- clock ---------------------------------------------------------------------------------------------
    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> list[dict]:
        """Moves the engine's clock forward and fires what became due; returns the firings started. Plans are
        brought up to date first, so a change made just before (EnableRule, a new schedule) counts from now."""
        with self.lock:
            fired = self.tick()
            self.offset += seconds
            return fired + self.tick()

    # --- lifecycle -----------------------------------------------------------------------------------------
    def start(self) -> None:
        if self.thread is None:
            self.thread = threading.Thread(target=self._loop, name="sandbox-schedules", daemon=True)
            self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        self.cancelled.set()

    def reset(self) -> None:
        with self.lock:
            self.cancelled.set()
            self.cancelled = threading.Event()
            self.plans.clear()
            self.offset = 0.0

    def _loop(self) -> None:
        while not self.stopped.wait(TICK_SECONDS):
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - one bad tick must not end the timer
                LOG.exception("schedule timer tick failed")

    # --- planning ------------------------------------------------------------------------------------------
    def _plan(self, entry: Entry, now: float) -> Plan:
        plan = Plan(signature=entry.signature())
        try:
            plan.expr = X.parse(entry.expression, rule=entry.kind == "rule")
            tz = X.zone(entry.timezone)
        except X.ExpressionError as e:
            plan.error = str(e)
            return plan
        if isinstance(plan.expr, X.Rate):
            if entry.kind == "schedule":
                plan.anchor = entry.start if entry.start is not None else now
                plan.next_due = X.next_fire(plan.expr, tz, plan.anchor - 1e-6, anchor=plan.anchor, end=entry.end)
            else:
                plan.anchor = now
                plan.next_due = now + plan.expr.seconds
        else:
            plan.next_due = X.next_fire(plan.expr, tz, now, start=entry.start, end=entry.end)
        plan.completed = plan.next_due is None
        return plan

    def _after(self, entry: Entry, plan: Plan, now: float) -> float | None:
        tz = X.zone(entry.timezone)
        return X.next_fire(plan.expr, tz, now, anchor=plan.anchor, start=entry.start, end=entry.end)

    # --- ticking -------------------------------------------------------------------------------------------
    def tick(self) -> list[dict]:
        started = []
        entries = sources.all_entries()
        with self.lock:
            now = self.now()
            seen = set()
            for entry in entries:
                seen.add(entry.key)
                plan = self.plans.get(entry.key)
                if plan is None or plan.signature != entry.signature():
                    plan = self.plans[entry.key] = self._plan(entry, now)
                if entry.state != "ENABLED" or plan.next_due is None or plan.next_due > now:
                    continue
                scheduled = plan.next_due
                plan.next_due = self._after(entry, plan, now)
                plan.fired += 1
                started += self._fire(entry, plan, scheduled, manual=False)
                if plan.next_due is None:
                    plan.completed = True
                    if entry.kind == "schedule" and (entry.action_after_completion or "").upper() == "DELETE":
                        sources.delete_schedule(entry)
            for key in list(self.plans):
                if key not in seen:
                    del self.plans[key]
        return [d.as_dict() for d in started]

    def _fire(self, entry: Entry, plan: Plan, scheduled: float, *, manual: bool) -> list[D.Delivery]:
        if not entry.targets:
            LOG.info("schedule %s is due but has no targets", entry.label)
            return []
        execution_id = T.new_execution_id()
        event = T.scheduled_event(entry.arn, entry.account, entry.region, scheduled) if entry.kind == "rule" else None
        out = []
        for target in entry.targets:
            d = D.Delivery(schedule=entry.label, target_arn=target.get("Arn", ""), execution_id=execution_id,
                           scheduled_time=scheduled, manual=manual)
            plan.history.append(d)
            threading.Thread(target=D.deliver, args=(entry, target, d),
                             kwargs={"clock": self.now, "cancelled": self.cancelled, "event": event},
                             name=f"schedule-{entry.name}"[:60], daemon=True).start()
            out.append(d)
        return out

    # --- the API's view ------------------------------------------------------------------------------------
    def fire_now(self, entry: Entry) -> list[D.Delivery]:
        """Fires `entry` now, as its timer would (its plan stays as it is: a manual firing is not one of the
        schedule's own, so an at() schedule still fires at its time)."""
        with self.lock:
            plan = self.plans.get(entry.key)
            if plan is None or plan.signature != entry.signature():
                plan = self.plans[entry.key] = self._plan(entry, self.now())
            return self._fire(entry, plan, self.now(), manual=True)

    def describe(self, entry: Entry) -> dict:
        with self.lock:
            plan = self.plans.get(entry.key)
            if plan is None or plan.signature != entry.signature():
                plan = self.plans[entry.key] = self._plan(entry, self.now())
            last = plan.history[-1].as_dict() if plan.history else None
            if plan.error:
                status = f"invalid: {plan.error}"
            elif entry.state != "ENABLED":
                status = "disabled"
            elif plan.completed or plan.next_due is None:
                status = "completed" if plan.fired else "never (its time has passed)"
            else:
                status = "scheduled"
        return {
            "kind": entry.kind, "name": entry.name, "group": entry.group, "arn": entry.arn, "account": entry.account,
            "region": entry.region, "expression": entry.expression, "timezone": entry.timezone,
            "state": entry.state, "description": entry.description,
            "every": X.describe(plan.expr) if plan.expr else None,
            "targets": [t.get("Arn") for t in entry.targets],
            "dead_letter_queues": [(t.get("DeadLetterConfig") or {}).get("Arn") for t in entry.targets
                                   if (t.get("DeadLetterConfig") or {}).get("Arn")],
            "next_fire": T.now_iso(plan.next_due) if plan.next_due is not None and entry.state == "ENABLED"
            and not plan.error else None,
            "status": status, "fired": plan.fired, "last": last,
            "action_after_completion": entry.action_after_completion,
        }


TIMER = Timer()
