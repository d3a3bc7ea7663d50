"""`sandbox tui --web` (sandbox/web_tui/): the TUI in a browser tab, and the attacks a web page could try on it.

Each test starts the real command (`python -m sandbox.cli ... tui --web`) and talks to it as a browser would
(HTTP, then the websocket the page opens), with aiohttp. On a recording no LocalStack is needed; the last test
serves the session sandbox and checks the tab's TUI is connected to it.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import psutil
import pytest
import requests

RECORDING = Path(__file__).resolve().parent.parent / "data" / "replay-workflow-retries.jsonl"
ANSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]")


class Served:
    """A running `sandbox tui --web`: its process, URL, port and token."""

    def __init__(self, args: list[str], cwd: Path):
        self.proc = subprocess.Popen([sys.executable, "-m", "sandbox.cli", *args], cwd=cwd, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.output: list[str] = []
        deadline = time.monotonic() + 120
        self.url = None
        while self.url is None:
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError(f"the web TUI did not start: {''.join(self.output)}")
            self.output.append(line)
            found = re.search(r"http://127\.0\.0\.1:(\d+)/([A-Za-z0-9_-]+)/", line)
            if found:
                self.url, self.port, self.token = found.group(0), int(found.group(1)), found.group(2)
            assert time.monotonic() < deadline, "no URL printed"
        self.origin = f"http://127.0.0.1:{self.port}"

    def descendants(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def stop(self) -> str:
        """Ctrl-C, as in a terminal; the rest of the output."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        rest, _ = self.proc.communicate(timeout=30)
        return "".join(self.output) + rest


@pytest.fixture
def served(tmp_path):
    running: list[Served] = []

    def start(*args: str) -> Served:
        s = Served(list(args), tmp_path)
        running.append(s)
        return s

    yield start
    for s in running:
        if s.proc.poll() is None:
            s.proc.kill()
            s.proc.wait()


def get(url: str, **headers) -> requests.Response:
    session = requests.Session()
    session.trust_env = False
    return session.get(url, headers=headers, allow_redirects=False, timeout=10)


async def _screen_text(ws, wanted: str, timeout: float = 60) -> str:
    """What the tab's terminal received (escape sequences removed) once it contains `wanted`."""
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            message = await ws.receive(timeout=max(0.1, deadline - time.monotonic()))
        except TimeoutError:
            break
        if message.type == aiohttp.WSMsgType.BINARY:
            seen += message.data
        elif message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
            break
        text = ANSI.sub(b"", seen).decode("utf-8", "replace")
        if wanted in text:
            return text
    raise AssertionError(f"{wanted!r} never appeared on the tab's screen: {ANSI.sub(b'', seen)[-600:]!r}")


def test_web_tui_listens_on_loopback_only_and_needs_its_token(served):
    web = served("tui", "--web", "--replay", str(RECORDING))
    listening = [c for c in psutil.Process(web.proc.pid).net_connections("inet") if c.status == psutil.CONN_LISTEN]
    assert [(c.laddr.ip, c.laddr.port) for c in listening] == [("127.0.0.1", web.port)]
    page = get(web.url)
    assert page.status_code == 200 and f"ws://127.0.0.1:{web.port}/{web.token}/ws" in page.text
    assert "googleapis" not in page.text  # the page calls no one: its font is served here
    assert page.headers["Referrer-Policy"] == "no-referrer"  # the token never leaves as a Referer
    assert get(f"{web.url}static/js/textual.js").status_code == 200
    # Without the token: nothing, not even the static files. (Its last character changed, its letters' case.)
    near_misses = [web.token[:-1] + ("y" if web.token.endswith("x") else "x"), web.token.swapcase()]
    assert web.token not in near_misses  # a token that ended in "x" was once "changed" to itself
    for path in ("/", "/ws", "/static/js/textual.js", *(f"/{token}/" for token in near_misses)):
        refused = get(f"{web.origin}{path}")
        assert refused.status_code == 403 and refused.headers["X-Sandbox-Refused"] == "token", path
    # A DNS-rebinding page (its own name for 127.0.0.1), a cross-site request, a state change: refused.
    assert get(web.url, Host=f"attacker.example:{web.port}").headers["X-Sandbox-Refused"] == "host"
    assert get(web.url, Host=f"x.localhost:{web.port}").status_code == 403
    assert get(web.url, **{"Sec-Fetch-Site": "cross-site"}).headers["X-Sandbox-Refused"] == "cross-site"
    assert get(web.url, Origin="https://attacker.example").status_code == 403
    post = requests.post(web.url, data="x", timeout=10)
    assert post.status_code == 405
    assert get(f"http://localhost:{web.port}/{web.token}/").status_code == 200  # the other name of this machine
    web.stop()


def test_web_tui_websocket_checks_origin_and_stopping_leaves_no_process(served):
    web = served("tui", "--web", "--replay", str(RECORDING))
    ws_url = f"ws://127.0.0.1:{web.port}/{web.token}/ws?width=100&height=30"

    async def scenario() -> list[psutil.Process]:
        async with aiohttp.ClientSession() as session:
            # A page on another site opening the websocket (browsers always send its Origin): refused.
            for origin in ("https://attacker.example", "null", f"http://127.0.0.1:{web.port + 1}"):
                with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                    await session.ws_connect(ws_url, origin=origin)
                assert refused.value.status == 403, origin
            with pytest.raises(aiohttp.WSServerHandshakeError):
                await session.ws_connect(f"ws://127.0.0.1:{web.port}/ws", origin=web.origin)  # no token
            assert web.descendants() == []  # no refused connection started a TUI
            # The page itself: the TUI of the recording runs and draws.
            async with session.ws_connect(ws_url, origin=web.origin) as ws:
                await _screen_text(ws, "replay · replay-workflow-retries.jsonl")
                await ws.send_json(["stdin", "5"])  # a key typed in the tab reaches its TUI: the Flow tab
                await _screen_text(ws, "service, operation, resource", timeout=15)
                tuis = web.descendants()
                assert tuis and any("tui" in p.cmdline() and "--replay" in p.cmdline() for p in tuis)
                for p in tuis:  # a TUI listens nowhere
                    assert not [c for c in p.net_connections("inet") if c.status == psutil.CONN_LISTEN]
                # Ctrl-C while the tab is open.
                web.proc.send_signal(signal.SIGINT)
                return tuis

    tuis = asyncio.run(scenario())
    output = web.stop()
    assert web.proc.returncode == 0, output
    assert "every TUI process it started has ended" in output
    gone, alive = psutil.wait_procs(tuis, timeout=5)
    assert not alive, [p.cmdline() for p in alive]


def test_web_tui_closing_the_tab_ends_its_tui(served):
    web = served("tui", "--web", "--replay", str(RECORDING))

    async def scenario() -> list[psutil.Process]:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"ws://127.0.0.1:{web.port}/{web.token}/ws", origin=web.origin) as ws:
                await _screen_text(ws, "Serverless Sandbox")
                return web.descendants()

    tuis = asyncio.run(scenario())
    assert tuis
    gone, alive = psutil.wait_procs(tuis, timeout=15)
    assert not alive and web.proc.poll() is None  # the tab's TUI ended; the server serves on
    web.stop()


def test_web_tui_serves_the_sandbox_the_cli_options_name(sb, served):
    """The tab's TUI gets the CLI's --state-dir: it connects to that sandbox (its endpoint in the header)."""
    web = served("--state-dir", str(sb.settings.state_dir), "tui", "--web")
    assert "starting LocalStack" not in "".join(web.output)  # the session sandbox runs already

    async def scenario() -> list[psutil.Process]:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"ws://localhost:{web.port}/{web.token}/ws",
                                          origin=f"http://localhost:{web.port}") as ws:
                await _screen_text(ws, f"127.0.0.1:{sb.settings.port}", timeout=90)
                tuis = web.descendants()
                assert any(str(sb.settings.state_dir) in p.cmdline() for p in tuis)
                return tuis

    tuis = asyncio.run(scenario())
    output = web.stop()
    gone, alive = psutil.wait_procs(tuis, timeout=5)
    assert not alive and "still running" not in output  # it did not start that sandbox: nothing to say
    assert sb.is_running()


def test_web_tui_port_option(served):
    from click.testing import CliRunner

    from sandbox.cli import main
    from sandbox.embedded import free_port

    port = free_port()
    web = served("tui", "--web", "--port", str(port), "--replay", str(RECORDING))
    assert web.port == port and get(web.url).status_code == 200
    web.stop()
    result = CliRunner().invoke(main, ["tui", "--port", str(port)])
    assert result.exit_code == 1 and "--port is for --web" in result.output
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = CliRunner().invoke(main, ["tui", "--web", "--port", str(taken.getsockname()[1]),
                                         "--replay", str(RECORDING)])
    assert busy.exit_code == 1 and "cannot listen on 127.0.0.1" in busy.output, busy.output


def test_web_tui_killed_outright_takes_its_tuis_along(served):
    """kill -9 of the server (no chance to clean up): each TUI dies with it (parent-death signal, Linux)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the parent-death signal is Linux's")
    web = served("tui", "--web", "--replay", str(RECORDING))

    async def scenario() -> list[psutil.Process]:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"ws://127.0.0.1:{web.port}/{web.token}/ws", origin=web.origin) as ws:
                await _screen_text(ws, "Serverless Sandbox")
                tuis = web.descendants()
                os.kill(web.proc.pid, signal.SIGKILL)
                return tuis

    tuis = asyncio.run(scenario())
    assert tuis
    gone, alive = psutil.wait_procs(tuis, timeout=10)
    assert not alive, [p.cmdline() for p in alive]
