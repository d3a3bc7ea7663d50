"""boto3 clients bound to the sandbox: its endpoint, dummy credentials, and none of the host's AWS config."""

from __future__ import annotations

import os

import boto3
import botocore.session
from botocore.config import Config

from sandbox.safety import DUMMY_CREDENTIALS, check_endpoint

# Environment variables through which botocore would pick up the host's AWS identity or endpoints.
_HOST_AWS_VARS = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")


def isolated_session(region: str) -> boto3.Session:
    """A boto3 session that reads no profile, config or credentials file of the host."""
    core = botocore.session.Session(session_vars=None)
    core.set_config_variable("config_file", os.devnull)
    core.set_config_variable("credentials_file", os.devnull)
    core.set_config_variable("profile", None)
    core.set_config_variable("ignore_configured_endpoint_urls", True)
    return boto3.Session(botocore_session=core, region_name=region, **DUMMY_CREDENTIALS)


def make_client(
    service: str,
    endpoint: str,
    region: str,
    *,
    allow_remote: bool = False,
    max_attempts: int = 1,
    read_timeout: float = 70,
):
    """A client for `service` at the sandbox endpoint. No retries by default: scenarios want to see failures."""
    endpoint = check_endpoint(endpoint, allow_remote)
    config = Config(
        retries={"mode": "standard", "max_attempts": max_attempts},
        connect_timeout=5,
        read_timeout=read_timeout,
        s3={"addressing_style": "path"},
        proxies={},
    )
    return isolated_session(region).client(service, endpoint_url=endpoint, config=config)
