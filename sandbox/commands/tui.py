"""`sandbox tui [--replay FILE]` (and `sandbox` with no command): the terminal UI of tui/app.py."""

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

        app = SandboxApp(sandbox=get_sandbox(settings))
    app.run()
    hint = app.backend.exit_hint()
    if hint:
        click.echo(hint)
    if app.return_code:
        raise SystemExit(app.return_code)


@click.command("tui")
@click.option("--replay", "replay", metavar="FILE", type=click.Path(dir_okay=False),
              help="Show a recorded run (.sandbox/runs/*.jsonl): narrative, checks, reports, spans, logs. "
                   "No LocalStack needed.")
@click.pass_obj
def tui_cmd(settings, replay):
    """The terminal UI: scenarios, DLQs, faults, logs, request flow, patterns, cost, workshop labs."""
    launch_tui(settings, replay)


COMMANDS = [tui_cmd]
