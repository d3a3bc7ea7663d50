"""Serverless Sandbox: a local serverless emulator and teaching sandbox on an embedded LocalStack."""

from sandbox.api import Sandbox
from sandbox.errors import SandboxError
from sandbox.settings import Settings, SpeedKnobs

__all__ = ["Sandbox", "SandboxError", "Settings", "SpeedKnobs"]
