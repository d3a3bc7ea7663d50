"""Which Lambda runtimes run as local processes, and how each one is launched.

Each runtime runs on an interpreter of its own version when the machine has one, else on the nearest
(interpreters.py). A Python function sees the standard library, its code, its layers and what AWS's runtime
ships (boto3 & co., runtime_site.py), not the sandbox's virtualenv; a Node.js function its code, its layers and
the bundled AWS SDK v3.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from localstack.services.lambda_.invocation.runtime_executor import LambdaRuntimeException

from sandbox.lambda_process import interpreters, public_layers, runtime_site

# What runs in the function's processes (bootstraps, supervisor, fork server) and what it reads (the Node SDK).
ENVIRONMENT = Path(__file__).resolve().parent / "environment"
PYTHON_BOOTSTRAP = ENVIRONMENT / "bootstrap.py"
NODE_BOOTSTRAP = ENVIRONMENT / "bootstrap.mjs"
NODE_RUNTIME = ENVIRONMENT / "node_runtime"
NODE_MODULES = NODE_RUNTIME / "node_modules"  # AWS SDK v3: `npm ci` here (.ci/run; `sandbox up` when missing)
# Powertools for AWS Lambda (TypeScript), laid out as its public layer: nodejs/node_modules/@aws-lambda-powertools
NODE_POWERTOOLS = ENVIRONMENT / "node_powertools"


@dataclass(frozen=True)
class Launcher:
    runtime: str
    command: list[str]
    path_var: str
    layer_subdirs: tuple[str, ...] = field(default_factory=tuple)
    bundled: tuple[str, ...] = field(default_factory=tuple)
    read_paths: tuple[str, ...] = field(default_factory=tuple)  # what the runtime must read (Landlock, confine.py)
    interpreter: interpreters.Interpreter | None = None
    runtime_site: str = ""  # Python: what AWS's runtime ships, after the standard library (SANDBOX_RUNTIME_SITE)

    @property
    def supervisor_python(self) -> str:
        """The Python that runs the environment's supervisor (and, for a Python runtime, the runtime itself)."""
        return self.command[0] if self.runtime.startswith("python") else sys.executable

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
            env["SANDBOX_RUNTIME_SITE"] = self.runtime_site
        else:
            env["AWS_EXECUTION_ENV"] = f"AWS_Lambda_{self.runtime}"
        return env


def packages_dir() -> Path:
    """Where the runtime site and the bundled layers are built (the sandbox's state directory)."""
    from sandbox.lambda_process.executor import state_dir

    return state_dir() / "lambda" / "packages"


def python_runtime_site() -> Path:
    try:
        return runtime_site.runtime_site(packages_dir())
    except runtime_site.MissingDistribution as e:
        raise LambdaRuntimeException(str(e)) from None


def bundled_layer_root(bundle: str | None) -> Path | None:
    """The folder that serves a public layer (public_layers.py), None if the sandbox has no copy of it."""
    if bundle == public_layers.POWERTOOLS_PYTHON:
        try:
            return runtime_site.powertools_python_layer(packages_dir())
        except runtime_site.MissingDistribution:
            return None
    if bundle == public_layers.POWERTOOLS_TYPESCRIPT:
        return NODE_POWERTOOLS if (NODE_POWERTOOLS / "nodejs" / "node_modules").is_dir() else None
    return None


def zygote_path() -> str:
    """What a Python fork server preloads from: the runtime site and the bundled Powertools layer."""
    paths = [python_runtime_site()]
    powertools = bundled_layer_root(public_layers.POWERTOOLS_PYTHON)
    if powertools is not None:
        paths.append(powertools / "python")
    return os.pathsep.join(map(str, paths))


@functools.cache
def _prefixes(executable: str) -> tuple[str, ...]:
    """Where an interpreter's standard library lives (asked once per interpreter)."""
    if os.path.realpath(executable) == os.path.realpath(sys.executable):
        return (sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix)
    probe = "import json, sys; print(json.dumps([sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix]))"
    try:
        done = subprocess.run([executable, "-s", "-c", probe], capture_output=True, text=True, timeout=30,
                              stdin=subprocess.DEVNULL, env={"PATH": os.environ.get("PATH", "")})
        return tuple(json.loads(done.stdout))
    except (OSError, subprocess.SubprocessError, ValueError) as e:
        raise LambdaRuntimeException(f"The Python interpreter {executable} does not start: {e}") from None


@functools.cache
def python_read_paths(executable: str = sys.executable) -> tuple[str, ...]:
    """The interpreter and its standard library, the sandbox's site-packages (what the runtime site and the
    bundled layers link to), the runtime's own files and the packages folder; not the rest of the project or the
    user's home."""
    paths = {*_prefixes(executable), str(ENVIRONMENT), str(Path(os.path.realpath(executable)).parent.parent),
             str(packages_dir())}
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


def _interpreter(runtime: str, language: str, how: str) -> interpreters.Interpreter:
    found = interpreters.resolve(runtime)
    if found is None:
        raise LambdaRuntimeException(
            f"Runtime {runtime} needs {language}, but the sandbox finds none on this machine. {how}")
    return found


def _python_launcher(runtime: str) -> Launcher:
    interpreter = _interpreter(runtime, "Python 3.9 or later", "Install one (pyenv, uv python install, apt).")
    site = python_runtime_site()
    return Launcher(
        runtime=runtime,
        # -s: no user site-packages of the host; -u: unbuffered so a crash loses no output
        command=[interpreter.path, "-s", "-u", str(PYTHON_BOOTSTRAP)],
        path_var="SANDBOX_PYTHONPATH",
        read_paths=python_read_paths(interpreter.path),
        # As on AWS: the site-packages of the function's runtime (not of our interpreter), then /opt/python.
        layer_subdirs=(f"python/lib/{runtime}/site-packages", "python"),
        interpreter=interpreter,
        runtime_site=str(site),
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
    interpreter = _interpreter(runtime, "Node.js", "Install Node.js (e.g. `apt-get install nodejs`, nvm) and "
                               "restart the sandbox, or use a python3.x runtime.")
    node = interpreter.path
    major = int("".join(c for c in runtime.removeprefix("nodejs").split(".")[0] if c.isdigit()) or 0)
    return Launcher(
        runtime=runtime,
        command=[node, *(_node_flags_supported(node) if major < 24 else ()), str(NODE_BOOTSTRAP)],
        path_var="NODE_PATH",
        # As AWS's NODE_PATH: /opt/nodejs/node<major>/node_modules before /opt/nodejs/node_modules.
        layer_subdirs=(f"nodejs/node{runtime.removeprefix('nodejs').split('.')[0]}/node_modules", "nodejs/node_modules"),
        bundled=(str(NODE_MODULES),) if NODE_MODULES.is_dir() else (),
        read_paths=(str(ENVIRONMENT), _install_prefix(node), str(NODE_POWERTOOLS)),
        interpreter=interpreter,
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
