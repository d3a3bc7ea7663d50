"""The web TUI's server: textual-serve's browser terminal on 127.0.0.1, every path behind the guard (guard.py).

One browser tab is one TUI process (`python -m sandbox.cli <the CLI's global options> tui`), started when its
websocket connects, in a session of its own: it gets exactly the sandbox the CLI options name, and when the tab
closes or the server stops, its whole process group is ended (asked to quit, then SIGTERM, then SIGKILL). On Linux
each also dies with the server (parent-death signal) should the server itself be killed.

textual-serve (pinned in uv.lock) is used for its page, its static files and its process protocol; its own
`Server.serve` is not: it binds where told with no checks and starts the app through a shell.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import jinja2
from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server

from sandbox.security.policy import Request
from sandbox.web_tui.guard import HEADERS, decide

log = logging.getLogger("sandbox.web_tui")
QUIT_GRACE_SECONDS = 3.0  # how long a TUI may take to quit when asked before it is terminated
# textual-serve's page fetches its font from a CDN: the sandbox works offline and its pages call no one, so the
# font comes from textual-serve's own static files instead.
_CDN_FONT = re.compile(r'<link\s+rel="stylesheet"\s+href="https://fonts\.googleapis\.com[^"]*"\s*/>', re.S)


def _die_with_server() -> None:  # runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        from sandbox.lambda_process.environment.confine import die_with_parent

        die_with_parent(signal.SIGKILL)


class TuiProcess(AppService):
    """One browser tab's TUI: started without a shell, in its own session, and ended with its whole group."""

    argv: list[str] = []

    async def _open_app_process(self, width: int = 80, height: int = 24):
        self._process = process = await asyncio.create_subprocess_exec(
            *self.argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=self._build_environment(width=width, height=height),
            start_new_session=True, preexec_fn=_die_with_server)
        self._stdin = process.stdin
        return process

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def stop(self) -> None:
        """Asks the TUI to quit; its process group is terminated if it has not within QUIT_GRACE_SECONDS."""
        try:
            await asyncio.wait_for(super().stop(), QUIT_GRACE_SECONDS)
        except (TimeoutError, Exception):  # noqa: BLE001 - whatever happened, the processes go below
            pass
        await self.kill_group()

    async def kill_group(self) -> None:
        process = self._process
        if process is None:
            return
        for sig, wait in ((signal.SIGTERM, 2.0), (signal.SIGKILL, 2.0)):
            try:
                os.killpg(process.pid, sig)  # the group's id is the TUI's pid (start_new_session)
            except ProcessLookupError:
                break
            try:
                await asyncio.wait_for(process.wait(), wait)
            except TimeoutError:
                continue
        if process.returncode is None:
            await process.wait()


class WebTui(Server):
    """Serves the TUI at http://127.0.0.1:<port>/<token>/ to the browser tabs of this machine."""

    def __init__(self, argv: list[str], port: int = 0, token: str | None = None, title: str = "Serverless Sandbox"):
        super().__init__(command=" ".join(argv), host="127.0.0.1", port=port, title=title)
        self.argv = list(argv)
        self.token = token or secrets.token_urlsafe(24)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))  # loopback only, whatever else the machine has
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/{self.token}/"
        self.processes: set[TuiProcess] = set()
        self._page = jinja2.Environment(loader=jinja2.FileSystemLoader(self.templates_path),
                                        autoescape=True).get_template("app_index.html")

    # --- the guard -------------------------------------------------------------------------------------------
    @web.middleware
    async def guard(self, request: web.Request, handler: Callable) -> web.StreamResponse:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        verdict = decide(Request(request.method, request.path, dict(request.headers), dict(request.query),
                                 peer[0] if peer else ""), self.port, self.token)
        if not verdict.allowed:
            # on the terminal, quoted: a page chooses the path and the headers, escape sequences included
            log.warning("refused %s %r: %r", request.method, request.raw_path[:60], verdict.reason)
            response = web.Response(status=verdict.status, text=verdict.reason + "\n",
                                    headers={"X-Sandbox-Refused": verdict.kind})
        else:
            response = await handler(request)
        if not response.prepared:  # a websocket's headers went out with the upgrade
            response.headers.update(HEADERS)
        return response

    async def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self.guard])
        base = f"/{self.token}"
        app.add_routes([
            web.get(base, self.handle_bare_token),
            web.get(f"{base}/", self.handle_index),
            web.get(f"{base}/ws", self.handle_websocket),
            web.static(f"{base}/static", self.statics_path),
        ])
        app.on_shutdown.append(self.on_shutdown)
        return app

    async def handle_bare_token(self, request: web.Request) -> web.Response:
        raise web.HTTPFound(f"/{self.token}/")

    async def handle_index(self, request: web.Request) -> web.Response:
        host = request.headers["Host"]  # checked by the guard: this machine, as the browser named it
        html = self._page.render(
            font_size=min(64, max(6, _int(request.query.get("fontsize"), 16))),
            app_websocket_url=f"ws://{host}/{self.token}/ws",
            config={"static": {"url": f"/{self.token}/static/"}},
            application={"name": self.title}, ping_url="")
        font = (f"<style>@font-face {{ font-family: 'Roboto Mono'; "
                f"src: url('/{self.token}/static/fonts/RobotoMono-VariableFont_wght.ttf'); }}</style>")
        return web.Response(text=_CDN_FONT.sub(font, html), content_type="text/html")

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """One TUI process per connection, ended with the connection (textual-serve's, with our process)."""
        websocket = web.WebSocketResponse(heartbeat=15)
        width = _int(request.query.get("width"), 80)
        height = _int(request.query.get("height"), 24)
        service: TuiProcess | None = None
        try:
            await websocket.prepare(request)
            service = TuiProcess(self.command, write_bytes=websocket.send_bytes, write_str=websocket.send_str,
                                 close=websocket.close, download_manager=self.download_manager)
            service.argv = self.argv
            self.processes.add(service)
            await service.start(width, height)
            await self._process_messages(websocket, service)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception as error:  # noqa: BLE001 - one tab's trouble must not stop the server
            log.warning("web TUI connection failed: %s", error)
        finally:
            if service is not None:
                await service.stop()
                self.processes.discard(service)
        return websocket

    async def on_shutdown(self, app: web.Application) -> None:
        await self.stop_processes()

    async def stop_processes(self) -> None:
        await asyncio.gather(*(p.stop() for p in list(self.processes)), return_exceptions=True)
        self.processes.clear()

    # --- running ---------------------------------------------------------------------------------------------
    async def run(self, ready: Callable[[str], None] | None = None, stop: asyncio.Event | None = None) -> None:
        """Serves until `stop` is set (or SIGINT/SIGTERM); every TUI process has ended when this returns."""
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread (tests), Windows
                pass
        runner = web.AppRunner(await self._make_app(), handle_signals=False, access_log=None)
        await runner.setup()
        try:
            await web.SockSite(runner, self.sock).start()
            if ready is not None:
                ready(self.url)
            await stop.wait()
        finally:
            await self.stop_processes()
            await runner.cleanup()
            self.sock.close()


def _int(value: str | None, default: int) -> int:
    try:
        return max(1, min(1000, int(value))) if value is not None else default
    except ValueError:
        return default


def tui_argv(state_dir: Path, region: str, endpoint: str | None, allow_remote: bool,
             replay: str | None = None) -> list[str]:
    """The command of one tab's TUI: this Python, the CLI, with the options that name the same sandbox."""
    argv = [sys.executable, "-m", "sandbox.cli", "--state-dir", str(state_dir), "--region", region]
    if endpoint:
        argv += ["--endpoint", endpoint]
    if allow_remote:
        argv.append("--allow-remote")
    argv.append("tui")
    if replay is not None:
        argv += ["--replay", str(Path(replay).resolve())]
    return argv
