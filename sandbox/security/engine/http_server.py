"""LocalStack's gateway served by a thread per connection: the thread that reads a request runs it and writes the answer.

Twisted (LocalStack's server) parses each request in its reactor thread, hands it to a WSGI thread pool and takes
the answer back through the reactor (`callFromThread`): two thread switches under the GIL per request, and the
reactor's own parsing. Without them, a warm invoke costs 1.5 instead of 2.3 ms of LocalStack's CPU and
media-pipeline drains ~30 % more files per second (docs/benchmarks.md, ninth round).

The gateway is reached as twisted's WSGI bridge reaches it: rolo's `WsgiGateway`, with the environ twisted.web.wsgi
builds and what rolo.serving.twisted adds (`rolo.headers`, RAW_URI, REQUEST_URI, REMOTE_ADDR/PORT), so every handler
of the chain - our request guard first - sees the same request (tests/unit/test_http_server.py compares the two
servers on the same raw requests). HTTPS is served on the same port, as LocalStack's TLS multiplexer does.

Served: HTTP/1.0 and 1.1, keep-alive and pipelining, `Content-Length` and chunked request bodies (read from the
socket as the handler reads them, not buffered first), `Expect: 100-continue`, answers of known length or chunked.
Refused with a status that says why: HTTP/2, other transfer codings, malformed or oversized request heads.
Not served: websockets (LocalStack's open-source services have none). `SANDBOX_HTTP_SERVER=twisted` restores twisted.
"""

from __future__ import annotations

import io
import logging
import socket
import ssl
import sys
import threading
import time
from email.utils import formatdate
from urllib.parse import unquote_to_bytes, urlsplit

from werkzeug.exceptions import ClientDisconnected
from werkzeug.wsgi import LimitedStream

LOG = logging.getLogger(__name__)

MAX_LINE = 65536  # the request line and each header line
MAX_HEADERS = 500  # twisted's HTTPChannel.maxHeaders
MAX_CONNECTIONS = 1000  # open at once (twisted's WSGI pool: LocalStack's GATEWAY_WORKER_COUNT, 1000)
MAX_DRAIN = 1 << 20  # a request body the handler left unread is read and dropped up to this size; beyond, close
IDLE_TIMEOUT = 900.0  # seconds a kept-alive connection waits for its next request: longer than a warm function lives
SHUTDOWN_GRACE = 10.0  # seconds `shutdown` waits for requests in progress (twisted's pool: 10)
REASONS = {400: "Bad Request", 500: "Internal Server Error", 413: "Content Too Large", 414: "URI Too Long",
           431: "Request Header Fields Too Large", 501: "Not Implemented", 503: "Service Unavailable",
           505: "HTTP Version Not Supported"}


class BadRequest(Exception):
    """A request this server cannot read: answered with `status` and the message, and the connection closed."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class ThreadedHTTPServer:
    """Serves one WSGI application on listening sockets, a thread per accepted connection."""

    def __init__(self, app, sockets: list[socket.socket], ssl_creds: tuple[str, str] | None = None):
        self.app = app
        self.sockets = sockets
        self.tls = None
        if ssl_creds:
            self.tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.tls.load_cert_chain(*ssl_creds)
            self.tls.set_alpn_protocols(["http/1.1"])
        self._connections: dict[Connection, threading.Thread] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._acceptors: list[threading.Thread] = []

    @staticmethod
    def listen(host: str, port: int) -> socket.socket:
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
        return sock

    def serve_forever(self) -> None:
        """Accepts on every socket until `shutdown` (LocalStack's main thread runs this)."""
        for sock in self.sockets:
            thread = threading.Thread(target=self._accept_loop, args=(sock,), daemon=True,
                                      name=f"http-accept-{sock.getsockname()[1]}")
            thread.start()
            self._acceptors.append(thread)
        self._stopping.wait()
        for thread in self._acceptors:
            thread.join(timeout=5)

    def shutdown(self) -> None:
        """Stops accepting, closes the connections waiting for a request, and waits up to SHUTDOWN_GRACE seconds
        for the requests in progress: each closes its connection once answered."""
        self._stopping.set()
        for sock in self.sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        with self._lock:
            connections = dict(self._connections)
        for connection in connections:
            connection.close_if_idle()
        deadline = time.monotonic() + SHUTDOWN_GRACE
        for thread in connections.values():
            thread.join(max(0.0, deadline - time.monotonic()))

    def open_connections(self) -> int:
        with self._lock:
            return len(self._connections)

    def _accept_loop(self, sock: socket.socket) -> None:
        while not self._stopping.is_set():
            try:
                conn, addr = sock.accept()
            except OSError:
                if self._stopping.is_set():
                    return
                time.sleep(0.05)  # out of file descriptors and the like: do not spin
                continue
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # head and body leave in one write anyway
            connection = Connection(self, conn, addr)
            with self._lock:
                full = len(self._connections) >= MAX_CONNECTIONS
                if not full:
                    thread = threading.Thread(target=self._serve, args=(connection,), daemon=True,
                                              name="http-connection")
                    self._connections[connection] = thread
            if full:
                connection.send_error(503, f"more than {MAX_CONNECTIONS} connections are open; close some")
                conn.close()
                continue
            thread.start()

    def _serve(self, connection: Connection) -> None:
        try:
            connection.serve()
        except OSError:
            pass  # the client went away
        except Exception:  # noqa: BLE001 - a bug here must not take the server down: logged, answered, closed
            LOG.exception("HTTP connection from %s:%s failed", *connection.remote[:2])
            if not connection.answering:
                connection.send_error(500, "the sandbox's HTTP server failed on this request; its log says why")
        finally:
            with self._lock:
                self._connections.pop(connection, None)
            connection.close()


class Connection:
    """One client connection: its requests, one after the other."""

    def __init__(self, server: ThreadedHTTPServer, conn: socket.socket, addr):
        self.server, self.conn = server, conn
        self.remote = addr
        self.local = conn.getsockname()
        self.scheme = "http"
        self.rfile = None
        self._idle = True  # waiting for a request: `shutdown` may close it
        self.answering = False  # the current request's answer has started: no error answer can follow
        self._state = threading.Lock()

    def close_if_idle(self) -> None:
        with self._state:
            if self._idle:
                try:
                    self.conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        try:
            if self.rfile is not None:
                self.rfile.close()  # the socket's file descriptor stays open while a file made from it is
            self.conn.close()
        except OSError:
            pass

    def serve(self) -> None:
        self.conn.settimeout(IDLE_TIMEOUT)
        try:
            first = self.conn.recv(1, socket.MSG_PEEK)
        except TimeoutError:
            return
        if first == b"\x16":  # a TLS handshake: HTTPS on the same port (LocalStack's TLSMultiplexer)
            if self.server.tls is None:
                return
            tls_conn = self.server.tls.wrap_socket(self.conn, server_side=True)
            self.conn, self.scheme = tls_conn, "https"
        self.rfile = self.conn.makefile("rb", buffering=65536)
        while not self.server._stopping.is_set():
            self.conn.settimeout(IDLE_TIMEOUT)
            try:
                line = self.rfile.readline(MAX_LINE + 1)
            except TimeoutError:
                return
            if not line:
                return
            if line in (b"\r\n", b"\n"):  # RFC 9112 2.2: empty lines before a request are ignored
                continue
            with self._state:
                self._idle = False
            self.answering = False
            self.conn.settimeout(None)
            try:
                keep_alive = self.handle(line)
            except BadRequest as e:
                self.send_error(e.status, str(e))
                return
            with self._state:
                self._idle = True
            if not keep_alive:
                return

    def handle(self, line: bytes) -> bool:
        """One request and its answer; whether the connection stays open for the next."""
        if len(line) > MAX_LINE:
            raise BadRequest(414, "the request line is longer than 64 KiB")
        parts = line.split()
        if len(parts) != 3:
            raise BadRequest(400, f"malformed request line {line[:100]!r}")
        method, target, version = parts
        if version not in (b"HTTP/1.1", b"HTTP/1.0"):
            if version.startswith(b"HTTP/"):
                raise BadRequest(505, f"{version.decode('latin-1')} is not served here; use HTTP/1.1")
            raise BadRequest(400, f"malformed request line {line[:100]!r}")
        environ = self.environ(method, target, version, self.read_headers())

        connection = environ.get("HTTP_CONNECTION", "").lower()
        keep_alive = version == b"HTTP/1.1" and "close" not in connection
        transfer_encoding = environ.get("HTTP_TRANSFER_ENCODING", "").strip().lower()
        length = environ["CONTENT_LENGTH"]
        if transfer_encoding:
            if transfer_encoding != "chunked":
                raise BadRequest(501, f"Transfer-Encoding {transfer_encoding!r} is not supported; send chunked "
                                      "or Content-Length")
            if length:
                raise BadRequest(400, "a request with both Transfer-Encoding and Content-Length (RFC 9112 6.3)")
            body = ChunkedBody(self.rfile)
        else:
            if length and not length.isdigit():
                raise BadRequest(400, f"invalid Content-Length {length[:40]!r}")
            body = LimitedStream(self.rfile, int(length or 0))
        environ["wsgi.input"] = body
        environ["wsgi.input_terminated"] = True  # as rolo.serving.twisted says: the stream ends where the body ends
        if version == b"HTTP/1.1" and environ.get("HTTP_EXPECT", "").lower() == "100-continue":
            self.conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")

        keep_alive = self.respond(environ, version, method, keep_alive)
        return keep_alive and self._drain(body)

    def read_headers(self) -> list[tuple[bytes, bytes]]:
        headers = []
        while True:
            line = self.rfile.readline(MAX_LINE + 1)
            if line in (b"\r\n", b"\n"):
                return headers
            if len(line) > MAX_LINE:
                raise BadRequest(431, "a header line is longer than 64 KiB")
            if not line.endswith(b"\n"):
                raise BadRequest(400, "the connection ended in the middle of the request's headers")
            if line[:1] in (b" ", b"\t"):
                raise BadRequest(400, "folded header lines are not accepted (RFC 9112 5.2)")
            name, sep, value = line.partition(b":")
            if not sep or not name or name != name.strip():
                raise BadRequest(400, f"malformed header line {line[:100]!r}")
            headers.append((name, value.strip(b" \t\r\n")))
            if len(headers) > MAX_HEADERS:
                raise BadRequest(431, f"more than {MAX_HEADERS} header lines")

    def environ(self, method: bytes, target: bytes, version: bytes, raw_headers) -> dict:
        """The environ twisted.web.wsgi's `_WSGIResponse` builds, and what rolo.serving.twisted adds to it."""
        uri = target.decode("latin-1")
        path, _, query = uri.partition("?")
        if not path.startswith("/"):  # absolute-form, a proxy's request (RFC 9112 3.2.2): rolo takes its path
            path = urlsplit(path).path
        environ = {
            "REQUEST_METHOD": method.decode("latin-1"),
            "REMOTE_ADDR": self.remote[0],
            "REMOTE_PORT": str(self.remote[1]),
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
            "QUERY_STRING": query,
            "CONTENT_TYPE": "",
            "CONTENT_LENGTH": "",
            "SERVER_NAME": "",
            "SERVER_PORT": str(self.local[1]),
            "SERVER_PROTOCOL": version.decode("latin-1"),
        }
        for name, value in raw_headers:
            key = "HTTP_" + name.decode("latin-1").upper().replace("-", "_")
            text = value.decode("latin-1")
            environ[key] = environ[key] + "," + text if key in environ else text
        environ["CONTENT_TYPE"] = environ.get("HTTP_CONTENT_TYPE", "")
        environ["CONTENT_LENGTH"] = environ.get("HTTP_CONTENT_LENGTH", "")
        # twisted's getRequestHostname: the Host header up to its first colon, else the local address
        host = environ.get("HTTP_HOST")
        environ["SERVER_NAME"] = host.split(":", 1)[0] if host else self.local[0]
        environ.update({
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": self.scheme,
            "wsgi.run_once": False,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.errors": sys.stderr,
            "rolo.headers": as_twisted_lists(raw_headers),
            "REQUEST_URI": uri,
            "RAW_URI": uri,
        })
        return environ

    def respond(self, environ: dict, version: bytes, method: bytes, keep_alive: bool) -> bool:
        """Runs the application and writes its answer: the head with the first piece of body in one write, then
        the rest as the application yields it. Returns whether the connection can carry another request."""
        started: list = []

        def start_response(status, headers, exc_info=None):
            if exc_info and started:
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [status, headers]
            return _no_write

        result = self.server.app(environ, start_response)
        try:
            chunks = iter(result)
            first = next((chunk for chunk in chunks if chunk), b"")
            status, headers = started
            code = int(status[:3])
            names = {name.lower() for name, _ in headers}
            has_body = not (method == b"HEAD" or code in (204, 304) or code < 200)
            chunked = has_body and "content-length" not in names and version == b"HTTP/1.1"
            if has_body and "content-length" not in names and not chunked:
                keep_alive = False  # HTTP/1.0 without a length: the end of the connection ends the body
            extra = []
            if chunked:
                extra.append(("Transfer-Encoding", "chunked"))
            if "date" not in names:
                extra.append(("Date", formatdate(usegmt=True)))
            if not keep_alive:
                headers = [(n, v) for n, v in headers if n.lower() != "connection"]
                extra.append(("Connection", "close"))
            head = "".join([f"{version.decode('latin-1')} {status}\r\n",
                            *[f"{n}: {v}\r\n" for n, v in headers], *[f"{n}: {v}\r\n" for n, v in extra],
                            "\r\n"]).encode("latin-1")
            send = self.conn.sendall
            self.answering = True
            if not has_body:
                send(head)
            elif not chunked:
                send(head + first)
                for chunk in chunks:
                    if chunk:
                        send(chunk)
            else:
                send(head + (b"%x\r\n%s\r\n" % (len(first), first) if first else b""))
                for chunk in chunks:
                    if chunk:
                        send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                send(b"0\r\n\r\n")
            return keep_alive
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()

    @staticmethod
    def _drain(body) -> bool:
        """Reads what the handler left of the request body, so that the next request starts where it should;
        False (close the connection instead) when more than MAX_DRAIN bytes are left."""
        if isinstance(body, LimitedStream):
            if body.limit - body.tell() > MAX_DRAIN:
                return False
            body.exhaust()
            return True
        dropped = 0
        while dropped <= MAX_DRAIN:
            data = body.read(65536)
            if not data:
                return True
            dropped += len(data)
        return False

    def send_error(self, status: int, message: str) -> None:
        reason = REASONS.get(status, "Error")
        body = f"{status} {reason}: {message}\n".encode()
        try:
            self.conn.sendall(f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
                              f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
        except OSError:
            pass


class ChunkedBody(io.RawIOBase):
    """A chunked request body, decoded as the handler reads it (RFC 9112 7.1): chunk extensions are ignored and
    trailer lines dropped, as twisted does. A malformed or cut-off body raises werkzeug's ClientDisconnected (a 400,
    as for a short Content-Length body)."""

    def __init__(self, rfile):
        self.rfile = rfile
        self.left = 0  # bytes of the current chunk not read yet
        self.done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.done:
            return 0
        if self.left == 0:
            self.left = self._next_size()
            if self.left == 0:
                self._skip_trailers()
                self.done = True
                return 0
        data = self.rfile.read(min(len(buffer), self.left))
        if not data:
            raise ClientDisconnected("the connection ended in the middle of a chunked body")
        buffer[: len(data)] = data
        self.left -= len(data)
        if self.left == 0 and self.rfile.readline(3) not in (b"\r\n", b"\n"):
            raise ClientDisconnected("a chunk of the body is longer than its size line says")
        return len(data)

    def _next_size(self) -> int:
        line = self.rfile.readline(MAX_LINE + 1)
        size = line.split(b";", 1)[0].strip()
        if not line.endswith(b"\n") or not size or any(c not in b"0123456789abcdefABCDEF" for c in size):
            raise ClientDisconnected(f"malformed chunk size line {line[:40]!r}")
        return int(size, 16)

    def _skip_trailers(self) -> None:
        for _ in range(MAX_HEADERS + 1):
            line = self.rfile.readline(MAX_LINE + 1)
            if line in (b"\r\n", b"\n"):
                return
            if not line.endswith(b"\n"):
                raise ClientDisconnected("the connection ended in the trailer of a chunked body")
        raise ClientDisconnected(f"more than {MAX_HEADERS} trailer lines")


def as_twisted_lists(raw_headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The raw headers in the order and casing rolo gets them from twisted: a name sent twice (in any case) keeps the
    casing of its first line, and its values follow each other where it first appeared."""
    names = {name.lower() for name, _ in raw_headers}
    if len(names) == len(raw_headers):
        return raw_headers
    grouped: dict[bytes, tuple[bytes, list[bytes]]] = {}
    for name, value in raw_headers:
        grouped.setdefault(name.lower(), (name, []))[1].append(value)
    return [(name, value) for name, values in grouped.values() for value in values]


def _no_write(data: bytes) -> None:
    raise NotImplementedError("WSGI's write() is not supported: the gateway returns its body")
