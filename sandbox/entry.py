"""The `sandbox` command's entry point: Ctrl-C while Python is still importing the CLI ends with one line, not a
KeyboardInterrupt traceback from deep inside an import (sandbox/__init__.py imports nothing slow for this reason)."""

import sys


def main() -> None:
    try:
        from sandbox.cli import main as cli
    except KeyboardInterrupt:
        print(("\n" if sys.stderr.isatty() else "") + "Interrupted: nothing was started", file=sys.stderr)
        sys.exit(130)
    cli()
