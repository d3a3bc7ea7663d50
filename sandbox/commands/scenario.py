"""`sandbox scenario list|show|run` and `sandbox replay`: the scenario catalog from the command line."""

from __future__ import annotations

import json
import signal
import sys

import click

from sandbox.errors import SandboxError


def _scenarios():
    import scenarios

    return scenarios


def _get(scenario_id: str):
    sc = _scenarios()
    try:
        return sc.get_scenario(scenario_id)
    except sc.UnknownScenario as e:  # a usage error (exit 2), as click's own
        raise click.BadParameter(str(e), param_hint="SCENARIO_ID") from None


def print_event(event) -> None:
    """Human-readable progress of a run (or a replay): one case per event type (scenarios/events.py)."""
    from scenarios import events as ev
    from scenarios.report import COUNT_LABELS, VERDICT_COLOURS, check_sentence

    match event:
        case ev.RunStarted():
            click.secho(f"\n{event.title}  [{event.scenario}, seed {event.seed}]", bold=True)
            click.echo(event.summary)
            for item in event.learn:
                click.echo(f"  - {item}")
        case ev.VariantStarted():
            click.secho(f"\n== variant {event.variant}: {event.description}", fg="cyan", bold=True)
        case ev.Phase():
            click.echo(f"   ... {event.text}")
        case ev.StepStarted():
            click.secho(f"\n {event.index}. {event.title}", bold=True)
            if event.narrative:
                click.echo(f"    {event.narrative}")
        case ev.Narrative():
            click.echo(f"    > {event.text}")
        case ev.Observation():
            click.echo(f"    observed {event.name} = {event.value}")
        case ev.StepFailed():
            click.secho(f"    step failed: {event.text}", fg="red")
        case ev.ExpectationChecked(skipped=True) | ev.ExpectationChecked(passed=None):  # stopped: not evaluated
            click.echo(f"  [{click.style('SKIP', fg='yellow')}] {check_sentence(event.as_result())}")
        case ev.ExpectationChecked():
            mark = click.style("PASS", fg="green") if event.passed else click.style("FAIL", fg="red")
            click.echo(f"  [{mark}] {check_sentence(event.as_result())}")
        case ev.Stopped():
            where = f"variant {event.variant}" + (f", step {event.step}" if event.step else "")
            not_run = f"; not run: {', '.join(event.not_run)}" if event.not_run else ""
            click.secho(f"\n  stopped ({where}){not_run}" if event.variant else f"\n  stopped{not_run}",
                        fg="yellow", bold=True)
        case ev.ReportReady(report=r):
            counts = ", ".join(f"{COUNT_LABELS.get(k, k.replace('_', ' '))} {v}" for k, v in r.counts.items())
            cost = f"${r.cost_usd:.6f}" if r.cost_usd is not None else "n/a"
            click.echo(f"  counts: {counts}")
            p50, p99 = ("n/a" if r.latency_ms.get(p) is None else r.latency_ms[p] for p in ("p50", "p99"))
            click.echo(f"  latency p50 {p50} ms, p99 {p99} ms; cost {cost}; {round(r.seconds, 2)}s")
            click.echo(f"  {r.variant}: " + click.style(r.verdict, fg=VERDICT_COLOURS[r.verdict]))
        case ev.Comparison(reports=reports):
            print_comparison(reports)
        case _:  # spans and log lines of the recording, StepDone: not shown
            pass


def print_comparison(reports) -> None:
    from scenarios.report import comparison_rows

    names = [r.variant for r in reports]
    rows = comparison_rows(reports)
    width = max(len(label) for label, _ in rows)
    click.secho("\nbefore / after", bold=True)
    click.echo(f"  {'':<{width}}  " + "  ".join(f"{n:>12}" for n in names))
    for label, values in rows:
        click.echo(f"  {label:<{width}}  " + "  ".join(f"{v:>12}" for v in values))


@click.group("scenario")
def scenario_group():
    """Run the catalog of failure scenarios (list, show, run)."""


@scenario_group.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_cmd(as_json):
    """The scenarios, with what each teaches."""
    found = _scenarios().all_scenarios()
    if as_json:
        click.echo(json.dumps([{"id": s.id, "title": s.title, "variants": s.variant_names, "patterns": s.patterns}
                               for s in found], indent=2))
        return
    for s in found:
        click.echo(f"{s.id:<22} {s.title}")


@scenario_group.command("show")
@click.argument("scenario_id")
def show_cmd(scenario_id):
    """Everything about one scenario: lesson, patterns, variants, steps, expectations, parameters."""
    from scenarios.report import wanted

    s = _get(scenario_id)
    click.secho(s.title, bold=True)
    click.echo(s.summary)
    click.echo("\nYou will learn:")
    for item in s.learn:
        click.echo(f"  - {item}")
    click.echo(f"\nPatterns: {', '.join(s.patterns) or '(none)'}")
    click.echo("Variants:")
    for v in s.variants:
        click.echo(f"  {v.name:<8} {v.description}")
    click.echo("Steps:")
    for i, step in enumerate(s.steps, 1):
        click.echo(f"  {i}. {step.title}")
    click.echo("Expectations:")
    for e in s.expectations:
        scope = f" [{', '.join(e.variants)}]" if e.variants else ""
        click.echo(f"  - {e.name} (want {wanted(e.op, e.target)}){scope}")
    if s.params:
        click.echo("Parameters (--param KEY=VALUE):")
        for name, spec in s.param_specs.items():
            default = str(spec.default).lower() if isinstance(spec.default, bool) else spec.default
            about = f"; {spec.help}" if spec.help else ""
            click.echo(f"  {name}={default}  ({spec.allowed()}{about})")


@scenario_group.command("run")
@click.argument("scenario_id")
@click.option("--variant", default="broken", show_default=True, help="A variant name, or `all`.")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the traffic generators.")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="Scenario parameter (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the reports as JSON at the end.")
@click.option("--yes", is_flag=True, help="Do not ask before the reset empties the sandbox.")
@click.pass_obj
def run_cmd(settings, scenario_id, variant, seed, params, as_json, yes):
    """Run a scenario variant (or all of them, with a before/after table). Each variant starts by resetting the
    sandbox: everything in it goes, deployed or made by hand (lab workspaces too); at a terminal it asks first.
    Exit 1 if an expectation fails; Ctrl-C stops the run (faults cleared, no further variant) and exits 130."""
    from sandbox.commands.common import get_sandbox, parse_params

    from scenarios.runner import merge_params

    sc = _scenarios()
    s = _get(scenario_id)
    if variant != "all" and variant not in s.variant_names:
        raise click.BadParameter(f"scenario {s.id} has no variant {variant}. Valid: {', '.join(s.variant_names)}, all",
                                 param_hint="--variant")
    variants = s.variant_names if variant == "all" else [variant]
    given = parse_params(params)
    try:  # a bad value is a usage error (exit 2), refused before anything runs
        merge_params(s, given)
    except sc.ScenarioError as e:
        raise click.BadParameter(str(e), param_hint="--param") from None
    sb = get_sandbox(settings)
    sb.require_running()
    _announce_reset(sb, yes=yes, at_terminal=not as_json and sys.stdin.isatty())
    try:
        runner = sc.Runner(sb, s, seed=seed, params=given, listeners=[] if as_json else [print_event])
    except sc.ScenarioError as e:
        raise SandboxError(str(e)) from None
    previous = signal.signal(signal.SIGINT, lambda *_: runner.stop())  # Ctrl-C: stop cleanly, faults cleared
    try:
        reports = runner.run(variants)
    except sc.ScenarioError as e:
        raise SandboxError(str(e)) from None
    finally:
        signal.signal(signal.SIGINT, previous)
    if as_json:
        click.echo(json.dumps({"recording": str(runner.recording), "reports": [r.as_dict() for r in reports],
                               "stopped": runner.stopped, "not_run": runner.not_run}, indent=2, default=str))
    else:
        click.echo(f"\nrecording: {runner.recording}")
    if runner.stopped:  # Ctrl-C: neither passed nor failed (130, as for any command interrupted by SIGINT)
        sys.exit(130)
    sys.exit(0 if all(r.passed for r in reports) else 1)


def _announce_reset(sb, yes: bool, at_terminal: bool) -> None:
    """Says what the reset at the start of each variant removes; at a terminal, asks first. Without a terminal (a
    script, --json) and without --yes it goes on only when the sandbox is empty: a script wiped a bucket it had
    made unasked, where `dlq purge` and `lab reset` refuse (found by a newcomer). A run already going on this sandbox
    is said before asking."""
    from scenarios.restore import describe_reset, reset_impact
    from scenarios.run_lock import RunBusy, RunLock

    try:
        RunLock.take(sb.settings.state_dir, "a check").release()
    except RunBusy as e:
        raise SandboxError(str(e)) from None
    impact = reset_impact(sb)
    click.echo(f"Each variant starts by resetting the sandbox. {describe_reset(impact)}", err=True)
    if yes:
        return
    if at_terminal:
        if not click.confirm("Run it?", default=False, err=True):
            raise SandboxError("not run: nothing was reset (`--yes` runs it without asking)")
    elif impact is None or any(impact.values()):
        raise SandboxError("not run: nothing was reset. Without a terminal to ask at, a run that would remove what is "
                           "in the sandbox needs `--yes` (`sandbox scenario run ... --yes`).")


@click.command("replay")
@click.argument("recording", type=click.Path(dir_okay=False))
@click.option("--speed", type=float, default=0, help="Replay at the original pace divided by this (0 = instant).")
@click.option("--json", "as_json", is_flag=True)
def replay_cmd(recording, speed, as_json):
    """Play back a recorded run (no LocalStack needed)."""
    sc = _scenarios()
    try:
        reports = sc.replay(recording, listener=None if as_json else print_event, speed=speed)
    except sc.ReplayError as e:
        raise SandboxError(str(e)) from None
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in reports], indent=2, default=str))
    sys.exit(0 if all(r.passed for r in reports) else 1)


COMMANDS = [scenario_group, replay_cmd]
