"""`sandbox` command line: up, down, status, logs, reset, env — over the Python API in `sandbox.api`."""

from __future__ import annotations

import errno
import functools
import json
import os
import sys
import time
from pathlib import Path

import click
import requests
from botocore.exceptions import EndpointConnectionError

from sandbox import interrupts
from sandbox.commands.common import get_sandbox, parse_params
from sandbox.embedded import tail
from sandbox.errors import SandboxError
from sandbox.safety import UnsafeEndpointError
from sandbox.settings import Settings, SpeedKnobs


# The group's own options, and whether each takes a value: accepted after the subcommand too (as the AWS CLI does),
# `sandbox up --state-dir X` as well as `sandbox --state-dir X up`, unless that command has an option of the name.
GLOBAL_OPTIONS = {"--state-dir": True, "--endpoint": True, "--allow-remote": False, "--region": True}


def _option_names(command: click.Command) -> set[str]:
    names = {o for p in command.params for o in (*getattr(p, "opts", ()), *getattr(p, "secondary_opts", ()))}
    for sub in getattr(command, "commands", {}).values():
        names |= _option_names(sub)
    return names


# errno values of a state dir that cannot be written: read-only, not ours, full
WRITE_ERRORS = {errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT}


def _within(path: Path, folder: Path) -> bool:
    """`path` is `folder` or inside it (both made absolute, links not followed: the folder may not exist yet)."""
    path, folder = Path(os.path.abspath(path)), Path(os.path.abspath(folder))
    return path == folder or folder in path.parents


class SandboxGroup(click.Group):
    """Turns the sandbox's own errors into one clear line and exit code 1, instead of a traceback; takes the global
    options wherever they are written."""

    def parse_args(self, ctx, args):
        args = list(args)
        i = 0
        while i < len(args) and args[i].startswith("-"):  # the global options before the subcommand
            name = args[i].split("=", 1)[0]
            i += 2 if GLOBAL_OPTIONS.get(name) and "=" not in args[i] else 1
        command = self.get_command(ctx, args[i]) if i < len(args) else None
        if command is None:
            return super().parse_args(ctx, args)
        own, moved, rest, j = _option_names(command), [], [], i + 1
        while j < len(args):
            name = args[j].split("=", 1)[0]
            if args[j] == "--":
                rest += args[j:]
                break
            if name in GLOBAL_OPTIONS and name not in own:
                width = 2 if GLOBAL_OPTIONS[name] and "=" not in args[j] else 1
                moved += args[j:j + width]
                j += width
                continue
            rest.append(args[j])
            j += 1
        return super().parse_args(ctx, args[:i] + moved + [args[i]] + rest)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (SandboxError, UnsafeEndpointError) as e:
            click.secho(f"error: {e}", fg="red", err=True)
            sys.exit(1)
        except OSError as e:
            settings = ctx.obj if isinstance(ctx.obj, Settings) else None
            if e.errno not in WRITE_ERRORS or not e.filename or settings is None or \
                    not _within(Path(str(e.filename)), Path(settings.state_dir)):
                raise
            # a read-only or full state dir: one line that names the file, not a traceback (found by a probe)
            click.secho(f"error: cannot write {e.filename}: {e.strerror}. The sandbox keeps its state in its state "
                        "dir: pass a writable one (--state-dir DIR or SANDBOX_STATE_DIR), or fix its permissions or "
                        "free space.", fg="red", err=True)
            sys.exit(1)
        except EndpointConnectionError as e:  # a command that calls AWS before checking that the sandbox runs
            click.secho(f"error: No sandbox is answering at {e.kwargs.get('endpoint_url') or 'its endpoint'}: start "
                        f"it with `sandbox up` (or check --state-dir / --endpoint).", fg="red", err=True)
            sys.exit(1)
        except KeyboardInterrupt as e:  # Ctrl-C in any command: one line, no traceback, no "Aborted!"
            interrupts.ignore_from_now_on()
            # a command may say what its interruption leaves (`e.sandbox_note`)
            _say((e.what if isinstance(e, interrupts.Interrupted) else "Interrupted") + getattr(e, "sandbox_note", ""))
            sys.exit(e.exit_code if isinstance(e, interrupts.Interrupted) else 130)


@click.group(cls=SandboxGroup, invoke_without_command=True)
@click.option("--state-dir", type=click.Path(file_okay=False), help="Where state lives (default ./.sandbox).")
@click.option("--endpoint", help="Use an already running LocalStack at this URL (external backend).")
@click.option("--allow-remote", is_flag=True,
              help="Allow an --endpoint that is not on loopback; with `up`, serve the network too (token required).")
@click.option("--region", help="Default AWS region (default us-east-1).")
@click.pass_context
def main(ctx, state_dir, endpoint, allow_remote, region):
    """Serverless Sandbox: serverless on AWS, offline, on an embedded LocalStack."""
    settings = Settings()
    if state_dir:
        settings.state_dir = Settings(state_dir=state_dir).state_dir
    if endpoint:
        settings.endpoint = endpoint
    if allow_remote:
        settings.allow_remote = True
    if region:
        settings.region = region
    ctx.obj = settings
    if ctx.invoked_subcommand is None:
        from sandbox.commands.tui import launch_tui

        launch_tui(settings)  # `sandbox` alone opens the TUI (it starts the sandbox if none is running)




def _speed_switches_help() -> str:
    from sandbox.settings import SPEED_SWITCHES

    width = max(len(name) for name in SPEED_SWITCHES) + 3
    lines = [f"  {f'{name}={default}':<{width}} {what}" for name, (default, what) in SPEED_SWITCHES.items()]
    return "\b\nSpeed switches (environment variables, default shown; docs/benchmarks.md):\n" + "\n".join(lines)


@main.command(epilog=_speed_switches_help())
@click.option("--port", type=int, help="Port on 127.0.0.1 (default 4566).")
@click.option("--retry-base-delay", type=int, help="Seconds before the first async Lambda retry (AWS ~60).")
@click.option("--keepalive-ms", type=int, help="How long idle Lambda environments stay warm.")
@click.option("--esm-poll-interval", type=float,
              help="Seconds an event source mapping waits after a poll that found records (default 0).")
@click.option("--esm-max-empty-backoff", type=float,
              help="Longest pause of an event source mapping after empty polls, in seconds (default 1).")
@click.option("--allow-origin", "allow_origins", multiple=True, metavar="ORIGIN",
              help="A local web app that may call the sandbox from a browser, e.g. http://localhost:5173 (repeatable).")
@click.option("--no-recorder", is_flag=True,
              help="Record no spans (no events, traces, service map or cost): a little faster. "
                   "`sandbox recorder --off/--on` pauses it in a running sandbox.")
@click.option("--persist", is_flag=True,
              help="Keep the state across `down`: saved into STATE_DIR/persisted at `down`, loaded by the next "
                   "`up --persist` (stacks, functions, tables, queues and messages, buckets, state machines, rules).")
@click.option("--timeout", type=float, default=90, show_default=True, help="Seconds to wait for healthy.")
@click.option("--deploy", "deploy_names", metavar="all|NAME[,NAME]",
              help="Also deploy built-in patterns (`all`, or a comma-separated list).")
@click.pass_obj
def up(settings: Settings, port, retry_base_delay, keepalive_ms, esm_poll_interval, esm_max_empty_backoff,
       allow_origins, no_recorder, persist, timeout, deploy_names):
    """Start the sandbox in the background and wait until it is healthy."""
    if port:
        settings.port = port
    if allow_origins:
        settings.allowed_origins = list(allow_origins)
    knobs: SpeedKnobs = settings.knobs
    if retry_base_delay is not None:
        knobs.lambda_retry_base_delay = retry_base_delay
    if keepalive_ms is not None:
        knobs.lambda_keepalive_ms = keepalive_ms
    if esm_poll_interval is not None:
        knobs.esm_poll_interval = esm_poll_interval
    if esm_max_empty_backoff is not None:
        knobs.esm_max_empty_backoff = esm_max_empty_backoff
    if no_recorder:
        settings.recorder = False
    if persist:
        settings.persist = True
    sb = get_sandbox(settings)
    if settings.external and persist:
        raise SandboxError("--persist keeps the state of the embedded sandbox; an external LocalStack (--endpoint) "
                           "keeps what its own configuration keeps (e.g. PERSISTENCE=1 in LocalStack Pro).")
    if settings.external:
        sb.up()
        click.echo(f"external backend at {sb.endpoint} is up")
        return
    # Ctrl-C, SIGTERM or SIGHUP (terminal closed) at any moment: what this command started is stopped, one line says
    # so (sandbox/interrupts.py; the clean-up of a LocalStack still starting is in embedded.py).
    with interrupts.interruptible():
        before = sb.embedded.instance()
        try:
            if not before:
                click.echo(f"starting LocalStack on 127.0.0.1:{settings.port} (state in {settings.state_dir}) ...",
                           err=True)
            inst, seconds, started = sb.up(timeout=timeout, on_progress=lambda msg: click.echo(msg, err=True))
            if not started:
                click.echo(f"already running at {inst.endpoint} (pid {inst.pid})")
                if port and port != inst.port:
                    click.secho(f"note: it runs on port {inst.port}, not {port}: `sandbox down` first to move it, "
                                "or `--state-dir` elsewhere for a second sandbox", fg="yellow", err=True)
                if notice := sb.not_persisting_notice():
                    click.secho(notice, fg="yellow", err=True)
            else:
                click.echo(f"sandbox ready at {inst.endpoint} in {seconds:.1f}s (pid {inst.pid})")
                _say_persistence(sb, settings, inst)
            if inst.listen.startswith("0.0.0.0"):
                click.secho(f"warning: serving every network interface on port {inst.port} (--allow-remote). "
                            "Remote clients must sign with the key `sandbox env --remote HOST` prints; anyone "
                            "holding it can run code on this machine.", fg="yellow", err=True)
            if deploy_names:
                _deploy_patterns(sb, [n.strip() for n in deploy_names.split(",") if n.strip()])
        except KeyboardInterrupt as e:
            interrupts.ignore_from_now_on()
            now = sb.embedded.instance()
            ours = now is not None and (before is None or now.pid != before.pid)
            if ours:  # ready, then interrupted (e.g. while deploying patterns): stopped too, this command started it
                sb.down()
            what = e.what if isinstance(e, interrupts.Interrupted) else "Interrupted"
            _say(f"{what}: the sandbox that was already running is still running" if before and not ours
                 else f"{what}: stopped the sandbox that was starting")
            sys.exit(e.exit_code if isinstance(e, interrupts.Interrupted) else 130)


def _say_persistence(sb, settings: Settings, inst) -> None:
    saved = sb.embedded.saved_state()
    where = settings.state_dir / "persisted"
    if inst.persist:
        try:
            loaded = (sb.http.get(f"{sb.endpoint}/_sandbox/inventory", timeout=10).json().get("loaded") or {}) \
                if saved else {}
        except (requests.RequestException, ValueError):
            loaded = {}
        if saved:
            counts = _counts(loaded.get("inventory") or {})
            click.echo(f"state loaded from {where}" + (f": {counts}" if counts else " (it was empty)"))
            for service, error in (loaded.get("failed") or {}).items():
                click.secho(f"warning: the saved state of {service} could not be loaded ({error}); see `sandbox logs`",
                            fg="yellow", err=True)
        else:
            click.echo(f"state persists: `sandbox down` saves it into {where}, the next `sandbox up --persist` loads it")
    elif saved:
        click.echo(sb.kept_state_notice())


def _counts(inventory: dict) -> str:
    """'3 stacks, 2 tables, 14 queued messages' (singular where it is one)."""
    from sandbox.api import in_words

    return in_words(inventory)


def _say(line: str) -> None:
    """One line on stderr that may find no terminal (SIGHUP: it was closed); after the `^C` a terminal echoes, on a
    line of its own."""
    try:
        click.echo(("\n" if line.startswith("Interrupted") and sys.stderr.isatty() else "") + line, err=True)
    except OSError:
        pass


def _deploy_patterns(sb, names: list[str]) -> None:
    from sandbox.deploy import DeployError

    try:
        results, seconds = sb.deploy_patterns(
            names, on_progress=lambda name, msg: click.echo(f"  {name:<16} {msg}", err=True))
    except DeployError as e:
        raise SandboxError(str(e)) from None
    click.echo(f"deployed {len(results)} pattern(s) in {seconds:.1f}s")
    for result in results:
        for key, value in result.outputs.items():
            if key.endswith(("Url", "Bucket", "BusName")):
                click.echo(f"  {result.stack_name}.{key}: {value}")


@main.command()
@click.pass_obj
def down(settings: Settings):
    """Stop the sandbox and every process it started."""
    sb = get_sandbox(settings)
    stopped = None
    try:
        # a Ctrl-C (or SIGTERM) while stopping waits for the stop to finish: nothing is left half-stopped, and the
        # state of a --persist sandbox is saved whole
        with interrupts.interruptible(), interrupts.shielded():
            stopped = sb.down()
    except KeyboardInterrupt:
        if stopped is None:
            raise
    parts = []
    if stopped["localstack"]:
        parts.append(f"LocalStack (pid {stopped['localstack']})")
    if stopped["lambda_processes"]:
        environments = stopped.get("lambda_environments") or 0
        parts.append(f"{environments} Lambda environment(s) ({len(stopped['lambda_processes'])} processes: each a "
                     f"supervisor and its runtime; pids {', '.join(map(str, sorted(stopped['lambda_processes'])))})")
    for key, what in (("fork_servers", "Lambda fork server(s)"),
                      ("leftovers", "leftover process(es) of an earlier run")):
        if stopped[key]:
            parts.append(f"{len(stopped[key])} {what} (pids {', '.join(map(str, stopped[key]))})")
    if not parts:
        other = None if settings.external else (sb.info() or {}).get("state_dir")
        if other and Path(other).resolve() != Path(settings.state_dir).resolve():
            raise SandboxError(f"nothing was running from {settings.state_dir}, but port {settings.port} is a "
                               f"sandbox started from {other}: stop it with `sandbox --state-dir {other} down`")
    click.echo(("stopped " + ", ".join(parts)) if parts else "nothing was running")
    if stopped["localstack"]:
        counts = _counts(stopped.get("inventory") or {})
        saved = stopped.get("saved")
        where = settings.state_dir / "persisted"
        if stopped.get("persist") and saved:
            click.echo(f"state saved in {where}" + (f": {_counts(saved.get('inventory') or {})}"
                                                     if saved.get("inventory") else " (it was empty)")
                       + "; `sandbox up --persist` loads it")
            for service, error in (saved.get("failed") or {}).items():
                click.secho(f"warning: the state of {service} could not be saved ({error}): it is lost",
                            fg="yellow", err=True)
        elif stopped.get("persist"):
            previous = stopped.get("previous_save")
            kept = (f"the save from {time.strftime('%Y-%m-%d %H:%M', time.localtime(previous['saved_at']))} in "
                    f"{where} is kept") if previous else "nothing is saved"
            click.secho(f"warning: the state could not be saved this time ({kept}): see `sandbox logs`",
                        fg="yellow", err=True)
        elif counts:
            click.echo(f"discarded: {counts} (state lives in memory; `sandbox up --persist` keeps it across `down`)")
        elif stopped.get("inventory") is None:  # it did not answer: what it held is unknown, and gone all the same
            click.echo("whatever was deployed in it is discarded (state lives in memory; `sandbox up --persist` "
                       "keeps it across `down`)")
        else:
            click.echo("nothing had been deployed in it")
        click.echo(f"recordings and spans stay in {settings.state_dir}")
    if stopped.get("forced"):
        click.secho(f"warning: LocalStack did not stop within 20 s and was killed; what its threads were doing is "
                    f"at the end of its log: {settings.state_dir / 'localstack.log'}", fg="yellow", err=True)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def status(settings: Settings, as_json):
    """Is the sandbox running, where, and with which services."""
    sb = get_sandbox(settings)
    st = sb.status()
    if as_json:
        click.echo(json.dumps(st, indent=2))
        return
    if not st["running"]:
        click.echo(f"not running ({st['backend']} backend, {st['endpoint']})")
        last = None if settings.external else sb.embedded.last_port()
        saved = None if settings.external else sb.embedded.saved_state()
        persist = " --persist" if saved else ""  # `up` without it starts empty and leaves the saved state unused
        if last is not None and last != settings.port:
            click.echo(f"this state dir's sandbox last ran on port {last}: `sandbox up{persist} --port {last}` starts "
                       "it there" + (" with the state it saved" if saved else ""))
        elif saved:
            click.echo(f"a state saved by `down` is in {settings.state_dir / 'persisted'}: `sandbox up --persist` "
                       "loads it")
        if st.get("other_state_dir"):
            click.echo(f"but port {settings.port} is a sandbox started from {st['other_state_dir']}: "
                       f"`sandbox --state-dir {st['other_state_dir']} status` (or `down`) manages it")
        sys.exit(3)
    click.echo(f"running: {st['backend']} backend at {st['endpoint']}" + (f" (pid {st['pid']})" if st["pid"] else ""))
    if "lambda_processes" in st:
        click.echo(f"lambda environments: {len(st['lambda_processes'])}")
    if st.get("backend") == "embedded":
        click.echo("state: saved at `down`, loaded by `up --persist`" if st.get("persist")
                   else "state: discarded at `down` (`sandbox up --persist` keeps it)")
    if st.get("listen"):
        exposure = "every interface (--allow-remote, token required)" if st["listen"].startswith("0.0.0.0") \
            else "loopback only"
        origins = f"; web apps allowed: {', '.join(st['allowed_origins'])}" if st.get("allowed_origins") else ""
        click.echo(f"listening on {st['listen']}: {exposure}{origins}")
    refused = st.get("refused_requests") or {}
    if refused.get("total"):
        last = refused["recent"][-1] if refused.get("recent") else {}
        click.echo(f"refused requests: {refused['total']} ({', '.join(f'{k} {v}' for k, v in refused['by_kind'].items())}); "
                   f"latest: {last.get('method')} {last.get('path')} - {last.get('reason')}")
    confinement = st.get("lambda_confinement") or {}
    if confinement.get("environments"):
        click.echo(f"function confinement: {', '.join(confinement['applied']) or 'none'}"
                   + (f" (not available: {'; '.join(confinement['problems'])})" if confinement.get("problems") else ""))
    if st.get("lambda_runtimes"):
        click.echo("lambda runtimes: " + ", ".join(
            f"{r['runtime']} -> {r['version']}" + ("" if r["exact"] else " (nearest)") for r in st["lambda_runtimes"]))
    available = sorted(k for k, v in st["services"].items() if v in ("available", "running"))
    click.echo(f"services: {', '.join(available)}")


@main.command()
@click.argument("functions", nargs=-1, metavar="[FUNCTION]...")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines.")
@click.option("-n", "--lines", type=click.IntRange(min=0), default=100, show_default=True)
@click.option("--since", default=None, metavar="WHEN",
              help="With FUNCTION: only lines after this (10m, 2h, 1d, or an ISO time; default: the last hour).")
@click.pass_obj
def logs(settings: Settings, functions, follow, lines, since):
    """Show LocalStack's log, or with FUNCTION the CloudWatch Logs of those Lambda functions (as `sam logs -n`)."""
    if functions:
        _function_logs(settings, functions, follow, lines, since)
        return
    if since:
        raise SandboxError("--since reads function logs: name the function(s), e.g. `sandbox logs my-fn --since 10m`.")
    if settings.external:
        raise SandboxError("the external backend's log is where it runs (e.g. `docker compose logs -f`).")
    path = settings.state_dir / "localstack.log"
    if not path.exists():
        raise SandboxError(f"no log at {path}: the sandbox has not been started in this state directory.")
    click.echo(tail(path, lines))
    if not follow:
        return
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        try:
            while True:
                chunk = f.read()
                if chunk:
                    click.echo(chunk.decode("utf-8", "replace"), nl=False)
                else:
                    time.sleep(0.2)
        except KeyboardInterrupt:
            pass


def _function_named(name: str, known: set[str], by_logical_id) -> str:
    """`name` if a function (or a log group: /aws/...) has it; else the one function a stack made from the template's
    logical id `name`, as `sam logs -n` takes it (`by_logical_id()`: logical id -> the functions stacks made for it;
    CloudFormation's name keeps only 24 characters of the id)."""
    if name in known or name.startswith("/"):
        return name
    matches = sorted(by_logical_id().get(name, ()))
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise SandboxError(f"{name} is a function of several stacks: {', '.join(matches)}. Name one of them.")
    listed = ", ".join(sorted(known)) or "none deployed"
    raise SandboxError(f"no Lambda function named {name} (functions: {listed}).")


def _functions_by_logical_id(sb) -> dict[str, list[str]]:
    cfn = sb.client("cloudformation", observer=True)
    out: dict[str, list[str]] = {}
    for stack in sb.stacks():
        for resource in cfn.describe_stack_resources(StackName=stack["name"])["StackResources"]:
            if resource["ResourceType"] == "AWS::Lambda::Function" and resource.get("PhysicalResourceId"):
                out.setdefault(resource["LogicalResourceId"], []).append(resource["PhysicalResourceId"])
    return out


def _function_logs(settings: Settings, functions, follow: bool, lines: int, since: str | None) -> None:
    """The last `lines` lines of the functions' logs (merged in time order), then, with `follow`, new ones."""
    from sandbox.commands.observe import parse_since

    sb = get_sandbox(settings)
    sb.require_running()
    known = set(sb.functions())
    by_logical_id = functools.cache(lambda: _functions_by_logical_id(sb))  # asked once, and only for a name not known
    functions = [_function_named(f, known, by_logical_id) for f in functions]
    try:
        start = parse_since(since).get("since_ts") if since else time.time() - 3600
    except click.BadParameter:
        start = None
    if start is None:
        raise click.BadParameter(f"{since!r}: use a duration (30s, 10m, 2h, 1d) or an ISO time (2026-03-01T10:00).",
                                 param_hint="--since")
    several = len(functions) > 1

    def show(line) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime(line.time))
        prefix = f"{stamp} {line.function + ' ' if several else ''}"
        click.echo(prefix + line.text.replace("\n", "\n" + " " * len(prefix)))

    logs = sb.logs
    past, cursor = logs.poll(None, functions, since=start)  # the cursor: what was read is not shown again
    for line in past[-lines:] if lines > 0 else []:
        show(line)
    if not past:
        click.echo(f"no log lines of {', '.join(functions)} since {time.strftime('%H:%M:%S', time.localtime(start))}"
                   + (": waiting for new ones (Ctrl-C stops)" if follow else " (invoked yet? --since 1d looks further"
                                                                           " back)"), err=True)
    if not follow:
        return
    try:
        while True:
            new, cursor = logs.poll(cursor, functions)
            for line in new:
                show(line)
            time.sleep(1.0)
    except KeyboardInterrupt:
        pass


@main.command()
@click.pass_obj
def reset(settings: Settings):
    """Empty the running sandbox: every resource and Lambda environment gone, in seconds."""
    result = get_sandbox(settings).reset()
    click.echo(f"reset {len(result['reset'])} services in {result['seconds']:.2f}s")


@main.command()
@click.argument("target")
@click.option("--stack-name", help="Stack name (default: the pattern name or the template's folder).")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE",
              help="Template parameter (repeatable). On a stack that exists, a parameter not given keeps the stack's "
                   "value, as `sam deploy` does.")
@click.option("--region", "deploy_region", help="Region to deploy into.")
@click.option("--defaults", is_flag=True,
              help="Parameters not given take the template's defaults, not the stack's values (after a scenario "
                   "left a pattern in its variant's settings, say).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def deploy(settings: Settings, target, stack_name, params, deploy_region, defaults, as_json):
    """Deploy a SAM/CloudFormation template (file or folder) or a built-in pattern by name."""
    from sandbox.deploy import DeployError

    def show(ev):
        if not as_json:
            reason = f"  {ev.reason}" if ev.reason else ""
            colour = "red" if ev.failed else ("green" if ev.status.endswith("COMPLETE") else None)
            click.secho(f"  {ev.status:<22} {ev.resource_type:<36} {ev.logical_id}{reason}", fg=colour, err=True)

    sb = get_sandbox(settings)
    try:
        result = sb.deploy(target, stack_name=stack_name, parameters=parse_params(params), region=deploy_region,
                           on_event=show, keep_previous=not defaults)
    except KeyboardInterrupt as e:
        e.sandbox_note = (": a stack already handed to CloudFormation goes on deploying in the sandbox (`sandbox "
                          "stacks` shows it; a new `sandbox deploy` waits for it, `sandbox destroy NAME` removes it)")
        raise
    except DeployError as e:
        if as_json:
            click.echo(json.dumps({"error": str(e), "failures": e.failures}, indent=2))
        raise SandboxError(str(e)) from None
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
        return
    verb = "deployed" if result.changed else "unchanged:"
    click.echo(f"{verb} stack {result.stack_name} ({result.status}) in {result.seconds:.1f}s")
    if result.kept:
        kept = ", ".join(f"{k}={v}" for k, v in result.kept.items())
        click.echo(f"  kept from the stack, not the template's default: {kept} (--param KEY=VALUE to change one, "
                   "--defaults for the template's defaults)")
    for warning in result.warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    for key, value in result.outputs.items():
        click.echo(f"  {key}: {value}")
    for key, url in result.apis.items():
        click.echo(f"  API {key}: {url}")


@main.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def stacks(settings: Settings, as_json):
    """List deployed stacks with their outputs."""
    sb = get_sandbox(settings)
    sb.require_running()
    found = sb.stacks()
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    if not found:
        click.echo("no stacks")
    for st in found:
        click.echo(f"{st['name']}  {st['status']}")
        for key, value in st["outputs"].items():
            click.echo(f"  {key}: {value}")


@main.command()
@click.argument("stack_name")
@click.pass_obj
def destroy(settings: Settings, stack_name):
    """Delete a deployed stack and everything in it."""
    from sandbox.deploy import DeployError

    sb = get_sandbox(settings)
    sb.require_running()
    try:
        found = sb.destroy(stack_name, on_event=lambda ev: click.echo(
            f"  {ev.status}: {ev.reason}", err=True))
    except DeployError as e:
        raise SandboxError(str(e)) from None
    if not found:
        raise SandboxError(f"no stack named {stack_name!r} (see `sandbox stacks`)")
    click.echo(f"destroyed stack {stack_name}")


@main.command()
@click.pass_obj
def patterns(settings: Settings):
    """List the built-in patterns (deploy one with `sandbox deploy NAME`)."""
    from sandbox.deploy import list_patterns

    for p in list_patterns():
        click.echo(f"{p.name:<18} {p.description.splitlines()[0] if p.description else ''}")


@main.command()
@click.option("--remote", "remote_host", metavar="HOST",
              help="Exports for another machine, reaching this one as HOST (a sandbox started with --allow-remote).")
@click.pass_obj
def env(settings: Settings, remote_host):
    """Print exports that point AWS CLIs (awslocal, aws) at the sandbox: eval "$(sandbox env)"."""
    import shlex

    exports = get_sandbox(settings).aws_env(remote_host=remote_host)
    # a profile of the shell (possibly one that does not exist) would win over the exported keys
    click.echo("unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN")
    for k, v in exports.items():
        click.echo(f"export {k}={shlex.quote(v)}")


from sandbox.commands import register  # noqa: E402 - the feature commands attach to `main`

register(main)

if __name__ == "__main__":
    main()
