"""Fixtures of the fast tier."""

import pytest


@pytest.fixture
def no_host_profile(monkeypatch):
    """The live tests' session sets a host AWS profile that must never be found (conftest HOST_SECRETS), and a
    worker runs unit tests after it: boto3 sessions made by a unit test (LocalStack's modules make one on import, and
    its request builder a client) need none."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
