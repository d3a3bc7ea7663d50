"""The packages a Python function sees besides its own: what AWS's runtime ships, and bundled layers.

AWS's python3.x runtime has boto3, botocore and their dependencies, and nothing else: a handler that imports
`requests` without packaging it fails there with `No module named 'requests'`. Here every function would see the
sandbox's whole virtualenv. So the executor gives it a *runtime site* instead: a folder with only those packages,
made of symlinks into the sandbox's own copies (built once, in milliseconds, nothing copied).

The same mechanism builds the folders of the public layers the sandbox serves from its own packages
(Powertools for AWS Lambda, see public_layers.py): AWS's layer layout (`python/...`) around symlinks.

Pure: no LocalStack; runs in the LocalStack process (the executor), which has the sandbox's packages installed.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from importlib import metadata
from pathlib import Path

# What AWS's Python runtimes ship next to the standard library (distribution names).
RUNTIME_DISTRIBUTIONS = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3")
# Powertools for AWS Lambda (Python) as its public layer has it: the library, its dependencies, and those of its
# extras the layer bundles (when the sandbox has them installed).
POWERTOOLS_PYTHON_DISTRIBUTIONS = ("aws-lambda-powertools", "typing-extensions")
POWERTOOLS_PYTHON_OPTIONAL = ("pydantic", "pydantic-core", "annotated-types", "typing-inspection",
                              "aws-xray-sdk", "wrapt", "fastjsonschema", "jsonpath-ng", "ply")

_lock = threading.Lock()
_built: dict[Path, Path] = {}  # per process: reading the distributions' file lists costs ~40 ms


class MissingDistribution(RuntimeError):
    """A package the runtime must provide is not installed in the sandbox's environment."""


def _entries(distribution: metadata.Distribution) -> dict[str, Path]:
    """Top-level names of an installed distribution (packages, modules, its .dist-info) -> where they are;
    compiled top-level modules' caches as `__pycache__/<file>`."""
    out: dict[str, Path] = {}
    for file in distribution.files or ():
        parts = file.parts
        if not parts or parts[0] == ".." or parts[0].endswith(".pth") or parts[0] == "bin":
            continue
        if parts[0] == "__pycache__" and len(parts) == 2:
            out[f"__pycache__/{parts[1]}"] = Path(distribution.locate_file(file))
        elif parts[0] != "__pycache__":
            out[parts[0]] = Path(distribution.locate_file(parts[0]))
    return out


def _plan(required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, str]:
    plan: dict[str, str] = {}
    for name in required + optional:
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            if name in optional:
                continue
            raise MissingDistribution(
                f"the sandbox's Python environment has no `{name}`, which the Lambda runtime must provide: "
                "reinstall the sandbox (`uv sync`)") from None
        plan.update({entry: str(path) for entry, path in _entries(dist).items() if path.exists()})
    return plan


def _materialize(target: Path, plan: dict[str, str]) -> Path:
    """`target` holding a symlink per entry of `plan`; rebuilt only when the plan changed (another version
    installed), atomically (environments starting together see the old folder or the new one, whole)."""
    manifest = json.dumps(plan, sort_keys=True)
    with _lock:
        try:
            if (target / ".sandbox-manifest.json").read_text() == manifest:
                return target
        except OSError:
            pass
        staging = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}")
        shutil.rmtree(staging, ignore_errors=True)
        (staging / "__pycache__").mkdir(parents=True)
        for entry, source in plan.items():
            os.symlink(source, staging / entry)
        (staging / ".sandbox-manifest.json").write_text(manifest)
        old = target.with_name(f".{target.name}.old.{os.getpid()}")
        if target.exists():
            target.rename(old)
        staging.rename(target)
        shutil.rmtree(old, ignore_errors=True)
        return target


def _once(target: Path, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> Path:
    if target not in _built or not target.is_dir():
        _built[target] = _materialize(target, _plan(required, optional))
    return _built[target]


def runtime_site(base: Path) -> Path:
    """The folder of what AWS's Python runtime ships (boto3 & co.), under `base`."""
    return _once(base / "python-runtime", RUNTIME_DISTRIBUTIONS)


def powertools_python_layer(base: Path) -> Path:
    """The root of the bundled Powertools for AWS Lambda (Python) layer: `<root>/python/aws_lambda_powertools`."""
    return _once(base / "powertools-python" / "python", POWERTOOLS_PYTHON_DISTRIBUTIONS,
                 POWERTOOLS_PYTHON_OPTIONAL).parent
