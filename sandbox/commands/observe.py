"""`sandbox events | trace | graph | cost`: what the recorder saw, over `Sandbox.events/trace/graph/cost`."""

from __future__ import annotations

import datetime
import json
import re
import time

import click
from rich.console import Console

from sandbox.commands.common import get_sandbox
from sandbox.errors import SandboxError
from sandbox.observability import render

DURATION_RE = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(value: str | None) -> dict:
    """`--since`: a duration back from now (30s, 10m, 2h, 1d), an ISO time (2026-03-01T10:00), or cursor:N."""
    if not value:
        return {}
    value = value.strip()
    if value.startswith("cursor:"):
        try:
            return {"since": int(value.split(":", 1)[1])}
        except ValueError:
            raise click.BadParameter(f"{value!r}: a cursor is cursor:<number>", param_hint="--since") from None
    found = DURATION_RE.match(value)
    if found:
        return {"since_ts": time.time() - float(found.group(1)) * UNITS[found.group(2)]}
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r}: use a duration (10m, 2h), an ISO time or cursor:<n>",
                                 param_hint="--since") from None  # a usage error: exit 2, as click's own
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return {"since_ts": moment.timestamp()}


def _check_services(service: str, events: list[dict]) -> None:
    """A --service name that matched no event may be misspelt (`lamda` printed "no events"): said, with the nearest
    name (botocore's service names, which the recorder's spans carry)."""
    import difflib

    import botocore.session

    seen = {e.get("service") for e in events}
    names = None
    for name in (s.strip() for s in service.split(",")):
        if not name or name in seen:
            continue
        names = names or set(botocore.session.get_session().get_available_services())
        if name not in names:
            close = difflib.get_close_matches(name.lower(), sorted(names), n=3, cutoff=0.6)
            raise SandboxError(f"--service {name}: no such service" + (
                f" (did you mean {' or '.join(close)}?)" if close else "") + "; names are botocore's: lambda, sqs, s3, "
                "dynamodb, events, stepfunctions, apigateway, sns, logs...")


@click.command()
@click.option("-f", "--follow", is_flag=True, help="Keep printing new events as they happen.")
@click.option("--trace", "trace_id", metavar="ID", help="Only the spans of this trace.")
@click.option("--service", metavar="S[,S]", help="Only these services (sqs, lambda, s3, ...).")
@click.option("--correlation", metavar="ID", help="Only spans with this correlation id.")
@click.option("--errors", is_flag=True, help="Only failed requests, executions and DLQ moves (not the existence probes deployers make "
                   "expecting \"no\", such as DescribeStacks \"does not exist\").")
@click.option("--all", "include_noise", is_flag=True, help="Also platform noise (log shipping, polls, role assumption).")
@click.option("-n", "--limit", type=int, default=50, show_default=True, help="How many of the newest events.")
@click.option("--since", "since", metavar="WHEN",
              help="Only events since: 10m, 2h, an ISO time (the newest -n of them), or after a cursor (N or cursor:N).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_obj
def events(settings, follow, trace_id, service, correlation, errors, include_noise, limit, since, as_json):
    """Requests and hops the sandbox recorded, by start time, newest last (noise hidden unless --all; with
    --follow, each as it ends)."""
    window = parse_since(f"cursor:{since.strip()}" if since and since.strip().isdigit() else since)
    since_cursor, since_ts = window.get("since"), window.get("since_ts")
    sb = get_sandbox(settings)
    console = Console(highlight=False, soft_wrap=True)
    filters = dict(service=service, trace=trace_id, all=include_noise, correlation=correlation, errors=errors)
    if limit <= 0 and since_cursor is None:  # -n 0: nothing from the past (with -f: only what happens next)
        got = {"events": [], "cursor": sb.observe.cursor()}
    else:
        got = sb.events(since=since_cursor, limit=max(limit, 1), **filters)
        if since_ts is not None:
            got["events"] = [span for span in got["events"] if (span.get("ts") or 0) >= since_ts]

    def show(span):
        if as_json:
            click.echo(json.dumps(span))
        else:
            console.print(render.event_line(span))

    # recorded as each one ends (seq), shown by when it started: an API call before the function and the write it
    # caused (they came out in reverse, stamped with their start times; found by a newcomer)
    for span in sorted(got["events"], key=lambda span: (span.get("ts") or 0, span.get("seq") or 0)):
        show(span)
    if service:
        _check_services(service, got["events"])
    if not follow:
        if not got["events"] and not as_json and limit > 0:
            click.echo("no events" + ("" if include_noise else " (noise hidden: --all shows it)"), err=True)
        return
    if sb.observe.offline:
        raise SandboxError("--follow needs a running sandbox (`sandbox up`).")
    try:
        for span in sb.observe.follow(since=got["cursor"], **filters):
            show(span)
    except KeyboardInterrupt:
        pass


@click.command()
@click.argument("trace_id")
@click.option("--all", "include_noise", is_flag=True, help="Also platform noise.")
@click.option("--json", "as_json", is_flag=True, help="The trace as JSON.")
@click.pass_obj
def trace(settings, trace_id, include_noise, as_json):
    """One trace as a waterfall: every span under the one that caused it, on a shared time line."""
    found = get_sandbox(settings).trace(trace_id, all=include_noise)
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    console = Console(highlight=False)
    console.print(render.waterfall(found))
    if found.get("orphans"):
        console.print(f"[yellow]{len(found['orphans'])} span(s) whose parent was not recorded are shown at the top "
                      f"level.[/yellow]")


@click.command()
@click.option("--all", "include_noise", is_flag=True, help="Also platform noise.")
@click.option("--since", "since", metavar="WHEN", help="Only calls since: 10m, 2h, an ISO time.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def graph(settings, include_noise, since, as_json):
    """Service map: which resource called which, how often, how many failed, p50 latency."""
    window = parse_since(since)
    window.pop("since", None)
    found = get_sandbox(settings).graph(all=include_noise, **window)
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    if not found["edges"]:
        click.echo("no calls recorded yet")
        return
    Console(highlight=False).print(render.graph_table(found))


@click.command()
@click.option("--since", "since", metavar="WHEN", help="Window start: 10m, 2h, an ISO time, or cursor:N.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def cost(settings, since, as_json):
    """What the recorded traffic would cost on AWS (us-east-1 list prices, free tier not deducted)."""
    found = get_sandbox(settings).cost(**parse_since(since))
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    console = Console(highlight=False)
    console.print(render.cost_table(found))
    console.print(f"[dim]{found.get('note')}[/dim]")


@click.command()
@click.option("--on/--off", "enabled", default=None, help="Resume or pause recording in the running sandbox.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def recorder(settings, enabled, as_json):
    """The recorder behind events, traces, the service map and cost: show it, pause it (--off) or resume it (--on).
    Paused, requests cost a little less; `sandbox up --no-recorder` starts without it."""
    state = get_sandbox(settings).observe.recorder(enabled)
    if as_json:
        click.echo(json.dumps(state, indent=2))
        return
    click.echo(f"recorder {'on' if state.get('enabled') else 'off'}: {state.get('spans')} span(s) kept"
               + (f" of {state['capacity']}" if state.get("capacity") else "") + f", cursor {state.get('cursor')}")


COMMANDS = [events, trace, graph, cost, recorder]
