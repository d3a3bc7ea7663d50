"""Schedules that fire: EventBridge Scheduler schedules (`AWS::Scheduler::Schedule`, SAM `ScheduleV2`) and
EventBridge rules with a ScheduleExpression (SAM `Schedule`).

    expressions.py  rate() / cron() / at() with time zones: when each fires next - pure
    targets.py      what a firing sends, the retry policy, the dead-letter attributes - pure
    lookup.py       which schedule a name on the command line means - pure
    client.py       the host's client (`Sandbox.schedules`): list, fire now, advance the engine's clock
    render.py       terminal rendering for `sandbox schedule`
    engine/         runs inside LocalStack: the timer, the deliveries, the /_sandbox/schedules routes
"""

from sandbox.schedules.client import ScheduleError, Schedules

__all__ = ["ScheduleError", "Schedules"]
