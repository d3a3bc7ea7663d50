"""Functions' boto3 calls over a plain socket (sandbox/lambda_process/environment/lean_http.py): the same bytes on the
wire as urllib3 writes, the same responses and the same errors handed to botocore, for the requests botocore really
builds and for answers a server can give (lengths, chunks, no body, interim 100s, folded headers, broken answers).

Each case sends one prepared request through botocore's URLLib3Session as shipped and through lean_http.send, to a
raw socket server that records what arrives and answers from a script. Nothing is patched on botocore's classes."""

from __future__ import annotations

import io
import socket
import sys
import threading
import time
from pathlib import Path

import boto3
import pytest
from botocore.httpsession import URLLib3Session

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "sandbox" / "lambda_process" / "environment"))
import lean_http  # noqa: E402

assert lean_http.bind()


class RawServer:
    """Answers each request with the next scripted bytes; records each request's raw bytes (head + body).

    A script item: bytes (the whole answer), or a callable(conn, head) for answers that need timing."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.script: list = []
        self.received: list[bytes] = []
        self.connections = 0
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        rfile = conn.makefile("rb")
        with conn:
            while True:
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    line = rfile.readline()
                    if not line:
                        return
                    head += line
                if not self.script:
                    return
                answer = self.script.pop(0)
                if callable(answer):
                    if answer(conn, head, rfile, self) == "close":
                        return
                    continue
                self.received.append(head + self._body(head, rfile))
                conn.sendall(answer)
                if b"connection: close" in answer.lower() or b"HTTP/1.0" in answer[:9]:
                    return

    @staticmethod
    def _body(head: bytes, rfile) -> bytes:
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                return rfile.read(int(line.split(b":", 1)[1]))
        return b""

    def close(self):
        self.stopped = True
        self.sock.close()


@pytest.fixture(autouse=True)
def _no_host_profile(no_host_profile):
    """The clients below are made by fresh sessions; the live tests' host profile must not be looked up."""


@pytest.fixture
def server():
    s = RawServer()
    yield s
    s.close()


_sessions: list = []


def _session():
    """One boto3 session for the module: its models are loaded once (a fresh one per client took ~0.3 s)."""
    if not _sessions:
        _sessions.append(boto3.session.Session())
    return _sessions[0]


class Stop(Exception):
    pass


def prepared(service: str, operation: str, port: int, **params):
    """The AWSPreparedRequest botocore builds for this call (stopped before it is sent)."""
    client = _session().client(service, endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")
    seen = {}

    def capture(request, **_):
        seen["request"] = request
        raise Stop()

    client.meta.events.register("before-send", capture)
    with pytest.raises(Stop):
        getattr(client, operation)(**params)
    return seen["request"]


def both(server: RawServer, request, answer, timeout=None, settle=0.0):
    """(what urllib3 gave, what lean gave): each (request bytes received `settle` s after the answer, response or
    error)."""
    assert lean_http.eligible(URLLib3Session(), request)
    out = []
    for side in ("urllib3", "lean"):
        session = URLLib3Session(timeout=timeout) if timeout else URLLib3Session()
        server.script = [answer]
        server.received = []
        if hasattr(request.body, "seek"):
            request.body.seek(0)
        try:
            if side == "urllib3":
                response = session.send(request)
            else:
                response = lean_http.send(session, request, URLLib3Session.send)
            result = (response.status_code, list(response.headers.items()),
                      response.content)
        except Exception as e:  # noqa: BLE001 - the error is what is compared
            result = (type(e).__name__, type(getattr(e, "kwargs", {}).get("error")).__name__)
        time.sleep(settle)
        out.append((b"".join(server.received), result))
    return out


BIG = b"media " * 3000
CALLS = {
    "SendMessage": ("sqs", "send_message", lambda port: dict(
        QueueUrl=f"http://127.0.0.1:{port}/000000000000/q", MessageBody='{"a": "é"}')),
    "UpdateItem": ("dynamodb", "update_item", lambda port: dict(
        TableName="jobs", Key={"id": {"S": "1"}}, UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":s": {"S": "DONE"}})),
    "PutObject bytes": ("s3", "put_object", lambda port: dict(
        Bucket="media", Key="up/a b+c.mp4", Body=BIG, Metadata={"correlation-id": "x1"})),
    "PutObject file": ("s3", "put_object", lambda port: dict(Bucket="media", Key="up/f.mp4", Body=io.BytesIO(BIG))),
    "GetObjectTagging": ("s3", "get_object_tagging", lambda port: dict(Bucket="media", Key="up/ä.mp4")),
    "HeadObject": ("s3", "head_object", lambda port: dict(Bucket="media", Key="up/a.mp4")),
    "ListObjectsV2": ("s3", "list_objects_v2", lambda port: dict(Bucket="media", Prefix="up/ x")),
    "DeleteObjects": ("s3", "delete_objects", lambda port: dict(
        Bucket="media", Delete={"Objects": [{"Key": "a"}, {"Key": "b"}]})),
    "PublishVersion": ("lambda", "publish_version", lambda port: dict(FunctionName="f", Description="v ä")),
    "GetCallerIdentity": ("sts", "get_caller_identity", lambda port: {}),
}


def request_for(name: str, port: int):
    service, operation, params = CALLS[name]
    return prepared(service, operation, port, **params(port))


SENDS = (URLLib3Session.send, lambda session, request: lean_http.send(session, request, URLLib3Session.send))


def errors_of_both(request, before=lambda: None) -> list[str]:
    """The exception each path raises for the request (`before` runs ahead of each: a fresh script, a rewind)."""
    errors = []
    for send in SENDS:
        before()
        try:
            send(URLLib3Session(), request)
        except Exception as e:  # noqa: BLE001 - the error is what is compared
            errors.append(type(e).__name__)
    return errors


OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


def continue_then(answer: bytes):
    """Reads the head, sends 100 Continue, reads the body, then answers (what LocalStack's server does)."""
    def serve(conn, head, rfile, server):
        conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        server.received.append(head + RawServer._body(head, rfile))
        conn.sendall(answer)
    return serve


@pytest.mark.parametrize("name", list(CALLS))
def test_the_same_bytes_go_out_and_the_same_answer_comes_back(server, name):
    request = request_for(name, server.port)
    answer = OK if "Head" not in name else b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nETag: \"x\"\r\n\r\n"
    if lean_http._expects_continue(request.headers):
        answer = continue_then(answer)
    (plain_sent, plain), (lean_sent, lean) = both(server, request, answer)
    assert plain_sent and lean_sent == plain_sent
    assert lean == plain
    assert plain[0] == 200


ANSWERS = {
    "chunked, extensions and trailers": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                        b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
    "no body on 204": b"HTTP/1.1 204 No Content\r\nx-amzn-RequestId: r\r\n\r\n",
    "HTTP/1.0 read to the end": b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close",
    "connection close": b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc",
    "duplicate and odd headers": b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nx-amz-meta-k: one\r\nSet-Cookie: b=2\r\n"
                                 b"X-Empty:\r\nX-Spaces:   padded  \t\r\nx-amz-meta-k: two\r\n"
                                 b"Content-Length: 0\r\n\r\n",
    "folded header (http.client's parser)": b"HTTP/1.1 200 OK\r\nX-Long: first\r\n  second\r\nContent-Length: 1\r\n"
                                            b"\r\nz",
    "interim 100 before the answer": b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nk",
    "error status with a body": b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.0\r\n"
                                b"Content-Length: 19\r\n\r\n{\"__type\": \"Boom\"} ",
    "Content-Length twice (http.client takes the first)": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                                                          b"Content-Length: 2\r\n\r\n{}",
    "latin-1 header value": b"HTTP/1.1 200 OK\r\nX-Name: caf\xe9\r\nContent-Length: 0\r\n\r\n",
    # broken answers: both give botocore the same error
    "body shorter than its length": b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\nabc",
    "bad status line": b"HTTQ/1.1 200 OK\r\n\r\n",
    "no answer at all": b"",
    "bad chunk length": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\nhello\r\n",
}


@pytest.mark.parametrize("name", list(ANSWERS))
def test_answers_are_read_as_urllib3_reads_them(server, name):
    request = request_for("UpdateItem", server.port)
    answer = ANSWERS[name]
    if name in ("no answer at all", "bad status line"):
        def answer(conn, head, rfile, server, raw=ANSWERS[name]):
            server.received.append(head + RawServer._body(head, rfile))
            conn.sendall(raw)
            return "close"
    (plain_sent, plain), (lean_sent, lean) = both(server, request, answer)
    assert lean_sent == plain_sent
    assert lean == plain


def test_a_head_request_reads_no_body_and_keeps_the_connection(server):
    request = request_for("HeadObject", server.port)
    session = URLLib3Session()
    server.script = [b"HTTP/1.1 200 OK\r\nContent-Length: 12345\r\n\r\n", OK.replace(b"OK\r\n", b"OK\r\n", 1)]
    first = lean_http.send(session, request, URLLib3Session.send)
    assert first.status_code == 200 and first.content == b"" and first.headers["content-length"] == "12345"
    second = lean_http.send(session, request, URLLib3Session.send)
    assert second.status_code == 200
    assert server.connections == 1  # the same kept-alive socket carried both


def test_a_streamed_answer_is_left_to_urllib3(server):
    """GetObject's body and event streams are read by code as urllib3's file (readline, TextIOWrapper, gzip) and as
    they arrive: urllib3 keeps them."""
    for streamed in (prepared("s3", "get_object", server.port, Bucket="media", Key="up/a.mp4"),
                     prepared("lambda", "invoke", server.port, FunctionName="f", Payload=b"{}")):
        assert streamed.stream_output and not lean_http.eligible(URLLib3Session(), streamed)


def test_bytes_a_server_sends_past_an_answer_are_not_read_as_the_next_answer(server):
    """http.client reads each answer with a reader of its own: what came after an answer's end is dropped."""
    results = []
    for send in SENDS:
        session, request = URLLib3Session(), request_for("SendMessage", server.port)
        server.script, server.received, server.connections = [OK + b"HTTP/1.1 500 Stray\r\n\r\n", OK], [], 0
        first = send(session, request)
        time.sleep(0.1)
        second = send(session, request)
        results.append((first.status_code, second.status_code, second.content, len(server.received)))
    assert results[1] == results[0] == (200, 200, b"{}", 2)


def test_a_file_body_that_fails_to_read_is_botocores_client_error_and_closes_the_connection(server):
    class Failing(io.BytesIO):
        def read(self, size=-1):
            if self.tell() > 0:
                raise ValueError("source stream failed")
            return super().read(10)

    request = request_for("PutObject file", server.port)
    request.body = Failing(BIG)

    def before():
        server.script = [continue_then(OK)]
        request.body.seek(0)

    assert errors_of_both(request, before) == ["HTTPClientError", "HTTPClientError"]


def test_a_connection_the_server_closed_while_idle_is_not_reused(server):
    request = request_for("SendMessage", server.port)
    session = URLLib3Session()
    server.script = [OK, OK]

    def close_after(conn, head, rfile, srv):
        srv.received.append(head + RawServer._body(head, rfile))
        conn.sendall(OK)
        return "close"  # answers, then closes a connection the client keeps alive

    server.script = [close_after, OK]
    assert lean_http.send(session, request, URLLib3Session.send).status_code == 200
    time.sleep(0.1)
    assert lean_http.send(session, request, URLLib3Session.send).status_code == 200
    assert server.connections == 2


def test_an_early_final_answer_to_expect_continue_holds_the_body_back(server):
    request = request_for("PutObject file", server.port)
    assert lean_http._expects_continue(request.headers)

    def refuse(conn, head, rfile, srv):
        srv.received.append(head)  # the body is not read: the client must not have sent it
        conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 6\r\n\r\ndenied")
        time.sleep(0.2)
        conn.setblocking(False)
        try:
            late = conn.recv(65536)  # b"": the client closed the connection, which it may
        except BlockingIOError:
            late = b""
        if late:
            srv.received.append(b"LATE:" + late)
        return "close"

    (plain_sent, plain), (lean_sent, lean) = both(server, request, refuse, settle=0.5)
    assert lean == plain and lean[0] == 403 and lean[2] == b"denied"
    assert lean_sent == plain_sent and b"LATE:" not in lean_sent


def test_a_silent_server_times_out_as_botocore_says(server):
    request = request_for("SendMessage", server.port)

    def silent(conn, head, rfile, srv):
        srv.received.append(head + RawServer._body(head, rfile))
        time.sleep(1.0)
        return "close"

    (_, plain), (_, lean) = both(server, request, silent, timeout=(1, 0.3))
    assert lean == plain == ("ReadTimeoutError", "ReadTimeoutError")


def test_a_refused_connection_is_botocores_endpoint_error():
    probe = socket.create_server(("127.0.0.1", 0))  # a port that was free: nothing listens once it is closed
    port = probe.getsockname()[1]
    probe.close()
    assert errors_of_both(request_for("SendMessage", port)) == ["EndpointConnectionError", "EndpointConnectionError"]


def test_a_header_value_with_a_line_break_is_refused_before_sending(server):
    request = request_for("SendMessage", server.port)
    request.headers["X-Bad"] = "a\r\nInjected: 1"
    server.script, server.received = [OK, OK], []
    assert errors_of_both(request) == ["HTTPClientError", "HTTPClientError"]
    assert server.received == []


def test_what_it_leaves_to_urllib3():
    session = URLLib3Session()
    request = request_for("SendMessage", 1)
    assert lean_http.eligible(session, request)
    request.url = request.url.replace("http://", "https://")
    assert not lean_http.eligible(session, request)  # TLS
    proxied = URLLib3Session(proxies={"http": "http://127.0.0.1:3128"})
    assert not lean_http.eligible(proxied, request_for("SendMessage", 1))
    chunked = request_for("SendMessage", 1)
    chunked.headers["Transfer-Encoding"] = "chunked"
    assert not lean_http.eligible(session, chunked)
