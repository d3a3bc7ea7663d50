"""The threaded HTTP server that serves LocalStack's gateway (sandbox/security/engine/http_server.py), without
LocalStack: a rolo gateway whose one handler echoes what it was given.

The equivalence tests send the same raw bytes to this server and to twisted serving the same gateway the way
LocalStack serves it (rolo's TwistedGateway, in a subprocess: a reactor runs once per process) and want the same
request seen by the handler: method, path, query, headers in order and casing, body, environ keys.
"""

from __future__ import annotations

import datetime
import http.client
import json
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from sandbox.security.engine import http_server
from sandbox.security.engine.http_server import ThreadedHTTPServer

ENVIRON_KEYS = ("REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "CONTENT_TYPE", "CONTENT_LENGTH",
                "SERVER_NAME", "SERVER_PROTOCOL", "REMOTE_ADDR", "REQUEST_URI", "RAW_URI", "wsgi.url_scheme",
                "wsgi.input_terminated")

ECHO_GATEWAY = textwrap.dedent('''
    import json
    from rolo.gateway import Gateway

    ENVIRON_KEYS = %r

    def echo(chain, context, response):
        request = context.request
        environ = request.environ
        if request.path == "/no-read":
            response.data = b"did not read the body"
            response.headers["X-Mixed-Case-Header"] = "kept"
            return chain.stop()
        seen = {
            "method": request.method, "path": request.path, "full_path": request.full_path,
            "args": list(request.args.items(multi=True)), "headers": list(request.headers.items()),
            "body": request.get_data().decode("latin-1"), "remote_addr": request.remote_addr, "host": request.host,
            "url": request.url, "environ": {k: environ.get(k) for k in ENVIRON_KEYS},
            "http_keys": sorted((k, v) for k, v in environ.items() if k.startswith("HTTP_")),
            "raw_headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in environ.get("rolo.headers", [])],
        }
        if request.path == "/stream":
            response.response = (part.encode() for part in ["one,", "", "two,", "three"])
            response.headers.pop("Content-Length", None)
        else:
            response.set_json(seen)
        response.headers["X-Mixed-Case-Header"] = "kept"
        chain.stop()

    gateway = Gateway(request_handlers=[echo])
''') % (ENVIRON_KEYS,)

TWISTED_SERVER = ECHO_GATEWAY + textwrap.dedent('''
    from rolo.serving.twisted import TwistedGateway
    from twisted.internet import endpoints, reactor

    endpoint = endpoints.TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1")
    endpoint.listen(TwistedGateway(gateway)).addCallback(lambda port: print(port.getHost().port, flush=True))
    reactor.run()
''')


def _echo_gateway():
    namespace: dict = {}
    exec(ECHO_GATEWAY, namespace)
    return namespace["gateway"]


def serve(app, ssl_creds=None):
    """A ThreadedHTTPServer of `app` on a free loopback port, serving in a thread: (server, port, that thread)."""
    srv = ThreadedHTTPServer(app, [ThreadedHTTPServer.listen("127.0.0.1", 0)], ssl_creds)
    runner = threading.Thread(target=srv.serve_forever, daemon=True)
    runner.start()
    return srv, srv.sockets[0].getsockname()[1], runner


def gateway_of(handler):
    """The WSGI app of a rolo gateway with this one request handler."""
    from rolo.gateway import Gateway
    from rolo.gateway.wsgi import WsgiGateway

    return WsgiGateway(Gateway(request_handlers=[handler]))


@pytest.fixture
def server():
    """Our server on a free loopback port, serving the echo gateway; stopped (and checked stopped) after."""
    from rolo.gateway.wsgi import WsgiGateway

    srv, srv.port, thread = serve(WsgiGateway(_echo_gateway()))
    yield srv
    srv.shutdown()
    thread.join(10)
    assert not thread.is_alive()
    assert srv.open_connections() == 0


@pytest.fixture(scope="module")
def twisted_port():
    proc = subprocess.Popen([sys.executable, "-c", TWISTED_SERVER], stdout=subprocess.PIPE, text=True)
    try:
        yield int(proc.stdout.readline())
    finally:
        proc.kill()
        proc.wait()


def exchange(port: int, raw: bytes, responses: int = 1) -> list[tuple[int, dict, bytes]]:
    """Sends raw bytes on one connection and reads `responses` answers (status, headers, decoded body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        out = []
        reader = sock.makefile("rb")
        for _ in range(responses):
            out.append(read_response(reader))
        return out


def read_response(reader) -> tuple[int, dict, bytes]:
    while True:
        status_line = reader.readline()
        assert status_line, "the server closed the connection without an answer"
        code = int(status_line.split()[1])
        headers = {}
        while (line := reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip()] = value.strip()
        if code >= 200 or code == 101:
            break  # 100 Continue: the real answer follows
    lower = {k.lower(): v for k, v in headers.items()}
    if lower.get("transfer-encoding") == "chunked":
        body = b""
        while (size := int(reader.readline().strip(), 16)) > 0:
            body += reader.read(size)
            reader.readline()
        reader.readline()
    else:
        body = reader.read(int(lower.get("content-length", 0)))
    return code, headers, body


REQUESTS = {
    "GET, encoded path, query, repeated and mixed-case headers": (
        b"GET /p%20a/%C3%A9/x%2Fy?a=1&a=2&b=%2F&c HTTP/1.1\r\nHost: example.test:4566\r\nX-Amz-Target: T.Op\r\n"
        b"x-dup: 1\r\nUser-Agent: raw\r\nX-DUP: 2\r\nAccept-Encoding: identity\r\n\r\n"),
    "POST with a body": (
        b"POST /q/000000000000/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 27\r\nAccept-Encoding: identity\r\n\r\nAction=SendMessage&Body=%41"),
    "chunked POST": (
        b"POST /chunks HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nAccept-Encoding: identity\r\n\r\n"
        b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n"),
    "PUT with Expect: 100-continue": (
        b"PUT /bucket/key HTTP/1.1\r\nHost: localhost:4566\r\nExpect: 100-continue\r\nContent-Length: 4\r\n"
        b"Accept-Encoding: identity\r\n\r\ndata"),
    "absolute-form target (a proxy's request)": (
        b"GET http://sqs.us-east-1.amazonaws.com/000000000000/q?x=1 HTTP/1.1\r\nHost: sqs.us-east-1.amazonaws.com\r\n"
        b"Accept-Encoding: identity\r\n\r\n"),
    "HTTP/1.0 without Host": b"GET /old?x=%20 HTTP/1.0\r\nAccept-Encoding: identity\r\n\r\n",
    "IPv6 Host, Content-Type twice, Foo-Bar and Foo_Bar": (
        b"POST /six HTTP/1.1\r\nHost: [::1]:4566\r\nContent-Type: a/b\r\nFoo-Bar: 1\r\nContent-Type: c/d\r\n"
        b"Foo_Bar: 2\r\nContent-Length: 2\r\nAccept-Encoding: identity\r\n\r\nhi"),
    "absolute-form with an encoded path": (
        b"GET http://s3.localhost/b/a%20b?list-type=2 HTTP/1.1\r\nHost: s3.localhost\r\nAccept-Encoding: identity\r\n\r\n"),
}


@pytest.mark.parametrize("name", REQUESTS)
def test_the_gateway_sees_what_twisted_gives_it(server, twisted_port, name):
    ours = exchange(server.port, REQUESTS[name])[0]
    theirs = exchange(twisted_port, REQUESTS[name])[0]
    assert ours[0] == theirs[0] == 200, (ours, theirs)
    seen, expected = json.loads(ours[2]), json.loads(theirs[2])
    for key in ("host", "url"):  # the port differs, nothing else may
        seen[key] = seen[key].replace(str(server.port), "PORT")
        expected[key] = expected[key].replace(str(twisted_port), "PORT")
    if "Host" not in REQUESTS[name].decode():
        seen["environ"]["SERVER_NAME"] = expected["environ"]["SERVER_NAME"] = "local"
    assert seen == expected
    assert ours[1]["X-Mixed-Case-Header"] == "kept"


def test_a_streamed_answer_is_chunked_as_twisted_chunks_it(server, twisted_port):
    raw = b"GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    ours, theirs = exchange(server.port, raw)[0], exchange(twisted_port, raw)[0]
    assert ours[2] == theirs[2] == b"one,two,three"
    assert ours[1]["Transfer-Encoding"] == theirs[1]["Transfer-Encoding"] == "chunked"


def test_keep_alive_and_pipelined_requests_on_one_connection(server):
    one = b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
    two = b"GET /b?n=2 HTTP/1.1\r\nHost: h\r\n\r\n"
    answers = exchange(server.port, one + two + one, responses=3)
    bodies = [json.loads(body) for _, _, body in answers]
    assert [(b["path"], b["body"]) for b in bodies] == [("/a", "abc"), ("/b", ""), ("/a", "abc")]


def test_a_body_the_handler_did_not_read_does_not_become_the_next_request(server):
    first = b"POST /no-read HTTP/1.1\r\nHost: h\r\nContent-Length: 20\r\n\r\nGET /smuggled HTTP/1.1"
    second = b"GET /next HTTP/1.1\r\nHost: h\r\n\r\n"
    answers = exchange(server.port, first[:-2] + second, responses=2)  # the body is exactly 20 bytes
    assert answers[0][2] == b"did not read the body"
    assert json.loads(answers[1][2])["path"] == "/next"


def test_http_10_and_connection_close_end_the_connection(server):
    for raw in (b"GET /x HTTP/1.0\r\n\r\n", b"GET /x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(raw)
            reader = sock.makefile("rb")
            code, headers, _ = read_response(reader)
            assert code == 200 and headers["Connection"] == "close"
            assert reader.read() == b""  # closed by the server


@pytest.mark.parametrize("raw, status, says", [
    (b"GARBAGE\r\n\r\n", 400, "malformed request line"),
    (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, "HTTP/2.0 is not served here"),
    (b"GET / HTTP/1.1\r\nHost: h\r\nX-Long: " + b"a" * 70000 + b"\r\n\r\n", 431, "longer than 64 KiB"),
    (b"GET / HTTP/1.1\r\nHost: h\r\n" + b"X-A: 1\r\n" * 501 + b"\r\n", 431, "more than 500 header lines"),
    (b"GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n", 400, "folded header lines"),
    (b"GET / HTTP/1.1\r\nHost h\r\n\r\n", 400, "malformed header line"),
    (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1x\r\n\r\n", 400, "invalid Content-Length"),
    (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "send the body chunked or with a Content-Length"),
    (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc", 400,
     "both Transfer-Encoding and Content-Length"),
])
def test_a_request_it_cannot_read_gets_a_status_that_says_why_and_a_closed_connection(server, raw, status, says):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(raw)
        reader = sock.makefile("rb")
        code, headers, body = read_response(reader)
        assert (code, headers["Connection"]) == (status, "close")
        assert says in body.decode()
        assert reader.read() == b""


def test_clients_see_ordinary_http(server):
    """http.client (what botocore's urllib3 builds on): keep-alive, a HEAD without a body, a large upload."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("HEAD", "/h")
    answer = conn.getresponse()
    assert answer.status == 200 and answer.read() == b""
    payload = bytes(range(256)) * 40000  # 10 MB, read from the socket as the handler reads it
    conn.request("PUT", "/big", body=payload)
    answer = conn.getresponse()
    assert json.loads(answer.read())["body"].encode("latin-1") == payload
    assert answer.getheader("Date")
    conn.close()


def test_https_on_the_same_port(tmp_path):
    """LocalStack answers HTTPS on its HTTP port (its TLS multiplexer); the threaded server does too."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    from rolo.gateway.wsgi import WsgiGateway

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    (tmp_path / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "k.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    srv, port, _ = serve(WsgiGateway(_echo_gateway()), (str(tmp_path / "c.pem"), str(tmp_path / "k.pem")))
    try:
        tls = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=ssl._create_unverified_context())
        tls.request("GET", "/secure")
        seen = json.loads(tls.getresponse().read())
        assert seen["environ"]["wsgi.url_scheme"] == "https" and seen["url"].startswith("https://")
        plain = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        plain.request("GET", "/plain")
        assert json.loads(plain.getresponse().read())["environ"]["wsgi.url_scheme"] == "http"
        tls.close()
        plain.close()
    finally:
        srv.shutdown()


def test_shutdown_closes_idle_connections_and_waits_for_a_request_in_progress(monkeypatch):
    entered = threading.Event()

    def slow(chain, context, response):
        entered.set()
        time.sleep(0.5)
        response.data = b"finished"
        chain.stop()

    srv, port, runner = serve(gateway_of(slow))
    idle = socket.create_connection(("127.0.0.1", port), timeout=5)
    busy = socket.create_connection(("127.0.0.1", port), timeout=5)
    busy.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    assert entered.wait(5)
    stopper = threading.Thread(target=srv.shutdown)
    stopper.start()
    time.sleep(0.2)
    assert runner.is_alive()  # LocalStack runs its shutdown hooks when this returns: not before the answer
    code, headers, body = read_response(busy.makefile("rb"))
    assert (code, body) == (200, b"finished")
    assert idle.recv(1) == b""  # closed without a request
    stopper.join(5)
    runner.join(5)
    assert not runner.is_alive() and srv.open_connections() == 0
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2)


def test_past_the_connection_limit_the_longest_idle_one_is_closed_or_else_the_new_one_refused(monkeypatch):
    release = threading.Event()
    blocked = []

    def blocking(chain, context, response):
        if context.request.path == "/block":
            blocked.append(1)
            release.wait(10)
        response.data = b"ok"
        chain.stop()

    monkeypatch.setattr(http_server, "MAX_CONNECTIONS", 2)
    srv, port, _ = serve(gateway_of(blocking))

    def wait_for(count, in_progress):
        deadline = time.monotonic() + 5
        while (srv.open_connections(), len(blocked)) != (count, in_progress) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert (srv.open_connections(), len(blocked)) == (count, in_progress)

    try:
        oldest = socket.create_connection(("127.0.0.1", port), timeout=5)
        wait_for(1, 0)
        busy = socket.create_connection(("127.0.0.1", port), timeout=5)
        busy.sendall(b"GET /block HTTP/1.1\r\nHost: h\r\n\r\n")
        wait_for(2, 1)
        newcomer = socket.create_connection(("127.0.0.1", port), timeout=5)
        assert oldest.recv(1) == b""  # the idle one made room
        newcomer.sendall(b"GET /block HTTP/1.1\r\nHost: h\r\n\r\n")
        wait_for(2, 2)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as refused:
            code, _, body = read_response(refused.makefile("rb"))
        assert code == 503 and b"2 requests are in progress" in body
        release.set()
        assert read_response(busy.makefile("rb"))[2] == b"ok"
        assert read_response(newcomer.makefile("rb"))[2] == b"ok"
    finally:
        release.set()
        srv.shutdown()


def test_it_listens_where_it_is_told_and_nowhere_else():
    sock = ThreadedHTTPServer.listen("127.0.0.1", 0)
    try:
        assert sock.getsockname()[0] == "127.0.0.1"
    finally:
        sock.close()


def test_an_answer_without_reading_a_large_body_reaches_the_client(server):
    """A handler that refuses an upload without reading it (the guard, a failed check): the client still reads the
    answer - the server reads off what the client sends before closing, rather than resetting the connection."""
    payload = b"x" * (8 << 20)
    for _ in range(3):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request("PUT", "/no-read", body=payload)
        answer = conn.getresponse()
        assert (answer.status, answer.read()) == (200, b"did not read the body")
        assert answer.getheader("Connection") == "close"
        conn.close()


def test_100_continue_is_sent_only_when_the_handler_reads_the_body(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"PUT /no-read HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5000000\r\n\r\n")
        reader = sock.makefile("rb")
        assert reader.readline().startswith(b"HTTP/1.1 200")  # the final answer, no 100 before it
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"PUT /read HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
        reader = sock.makefile("rb")
        assert reader.readline() == b"HTTP/1.1 100 Continue\r\n" and reader.readline() == b"\r\n"
        sock.sendall(b"data")
        assert json.loads(read_response(reader)[2])["body"] == "data"


@pytest.mark.parametrize("raw", [
    b"POST /a HTTP/1.1\r\nHost: h\r\nContent_Length: 5\r\n\r\nhello",  # not Content-Length: no body
    b"POST /a HTTP/1.1\r\nHost: h\r\nTransfer_Encoding: chunked\r\n\r\n",
])
def test_only_the_real_framing_headers_frame_a_body(server, raw):
    seen = json.loads(exchange(server.port, raw)[0][2])
    assert seen["body"] == ""


@pytest.mark.parametrize("raw, says", [
    (b"GET / HTTP/1.1\r\nHost: h\r\nX Y: 1\r\n\r\n", "malformed header line"),
    (b"GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x00b\r\n\r\n", "malformed header line"),
    (b"GET / HTTP/1.1\r\nHost: h\r\nX-A: a\rb\r\n\r\n", "malformed header line"),
    (b"GET /b/k\xc3\xb6y HTTP/1.1\r\nHost: h\r\n\r\n", "percent-encode them"),
    (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \xb2\r\n\r\n", "invalid Content-Length"),
    (b"GET / HTTP/1.1\r\nHost: h\r\n" + b"X-A: " + b"a" * 40000 + b"\r\nX-B: " + b"b" * 40000 + b"\r\n\r\n",
     "longer than 64 KiB"),
])
def test_malformed_heads_are_refused(server, raw, says):
    code, headers, body = exchange(server.port, raw)[0]
    assert code in (400, 431) and says in body.decode() and headers["Connection"] == "close"


def test_a_malformed_chunked_body_ends_the_connection_so_nothing_is_smuggled(server):
    raw = (b"POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\r\n0\r\n\r\n"
           b"GET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(raw)
        reader = sock.makefile("rb")
        read_response(reader)
        assert reader.read() == b""  # closed: /smuggled was never read as a request


def test_a_client_that_stalls_in_its_head_or_body_is_dropped(server, monkeypatch):
    monkeypatch.setattr(http_server, "IO_TIMEOUT", 0.3)
    for raw in (b"GET / HTTP/1.1\r\n", b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc"):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(raw)
            started = time.monotonic()
            while sock.recv(65536):  # the answer to a cut-off body, if any, then the end
                pass
            assert time.monotonic() - started < 4


def test_accepting_goes_on_after_a_connection_fails_to_start(server, monkeypatch):
    original = http_server.Connection.__init__
    calls = []

    def failing_once(self, *args):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("cannot start")
        original(self, *args)

    monkeypatch.setattr(http_server.Connection, "__init__", failing_once)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as first:
        assert first.recv(1) == b""
    assert json.loads(exchange(server.port, b"GET /after HTTP/1.1\r\nHost: h\r\n\r\n")[0][2])["path"] == "/after"
    deadline = time.monotonic() + 5
    while server.open_connections() and time.monotonic() < deadline:  # the last one ends as its client closes
        time.sleep(0.01)
    assert server.open_connections() == 0


def test_a_thread_whose_connection_ended_serves_the_next_one():
    """No thread start per connection (a client with more threads than its pool opens one per request), and the
    threads left waiting end at shutdown."""

    served_by = []

    def record(chain, context, response):
        served_by.append(threading.get_ident())
        response.data = b"ok"
        chain.stop()

    srv, port, runner = serve(gateway_of(record))
    for _ in range(5):
        assert exchange(port, b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")[0][2] == b"ok"
        deadline = time.monotonic() + 5
        while srv.open_connections() and time.monotonic() < deadline:
            time.sleep(0.005)
    assert len(served_by) == 5 and len(set(served_by)) == 1
    waiting = [t for t in threading.enumerate() if t.name == "http-connection"]
    srv.shutdown()
    runner.join(5)
    for thread in waiting:
        thread.join(5)
        assert not thread.is_alive()


def test_closing_after_an_answer_still_reads_off_an_upload_so_the_client_gets_the_answer(server):
    """Connection: close, and an application failure, both with a body left unread: no reset, the answer arrives."""
    def stream():
        for _ in range(64):
            yield b"y" * 65536

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("PUT", "/no-read", body=stream(), headers={"Connection": "close"})
    answer = conn.getresponse()
    assert (answer.status, answer.read()) == (200, b"did not read the body")

    def failing(environ, start_response):
        raise FileNotFoundError("the application's own OSError, not the connection's")

    srv, port, _ = serve(failing)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("PUT", "/x", body=b"z" * (8 << 20))
        answer = conn.getresponse()
        assert answer.status == 500 and b"its log says why" in answer.read()
    finally:
        srv.shutdown()


def test_an_answer_never_runs_past_its_content_length():
    def lying(environ, start_response):
        start_response("200 OK", [("Content-Length", "2")])
        return [b"{}", b"HTTP/1.1 200 OK\r\n\r\nforged"]

    srv, port, _ = serve(lying)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n")
            reader = sock.makefile("rb")
            assert read_response(reader)[2] == b"{}"
            assert reader.read() == b""  # closed: nothing forged follows
    finally:
        srv.shutdown()


@pytest.mark.parametrize("raw", [
    b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\nhello",
    b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n",
])
def test_framing_headers_sent_twice_are_refused(server, raw):
    code, _, body = exchange(server.port, raw)[0]
    assert code == 400 and b"sent twice" in body


def test_a_head_sent_a_byte_at_a_time_still_times_out(server, monkeypatch):
    monkeypatch.setattr(http_server, "IO_TIMEOUT", 0.5)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\n")
        started = time.monotonic()
        closed = False
        while not closed and time.monotonic() - started < 4:
            try:
                sock.sendall(b"X")  # a header line that never ends, 5 bytes a second
            except OSError:
                closed = True
            time.sleep(0.2)
            sock.setblocking(False)
            try:
                closed = closed or sock.recv(1) == b""
            except BlockingIOError:
                pass
            except OSError:
                closed = True
            sock.setblocking(True)
        assert closed and time.monotonic() - started < 2


def test_body_reads_keep_their_meaning():
    import io as _io

    body = http_server.SizedBody(_io.BufferedReader(_io.BytesIO(b"hello, world")), 12)
    assert body.read(0) == b"" and not body.broken
    assert body.read(5) == b"hello" and body.read() == b", world" and body.read() == b""
    assert body.finished()
    cut = http_server.SizedBody(_io.BufferedReader(_io.BytesIO(b"abc")), 10)
    from werkzeug.exceptions import ClientDisconnected

    with pytest.raises(ClientDisconnected):
        cut.read()
    assert cut.broken and not cut.reusable()
