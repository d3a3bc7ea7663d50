"""Guards that keep the sandbox from ever touching real AWS: loopback endpoints and dummy credentials only."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

# LocalStack accepts any credentials; these can never be valid on AWS.
DUMMY_CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}


class UnsafeEndpointError(ValueError):
    """The endpoint is not on this machine: refusing, so no real AWS resource is created by accident."""


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost" or host.endswith(".localhost") or host == "localhost.localstack.cloud":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_endpoint(url: str, allow_remote: bool = False) -> str:
    """Returns `url` normalised (no trailing slash) if it is safe to send AWS API calls to it."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeEndpointError(f"Endpoint {url!r} is not an http(s) URL such as http://127.0.0.1:4566")
    if not is_loopback_host(parts.hostname) and not allow_remote:
        raise UnsafeEndpointError(
            f"Endpoint {url!r} is not on loopback (127.0.0.0/8, ::1, localhost). The sandbox only talks to a "
            "LocalStack on this machine so that nothing reaches real AWS. If this really is a LocalStack on another "
            "host, pass --allow-remote (or SANDBOX_ALLOW_REMOTE=1)."
        )
    return url.rstrip("/")
