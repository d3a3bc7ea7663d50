"""The executor's kept-alive connection to an environment's invoke server, against real loopback servers: one
connection for many invocations, a new one when the server closed it while idle, and errors that reach the executor
(which turns them into a crash, a timeout or a refused invocation) instead of being retried."""

from __future__ import annotations

import http.client
import http.server
import socket
import threading
import time

import pytest

from sandbox.lambda_process.invoke_connection import InvokeConnection


class Server:
    """A stdlib HTTP/1.1 server that counts connections; `idle_close` makes it close a connection after each answer
    the way a server with a keep-alive timeout does once the connection has been idle."""

    def __init__(self, idle_close: bool = False, delay: float = 0.0):
        self.connections = 0
        self.requests = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes, as in bootstrap.py

            def setup(self):
                super().setup()
                server.connections += 1

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                server.requests += 1
                if body == b"slow":
                    time.sleep(delay)
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                if idle_close:
                    threading.Timer(0.05, self._close_idle).start()

            def _close_idle(self):
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda *args: None  # a client that hung up on purpose is no error here
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def make_server():
    servers = []

    def make(**kwargs):
        servers.append(Server(**kwargs))
        return servers[-1]

    yield make
    for s in servers:
        s.close()


def post(conn: InvokeConnection, body: bytes, read_timeout: float = 5.0) -> bytes:
    response = conn.post("/invoke", body, {"Content-Type": "application/json"}, connect_timeout=5,
                         read_timeout=read_timeout)
    assert response.status == 200
    return response.read()


def test_many_invocations_share_one_connection(make_server):
    server = make_server()
    conn = InvokeConnection(server.port)
    try:
        assert [post(conn, b"%d" % i) for i in range(20)] == [b"%d" % i for i in range(20)]
    finally:
        conn.close()
    assert server.requests == 20
    assert server.connections == 1


def test_a_connection_the_server_closed_while_idle_is_replaced(make_server):
    server = make_server(idle_close=True)  # the runtime exited after answering, say
    conn = InvokeConnection(server.port)
    try:
        for i in range(3):
            assert post(conn, b"x%d" % i) == b"x%d" % i
            time.sleep(0.2)  # the server closes it meanwhile
    finally:
        conn.close()
    assert server.requests == 3  # each sent once: never twice to the runtime
    assert server.connections == 3


def test_a_connection_closed_just_as_it_is_reused_is_sent_again_once(make_server):
    server = make_server()
    conn = InvokeConnection(server.port)
    try:
        assert post(conn, b"a") == b"a"
        # the server's side goes away without the readable EOF being seen first (the race the retry is for)
        conn._reusable = lambda: True  # noqa: SLF001 - forces the reuse of a dead connection
        conn._conn.sock.shutdown(socket.SHUT_WR)  # noqa: SLF001
        assert post(conn, b"b") == b"b"
    finally:
        conn.close()
    assert server.requests == 2


def test_a_request_sent_whole_is_never_sent_again_when_the_answer_fails():
    """The server read the request, then hung up (a runtime that died running it): the error reaches the executor,
    which reports the crash. Sending it again would run the function twice."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    received = []

    def serve():
        c, _ = listener.accept()
        with c:
            data = b""
            while not data.endswith(b"first"):
                data += c.recv(65536)
            received.append("a")
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na")
            data = b""
            while not data.endswith(b"second"):  # the whole second request, on the same (reused) connection
                data += c.recv(65536)
            received.append("b")
        while True:  # any new connection: a resend
            try:
                c2, _ = listener.accept()
            except OSError:
                return
            received.append("resent")
            c2.close()

    threading.Thread(target=serve, daemon=True).start()
    conn = InvokeConnection(listener.getsockname()[1])
    try:
        assert post(conn, b"first") == b"a"
        with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
            post(conn, b"second")
        time.sleep(0.2)
        assert received == ["a", "b"]
    finally:
        listener.close()


def test_keep_alive_holds_with_more_than_1024_descriptors_open(make_server):
    """`select` cannot watch a descriptor past 1024: the connection looked broken and was replaced on every call."""
    server = make_server()
    held = []
    try:
        while len(held) < 1100:
            held.append(socket.socket())
        conn = InvokeConnection(server.port)
        for i in range(10):
            assert post(conn, b"%d" % i) == b"%d" % i
        assert conn._conn.sock.fileno() > 1024  # noqa: SLF001
        conn.close()
    finally:
        for s in held:
            s.close()
    assert server.connections == 1


def test_nothing_listening_is_an_error_not_a_retry_loop():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    conn = InvokeConnection(port)
    with pytest.raises(ConnectionRefusedError):
        post(conn, b"a")


def test_a_server_that_closes_a_fresh_connection_without_answering_is_an_error():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted = []

    def hang_up():
        for _ in range(2):
            c, _ = listener.accept()
            accepted.append(c)
            c.recv(65536)
            c.close()

    threading.Thread(target=hang_up, daemon=True).start()
    conn = InvokeConnection(listener.getsockname()[1])
    try:
        with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
            post(conn, b"a")
        time.sleep(0.1)
        assert len(accepted) == 1  # a fresh connection that fails is not tried again
    finally:
        listener.close()


def test_an_answer_slower_than_the_read_timeout_raises_timeout(make_server):
    server = make_server(delay=1.0)
    conn = InvokeConnection(server.port)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        post(conn, b"slow", read_timeout=0.2)
    assert time.monotonic() - started < 0.9
    # the connection is dropped with its unread answer; the next invocation gets a new one
    assert post(conn, b"next", read_timeout=5) == b"next"
    conn.close()
    assert server.connections == 2
