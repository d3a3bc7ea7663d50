"""What every command of the `sandbox` CLI shares: the Sandbox for its settings, and parsing of repeated options.

sandbox/cli.py (the top-level group and the lifecycle commands) and the feature groups in this folder import from
here; nothing imports the CLI modules themselves (import-linter checks it, see pyproject.toml).
"""

from __future__ import annotations

import click

from sandbox.api import Sandbox
from sandbox.settings import Settings


def get_sandbox(settings: Settings) -> Sandbox:
    """The Sandbox for the CLI's settings (ctx.obj of every command)."""
    return Sandbox(settings)


def parse_params(pairs: tuple[str, ...]) -> dict[str, str]:
    """`--param KEY=VALUE` (repeatable) as a dict; anything else is a usage error (exit 2), as click's own."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--param")
        out[key] = value
    return out
