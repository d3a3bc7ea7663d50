"""The schedule engine inside LocalStack (this package runs in the LocalStack process only).

    sources.py    reads EventBridge Scheduler schedules (moto's store) and scheduled EventBridge rules
    timer.py      plans each one's next firing and fires what is due, every second, on a clock that can be advanced
    delivery.py   one firing to one target: payload, retries, dead-letter queue, the span of the firing
    routes.py     /_sandbox/schedules (list), /_sandbox/schedules/fire, /_sandbox/schedules/advance

LocalStack's own timer for scheduled rules is switched off (patches/events_schedule_jobs.py), so each rule fires
once per period, from here. The pure model (expressions, payloads, retry policy, name lookup) is the rest of
`sandbox.schedules`.
"""

from __future__ import annotations

_installed = False


def install() -> None:
    """Called once from `sandbox.localstack_ext.install.install_all`."""
    global _installed
    if _installed:
        return
    from localstack.services.edge import ROUTER

    from sandbox.schedules.engine.routes import SchedulesApi
    from sandbox.schedules.engine.timer import TIMER

    ROUTER.add(SchedulesApi())
    TIMER.start()
    _installed = True


def reset() -> None:
    """Forgets every plan, zeroes the clock offset and stops the retries in flight (for `/_sandbox/reset`)."""
    from sandbox.schedules.engine.timer import TIMER

    TIMER.reset()


def stop() -> None:
    """At shutdown: nothing fires any more (a firing would start services LocalStack is stopping)."""
    from sandbox.schedules.engine.timer import TIMER

    TIMER.stop()
