"""boto3 clients bound to the sandbox: its endpoint, dummy credentials, and none of the host's AWS config."""

from __future__ import annotations

import os

import boto3
import botocore.session
from botocore.config import Config
from botocore.configprovider import BOTOCORE_DEFAUT_SESSION_VARIABLES

from sandbox.observability.noise import OBSERVER_USER_AGENT
from sandbox.safety import DUMMY_CREDENTIALS, check_endpoint


def _isolated_session_vars() -> dict:
    """botocore's session variables with no environment variable behind them and no config files.

    So neither AWS_PROFILE, AWS_ENDPOINT_URL_*, ~/.aws/config nor ~/.aws/credentials of the host can change
    where or as whom the sandbox's clients talk.
    """
    out = {}
    for name, (config_key, _env, default, convert) in BOTOCORE_DEFAUT_SESSION_VARIABLES.items():
        if name in ("config_file", "credentials_file"):
            default = os.devnull
        out[name] = (config_key, None, default, convert)
    return out


def isolated_session(region: str, credentials: dict | None = None) -> boto3.Session:
    """A boto3 session that reads no profile, config, credentials file or AWS_* variable of the host."""
    core = botocore.session.Session(session_vars=_isolated_session_vars())
    return boto3.Session(botocore_session=core, region_name=region, **(credentials or DUMMY_CREDENTIALS))


def make_client(
    service: str,
    endpoint: str,
    region: str,
    *,
    allow_remote: bool = False,
    max_attempts: int = 1,
    read_timeout: float = 70,
    observer: bool = False,
    credentials: dict | None = None,
):
    """A client for `service` at the sandbox endpoint. No retries by default: scenarios want to see failures.

    `observer`: a client of the sandbox's own observers (DLQ listing, log following, stack listing, ...): its
    user agent carries OBSERVER_USER_AGENT, so the recorder files its requests as platform noise (hidden in the
    request flow, not billed) instead of as your traffic.
    """
    endpoint = check_endpoint(endpoint, allow_remote)
    config = Config(
        user_agent_extra=OBSERVER_USER_AGENT if observer else None,
        # total_max_attempts counts the first call too (botocore's max_attempts counts only retries)
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        connect_timeout=5,
        read_timeout=read_timeout,
        s3={"addressing_style": "path"},
        proxies={},
        # no `sync-` (StartSyncExecution) or other host prefix before 127.0.0.1: it cannot resolve
        inject_host_prefix=False,
    )
    return isolated_session(region, credentials).client(service, endpoint_url=endpoint, config=config)
