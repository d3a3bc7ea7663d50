"""Which interpreter on this machine runs a Lambda runtime: the matching one when there is one, else the nearest.

AWS runs `python3.12` on Python 3.12 and `nodejs22.x` on Node.js 22. Running them on whatever `python`/`node` the
sandbox has would hide version bugs (syntax, removed modules, changed defaults), so the executor takes an
interpreter of the runtime's own version when the machine has one (the sandbox's own, PATH, pyenv, uv, nvm, ...);
otherwise the nearest version, and the deploy and `sandbox status` say so.

Pure: no LocalStack. The host (deploy warnings, status) and the executor (which binary to start) ask the same
questions of the same machine, so they agree.
"""

from __future__ import annotations

import functools
import os
import pwd
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# The Lambda runtimes' boto3 and our bootstraps need Python 3.9 or later: older interpreters are never chosen.
MIN_PYTHON = (3, 9)
# What `sandbox status` lists (AWS's current runtimes; any other python3.x/nodejsN.x is resolved on demand too).
KNOWN_RUNTIMES = ("python3.9", "python3.10", "python3.11", "python3.12", "python3.13", "python3.14",
                  "nodejs18.x", "nodejs20.x", "nodejs22.x", "nodejs24.x")
_PYTHON_NAME = re.compile(r"^python3\.(\d+)$")
_PYTHON_RUNTIME = re.compile(r"^python3\.(\d+)$")
_NODE_RUNTIME = re.compile(r"^nodejs(\d+)\.x$")


@dataclass(frozen=True)
class Interpreter:
    runtime: str
    path: str
    version: str  # "3.13" or "20.20.2"
    exact: bool

    @property
    def language(self) -> str:
        return "Python" if self.runtime.startswith("python") else "Node.js"

    def describe(self) -> str:
        """`python3.14 runs on Python 3.13 (/usr/bin/python3.13): this machine has no Python 3.14`."""
        text = f"{self.runtime} runs on {self.language} {self.version} ({self.path})"
        if not self.exact:
            text += f": this machine has no {self.language} {wanted_version(self.runtime)}"
        return text

    def as_dict(self) -> dict:
        return {"runtime": self.runtime, "interpreter": self.path, "version": self.version, "exact": self.exact}


def wanted_version(runtime: str) -> str:
    if m := _PYTHON_RUNTIME.match(runtime):
        return f"3.{m[1]}"
    if m := _NODE_RUNTIME.match(runtime):
        return m[1]
    return runtime


def _home() -> Path:
    """The user's real home: LocalStack runs with HOME set to a folder of the state directory."""
    try:
        return Path(pwd.getpwuid(os.getuid()).pw_dir)
    except KeyError:
        return Path.home()


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


@functools.cache
def pythons() -> dict[int, str]:
    """Python 3 minor version -> an executable of it. The sandbox's own interpreter first (its fork server is
    already warm), then PATH, pyenv, uv and the system's."""
    found: dict[int, str] = {}
    if sys.version_info[:2] >= MIN_PYTHON:
        found[sys.version_info[1]] = sys.executable
    home = _home()
    dirs = [Path(d) for d in os.environ.get("PATH", "").split(os.pathsep) if d and "shims" not in Path(d).parts]
    pyenv = Path(os.environ.get("PYENV_ROOT") or home / ".pyenv") / "versions"
    uv = Path(os.environ.get("UV_PYTHON_INSTALL_DIR") or home / ".local/share/uv/python")
    for root in (pyenv, uv):
        if root.is_dir():
            # newest patch release first: "3.11.7" before "3.11.2"
            dirs += [d / "bin" for d in sorted(root.iterdir(), key=_version_key, reverse=True)
                     if "freethreaded" not in d.name]
    dirs += [Path("/usr/local/bin"), Path("/usr/bin")]
    for directory in dirs:
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        for name in names:
            m = _PYTHON_NAME.match(name)
            if m and (3, int(m[1])) >= MIN_PYTHON and int(m[1]) not in found and _executable(directory / name):
                found[int(m[1])] = str(directory / name)
    return found


def _version_key(path: Path) -> tuple:
    return tuple(int(n) for n in re.findall(r"\d+", path.name)[:3])


@functools.cache
def nodes() -> dict[int, tuple[str, str]]:
    """Node.js major version -> (executable, full version). `node` on PATH first, then nvm, fnm, volta and n."""
    found: dict[int, tuple[str, str]] = {}
    on_path = shutil.which("node")
    if on_path:
        version = _node_version(on_path)
        if version:
            found[int(version.split(".")[0])] = (on_path, version)
    home = _home()
    roots = [
        (Path(os.environ.get("NVM_DIR") or home / ".nvm") / "versions" / "node", "bin/node"),
        (home / ".local/share/fnm/node-versions", "installation/bin/node"),
        (home / ".volta/tools/image/node", "bin/node"),
        (Path("/usr/local/n/versions/node"), "bin/node"),
    ]
    for root, binary in roots:
        if not root.is_dir():
            continue
        for d in sorted(root.iterdir(), key=_version_key, reverse=True):
            numbers = _version_key(d)
            if len(numbers) == 3 and numbers[0] not in found and _executable(d / binary):
                found[numbers[0]] = (str(d / binary), ".".join(map(str, numbers)))
    return found


def _node_version(binary: str) -> str | None:
    try:
        done = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=15,
                              stdin=subprocess.DEVNULL, env={"PATH": os.environ.get("PATH", "")})
    except (OSError, subprocess.SubprocessError):
        return None
    text = done.stdout.strip().lstrip("v")
    return text if re.fullmatch(r"\d+\.\d+\.\d+.*", text) else None


def _nearest(wanted: int, available) -> int:
    """The closest version; between two as close, the older (code for a newer runtime is the likelier to run)."""
    return min(available, key=lambda v: (abs(v - wanted), v > wanted))


def resolve(runtime: str | None) -> Interpreter | None:
    """The interpreter that runs `runtime`; None if it is no python3.x/nodejsN.x runtime or nothing can run it."""
    runtime = str(runtime or "")
    if m := _PYTHON_RUNTIME.match(runtime):
        wanted, available = int(m[1]), pythons()
        if not available:
            return None
        minor = wanted if wanted in available else _nearest(wanted, available)
        return Interpreter(runtime, available[minor], f"3.{minor}", minor == wanted)
    if m := _NODE_RUNTIME.match(runtime):
        wanted, available = int(m[1]), nodes()
        if not available:
            return None
        major = wanted if wanted in available else _nearest(wanted, available)
        path, version = available[major]
        return Interpreter(runtime, path, version, major == wanted)
    return None


def mapping(runtimes=KNOWN_RUNTIMES) -> list[Interpreter]:
    """What runs each runtime, for `sandbox status`."""
    return [i for i in map(resolve, runtimes) if i is not None]
