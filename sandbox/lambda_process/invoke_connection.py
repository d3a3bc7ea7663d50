"""One kept-alive HTTP/1.1 connection from the executor to its environment's invoke server.

Why not `requests`: on a warm invoke, its session machinery (URL preparation, hooks, cookie and proxy merging, the
adapter and urllib3's pool) was about a third of LocalStack's CPU on the invoke's path (py-spy, docs/benchmarks.md
"Sixth round"). An environment runs one invocation at a time (the executor's lock), so one plain `http.client`
connection is all it needs.
"""

from __future__ import annotations

import http.client
import select

# A kept-alive connection the server closed while idle (Node's server does after 5 s) fails on its next request
# with one of these before any answer: the request never reached the runtime, so it is sent again on a new one.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


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
            return self._post(path, body, headers, connect_timeout, read_timeout)
        except _STALE:
            self.close()
            if not reused:
                raise
        return self._post(path, body, headers, connect_timeout, read_timeout)

    def _post(self, path, body, headers, connect_timeout, read_timeout) -> http.client.HTTPResponse:
        if self._conn is None:
            self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=connect_timeout)
        conn = self._conn
        try:
            if conn.sock is None:
                conn.connect()  # also sets TCP_NODELAY: headers and body leave in one write, the answer at once
            conn.sock.settimeout(connect_timeout)
            conn.request("POST", path, body=body, headers=headers)
            conn.sock.settimeout(read_timeout)
            return conn.getresponse()
        except BaseException:
            self.close()
            raise

    def _reusable(self) -> bool:
        """Whether a connection is open and still usable: a server that closed it made it readable (at EOF)."""
        conn = self._conn
        if conn is None or conn.sock is None:
            return False
        try:
            readable, _, _ = select.select([conn.sock], [], [], 0)
        except (OSError, ValueError):
            readable = True
        if readable:
            self.close()
            return False
        return True

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
