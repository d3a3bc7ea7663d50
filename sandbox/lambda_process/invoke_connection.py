"""One kept-alive HTTP/1.1 connection from the executor to its environment's invoke server.

Why not `requests`: on a warm invoke, its session machinery (URL preparation, hooks, cookie and proxy merging, the
adapter and urllib3's pool) made a warm invoke ~18 % slower (bench/invoke.py, docs/benchmarks.md "Sixth round"). An
environment runs one invocation at a time (the executor's lock), so one plain `http.client` connection is all it
needs. Neither runtime server closes an idle connection (bootstrap.py never; bootstrap.mjs sets no keep-alive
timeout); one that the runtime closed anyway (it exited) is seen before it is used, and never sent an invocation.
"""

from __future__ import annotations

import http.client
import select

# A send that fails on a reused connection: the runtime closed it before reading this request, so the request is sent
# once more on a new connection. Nothing is ever sent again once it was sent whole: a function must not run twice.
_SEND_FAILED = (ConnectionResetError, BrokenPipeError)


class InvokeConnection:
    def __init__(self, port: int) -> None:
        self.port = port
        self._conn: http.client.HTTPConnection | None = None

    def post(self, path: str, body: bytes, headers: dict[str, str], connect_timeout: float,
             read_timeout: float) -> http.client.HTTPResponse:
        """Sends the request; returns once the answer's headers are in (its body is left to read).

        Raises OSError or http.client.HTTPException when the server cannot be reached or breaks the connection.
        """
        reused = self._reusable()
        try:
            conn = self._connected(connect_timeout)
            try:
                conn.request("POST", path, body=body, headers=headers)
            except _SEND_FAILED:
                if not reused:
                    raise
                self.close()
                conn = self._connected(connect_timeout)
                conn.request("POST", path, body=body, headers=headers)
            conn.sock.settimeout(read_timeout)
            return conn.getresponse()
        except BaseException:
            self.close()
            raise

    def _connected(self, connect_timeout: float) -> http.client.HTTPConnection:
        if self._conn is None:
            self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=connect_timeout)
        conn = self._conn
        if conn.sock is None:
            conn.connect()  # also sets TCP_NODELAY: headers and body leave in one write, the answer at once
        conn.sock.settimeout(connect_timeout)
        return conn

    def _reusable(self) -> bool:
        """Whether a connection is open and still usable: one the server closed is readable (at EOF) or hung up.
        `poll`, not `select`: LocalStack may hold more than 1024 descriptors."""
        conn = self._conn
        if conn is None or conn.sock is None:
            return False
        try:
            poller = select.poll()
            poller.register(conn.sock, select.POLLIN | select.POLLPRI)
            usable = not poller.poll(0)
        except (OSError, ValueError):
            usable = False
        if not usable:
            self.close()
        return usable

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
