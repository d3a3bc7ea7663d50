"""A function's boto3 calls to the sandbox sent over a plain HTTP/1.1 socket instead of urllib3 and http.client.

Every call a function makes crosses botocore's `URLLib3Session.send`: urllib3's pool and request, http.client's
request and response, and the email package parsing and re-reading the response's headers (each header passed through
the email policy's sanitizer on every lookup). On loopback that machinery cost ~0.9-1.3 ms of the function's CPU per
call, more than building and signing the request (#13, docs/benchmarks.md twenty-fourth round). For the requests a
function sends to the sandbox (plain `http://`, no proxy, a body in memory or a file of known length, an answer read
whole) this module writes the same bytes urllib3 writes (botocore's `Expect: 100-continue` handshake included) and
reads the answer as http.client reads it, into the objects botocore gets from urllib3 (an `AWSResponse` whose headers
are urllib3's `HTTPHeaderDict`). Anything else goes to urllib3 as before: TLS, proxies, chunked uploads, and streamed
answers (GetObject's body, Invoke's payload, event streams: code reads those through urllib3's HTTPResponse as a file,
as they arrive). A head that is not plain `Name: value` lines is read by http.client's own parser. Failures are
botocore's exceptions, as URLLib3Session raises them, so its retries see the same errors. tests/unit/test_lean_http.py
sends the same requests and answers through both and compares bytes, headers, bodies and errors.

Standard library, botocore and urllib3 only (botocore's own dependency), like every module of the environment.
"""

from __future__ import annotations

import email.message
import http.client
import io
import re
import select
import socket
import threading
import types
from urllib.parse import urlsplit

MAX_LINE = 65536  # http.client's _MAXLINE
MAX_HEADERS = 100  # http.client's _MAXHEADERS
READ_SIZE = 65536
NO_BODY_STATUS = (204, 304)
BODY_METHODS = ("PATCH", "POST", "PUT")  # urllib3 sends Content-Length: 0 for these without a body
DISALLOWED_IN_TARGET = re.compile("[\x00-\x20\x7f]").search  # http.client's putrequest refuses them (InvalidURL)
# http.client.putheader's checks (a value with a line break is refused before anything is sent)
LEGAL_NAME = re.compile(rb"[^:\s][^:\r\n]*").fullmatch
ILLEGAL_VALUE = re.compile(rb"\n(?![ \t])|\r(?![ \t\n])").search
# a header line the fast path takes: a token, a colon, a value without CR/LF inside (email's headerRE and more)
SIMPLE_HEADER = re.compile(rb"([\x21-\x39\x3b-\x7e]+):[ \t]*([^\r\n]*)\r?\n").fullmatch


# botocore's and urllib3's classes, bound by apply() from the modules the patched URLLib3Session uses (a function
# that ships its own botocore imports another one, unpatched: supervisor.forget_unreachable_modules)
_lib = types.SimpleNamespace()


class _Unsupported(Exception):
    """The request or its answer is not one this module handles: urllib3 does it."""


class _Connection:
    """One kept-alive socket to the sandbox and its read buffer."""

    __slots__ = ("sock", "rfile")

    def __init__(self, sock: socket.socket):
        self.sock, self.rfile = sock, None  # a reader per answer (_exchange)

    def dropped(self) -> bool:
        """Readable while idle: the server closed it (or sent something unasked): not reusable (urllib3's check)."""
        return _readable(self.sock, 0)

    def close(self) -> None:
        for part in (self.rfile, self.sock):
            try:
                if part is not None:
                    part.close()
            except OSError:
                pass


def _readable(sock: socket.socket, seconds: float) -> bool:
    """Whether the socket has something to read (or has ended) within `seconds` (poll: no FD_SETSIZE limit)."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    try:
        return bool(poller.poll(seconds * 1000))
    except OSError:
        return True


class _Pool:
    """Idle connections to one host:port, at most `size` kept (urllib3's pool keeps maxsize)."""

    def __init__(self, host: str, port: int, size: int):
        self.host, self.port, self.size = host, port, size
        self.idle: list[_Connection] = []
        self.lock = threading.Lock()

    def get(self, connect_timeout, socket_options) -> _Connection:
        while True:
            with self.lock:
                conn = self.idle.pop() if self.idle else None
            if conn is None:
                break
            if not conn.dropped():
                return conn
            conn.close()
        sock = socket.create_connection((self.host, self.port), timeout=connect_timeout)
        for option in socket_options:
            sock.setsockopt(*option)
        return _Connection(sock)

    def put(self, conn: _Connection) -> None:
        with self.lock:
            if len(self.idle) < self.size:
                self.idle.append(conn)
                return
        conn.close()

    def clear(self) -> None:
        with self.lock:
            idle, self.idle = self.idle, []
        for conn in idle:
            conn.close()


def _timeouts(timeout) -> tuple[float | None, float | None]:
    if isinstance(timeout, (int, float)):
        return timeout, timeout
    return timeout.connect_timeout, timeout.read_timeout


def _header_bytes(name, value) -> bytes:
    """http.client.putheader's encoding and checks, for one value."""
    if hasattr(name, "encode"):
        name = name.encode("ascii")
    if not LEGAL_NAME(name):
        raise ValueError(f"Invalid header name {name!r}")
    if hasattr(value, "encode"):
        value = value.encode("latin-1")
    elif isinstance(value, int):
        value = str(value).encode("ascii")
    if ILLEGAL_VALUE(value):
        raise ValueError(f"Invalid header value {value!r}")
    return name + b": " + value


def _pairs(headers) -> list:
    """The request's headers as http.client gets them from `headers.items()`. botocore's are an email Message, whose
    items() passes each value through its policy (a no-op for bytes and for text without lone surrogates, which
    latin-1 refuses below anyway): read its list directly."""
    stored = getattr(headers, "_headers", None)
    return stored if isinstance(headers, email.message.Message) and isinstance(stored, list) else list(headers.items())


def request_head(method: str, target: str, host: str, port: int, headers, body_length: int | None) -> bytes:
    """The bytes urllib3's HTTPConnection.request (over http.client) writes before the body."""
    if DISALLOWED_IN_TARGET(target) or DISALLOWED_IN_TARGET(method):
        raise http.client.InvalidURL(f"URL can't contain control characters. {target!r}")
    pairs = _pairs(headers)
    keys = {(k.decode("latin-1") if isinstance(k, bytes) else k).lower() for k, _ in pairs}
    lines = [f"{method} {target} HTTP/1.1".encode("ascii")]
    if "host" not in keys:
        host_bytes = host.encode("ascii") if host.isascii() else host.encode("idna")
        if ":" in host:
            host_bytes = b"[" + host_bytes + b"]"
        lines.append(b"Host: " + (host_bytes if port == 80 else host_bytes + b":" + str(port).encode("ascii")))
    if "accept-encoding" not in keys:
        lines.append(b"Accept-Encoding: identity")
    if "content-length" not in keys and "transfer-encoding" not in keys and body_length is not None:
        lines.append(b"Content-Length: " + str(body_length).encode("ascii"))
    if "user-agent" not in keys:
        raise _Unsupported("no User-Agent (urllib3 adds its own)")
    for name, value in pairs:
        lines.append(_header_bytes(name, value))
    lines.append(b"")
    lines.append(b"")
    return b"\r\n".join(lines)


def _read_body(rfile, length: int | None, chunked: bool) -> bytes:
    """The whole body, framed as http.client frames it (`length` None: until the server closes). A body cut short is
    urllib3's ProtocolError, as urllib3 reports it to URLLib3Session."""
    if not chunked:
        data = rfile.read() if length is None else rfile.read(length)
        if length is not None and len(data) < length:
            error = _lib.IncompleteRead(len(data), length - len(data))
            raise _lib.ProtocolError(f"Connection broken: {error!r}", error)
        return data
    parts = []
    while True:
        line = rfile.readline(MAX_LINE + 1)
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise _lib.ProtocolError(f"Connection broken: InvalidChunkLength(got length {line!r})") from None
        if size == 0:
            while rfile.readline(MAX_LINE + 1) not in (b"\r\n", b"\n", b""):  # trailers, then the blank line
                pass
            return b"".join(parts)
        chunk = rfile.read(size)
        if len(chunk) < size:
            raise _lib.ProtocolError("Connection broken: the answer ended inside a chunk")
        parts.append(chunk)
        rfile.readline(MAX_LINE + 1)  # the chunk's CRLF


class _Read:
    """An answer's body, read: the `raw` of the AWSResponse (botocore reads `content`, which joins `stream()`)."""

    def __init__(self, data: bytes):
        self.data = data

    def stream(self, amt: int = 2**16, decode_content=None):
        if self.data:
            yield self.data

    def read(self, amt: int | None = None) -> bytes:
        data, self.data = self.data, b""
        return data

    def close(self) -> None:
        pass


def _read_head(rfile, status_line: bytes | None = None) -> tuple[str, int, list[tuple[str, str]]]:
    """The status line and headers, as http.client's HTTPResponse.begin reads them (100 Continue skipped);
    `status_line`: already read (the answer to an `Expect: 100-continue` that was not a 100)."""
    while True:
        line = status_line if status_line is not None else rfile.readline(MAX_LINE + 1)
        status_line = None
        if len(line) > MAX_LINE:
            raise http.client.LineTooLong("status line")
        if not line:
            raise http.client.RemoteDisconnected("Remote end closed connection without response")
        text = line.decode("iso-8859-1")
        parts = text.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise http.client.BadStatusLine(text)
        version, status = parts[0], parts[1]
        if version != "HTTP/1.0" and not version.startswith("HTTP/1."):
            raise http.client.UnknownProtocol(version)
        try:
            code = int(status)
        except ValueError:
            raise http.client.BadStatusLine(text) from None
        if not 100 <= code <= 999:
            raise http.client.BadStatusLine(text)
        lines = []
        while True:
            header = rfile.readline(MAX_LINE + 1)
            if len(header) > MAX_LINE:
                raise http.client.LineTooLong("header line")
            lines.append(header)
            if len(lines) > MAX_HEADERS:
                raise http.client.HTTPException(f"got more than {MAX_HEADERS} headers")
            if header in (b"\r\n", b"\n", b""):
                break
        if code != http.client.CONTINUE:
            return version, code, _headers_of(lines)


def _headers_of(lines: list[bytes]) -> list[tuple[str, str]]:
    """(name, value) as the email parser gives them to http.client; an unusual head is left to that parser."""
    pairs = []
    for line in lines[:-1]:
        simple = SIMPLE_HEADER(line)
        if simple is None:  # what urllib3's getresponse makes of http.client's message (folds unfolded)
            message = http.client.parse_headers(io.BytesIO(b"".join(lines)))
            return [(name, _lib.normalize_value(value)) for name, value in message.items()]
        pairs.append((simple.group(1).decode("iso-8859-1"), simple.group(2).decode("iso-8859-1")))
    return pairs


def eligible(session, request) -> bool:
    """Plain http, no proxy, a body in memory or a file of known length, no chunked upload, an answer read whole:
    the sandbox's usual requests. A streamed answer (GetObject's body, event streams) stays with urllib3: code reads
    it through urllib3's HTTPResponse as a file (readline, iteration, TextIOWrapper, gzip), as it arrives."""
    url = request.url
    if request.stream_output or not url.startswith("http://") or session._proxy_config.proxy_url_for(url):
        return False
    headers = request.headers
    if "Transfer-Encoding" in headers:
        return False
    body = request.body
    return body is None or isinstance(body, (bytes, str)) or (hasattr(body, "read") and "Content-Length" in headers)


def _expects_continue(headers) -> bool:
    value = headers.get("Expect", b"")
    return (value.encode("latin-1") if isinstance(value, str) else value) == b"100-continue"


def _send_body(sock, body) -> None:
    """A file body as http.client sends one: block by block, text encoded as UTF-8 (urllib3's body_to_chunks)."""
    while True:
        block = body.read(READ_SIZE)
        if not block:
            return
        sock.sendall(block.encode("utf-8") if isinstance(block, str) else block)


class _WriteStalled(Exception):
    """The request could not be written within the connect timeout (urllib3 writes under it): the cause is chained."""


def _exchange(conn: _Connection, head: bytes, body, expect: bool, write_timeout, read_timeout) -> tuple:
    """Writes the request, reads the answer's head: (version, status, headers, whether the connection is spent).

    With `Expect: 100-continue` it does what botocore's AWSConnection does: waits up to 1 s for the server; on a 100
    it sends the body, on another status that is the answer and the body is not sent, on silence it sends it. A
    server that answers early and drops the connection while the body is still going out (a refused upload): its
    answer is read, as urllib3 reads it."""
    sock, status_line, held_back, broken = conn.sock, None, False, None
    conn.rfile = sock.makefile("rb", buffering=READ_SIZE)  # http.client: a reader per answer (what a server sent
    # past the previous answer's end is dropped with its reader, not read as this one's status line)
    sock.settimeout(write_timeout)
    try:
        if not expect:
            if isinstance(body, bytes):
                sock.sendall(head + body)
            else:
                sock.sendall(head)
                if body is not None:
                    _send_body(sock, body)
        else:
            sock.sendall(head)
            if _readable(sock, 1):
                sock.settimeout(read_timeout)
                line = conn.rfile.readline(MAX_LINE + 1)
                parts = line.split(None, 2)
                if len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1] == b"100":
                    while True:  # the 100's own header lines, if any (botocore: until a bare CRLF)
                        rest = conn.rfile.readline(MAX_LINE + 1)
                        if rest in (b"\r\n", b""):
                            break
                elif len(parts) == 3 and parts[0].startswith(b"HTTP/"):
                    status_line, held_back = line, True
                sock.settimeout(write_timeout)
            if not held_back and body is not None:
                sock.sendall(body) if isinstance(body, bytes) else _send_body(sock, body)
    except TimeoutError as e:
        raise _WriteStalled() from e
    except (BrokenPipeError, ConnectionResetError) as e:
        broken = e
    sock.settimeout(read_timeout)
    try:
        version, status, pairs = _read_head(conn.rfile, status_line)
    except (OSError, http.client.HTTPException):
        if broken is not None:
            raise broken from None
        raise
    return version, status, pairs, held_back or broken is not None


def send(session, request, original_send):
    """URLLib3Session.send for an eligible request; urllib3 for the rest."""
    parts = urlsplit(request.url)
    host, port = parts.hostname, parts.port or 80
    body = request.body
    if isinstance(body, str):
        body = body.encode("utf-8")
    if isinstance(body, bytes):
        length = len(body)
    else:  # None (no body: urllib3 sends Content-Length: 0 for these methods) or a file (its length is a header)
        length = 0 if body is None and request.method.upper() in BODY_METHODS else None
    try:
        head = request_head(request.method, session._path_url(request.url), host, port, request.headers, length)
    except _Unsupported:
        return original_send(session, request)
    except Exception as e:  # a header or target http.client refuses: URLLib3Session.send's answer to other errors
        raise _lib.HTTPClientError(error=e) from e
    pools = session.__dict__.setdefault("_sandbox_lean_pools", {})
    pool = pools.get((host, port)) or pools.setdefault((host, port),
                                                       _Pool(host, port, session._max_pool_connections))
    connect_timeout, read_timeout = _timeouts(session._timeout)
    try:
        conn = pool.get(connect_timeout, session._socket_options)
    except TimeoutError as e:
        raise _lib.ConnectTimeoutError(endpoint_url=request.url, error=e) from e
    except OSError as e:
        raise _lib.EndpointConnectionError(endpoint_url=request.url, error=e) from e
    try:
        version, status, pairs, spent = _exchange(conn, head, body, _expects_continue(request.headers),
                                                  connect_timeout, read_timeout)
        headers, first = _lib.HTTPHeaderDict(), {}
        for name, value in pairs:
            headers.add(name, value)
            first.setdefault(name.lower(), value)  # http.client decides the framing by a header's first value
        length, chunked, will_close = _framing(request.method, status, version, first)
        data = _read_body(conn.rfile, length, chunked)
    except _WriteStalled as e:
        conn.close()
        raise _lib.ConnectionClosedError(error=_lib.ProtocolError("Connection aborted.", e.__cause__),
                                         request=request, endpoint_url=request.url) from e.__cause__
    except TimeoutError as e:
        conn.close()
        error = _lib.URLLib3ReadTimeoutError(None, request.url, f"Read timed out. (read timeout={read_timeout})")
        raise _lib.ReadTimeoutError(endpoint_url=request.url, error=error) from e
    except _lib.ProtocolError as e:  # a body cut short or badly chunked
        conn.close()
        raise _lib.ConnectionClosedError(error=e, request=request, endpoint_url=request.url) from e
    except (OSError, http.client.HTTPException) as e:
        conn.close()
        raise _lib.ConnectionClosedError(error=_lib.ProtocolError("Connection aborted.", e), request=request,
                                         endpoint_url=request.url) from e
    except Exception as e:  # a file body whose read() fails: URLLib3Session.send's answer to any other error
        conn.close()
        raise _lib.HTTPClientError(error=e) from e
    if will_close or spent:
        conn.close()
    else:
        pool.put(conn)
    return _lib.AWSResponse(request.url, status, headers, _Read(data))


def _framing(method: str, status: int, version: str, headers: dict) -> tuple[int | None, bool, bool]:
    """(length, chunked, will_close) as http.client's HTTPResponse.begin decides them; `headers`: each lower-case
    name's first value."""
    connection = (headers.get("connection") or "").lower()
    if version != "HTTP/1.0":  # HTTP/1.x
        will_close = "close" in connection
    else:
        will_close = "keep-alive" not in connection and not headers.get("keep-alive")
    encoding = headers.get("transfer-encoding")
    chunked = bool(encoding) and encoding.lower() == "chunked"
    length = None
    if not chunked:
        text = headers.get("content-length")
        if text is not None:
            try:
                length = int(text)
            except ValueError:
                length = None
            else:
                if length < 0:
                    length = None
    if status in NO_BODY_STATUS or 100 <= status < 200 or method.upper() == "HEAD":
        length, chunked = 0, False
    if not will_close and not chunked and length is None:
        will_close = True
    return length, chunked, will_close


def bind() -> bool:
    """Takes botocore's and urllib3's classes from the modules botocore uses; False if they are not importable."""
    try:
        from botocore import awsrequest, exceptions
        from urllib3 import HTTPHeaderDict
        from urllib3 import connection as urllib3_connection
        from urllib3 import exceptions as urllib3_exceptions
    except ImportError:
        return False
    _lib.__dict__.update(
        normalize_value=getattr(urllib3_connection, "_normalize_header_value", lambda value: value),
        AWSResponse=awsrequest.AWSResponse, HTTPHeaderDict=HTTPHeaderDict,
        ConnectionClosedError=exceptions.ConnectionClosedError, HTTPClientError=exceptions.HTTPClientError,
        EndpointConnectionError=exceptions.EndpointConnectionError, ReadTimeoutError=exceptions.ReadTimeoutError,
        ConnectTimeoutError=exceptions.ConnectTimeoutError,
        ProtocolError=urllib3_exceptions.ProtocolError, URLLib3ReadTimeoutError=urllib3_exceptions.ReadTimeoutError,
        IncompleteRead=urllib3_exceptions.IncompleteRead)
    return True


NEEDED = ("_proxy_config", "_path_url", "_timeout", "_max_pool_connections", "_socket_options")


def apply() -> bool:
    """Routes botocore's URLLib3Session.send through `send` (idempotent); False if botocore is not as expected."""
    try:
        from botocore import httpsession
    except ImportError:
        return False
    session_class = getattr(httpsession, "URLLib3Session", None)
    if session_class is None or getattr(session_class, "_sandbox_lean", False) or not bind():
        return False
    probe = session_class()  # the attributes `send` reads are set by __init__: looked for once, not per call
    if not all(hasattr(probe, name) for name in NEEDED):
        return False
    probe.close()
    original_send, original_close = session_class.send, session_class.close

    def lean_send(self, request):
        if not eligible(self, request):
            return original_send(self, request)
        return send(self, request, original_send)

    def close(self):
        for pool in self.__dict__.get("_sandbox_lean_pools", {}).values():
            pool.clear()
        original_close(self)

    session_class.send, session_class.close = lean_send, close
    session_class._sandbox_lean = True
    return True
