"""`sandbox schedule list|fire|advance`: see the schedules, fire one now, move the schedules' clock."""

from __future__ import annotations

import json
import re

import click

from sandbox.commands.common import get_sandbox
from sandbox.errors import SandboxError
from sandbox.schedules import render

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _schedules(settings):
    sb = get_sandbox(settings)
    sb.require_running()
    return sb.schedules


@click.group()
def schedule():
    """Schedules: EventBridge Scheduler schedules (SAM ScheduleV2) and EventBridge rules with a schedule (SAM
    Schedule). They fire on their own; `fire` fires one now, `advance` moves their clock forward."""


@schedule.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def list_command(settings, as_json):
    """Every schedule and scheduled rule: expression, state, target, next firing, last firing."""
    found = _schedules(settings).list()
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    if not found:
        click.echo("no schedules (an AWS::Scheduler::Schedule, a SAM ScheduleV2 or Schedule event, or an "
                   "EventBridge rule with a ScheduleExpression makes one)")
        return
    click.echo(f"{len(found)} schedule(s)")
    for s in found:
        render.echo_lines(render.schedule_lines(s))


@schedule.command()
@click.argument("name")
@click.option("--group", help="Schedule group (or, for a rule, its event bus) when the name is not unique.")
@click.option("--wait", type=click.FloatRange(0, 300), default=10, show_default=True,
              help="Seconds to wait for the delivery (retries included) before answering.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def fire(settings, name, group, wait, as_json):
    """Fire schedule NAME now, exactly as it would fire on its own (its Input, retry policy and dead-letter
    queue), recorded as a span. NAME may be a part of the name when unique, or the ARN."""
    result = _schedules(settings).fire(name, group=group, wait=wait)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    s = result["schedule"]
    click.echo(f"fired {s['kind']} {s['name'] if s['group'] == 'default' else s['group'] + '/' + s['name']}")
    for d in result["deliveries"]:
        click.secho(f"  {render.delivery_text(d)}", fg="red" if d["error"] else "green")
        if d.get("trace_id"):
            click.echo(f"  trace:  sandbox trace {d['trace_id']}")


@schedule.command()
@click.argument("duration")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def advance(settings, duration, as_json):
    """Move the schedules' clock forward by DURATION (90s, 10m, 2h, 1d): what falls due fires now, once
    (missed periods are not replayed). Only the schedule engine's clock moves; `sandbox reset` sets it back."""
    m = _DURATION.match(duration.strip().lower())
    if not m or float(m[1]) <= 0:
        raise SandboxError(f"{duration!r} is not a duration: use seconds or a number with s, m, h or d (10m, 2h)")
    result = _schedules(settings).advance(float(m[1]) * _UNITS[m[2]])
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(f"schedule clock is now {result['offset_seconds']:.0f} s ahead; {len(result['fired'])} firing(s)")
    for d in result["fired"]:
        click.echo(f"  {d['schedule']} -> {render.delivery_text(d)}")


COMMANDS = [schedule]
