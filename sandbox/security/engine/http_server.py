"""LocalStack's gateway served by a thread per connection: the thread that reads a request runs it and writes the answer.

Twisted (LocalStack's server) parses each request in its reactor thread, hands it to a WSGI thread pool and takes
the answer back through the reactor (`callFromThread`): two thread switches under the GIL per request, and the
reactor's own parsing. Without them, a warm invoke costs 1.3-1.4 instead of 2.1 ms of LocalStack's CPU and
media-pipeline drains 14-29 % more files per second (docs/benchmarks.md, ninth round). A thread whose connection
ended waits a while for the next one, so a client that opens a connection per request does not start a thread each.

The gateway is reached as twisted's WSGI bridge reaches it: rolo's `WsgiGateway`, with the environ twisted.web.wsgi
builds and what rolo.serving.twisted adds (`rolo.headers`, RAW_URI, REQUEST_URI, REMOTE_ADDR/PORT).
tests/unit/test_http_server.py sends the same raw requests to both servers and compares what the handler sees.
HTTPS is served on the same port, as LocalStack's TLS multiplexer does.

Served: HTTP/1.0 and 1.1, keep-alive and pipelining, `Content-Length` and chunked request bodies (read from the
socket as the handler reads them, not buffered first), `Expect: 100-continue` (the 100 goes out when the handler
first reads the body, before its answer), answers of known length (never more than it) or chunked. A connection
closed with a body still coming reads it off for a while first, so the client reads the answer instead of a reset. Refused with a status and a reason: other transfer
codings, malformed or oversized request heads, bytes outside ASCII in the target. Not served: HTTP/2 (a client
that starts with its preface gets a 505 and a closed connection; LocalStack's twisted serves it) and websockets;
`SANDBOX_HTTP_SERVER=twisted` restores twisted for a client that needs them.
"""

from __future__ import annotations

import io
import itertools
import logging
import queue
import re
import socket
import ssl
import sys
import threading
import time
from email.utils import formatdate
from http import HTTPStatus
from urllib.parse import unquote_to_bytes, urlsplit

from werkzeug.exceptions import ClientDisconnected

LOG = logging.getLogger(__name__)

MAX_LINE = 65536  # the request line and each header line
MAX_HEAD = 65536  # the header lines together (twisted: 16 KiB; presigned URLs and S3 metadata fit either way)
MAX_HEADERS = 500  # twisted's HTTPChannel.maxHeaders
MAX_CONNECTIONS = 1000  # open at once; a new one past it closes the longest-idle one, or is refused if none is idle
MAX_DRAIN = 1 << 20  # a request body the handler left unread is read and dropped up to this size; beyond, close
IDLE_TIMEOUT = 900.0  # seconds a kept-alive connection waits for its next request: longer than a warm function lives
IO_TIMEOUT = 120.0  # seconds for the rest of a request's head, and for each read of its body or write of its answer
LINGER = 2.0  # a closing connection reads off what the client still sends (so it can read our answer) while
# something arrives within this many seconds, up to LINGER_MAX seconds and LINGER_BYTES in all
LINGER_MAX = 30.0
LINGER_BYTES = 64 << 20
SEND_SLICE = 1 << 20  # a socket timeout bounds a whole sendall: large answers go out in slices
THREAD_IDLE = 30.0  # seconds a thread whose connection ended waits for the next one before it ends
SHUTDOWN_GRACE = 10.0  # seconds `shutdown` waits for requests in progress (twisted's WSGI pool: 10)
TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # a header name or a method (RFC 9110 5.6.2)
TARGET = re.compile(rb"[\x21-\x7e]+")  # a request target: visible ASCII, non-ASCII percent-encoded (RFC 9112 3.2)
BAD_VALUE = re.compile(rb"[\x00\r\n]")
CHUNK_SIZE = re.compile(rb"[0-9a-fA-F]{1,15}")
FRAMING = (b"content-length", b"transfer-encoding", b"connection", b"expect")
HOST = re.compile(r"^\[?(?P<host>.*?)\]?(:\d+)?$")  # twisted.web.http._hostHeaderExpression


class AppError(Exception):
    """An OSError raised by the application, not by the connection: logged and answered 500 like any failure."""


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
        self.stopping = threading.Event()
        self._connections: dict[Connection, threading.Thread | None] = {}
        self._handoff: queue.SimpleQueue[Connection | None] = queue.SimpleQueue()
        self._waiting = 0  # threads waiting in `_work` for a connection
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._acceptors: list[threading.Thread] = []

    @staticmethod
    def listen(host: str, port: int) -> socket.socket:
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
        return sock

    def serve_forever(self) -> None:
        """Accepts on every socket until `shutdown` has ended (LocalStack's main thread runs this, and runs its
        shutdown hooks once it returns: not before the requests in progress are answered)."""
        for sock in self.sockets:
            thread = threading.Thread(target=self._accept_loop, args=(sock,), daemon=True,
                                      name=f"http-accept-{sock.getsockname()[1]}")
            thread.start()
            self._acceptors.append(thread)
        # a short wait, again and again: a signal delivered to another thread does not wake a thread blocked on a
        # lock, and Python runs its signal handlers (SIGUSR2's thread dump, thread_dump.py) in this thread only
        while not self._stopped.wait(0.25):
            pass

    def shutdown(self) -> None:
        """Stops accepting, closes the connections waiting for a request, and waits up to SHUTDOWN_GRACE seconds
        for the requests in progress: each closes its connection once answered."""
        self.stopping.set()
        try:
            for sock in self.sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            for thread in self._acceptors:
                thread.join(5)  # no connection is added after this
            with self._lock:
                connections = dict(self._connections)
                for _ in range(self._waiting):
                    self._handoff.put(None)  # ends the threads waiting for a connection
            for connection in connections:
                connection.close_if_idle()
            deadline = time.monotonic() + SHUTDOWN_GRACE
            with self._lock:
                threads = set(self._threads)
            for thread in threads:
                if thread is not threading.current_thread():
                    thread.join(max(0.0, deadline - time.monotonic()))
        finally:
            self._stopped.set()

    def open_connections(self) -> int:
        with self._lock:
            return len(self._connections)

    def _accept_loop(self, sock: socket.socket) -> None:
        while not self.stopping.is_set():
            try:
                conn, addr = sock.accept()
            except OSError:
                if self.stopping.is_set():
                    return
                time.sleep(0.05)  # out of file descriptors and the like: do not spin
                continue
            try:
                self._start(conn, addr)
            except Exception:  # noqa: BLE001 - one connection's set-up must not end the accepting
                LOG.exception("Could not serve a connection from %s", addr)
                conn.close()

    def _start(self, conn: socket.socket, addr) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # a head and its body leave in one write
        connection = Connection(self, conn, addr)
        with self._lock:
            if len(self._connections) >= MAX_CONNECTIONS:
                idle = [c for c in self._connections if c.idle_since is not None and not c.evicted]
                if idle:
                    min(idle, key=lambda c: c.idle_since).close_if_idle(evict=True)
                else:
                    connection.send_error(503, f"{MAX_CONNECTIONS} requests are in progress; try again shortly")
                    conn.close()
                    return
            self._connections[connection] = None
            if self._waiting:  # a thread whose connection ended takes it: no thread to start
                self._waiting -= 1
                self._handoff.put(connection)
                return
        thread = threading.Thread(target=self._work, args=(connection,), daemon=True, name="http-connection")
        with self._lock:
            self._connections[connection] = thread
            self._threads.add(thread)
        try:
            thread.start()
        except BaseException:
            with self._lock:
                self._connections.pop(connection, None)
                self._threads.discard(thread)
            raise

    def _work(self, connection: Connection | None) -> None:
        """Serves connections one after the other: once its connection ends, a thread waits up to THREAD_IDLE
        seconds for the next one (no thread start per connection, and the same few stacks)."""
        try:
            self._work_on(connection)
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _work_on(self, connection: Connection | None) -> None:
        while connection is not None:
            with self._lock:
                if connection in self._connections:
                    self._connections[connection] = threading.current_thread()
            if not self._serve(connection):
                return
            try:
                connection = self._handoff.get(timeout=THREAD_IDLE)
            except queue.Empty:
                with self._lock:
                    try:
                        connection = self._handoff.get_nowait()  # handed over as the wait ended
                    except queue.Empty:
                        self._waiting -= 1
                        return

    def _serve(self, connection: Connection) -> bool:
        """Serves one connection to its end; whether the thread may wait for another (it counts as waiting in the
        same step as its connection stops counting as open)."""
        try:
            connection.serve()
        except (OSError, ClientDisconnected):
            pass  # the client went away, or broke off its body
        except Exception:  # noqa: BLE001 - a bug here must not take the server down: logged, answered, closed
            LOG.exception("HTTP connection from %s:%s failed", *connection.remote[:2])
            if not connection.answering:
                connection.linger = True
                connection.send_error(500, "the sandbox's HTTP server failed on this request; its log says why")
        except BaseException:
            self._end(connection)
            raise
        return self._end(connection, wait=True)

    def _end(self, connection: Connection, wait: bool = False) -> bool:
        connection.close()
        with self._lock:
            self._connections.pop(connection, None)
            if not wait or self.stopping.is_set():
                return False
            self._waiting += 1
            return True


class Connection:
    """One client connection: its requests, one after the other."""

    def __init__(self, server: ThreadedHTTPServer, conn: socket.socket, addr):
        self.server, self.conn = server, conn
        self.remote = addr
        self.local = conn.getsockname()
        self.scheme = "http"
        self.rfile = None
        self.idle_since: float | None = time.monotonic()  # None while a request is in progress
        self.answering = False  # the current answer's head is out: no error answer can follow it
        self.linger = False  # the client may still be sending a body we will not read: read it off before closing
        self.evicted = False
        self._state = threading.Lock()

    def close_if_idle(self, evict: bool = False) -> None:
        """Ends a connection waiting for its next request (from another thread: shutdown, too many connections)."""
        with self._state:
            if self.idle_since is not None:
                self.evicted = self.evicted or evict
                try:
                    # socket.socket's own shutdown: SSLSocket.shutdown would drop TLS, and a thread still answering
                    # on this connection would then write in the clear
                    socket.socket.shutdown(self.conn, socket.SHUT_RD)
                except OSError:
                    pass

    def close(self) -> None:
        try:
            if self.linger:  # closing with unread data would reset the connection and lose the answer we sent
                socket.socket.shutdown(self.conn, socket.SHUT_WR)
                started, received = time.monotonic(), 0
                while received < LINGER_BYTES:
                    left = LINGER_MAX - (time.monotonic() - started)
                    if left <= 0:
                        break
                    self.conn.settimeout(min(LINGER, left))
                    data = socket.socket.recv(self.conn, 65536)
                    if not data:
                        break
                    received += len(data)
        except OSError:
            pass
        try:
            if self.rfile is not None:
                self.rfile.close()  # the socket's descriptor stays open while a file made from it is
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
            self.conn.settimeout(IO_TIMEOUT)
            with self._state:
                self.conn = self.server.tls.wrap_socket(self.conn, server_side=True, do_handshake_on_connect=False)
            self.scheme = "https"
            self.conn.do_handshake()
        self.rfile = self.conn.makefile("rb", buffering=16384)
        while not self.server.stopping.is_set():
            self.conn.settimeout(IDLE_TIMEOUT)
            try:
                line = self.rfile.readline(MAX_LINE + 1)
            except TimeoutError:
                return
            if not line.endswith(b"\n"):
                if len(line) > MAX_LINE:
                    self.linger = True
                    self.send_error(414, "the request line is longer than 64 KiB")
                return  # the end of the connection (or of a request line cut off by it)
            if line in (b"\r\n", b"\n"):  # RFC 9112 2.2: empty lines before a request are ignored
                continue
            with self._state:
                self.idle_since = None
            self.answering = False
            self.conn.settimeout(IO_TIMEOUT)  # a timeout per read or write on the wire, not for the handler
            try:
                keep_alive = self.handle(line)
            except BadRequest as e:
                self.linger = True
                self.send_error(e.status, str(e))
                return
            with self._state:
                self.idle_since = time.monotonic()
            if not keep_alive:
                return

    def handle(self, line: bytes) -> bool:
        """One request and its answer; whether the connection stays open for the next."""
        if len(line) > MAX_LINE:
            raise BadRequest(414, "the request line is longer than 64 KiB")
        parts = line.rstrip(b"\r\n").split(b" ")
        if len(parts) != 3 or not TOKEN.fullmatch(parts[0]):
            raise BadRequest(400, f"malformed request line {line[:100]!r}")
        method, target, version = parts
        if version not in (b"HTTP/1.1", b"HTTP/1.0"):
            if version.startswith(b"HTTP/"):
                raise BadRequest(505, f"{version.decode('latin-1')} is not served here: use HTTP/1.1, or start the "
                                      "sandbox with SANDBOX_HTTP_SERVER=twisted")
            raise BadRequest(400, f"malformed request line {line[:100]!r}")
        if not TARGET.fullmatch(target):
            raise BadRequest(400, "the request target has bytes outside visible ASCII; percent-encode them")
        raw_headers = self.read_headers(time.monotonic() + IO_TIMEOUT)
        environ = self.environ(method, target, version, raw_headers)

        framing: dict[bytes, bytes] = {}
        for name, value in raw_headers:
            name = name.lower()
            if name in FRAMING:
                if name in framing and name in (b"content-length", b"transfer-encoding"):
                    raise BadRequest(400, f"{name.decode()} sent twice: a request has one (twisted refuses it too)")
                framing[name] = framing[name] + b"," + value if name in framing else value
        keep_alive = version == b"HTTP/1.1" and b"close" not in framing.get(b"connection", b"").lower()
        coding = framing.get(b"transfer-encoding", b"").strip().lower()
        length = framing.get(b"content-length")
        if coding and coding != b"identity":
            if coding != b"chunked":
                raise BadRequest(501, f"Transfer-Encoding {coding[:40].decode('latin-1')!r} is not supported: "
                                      "send the body chunked or with a Content-Length")
            if length is not None:
                raise BadRequest(400, "a request with both Transfer-Encoding and Content-Length (RFC 9112 6.3)")
            body = ChunkedBody(self.rfile)
        else:
            if length is not None and not (length.isascii() and length.isdigit()):
                raise BadRequest(400, f"invalid Content-Length {length[:40]!r}")
            body = SizedBody(self.rfile, int(length or 0))
        if version == b"HTTP/1.1" and framing.get(b"expect", b"").lower() == b"100-continue":
            body.before_first_read = lambda: self.conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        environ["wsgi.input"] = body
        environ["wsgi.input_terminated"] = True  # as rolo.serving.twisted says: the stream ends where the body ends

        return self.respond(environ, version, method, body, keep_alive)

    def read_headers(self, deadline: float) -> list[tuple[bytes, bytes]]:
        """The header lines, all within IO_TIMEOUT of the request line (a head sent a byte at a time ends too)."""
        headers, size = [], 0
        # the whole head already read (the usual case: one packet): its lines need no waiting
        buffered = self.rfile.peek(1)
        whole = b"\r\n\r\n" in buffered or b"\n\n" in buffered
        while True:
            line = self.rfile.readline(MAX_LINE + 1) if whole else self._line(deadline)
            if line in (b"\r\n", b"\n"):
                if not whole:
                    self.conn.settimeout(IO_TIMEOUT)  # `_line` shortened it to the head's deadline
                return headers
            size += len(line)
            if len(line) > MAX_LINE or size > MAX_HEAD:
                raise BadRequest(431, "the request's headers are longer than 64 KiB")
            if not line.endswith(b"\n"):
                raise BadRequest(400, "the connection ended in the middle of the request's headers")
            if line[:1] in (b" ", b"\t"):
                raise BadRequest(400, "folded header lines are not accepted (RFC 9112 5.2)")
            name, sep, value = line.partition(b":")
            value = value.strip(b" \t\r\n")
            if not sep or not TOKEN.fullmatch(name) or BAD_VALUE.search(value):
                raise BadRequest(400, f"malformed header line {line[:100]!r}")
            headers.append((name, value))
            if len(headers) > MAX_HEADERS:
                raise BadRequest(431, f"more than {MAX_HEADERS} header lines")

    def _line(self, deadline: float) -> bytes:
        """One line of a head that is still arriving, read as it comes, all by the deadline."""
        parts, size = [], 0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the request's head took too long")
            self.conn.settimeout(left)
            chunk = self.rfile.peek(1)  # what is buffered, or one read from the socket
            if not chunk:
                return b"".join(parts)
            end = chunk.find(b"\n")
            data = self.rfile.read(min(end + 1 if end >= 0 else len(chunk), MAX_LINE + 1 - size))
            parts.append(data)
            size += len(data)
            if data.endswith(b"\n") or size > MAX_LINE:
                return b"".join(parts)

    def environ(self, method: bytes, target: bytes, version: bytes, raw_headers) -> dict:
        """The environ twisted.web.wsgi's `_WSGIResponse` builds, and what rolo.serving.twisted adds to it."""
        uri = target.decode("latin-1")
        path, _, query = uri.partition("?")
        if path.startswith("/"):
            path = unquote_to_bytes(path).decode("latin-1")  # twisted: its path segments, unquoted
        else:  # absolute-form, a proxy's request (RFC 9112 3.2.2): rolo takes the URL's path as it is
            path = urlsplit(path).path
        environ = {
            "REQUEST_METHOD": method.decode("latin-1"),
            "REMOTE_ADDR": self.remote[0],
            "REMOTE_PORT": str(self.remote[1]),
            "SCRIPT_NAME": "",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": "",
            "CONTENT_LENGTH": "",
            "SERVER_NAME": self.local[0],
            "SERVER_PORT": str(self.local[1]),
            "SERVER_PROTOCOL": version.decode("latin-1"),
        }
        grouped = as_twisted_lists(raw_headers)
        last: dict[bytes, str] = {}
        values: dict[bytes, list[str]] = {}
        for name, value in grouped:  # twisted: one key per name, its values joined; Foo-Bar then Foo_Bar: the last
            text = value.decode("latin-1")
            values.setdefault(name, []).append(text)
            last[name.lower()] = text
        for name, texts in values.items():
            environ["HTTP_" + name.decode("latin-1").upper().replace("-", "_")] = ",".join(texts)
        environ["CONTENT_TYPE"] = last.get(b"content-type", "")  # twisted's getHeader: the last value
        environ["CONTENT_LENGTH"] = last.get(b"content-length", "")
        host = HOST.match(last[b"host"]) if b"host" in last else None  # twisted's getRequestHostname
        if host is not None:
            environ["SERVER_NAME"] = host.group("host")
        environ.update({
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": self.scheme,
            "wsgi.run_once": False,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.errors": sys.stderr,
            "rolo.headers": grouped,
            "REQUEST_URI": uri,
            "RAW_URI": uri,
        })
        return environ

    def respond(self, environ: dict, version: bytes, method: bytes, body, keep_alive: bool) -> bool:
        """Runs the application and writes its answer: the head with the first piece of body in one write, then
        the rest as the application yields it. Returns whether the connection can carry another request."""
        started: list = []

        def start_response(status, headers, exc_info=None):
            if exc_info and self.answering:
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [status, headers]
            return _no_write

        try:
            result = self.server.app(environ, start_response)
        except OSError as e:  # the application's, not the connection's: a failure to log and answer
            raise AppError(f"{type(e).__name__}: {e}") from e
        try:
            chunks = _app_chunks(result)
            first = next((chunk for chunk in chunks if chunk), b"")
            status, headers = started
            code = int(status[:3])
            lengths, has_date, kept = [], False, []  # one pass over the answer's headers
            for n, v in headers:
                lower = n.lower()
                if lower == "transfer-encoding":
                    continue  # the framing is ours
                if lower == "content-length":
                    lengths.append(v)
                elif lower == "date":
                    has_date = True
                kept.append((n, v))
            headers = kept
            length = int(lengths[0]) if len(lengths) == 1 and lengths[0].isdigit() else None
            has_body = not (method == b"HEAD" or code in (204, 304) or code < 200)
            chunked = has_body and length is None and version == b"HTTP/1.1"
            if not body.reusable():  # a body too big to read off, cut off, malformed, or never asked for
                keep_alive = False
            if (has_body and length is None and not chunked) or self.server.stopping.is_set():
                keep_alive = False  # HTTP/1.0 without a length: the end of the connection ends the body
            if not keep_alive and not body.finished():
                self.linger = True  # the client may still be sending it
            body.before_first_read = None  # a late read of the body sends no 100 Continue into the answer
            extra = [("Transfer-Encoding", "chunked")] if chunked else []
            if not has_date:
                extra.append(("Date", _http_date()))
            if not keep_alive:
                headers = [(n, v) for n, v in headers if n.lower() != "connection"]
                extra.append(("Connection", "close"))
            head = "".join([f"{version.decode('latin-1')} {status}\r\n",
                            *[f"{n}: {v}\r\n" for n, v in headers], *[f"{n}: {v}\r\n" for n, v in extra],
                            "\r\n"]).encode("latin-1")
            self.answering = True
            if not has_body:
                self.send(head)
            elif chunked:
                self.send(head + (b"%x\r\n%s\r\n" % (len(first), first) if first else b""))
                for chunk in chunks:
                    if chunk:
                        self.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.send(b"0\r\n\r\n")
            else:
                sent, overflow = 0, False
                for chunk in itertools.chain((first,), chunks):
                    if length is not None and sent + len(chunk) > length:
                        chunk, overflow = chunk[: length - sent], True  # never more than the head promised
                    if chunk or head:
                        self.send(head + chunk if head else chunk)
                    head, sent = b"", sent + len(chunk)
                    if overflow:
                        break
                if length is not None and (sent != length or overflow):
                    LOG.warning("%s %s: the answer's body did not match its Content-Length %d; connection closed",
                                environ["REQUEST_METHOD"], environ["RAW_URI"][:200], length)
                    return False
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if keep_alive and not body.drain():
            self.linger = True
            return False
        return keep_alive

    def send(self, data: bytes) -> None:
        """Writes on the connection, a slice at a time: the socket's timeout bounds each sendall, so a large answer
        to a client that reads steadily is not cut off."""
        if len(data) <= SEND_SLICE:
            self.conn.sendall(data)
            return
        view = memoryview(data)
        for start in range(0, len(view), SEND_SLICE):
            self.conn.sendall(view[start:start + SEND_SLICE])

    def send_error(self, status: int, message: str) -> None:
        reason = HTTPStatus(status).phrase
        text = f"{status} {reason}: {message}\n".encode()
        try:
            self.conn.sendall(f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
                              f"Content-Length: {len(text)}\r\nConnection: close\r\n\r\n".encode() + text)
        except OSError:
            pass


class _Body(io.RawIOBase):
    """A request body read from the connection as the handler reads it. `before_first_read` (the 100 Continue) runs
    at the first read; a cut-off or malformed body raises werkzeug's ClientDisconnected (LocalStack answers 400)
    and leaves the connection unusable."""

    before_first_read = None

    def __init__(self, rfile):
        self.rfile = rfile
        self.started = False  # the client was told to send (no Expect, or the 100 went out)
        self.broken = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if not len(buffer):
            return 0
        self._begin()
        try:
            return self._readinto(buffer)
        except (ClientDisconnected, OSError):
            self.broken = True
            raise

    def _begin(self) -> None:
        if not self.started:
            self.started = True
            if self.before_first_read is not None:
                self.before_first_read()

    def _fail(self, message: str):
        self.broken = True
        raise ClientDisconnected(message)

    def finished(self) -> bool:
        """Whether the whole body has been read off the connection."""
        return not self.broken and self._left() == 0 and self.started

    def reusable(self) -> bool:
        """Whether the connection can carry another request after this one, as far as can be told before answering:
        not if the body is broken, if the client still waits for a 100 Continue (it may or may not send the body),
        or if more than MAX_DRAIN bytes of it are left to read off."""
        return not self.broken and (self.started or self.before_first_read is None) and self._left() <= MAX_DRAIN

    def drain(self) -> bool:
        """Reads off what the handler left, so the next request starts where it should; False: close instead."""
        try:
            dropped = 0
            while dropped <= MAX_DRAIN:
                data = self.read(65536)
                if not data:
                    return not self.broken
                dropped += len(data)
        except (ClientDisconnected, OSError):
            return False
        return False

    def _readinto(self, buffer) -> int:
        raise NotImplementedError

    def _left(self) -> int:
        raise NotImplementedError


class SizedBody(_Body):
    """A body of `Content-Length` bytes."""

    def __init__(self, rfile, length: int):
        super().__init__(rfile)
        self.left = length
        if length == 0:
            self.started = True

    def read(self, size: int | None = -1) -> bytes:
        """What was asked, in one read of the buffered connection (RawIOBase's `read()` would go 8 KiB at a time)."""
        want = self.left if size is None or size < 0 else min(size, self.left)
        if want <= 0:
            return b""
        self._begin()
        try:
            data = self.rfile.read(want)
        except OSError:
            self.broken = True
            raise
        self.left -= len(data)
        if len(data) < want:
            self._fail(f"the connection ended {self.left} bytes before the end of the request's body")
        return data

    readall = read

    def _readinto(self, buffer) -> int:
        if self.left <= 0:
            return 0
        data = self.rfile.read(min(len(buffer), self.left))
        if not data:
            self._fail(f"the connection ended {self.left} bytes before the end of the request's body")
        buffer[: len(data)] = data
        self.left -= len(data)
        return len(data)

    def _left(self) -> int:
        return self.left


class ChunkedBody(_Body):
    """A chunked body (RFC 9112 7.1): chunk extensions are ignored and trailer lines dropped, as twisted does."""

    def __init__(self, rfile):
        super().__init__(rfile)
        self.left = 0  # bytes of the current chunk not read yet
        self.done = False

    def _readinto(self, buffer) -> int:
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
            self._fail("the connection ended in the middle of a chunked body")
        buffer[: len(data)] = data
        self.left -= len(data)
        if self.left == 0 and self.rfile.readline(3) != b"\r\n":
            self._fail("a chunk of the body is longer than its size line says")
        return len(data)

    def _next_size(self) -> int:
        line = self.rfile.readline(1025)
        size = line.split(b";", 1)[0].strip(b" \t\r\n")
        if not line.endswith(b"\n") or not CHUNK_SIZE.fullmatch(size):
            self._fail(f"malformed chunk size line {line[:40]!r}")
        return int(size, 16)

    def _skip_trailers(self) -> None:
        size = 0
        while True:
            line = self.rfile.readline(MAX_LINE + 1)
            if line in (b"\r\n", b"\n"):
                return
            size += len(line)
            if not line.endswith(b"\n") or size > MAX_HEAD:
                self._fail("the trailer of a chunked body is cut off or longer than 64 KiB")

    def _left(self) -> int:
        return 0 if self.done else self.left  # more chunks may follow: `drain` finds out


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


def _app_chunks(result):
    """The application's answer, piece by piece; an OSError raised while making it is the application's."""
    chunks = iter(result)
    while True:
        try:
            chunk = next(chunks)
        except StopIteration:
            return
        except OSError as e:
            raise AppError(f"{type(e).__name__}: {e}") from e
        yield chunk


_date_cache = [0, ""]


def _http_date() -> str:
    """The Date header, made once a second."""
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache[:] = [now, formatdate(now, usegmt=True)]
    return _date_cache[1]


def _no_write(data: bytes) -> None:
    raise NotImplementedError("WSGI's write() is not supported: the gateway returns its body")
