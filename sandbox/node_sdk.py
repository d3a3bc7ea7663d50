"""One-time set-up of the AWS SDK v3 that Node.js Lambda handlers import (AWS bundles it in its runtimes).

Installed from the committed package-lock.json with `npm ci`, at `sandbox up` when it is missing and node/npm
exist; a machine without Node.js simply has no Node.js runtimes (they fail with a clear error).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

NODE_RUNTIME_DIR = Path(__file__).resolve().parent / "lambda_process" / "environment" / "node_runtime"
# Powertools for AWS Lambda (TypeScript), served for AWS's public layer ARN (lambda_process/public_layers.py).
NODE_POWERTOOLS_DIR = NODE_RUNTIME_DIR.parent / "node_powertools" / "nodejs"
# What each installs, for the messages.
BUNDLES = {NODE_RUNTIME_DIR: ("the AWS SDK for Node.js Lambda handlers", "@aws-sdk/*"),
           NODE_POWERTOOLS_DIR: ("Powertools for AWS Lambda (TypeScript), its public layer",
                                 "@aws-lambda-powertools/* (from the layer)")}


def install_command(directory: Path = NODE_RUNTIME_DIR) -> list[str]:
    return ["npm", "ci", "--prefix", str(directory), "--no-audit", "--no-fund", "--loglevel=error"]


def needs_install(directory: Path = NODE_RUNTIME_DIR) -> bool:
    return (
        (directory / "package-lock.json").is_file()
        and not (directory / "node_modules").is_dir()
        and shutil.which("node") is not None
        and shutil.which("npm") is not None
    )


def ensure_installed(say=print) -> bool:
    """Installs the SDK and the Powertools layer if needed; returns False (after saying why) if that failed."""
    ok = True
    for directory, (what, imports) in BUNDLES.items():
        if not needs_install(directory):
            continue
        say(f"installing {what} (once) ...")
        try:
            done = subprocess.run(install_command(directory), capture_output=True, text=True, timeout=600,
                                  stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as e:
            say(f"warning: could not install it ({e}); Node.js handlers that import {imports} will fail")
            ok = False
            continue
        if done.returncode != 0:
            say(f"warning: `{' '.join(install_command(directory))}` failed: {done.stderr.strip()[-500:]}")
            ok = False
    return ok
