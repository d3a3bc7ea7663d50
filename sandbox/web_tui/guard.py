"""Who may load the web TUI: the decision for one HTTP request, as pure logic (no aiohttp, no I/O).

The browser TUI is the sandbox's whole UI - deploy, run scenarios, inject faults - and functions run as host
processes, so whoever drives it can run code on the laptop. A page on another site must not: not by a DNS-rebinding
name for 127.0.0.1 (the `Host` check), not by a cross-site request or websocket (`Origin`, `Sec-Fetch-Site`),
and not by guessing the port of a same-site page (every path needs the per-launch token the CLI prints). The rules
are the gateway's own (sandbox.security.policy); this module only adds the token and the read-only method set.
"""

from __future__ import annotations

import hmac

from sandbox.security.policy import (Decision, Policy, Request, cross_site_origin, is_local_host, is_loopback_address,
                                     split_host)

ALLOW = Decision(True)
METHODS = frozenset({"GET", "HEAD"})
# Sent with every answer: no page may frame it, and the token in its URL is never sent on as a Referer.
HEADERS = {"Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
           "Content-Security-Policy": "frame-ancestors 'none'", "X-Frame-Options": "DENY"}


def token_of(path: str) -> str:
    """The first segment of a path (where the web TUI's URLs carry the token)."""
    return path.lstrip("/").split("/", 1)[0]


def decide(request: Request, port: int, token: str) -> Decision:
    """The verdict on one request to the web TUI served on 127.0.0.1:`port` with `token`."""
    if not is_loopback_address(request.remote_addr):
        return Decision(False, 403, f"connections from {request.remote_addr} are not accepted: the web TUI serves "
                                    "this machine only", "remote")
    host = request.header("Host") or ""
    if not is_local_host(host) or split_host(host).endswith(".localhost"):
        return Decision(False, 403, f"Host {host!r} is not this machine (a DNS-rebinding page sends its own "
                                    f"domain): open http://127.0.0.1:{port}/ with the token", "host")
    crossing = cross_site_origin(request, Policy.create(port))
    if crossing is not None:
        return Decision(False, 403, f"cross-site request from {crossing} refused: no other page may drive the "
                                    "sandbox's TUI", "cross-site")
    if not hmac.compare_digest(token_of(request.path).encode(), token.encode()):
        return Decision(False, 403, "this address needs the token of the URL `sandbox tui --web` printed", "token")
    if request.method.upper() not in METHODS:
        return Decision(False, 405, f"{request.method} is not served here", "method")
    return ALLOW
