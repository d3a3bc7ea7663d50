"""Keeps a Python function on loopback: an audit hook, installed by bootstrap.py before the handler is imported.

The function may talk to the sandbox (127.0.0.1) and to other services on this machine's loopback; it may not
connect to, send to, or resolve any other address (a DNS query for `example.com` leaves the machine too), bind
a socket to a network interface, or connect to a UNIX socket outside its /tmp (the Docker socket, the desktop
bus). What it cannot stop - native code, child processes such as `curl` - is listed in docs/security.md.

Standard library only, no import from `sandbox`: it runs in the function's environment.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys

_installed = False
_tmp_dirs: tuple[str, ...] = ()


class NetworkAccessRefused(ConnectionRefusedError):
    pass


def is_loopback(host) -> bool:
    """A loopback address, `localhost`, or a name /etc/hosts maps to loopback. Not `*.localhost`: the C library
    asks the DNS server about those, and the name itself would leave the machine."""
    if host is None or host == "":
        return True  # a passive socket or the default host: localhost
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    name = str(host).strip("[]").split("%")[0].lower().rstrip(".")
    return name == "localhost" or _is_loopback_ip(name) or name in _local_names()


def _is_loopback_ip(name: str) -> bool:
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or bool(mapped and mapped.is_loopback)


def _is_address(host) -> bool:
    try:
        ipaddress.ip_address(host.decode() if isinstance(host, bytes) else str(host))
        return True
    except ValueError:
        return False


def _unix_path_allowed(path) -> bool:
    if isinstance(path, bytes):
        if path.startswith(b"\0"):
            return False  # abstract socket namespace: shared by the whole machine
        path = path.decode(errors="replace")
    if not path or path.startswith("\0"):
        return False
    real = os.path.realpath(path)
    return any(real == d or real.startswith(d + os.sep) for d in _tmp_dirs)


def _refuse(what: str, target) -> None:
    raise NetworkAccessRefused(
        f"Serverless Sandbox: {what} {target!r} is not allowed: functions reach this machine's loopback only "
        "(the sandbox's AWS endpoint included). See docs/security.md.")


def _audit(event: str, args) -> None:
    if not event.startswith("socket."):
        return
    if event in ("socket.connect", "socket.sendto", "socket.sendmsg", "socket.bind"):
        sock, address = args[0], args[1]
        family = getattr(sock, "family", None)
        if family == socket.AF_UNIX:
            if event == "socket.connect" and not _unix_path_allowed(address):
                _refuse("connecting to the UNIX socket", address)
            return
        if family not in (socket.AF_INET, socket.AF_INET6) or address is None:
            return
        host = address[0] if isinstance(address, tuple) else address
        if event == "socket.bind":
            if not is_loopback(host) or host in ("", None):
                _refuse("listening on", f"{host or '0.0.0.0'} (bind to 127.0.0.1 instead)")
            return
        if not is_loopback(host):
            _refuse("network access to", host)
    elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr"):
        host = args[0]
        if not is_loopback(host):
            _refuse("network access to" if _is_address(host) else "looking up", host)
    elif event == "socket.getnameinfo":
        address = args[0]
        if isinstance(address, tuple) and not is_loopback(address[0]):
            _refuse("looking up", address[0])


_hosts: frozenset[str] | None = None


def _local_names() -> frozenset[str]:
    """Names /etc/hosts maps to loopback (resolved without DNS)."""
    global _hosts
    if _hosts is None:
        names = set()
        try:
            with open("/etc/hosts") as f:
                for line in f:
                    fields = line.split("#", 1)[0].split()
                    if len(fields) >= 2 and _is_loopback_ip(fields[0].split("%")[0]):
                        names.update(n.lower() for n in fields[1:])
        except OSError:
            pass
        _hosts = frozenset(names)
    return _hosts


def _bound_to_loopback_first(method):
    """listen() on a socket never bound, or sendto() on a datagram socket never bound, makes the kernel bind it to
    every interface (reachable from the network), and no audit event tells: bind it to loopback first."""

    def guarded(self, *args):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            try:
                port = self.getsockname()[1]
            except OSError:
                port = 0
            if port == 0:
                self.bind(("127.0.0.1", 0) if self.family == socket.AF_INET else ("::1", 0))
        return method(self, *args)

    return guarded


def install(tmp_dirs: list[str]) -> None:
    """Once per process; an audit hook cannot be removed afterwards (not from Python code)."""
    global _installed, _tmp_dirs
    if _installed:
        return
    _tmp_dirs = tuple(os.path.realpath(d) for d in tmp_dirs if d)
    _local_names()  # read before the handler can change /etc/hosts' view (it cannot write it anyway)
    sys.addaudithook(_audit)
    for name in ("listen", "sendto", "sendmsg"):
        setattr(socket.socket, name, _bound_to_loopback_first(getattr(socket.socket, name)))
    _installed = True
