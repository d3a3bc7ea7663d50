"""Which Lambda runtimes run as local processes, and how each one is launched.

Every python3.x runtime runs on the sandbox's own interpreter (with boto3 and aws-lambda-powertools importable,
as Lambda bundles the SDK); Node.js runtimes run on the `node` found on PATH.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from localstack.services.lambda_.invocation.runtime_executor import LambdaRuntimeException

HERE = Path(__file__).resolve().parent
PYTHON_BOOTSTRAP = HERE / "bootstrap.py"
NODE_BOOTSTRAP = HERE / "bootstrap.mjs"
NODE_MODULES = HERE / "node_runtime" / "node_modules"  # AWS SDK v3, installed by `sandbox setup-node`


@dataclass(frozen=True)
class Launcher:
    runtime: str
    command: list[str]
    path_var: str
    layer_subdirs: tuple[str, ...] = field(default_factory=tuple)
    bundled: tuple[str, ...] = field(default_factory=tuple)

    def environment(self, task_root: Path, layer_roots: list[Path]) -> dict[str, str]:
        """Search path: function code, then each layer (as AWS mounts them under /opt), then bundled SDKs."""
        paths = [str(task_root)]
        for root in layer_roots:
            paths += [str(root / sub) for sub in self.layer_subdirs]
        paths += list(self.bundled)
        env = {self.path_var: os.pathsep.join(paths), "SANDBOX_LAYER_ROOTS": os.pathsep.join(map(str, layer_roots))}
        if self.runtime.startswith("python"):
            env["AWS_EXECUTION_ENV"] = f"AWS_Lambda_{self.runtime}"
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        else:
            env["AWS_EXECUTION_ENV"] = f"AWS_Lambda_{self.runtime}"
        return env


def _python_launcher(runtime: str) -> Launcher:
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    return Launcher(
        runtime=runtime,
        # -s: no user site-packages of the host; -u: unbuffered so a crash loses no output
        command=[sys.executable, "-s", "-u", str(PYTHON_BOOTSTRAP)],
        path_var="SANDBOX_PYTHONPATH",
        layer_subdirs=("python", f"python/lib/python{version}/site-packages"),
    )


def _node_launcher(runtime: str) -> Launcher:
    node = shutil.which("node")
    if not node:
        raise LambdaRuntimeException(
            f"Runtime {runtime} needs Node.js, but `node` is not on PATH of the sandbox. "
            "Install Node.js (e.g. `apt-get install nodejs`) and restart the sandbox, or use a python3.x runtime."
        )
    return Launcher(
        runtime=runtime,
        command=[node, str(NODE_BOOTSTRAP)],
        path_var="NODE_PATH",
        layer_subdirs=("nodejs/node_modules", "nodejs/node22/node_modules"),
        bundled=(str(NODE_MODULES),) if NODE_MODULES.is_dir() else (),
    )


def launcher_for(runtime: str | None) -> Launcher:
    runtime = str(runtime or "")
    if runtime.startswith("python3."):
        return _python_launcher(runtime)
    if runtime.startswith("nodejs"):
        return _node_launcher(runtime)
    raise LambdaRuntimeException(
        f"Runtime {runtime or '(none)'} is not supported by the sandbox's process executor: "
        "use a python3.x or nodejs runtime, or the docker-compose backend for other runtimes."
    )
