"""Where schedules live in LocalStack, read as one kind of `Entry`.

* EventBridge Scheduler: moto's `moto.scheduler.models.scheduler_backends` (LocalStack's scheduler provider is
  moto's, store-only: nothing ever fires). `Schedule` keeps the API's fields; StartDate/EndDate are epoch
  seconds (or ISO text).
* EventBridge rules with a ScheduleExpression: `localstack.services.events.models.events_stores`, every event
  bus's `rules` (only the default bus can hold scheduled rules).

Both are read on each tick of the timer (a walk over dicts, no request), copied so a concurrent API call cannot
change a list under the walk.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

LOG = logging.getLogger(__name__)


@dataclass
class Entry:
    kind: str  # "schedule" (EventBridge Scheduler) | "rule" (EventBridge rule)
    name: str
    group: str  # schedule group, or the rule's event bus
    arn: str
    account: str
    region: str
    expression: str
    timezone: str
    state: str
    targets: list[dict] = field(default_factory=list)
    start: float | None = None
    end: float | None = None
    action_after_completion: str | None = None
    description: str | None = None

    @property
    def key(self) -> str:
        return self.arn

    @property
    def label(self) -> str:
        return self.name if self.group in ("default", None) else f"{self.group}/{self.name}"

    def signature(self) -> tuple:
        """What, when changed (UpdateSchedule, PutRule, Enable/DisableRule), makes the timer plan afresh."""
        return (self.expression, self.timezone, self.state, self.start, self.end)


def _epoch(value) -> float | None:
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, datetime):
        return value.timestamp()
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def scheduler_entries() -> list[Entry]:
    from moto.scheduler.models import scheduler_backends

    out = []
    for account, regions in list(scheduler_backends.items()):
        for region, backend in list(regions.items()):
            for group in list(backend.schedule_groups.values()):
                for s in list(group.schedules.values()):
                    out.append(Entry(
                        kind="schedule", name=s.name, group=s.group_name, arn=s.arn, account=account,
                        region=region, expression=s.schedule_expression or "",
                        timezone=s.schedule_expression_timezone or "UTC", state=s.state or "ENABLED",
                        targets=[s.target] if s.target else [], start=_epoch(s.start_date), end=_epoch(s.end_date),
                        action_after_completion=getattr(s, "action_after_completion", None),
                        description=s.description))
    return out


def rule_entries() -> list[Entry]:
    from localstack.services.events.models import events_stores

    out = []
    for account, regions in list(events_stores.items()):
        for region, store in list(regions.items()):
            for bus in list(store.event_buses.values()):
                for rule in list(bus.rules.values()):
                    if not rule.schedule_expression:
                        continue
                    out.append(Entry(
                        kind="rule", name=rule.name, group=rule.event_bus_name or "default", arn=rule.arn,
                        account=account, region=region, expression=rule.schedule_expression, timezone="UTC",
                        state=str(rule.state or "ENABLED"), targets=list(rule.targets.values()),
                        description=rule.description))
    return out


def all_entries() -> list[Entry]:
    """Every schedule and scheduled rule of every account and region. A service never used has no store yet:
    its module is imported only if LocalStack already loaded it (reading must not start a service)."""
    import sys

    out: list[Entry] = []
    if "moto.scheduler.models" in sys.modules:
        out += scheduler_entries()
    if "localstack.services.events.models" in sys.modules:
        out += rule_entries()
    return out


def delete_schedule(entry: Entry) -> None:
    """ActionAfterCompletion DELETE: the schedule is removed once it has nothing left to fire."""
    from moto.scheduler.models import scheduler_backends

    try:
        scheduler_backends[entry.account][entry.region].delete_schedule(entry.group, entry.name)
    except Exception as e:  # noqa: BLE001 - already deleted by its owner meanwhile
        LOG.debug("schedule %s already gone: %s", entry.arn, e)
