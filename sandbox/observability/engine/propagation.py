"""The span a thread is working for, and how it reaches the requests LocalStack makes on its behalf.

LocalStack's services talk to each other through the gateway, with boto3 clients made by
`localstack.aws.connect.InternalClientFactory` (`connect_to(...)`). A thread that handles a request, or that a
hop patch has bound to a span (an S3 notification, an event source mapping delivery, a Step Functions task),
has a `Current`. Every internal SDK call made from that thread then carries

    X-Amzn-Trace-Id: Root=<trace>;Parent=<span>;Sampled=1     (unless the call sets its own, as Lambda's async
                                                                retries and EventBridge targets do)
    X-Sandbox-Hop:   {"hop": ..., "caller": ..., "attrs": ...}  (only for the operations the hop names)

and the gateway handler that records the call's span reads both: the parent link and what kind of hop it is.
"""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager

HOP_HEADER = "X-Sandbox-Hop"
HOP_ENVIRON_KEY = "HTTP_X_SANDBOX_HOP"
_local = threading.local()


class Current:
    __slots__ = ("trace_id", "span_id", "hop_json", "hop_ops")

    def __init__(self, trace_id: str, span_id: str | None, hop: dict | None = None, hop_ops=None):
        self.trace_id = trace_id
        self.span_id = span_id
        self.hop_json = json.dumps(hop, separators=(",", ":"), default=str) if hop else None
        self.hop_ops = frozenset(hop_ops) if hop_ops else None


def current() -> Current | None:
    return getattr(_local, "cur", None)


def set_current(cur: Current | None) -> Current | None:
    """Binds `cur` to this thread; returns what was bound before."""
    prev = getattr(_local, "cur", None)
    _local.cur = cur
    return prev


@contextmanager
def bound(cur: Current | None):
    prev = set_current(cur)
    try:
        yield cur
    finally:
        _local.cur = prev


def carrying(fn, cur: Current | None):
    """`fn`, run under `cur` in whatever thread calls it (for work handed to an executor)."""
    if cur is None:
        return fn

    def run(*args, **kwargs):
        prev = set_current(cur)
        try:
            return fn(*args, **kwargs)
        finally:
            _local.cur = prev

    return run


class CarryingProxy:
    """Stands in for an object whose method `name` is handed to an executor, so it runs under `cur`."""

    def __init__(self, target, name: str, cur: Current):
        self._target = target
        setattr(self, name, carrying(getattr(target, name), cur))

    def __getattr__(self, item):
        return getattr(self._target, item)


def inject_headers(params, model=None, **kwargs) -> None:
    """botocore `before-call` handler of LocalStack's internal clients (see module docstring)."""
    cur = getattr(_local, "cur", None)
    if cur is None:
        return
    headers = params.get("headers")
    if headers is None:
        return
    for key in headers:
        if key.lower() == "x-amzn-trace-id":
            break
    else:
        if cur.span_id:
            headers["X-Amzn-Trace-Id"] = f"Root={cur.trace_id};Parent={cur.span_id};Sampled=1"
        else:
            headers["X-Amzn-Trace-Id"] = f"Root={cur.trace_id};Sampled=1"
    if cur.hop_json is not None and (cur.hop_ops is None or (model is not None and model.name in cur.hop_ops)):
        headers[HOP_HEADER] = cur.hop_json


def install_client_hook() -> None:
    """Registers `inject_headers` on every internal client LocalStack creates from now on.

    Patches `localstack.aws.connect.InternalClientFactory._get_client_post_hook` (where LocalStack registers
    its own internal-call handlers). Clients are cached per factory; the hook is installed at infra start,
    before the services create theirs.
    """
    from localstack.aws.connect import InternalClientFactory

    original = InternalClientFactory._get_client_post_hook
    if getattr(original, "_sandbox_observability", False):
        return

    def _get_client_post_hook(self, client):
        client = original(self, client)
        client.meta.events.register("before-call.*.*", inject_headers)
        return client

    _get_client_post_hook._sandbox_observability = True
    InternalClientFactory._get_client_post_hook = _get_client_post_hook
