"""Refuses any network connection from the LocalStack process to an address outside loopback.

The sandbox promises "no traffic beyond loopback": no analytics, no DNS probes, no downloads. Settings keep
LocalStack quiet; this audit hook is the safety net that turns a forgotten code path into a logged refusal
instead of a packet leaving the machine. Refusals are counted and served at `/_sandbox/info`.
"""

import ipaddress
import logging
import socket
import sys
import threading

LOG = logging.getLogger(__name__)

_blocked: list[str] = []
_lock = threading.Lock()
_installed = False


def is_loopback(host) -> bool:
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return str(host).endswith(".localhost") or str(host) == "localhost.localstack.cloud"


def _audit(event: str, args) -> None:
    if event == "socket.connect":
        sock, address = args
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return
        host = address[0] if isinstance(address, tuple) else address
    elif event == "socket.getaddrinfo":
        host = args[0]
        if isinstance(host, bytes):
            host = host.decode(errors="replace")
    else:
        return
    if is_loopback(host):
        return
    with _lock:
        _blocked.append(f"{event} {host}")
        del _blocked[:-100]
    LOG.warning("Sandbox loopback guard refused %s to %s", event, host)
    raise ConnectionRefusedError(f"Serverless Sandbox: network access to {host} is not allowed (loopback only)")


def blocked() -> list[str]:
    with _lock:
        return list(_blocked)


def install() -> None:
    global _installed
    if not _installed:
        sys.addaudithook(_audit)
        _installed = True
