"""`sandbox workshop host`: the HTTP server attendees' sandboxes report to, and who it lets in.

Loopback only unless the instructor binds another address (`--bind`). Every request must carry the workshop's
token, name this machine in `Host` (a DNS-rebinding page names its own domain) and come from no web page (`Origin`,
`Sec-Fetch-Site`, `Referer`): the rules of sandbox.security.policy, which the sandbox's own gateway applies. The
board only takes results, but it is a surface on the network: it must not be one anyone can write to.
"""

from __future__ import annotations

import hmac
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sandbox.security.policy import TOKEN_HEADER, Policy, Request, cross_site_origin, is_local_host, split_host
from scenarios.workshop.board import Board, ReportError

MAX_BODY = 16 * 1024  # a report of a few results; anything bigger is not one
LOOPBACK = "127.0.0.1"


def new_token() -> str:
    return secrets.token_urlsafe(18)


def refusal(request: Request, policy: Policy) -> tuple[int, str, str] | None:
    """(status, kind, message) when the request may not touch the board; None when it may."""
    host = request.header("Host")
    # this machine's loopback names, or the address attendees were given (an IP, which is_local_host does not
    # compare with the names it is given)
    name = split_host(host or "")
    if not name or name.endswith(".localhost") or not (is_local_host(host, policy.local_names)
                                                         or name in policy.local_names):
        return 403, "host", (f"Host {host!r} is not this board's address (a DNS-rebinding page sends its own "
                             "domain): use the join URL `sandbox workshop host` printed")
    crossing = cross_site_origin(request, policy)
    if crossing is not None:
        return 403, "cross-site", f"requests from web pages ({crossing}) are refused: the board takes reports from " \
                                  "`sandbox lab` only"
    given = request.header(TOKEN_HEADER)
    if given is None or not hmac.compare_digest(given.encode(), policy.token.encode()):
        return 401, "token", ("wrong or missing workshop token: ask the instructor for the one `sandbox workshop "
                              "host` printed, and join with `sandbox lab join URL --name NAME --token TOKEN`")
    return None


class BoardServer:
    """The board's HTTP server on its own thread. `url` is what attendees join."""

    def __init__(self, board: Board, token: str, bind: str = LOOPBACK, port: int = 0, advertise: str | None = None):
        self.board = board
        self.token = token
        self.bind = bind
        self.httpd = ThreadingHTTPServer((bind, port), _handler(self))
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.advertise = advertise or (bind if bind not in ("0.0.0.0", "::", "") else _own_address())
        names = {split_host(self.advertise), split_host(bind)} - {"", "0.0.0.0", "::"}
        self.policy = Policy.create(port=self.port, token=token, local_names=names, allow_remote=bind != LOOPBACK)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.advertise}]" if ":" in self.advertise else self.advertise
        return f"http://{host}:{self.port}"

    def start(self) -> "BoardServer":
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="workshop-board", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _own_address() -> str:
    """The address other machines reach this one at (the route to the outside world; nothing is sent)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: chooses the outgoing interface only
            return probe.getsockname()[0]
        except OSError:
            return LOOPBACK


def _handler(server: BoardServer):
    class Handler(BaseHTTPRequestHandler):
        server_version = "sandbox-workshop"
        sys_version = ""

        def log_message(self, format, *args):  # noqa: A002 - the TUI owns the terminal
            pass

        def _answer(self, status: int, body: dict, refused: str = "") -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-Content-Type-Options", "nosniff")
            if refused:
                self.send_header("X-Sandbox-Refused", refused)
            self.end_headers()
            self.wfile.write(data)

        def _admitted(self) -> bool:
            request = Request(self.command, self.path, dict(self.headers.items()), remote_addr=self.client_address[0])
            refused = refusal(request, server.policy)
            if refused:
                status, kind, message = refused
                self._answer(status, {"error": message}, kind)
                return False
            return True

        def do_GET(self):  # noqa: N802 - http.server's names
            if not self._admitted():
                return
            if self.path != "/hello":
                self._answer(404, {"error": "the board has /hello and /report"})
                return
            self._answer(200, {"ok": True, "labs": sorted(server.board.labs)})

        def do_POST(self):  # noqa: N802
            if not self._admitted():
                return
            if self.path != "/report":
                self._answer(404, {"error": "reports go to /report"})
                return
            if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/json":
                self._answer(415, {"error": "a report is application/json"})
                return
            try:
                length = int(self.headers.get("Content-Length") or "0")
            except ValueError:
                length = -1
            if not 0 < length <= MAX_BODY:
                self._answer(413, {"error": f"a report is 1 to {MAX_BODY} bytes"})
                return
            try:
                recorded = server.board.record(json.loads(self.rfile.read(length)))
            except (ValueError, ReportError) as e:  # JSONDecodeError is a ValueError
                self._answer(400, {"error": str(e)})
                return
            self._answer(200, {"ok": True, **recorded})

        def _refuse_method(self):
            if self._admitted():
                self._answer(405, {"error": "GET /hello or POST /report"})

        do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse_method  # noqa: N815

    return Handler
