"""One-time set-up of the AWS SDK v3 that Node.js Lambda handlers import (AWS bundles it in its runtimes).

Installed from the committed package-lock.json with `npm ci`, at `sandbox up` when it is missing and node/npm
exist; a machine without Node.js simply has no Node.js runtimes (they fail with a clear error).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

NODE_RUNTIME_DIR = Path(__file__).resolve().parent / "lambda_process" / "environment" / "node_runtime"


def install_command() -> list[str]:
    return ["npm", "ci", "--prefix", str(NODE_RUNTIME_DIR), "--no-audit", "--no-fund", "--loglevel=error"]


def needs_install() -> bool:
    return (
        (NODE_RUNTIME_DIR / "package-lock.json").is_file()
        and not (NODE_RUNTIME_DIR / "node_modules").is_dir()
        and shutil.which("node") is not None
        and shutil.which("npm") is not None
    )


def ensure_installed(say=print) -> bool:
    """Installs the SDK if needed; returns False (after saying why) if that failed."""
    if not needs_install():
        return True
    say("installing the AWS SDK for Node.js Lambda handlers (once) ...")
    try:
        done = subprocess.run(install_command(), capture_output=True, text=True, timeout=600,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as e:
        say(f"warning: could not install it ({e}); Node.js handlers that import @aws-sdk/* will fail")
        return False
    if done.returncode != 0:
        say(f"warning: `{' '.join(install_command())}` failed: {done.stderr.strip()[-500:]}")
        return False
    return True
