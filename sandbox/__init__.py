"""Serverless Sandbox: a local serverless emulator and teaching sandbox on an embedded LocalStack."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox.api import Sandbox
    from sandbox.errors import SandboxError
    from sandbox.settings import Settings, SpeedKnobs

__all__ = ["Sandbox", "SandboxError", "Settings", "SpeedKnobs"]
_HOMES = {"Sandbox": "sandbox.api", "SandboxError": "sandbox.errors", "Settings": "sandbox.settings",
          "SpeedKnobs": "sandbox.settings"}


def __getattr__(name: str):
    """`from sandbox import Sandbox` imports the API on first use: `sandbox` (sandbox/entry.py), and every process
    that imports a small part of the package, starts without it."""
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'sandbox' has no attribute {name!r}")
