"""CLI command groups of the sandbox's features, one module each (`fault`, `dlq`, `events`, ...).

Each module defines `COMMANDS`, a list of click commands or groups; `register` adds them all to `sandbox`.
They reach the backend through the `Sandbox` API (ctx.obj is the Settings; `common.get_sandbox` makes it).
"""

import importlib
import pkgutil

import click


def register(main: click.Group) -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name == "common":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for command in getattr(module, "COMMANDS", []):
            main.add_command(command)
