"""`sandbox tui [--replay FILE] [--web [--port N]]` (and `sandbox` with no command): the terminal UI of tui/app.py,
in the terminal or (`--web`) in a browser on this machine (sandbox/web_tui/)."""

from __future__ import annotations

from pathlib import Path

import click

from sandbox.errors import SandboxError


def launch_tui(settings, replay: str | None = None) -> None:
    """Runs the TUI in the foreground: on the CLI's sandbox (started if needed, off the UI thread), or on a
    recording with no LocalStack at all."""
    try:
        from tui.app import SandboxApp
    except ImportError as e:  # textual missing from a partial install
        raise SandboxError(f"the TUI needs textual ({e}): run `uv sync`") from None
    if replay is not None:
        if not Path(replay).is_file():
            raise SandboxError(f"no recording at {replay} (recordings are in .sandbox/runs/)")
        app = SandboxApp(replay=replay)
    else:
        from sandbox.commands.common import get_sandbox

        app = SandboxApp(sandbox=get_sandbox(settings))  # it says what `sandbox up` would (tui/backend.py)
    app.run()
    for line in app.exit_lines():  # a run it stopped on quitting, that the sandbox it started still runs
        click.echo(line)
    if app.return_code:
        raise SystemExit(app.return_code)


def serve_web_tui(settings, replay: str | None, port: int | None) -> None:
    """Serves the TUI to browser tabs on 127.0.0.1 until Ctrl-C. The sandbox is started here first (not by each
    tab), so stopping the server ends every TUI process and leaves the sandbox as `sandbox tui` would."""
    import asyncio

    from sandbox.web_tui.server import WebTui, tui_argv

    started_here = False
    if replay is not None:
        if not Path(replay).is_file():
            raise SandboxError(f"no recording at {replay} (recordings are in .sandbox/runs/)")
    else:
        from sandbox.commands.common import get_sandbox

        sb = get_sandbox(settings)
        if settings.external:
            sb.require_running()
        elif notice := sb.not_persisting_notice():
            click.secho(notice, fg="yellow", err=True)
        elif not sb.embedded.instance():
            click.echo(f"starting LocalStack (state in {settings.state_dir}) ...", err=True)
            inst, _, started_here = sb.up(on_progress=lambda msg: click.echo(msg, err=True))
            notice = sb.kept_state_notice() if started_here and not inst.persist else None
            if notice:  # as `sandbox up` says it
                click.echo(notice, err=True)
    try:
        server = WebTui(tui_argv(settings.state_dir, settings.region, settings.endpoint, settings.allow_remote,
                                 replay), port=port or 0)
    except OSError as e:
        raise SandboxError(f"cannot listen on 127.0.0.1:{port}: {e.strerror or e} (another --port, or none for a "
                           "free one)") from None

    def ready(url: str) -> None:
        click.echo(f"The sandbox TUI is served at\n\n    {url}\n\n"
                   "Open it in a browser on this machine (the address is its password: every path needs the token). "
                   "Ctrl-C stops it.", err=False)

    asyncio.run(server.run(ready))
    click.echo("web TUI stopped; every TUI process it started has ended", err=True)
    if started_here:
        state = f" --state-dir {settings.state_dir}"
        click.echo(f"the sandbox is still running — `uv run sandbox{state} down` stops it", err=True)


@click.command("tui")
@click.option("--replay", "replay", metavar="FILE", type=click.Path(dir_okay=False),
              help="Show a recorded run (.sandbox/runs/*.jsonl): narrative, checks, reports, spans, logs. "
                   "No LocalStack needed.")
@click.option("--web", is_flag=True,
              help="Serve the TUI in a browser on 127.0.0.1 instead (a URL with a per-launch token is printed).")
@click.option("--port", type=int, help="With --web: the port on 127.0.0.1 (default: a free one).")
@click.option("--persist", is_flag=True,
              help="When the TUI starts the sandbox: as `sandbox up --persist` (loads the state a `--persist` "
                   "sandbox saved at `down`, and saves it at the next `down`).")
@click.pass_obj
def tui_cmd(settings, replay, web, port, persist):
    """The terminal UI: scenarios, DLQs, faults, logs, request flow, patterns, cost, workshop labs."""
    if port is not None and not web:
        raise SandboxError("--port is for --web (the terminal TUI listens nowhere)")
    if persist:
        if replay is not None or settings.external:
            raise SandboxError("--persist is for the embedded sandbox the TUI starts (not --replay, not --endpoint)")
        settings.persist = True
    if web:
        serve_web_tui(settings, replay, port)
    else:
        launch_tui(settings, replay)


COMMANDS = [tui_cmd]
