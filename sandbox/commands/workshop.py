"""`sandbox workshop host`: the instructor's board - one row per attendee, one column per task, who is stuck.

The server and the board's model live in scenarios.workshop; the screen in tui/workshop. This module wires them.
"""

from __future__ import annotations

import click

from sandbox.errors import SandboxError


@click.group()
def workshop():
    """Run a workshop: an instructor's board of every attendee's lab progress."""


@workshop.command()
@click.option("--bind", "bind", default="127.0.0.1", show_default=True, metavar="ADDR",
              help="The address to listen on. Attendees on other laptops need one they can reach (your Wi-Fi "
                   "address, or 0.0.0.0 for every interface); the default serves this machine only.")
@click.option("--port", default=8700, show_default=True, type=click.IntRange(0, 65535),
              help="The port to listen on (0: any free one).")
@click.option("--token", "token", default=None, help="The workshop token (default: a new random one).")
def host(bind, port, token):
    """Show the board and take attendees' results (`sandbox lab join URL --name NAME --token TOKEN`)."""
    from scenarios.labs import all_labs
    from scenarios.workshop.board import Board
    from scenarios.workshop.host import BoardServer, new_token

    board = Board({lab.id: tuple(t.id for t in lab.tasks) for lab in all_labs()})
    token = token or new_token()
    try:
        server = BoardServer(board, token, bind=bind, port=port)
    except OSError as e:
        raise SandboxError(f"cannot listen on {bind}:{port} ({e.strerror or e}): choose another --port, or an "
                           "address of this machine for --bind") from None
    join = f"sandbox lab join {server.url} --name YOUR-NAME --token {token}"
    click.echo(f"board listening on {server.url} (bound to {bind})")
    if bind == "127.0.0.1":
        click.echo("  only this machine can report; attendees on other laptops need `--bind` with an address they "
                   "reach (e.g. your Wi-Fi address)")
    click.echo(f"token: {token}\nattendees run:\n  {join}")
    server.start()
    try:
        from tui.workshop.app import BoardApp
    except ImportError as e:
        raise SandboxError(f"the board needs textual ({e}): run `uv sync`") from None
    try:
        BoardApp(board, server.url, token).run()
    finally:
        server.stop()
    click.echo(join)


COMMANDS = [workshop]
