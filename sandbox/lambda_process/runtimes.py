"""Which Lambda runtimes run as local processes, and how each one is launched.

Every python3.x runtime runs on the sandbox's own interpreter (with boto3 and aws-lambda-powertools importable,
as Lambda bundles the SDK); Node.js runtimes run on the `node` found on PATH.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from localstack.services.lambda_.invocation.runtime_executor import LambdaRuntimeException

# What runs in the function's processes (bootstraps, supervisor, fork server) and what it reads (the Node SDK).
ENVIRONMENT = Path(__file__).resolve().parent / "environment"
PYTHON_BOOTSTRAP = ENVIRONMENT / "bootstrap.py"
NODE_BOOTSTRAP = ENVIRONMENT / "bootstrap.mjs"
NODE_RUNTIME = ENVIRONMENT / "node_runtime"
NODE_MODULES = NODE_RUNTIME / "node_modules"  # AWS SDK v3: `npm ci` here (.ci/run; `sandbox up` when missing)


@dataclass(frozen=True)
class Launcher:
    runtime: str
    command: list[str]
    path_var: str
    layer_subdirs: tuple[str, ...] = field(default_factory=tuple)
    bundled: tuple[str, ...] = field(default_factory=tuple)
    read_paths: tuple[str, ...] = field(default_factory=tuple)  # what the runtime must read (Landlock, confine.py)

    def environment(self, task_root: Path, layer_roots: list[Path]) -> dict[str, str]:
        """Search path: function code, then the layers as AWS mounts them, then bundled SDKs.

        AWS extracts the layers in order into one /opt, so a later layer's file replaces an earlier one's: with one
        directory per layer, that is each /opt subdirectory in AWS's search order, the last layer's copy first.
        """
        paths = [str(task_root)]
        for sub in self.layer_subdirs:
            paths += [str(root / sub) for root in reversed(layer_roots)]
        paths += list(self.bundled)
        env = {self.path_var: os.pathsep.join(paths), "SANDBOX_LAYER_ROOTS": os.pathsep.join(map(str, layer_roots))}
        if self.runtime.startswith("python"):
            env["AWS_EXECUTION_ENV"] = f"AWS_Lambda_{self.runtime}"
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        else:
            env["AWS_EXECUTION_ENV"] = f"AWS_Lambda_{self.runtime}"
        return env


@functools.cache
def python_read_paths() -> tuple[str, ...]:
    """The interpreter, its standard library and the sandbox's site-packages (boto3, Powertools), and the
    runtime's own files; not the rest of the project or the user's home."""
    paths = {sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix, str(ENVIRONMENT),
             str(Path(os.path.realpath(sys.executable)).parent.parent)}
    paths.update(p for p in sys.path if p.endswith("site-packages") and os.path.isdir(p))
    return tuple(sorted(paths))


def _install_prefix(binary: str) -> str:
    """/usr for /usr/bin/node; ~/.nvm/versions/node/v22.1.0 for a node installed there."""
    return str(Path(os.path.realpath(binary)).parent.parent)


def isolate_node_package_scope(state_dir: Path) -> None:
    """On AWS nothing above /var/task has a package.json. Here the code is unpacked inside the sandbox's state
    directory, which may well sit in a JS project whose package.json says "type": "module": node would then load
    the function's .js files as ES modules. A neutral package.json at the top of the state directory ends that
    search, as on AWS. (Written here: the function itself may not write outside its /tmp.)"""
    file = state_dir / "package.json"
    if file.exists():
        return
    scope = {
        "description": "Written by the sandbox's Node.js runtime: Lambda code unpacked below gets no package.json "
                       "settings from directories above, as in /var/task on AWS.",
        "private": True,
        "type": "commonjs",
    }
    tmp = file.with_name(f"package.json.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(scope, indent=2) + "\n")
        tmp.replace(file)  # atomic: environments starting together all see a whole file
    except OSError:
        pass


def _python_launcher(runtime: str) -> Launcher:
    return Launcher(
        runtime=runtime,
        # -s: no user site-packages of the host; -u: unbuffered so a crash loses no output
        command=[sys.executable, "-s", "-u", str(PYTHON_BOOTSTRAP)],
        path_var="SANDBOX_PYTHONPATH",
        read_paths=python_read_paths(),
        # As on AWS: the site-packages of the function's runtime (not of our interpreter), then /opt/python.
        layer_subdirs=(f"python/lib/{runtime}/site-packages", "python"),
    )


# Experimental node features AWS turns off in nodejs20.x/22.x (and older node lacks): require() of ES modules, and
# ES module syntax in a .js file that package.json does not declare a module. Without these flags such code would
# run here and fail on AWS.
_AWS_DISABLED_NODE_FEATURES = ("--no-experimental-require-module", "--no-experimental-detect-module")


@functools.cache
def _node_flags_supported(node: str) -> tuple[str, ...]:
    """Which of those flags this `node` knows (an unknown flag would stop it); asked once per node binary."""
    flags = json.dumps(_AWS_DISABLED_NODE_FEATURES)
    probe = f"console.log(JSON.stringify({flags}.filter(f => process.allowedNodeEnvironmentFlags.has(f))))"
    try:
        done = subprocess.run([node, "-e", probe], capture_output=True, text=True, timeout=15,
                              env={"PATH": os.environ.get("PATH", "")}, stdin=subprocess.DEVNULL)
        return tuple(json.loads(done.stdout))
    except (OSError, subprocess.SubprocessError, ValueError):
        return ()


def _node_launcher(runtime: str) -> Launcher:
    node = shutil.which("node")
    if not node:
        raise LambdaRuntimeException(
            f"Runtime {runtime} needs Node.js, but `node` is not on PATH of the sandbox. "
            "Install Node.js (e.g. `apt-get install nodejs`) and restart the sandbox, or use a python3.x runtime."
        )
    major = int("".join(c for c in runtime.removeprefix("nodejs").split(".")[0] if c.isdigit()) or 0)
    return Launcher(
        runtime=runtime,
        command=[node, *(_node_flags_supported(node) if major < 24 else ()), str(NODE_BOOTSTRAP)],
        path_var="NODE_PATH",
        # As AWS's NODE_PATH: /opt/nodejs/node<major>/node_modules before /opt/nodejs/node_modules.
        layer_subdirs=(f"nodejs/node{runtime.removeprefix('nodejs').split('.')[0]}/node_modules", "nodejs/node_modules"),
        bundled=(str(NODE_MODULES),) if NODE_MODULES.is_dir() else (),
        read_paths=(str(ENVIRONMENT), _install_prefix(node)),
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
