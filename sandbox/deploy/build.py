"""The build step of `sandbox deploy`, as `sam build` does it, before the template is packaged.

A Python function's `requirements.txt` is installed next to its code (`uv pip install --target`, for the
function's runtime and architecture as Lambda runs it), a Node.js function's `package.json` gets `npm ci`/`npm
install --omit=dev`, and `Metadata: BuildMethod: esbuild` bundles (TypeScript) with esbuild fetched through npm.
Layers with `Metadata: BuildMethod: python3.x`/`nodejsNN.x` get their dependencies under `python/`/`nodejs/`.

The user's folders are only read: everything is built under `<state dir>/build/` and the template's
`CodeUri`/`ContentUri` point there. Installed dependencies are cached by the hash of the manifest(s), runtime and
architecture; a built artifact by that plus the hash of the source, so a redeploy with nothing changed runs
nothing and packages the very same folder (awscli's packager then sees the same zip and CloudFormation has no
update). `BuildMethod: makefile` and builders other than python/nodejs/esbuild are refused with what to do.
"""

from __future__ import annotations

import copy
import glob
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import unquote

from sandbox.deploy.deployer import DeployError

BUILDER_VERSION = "1"  # part of every cache key: bump when what a build produces changes
ESBUILD_VERSION = "0.25.12"
INSTALL_TIMEOUT = 600
CACHE_DAYS = 14  # a build or installed dependencies unused this long are removed
# Never copied into an artifact nor hashed as source (as sam build's CopySourceAction excludes; node_modules and
# virtualenvs are reinstalled from the manifest, never taken from the user's folder).
SOURCE_EXCLUDES = frozenset({".aws-sam", ".git", ".hg", ".svn", "__pycache__", "node_modules", ".venv", "venv",
                             ".sandbox", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".DS_Store"})
MAKEFILE_HINT = ("The sandbox does not run Makefiles. Build it yourself (e.g. `sam build`, or `make` into a folder) "
                 "and point {prop} at the output (e.g. .aws-sam/build/{logical_id}/), with the Metadata removed.")

# esbuild's options as SAM's BuildProperties spell them (aws-lambda-builders, nodejs_npm_esbuild/esbuild.py).
ESBUILD_BOOLEAN = {"Minify": "minify", "Sourcemap": "sourcemap"}
ESBUILD_SINGLE = {"Target": "target", "Format": "format", "MainFields": "main-fields",
                  "SourcesContent": "sources-content"}
ESBUILD_MULTI = {"External": "external", "Loader": "loader", "OutExtension": "out-extension", "Banner": "banner"}
ESBUILD_OTHER = {"EntryPoints", "UseNpmCi"}
ESBUILD_PROPERTIES = (*ESBUILD_BOOLEAN, *ESBUILD_SINGLE, *ESBUILD_MULTI, *sorted(ESBUILD_OTHER))


class BuildError(DeployError):
    """A function or layer that could not be built: which one, what failed, and what to do."""


# --- planning (pure) --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Build:
    """What to build for one function or layer."""

    logical_id: str
    resource_type: str
    prop: str                 # the property that points at the code: CodeUri / ContentUri
    method: str               # python | npm | esbuild
    runtime: str              # python3.13, nodejs20.x, ...
    architecture: str         # x86_64 | arm64
    source: Path
    layer: bool = False
    esbuild: dict = field(default_factory=dict, hash=False)

    @property
    def manifest(self) -> Path | None:
        name = "requirements.txt" if self.method == "python" else "package.json"
        path = self.source / name
        return path if path.is_file() else None

    @property
    def lockfile(self) -> Path | None:
        path = self.source / "package-lock.json"
        return path if self.method != "python" and path.is_file() else None

    @property
    def use_npm_ci(self) -> bool:
        return self.lockfile is not None and bool(self.esbuild.get("UseNpmCi", True))


def _value(value, parameters: dict) -> object:
    """A property's value with a `!Ref Parameter` resolved (the rest of the intrinsics cannot name a runtime)."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return parameters.get(value["Ref"])
    return value


def _truthy(value) -> bool:
    return value is True or str(value).lower() == "true"


def _local_dir(value, base_dir: Path) -> Path | None:
    """The local folder a CodeUri/ContentUri names; None for S3 locations, intrinsics and zip files."""
    if value is None:
        value = "."
    if not isinstance(value, str) or value.startswith("s3://") or "://" in value:
        return None
    path = (base_dir / value).resolve()
    return path if path.is_dir() else None


def _method_for_runtime(runtime: str) -> str | None:
    if runtime.startswith("python3."):
        return "python"
    if runtime.startswith("nodejs"):
        return "npm"
    return None


def esbuild_properties(logical_id: str, props) -> dict:
    """BuildProperties checked as `sam build` reads them; unknown names and wrong shapes are refused."""
    if props is None:
        props = {}
    if not isinstance(props, dict):
        raise BuildError(f"{logical_id}: Metadata.BuildProperties must be a mapping of esbuild options")
    unknown = sorted(set(props) - set(ESBUILD_PROPERTIES))
    if unknown:
        raise BuildError(f"{logical_id}: unknown esbuild BuildProperties {', '.join(unknown)}. "
                         f"Supported: {', '.join(ESBUILD_PROPERTIES)}")
    entry = props.get("EntryPoints")
    if not isinstance(entry, list) or not entry or not all(isinstance(e, str) and e for e in entry):
        raise BuildError(f"{logical_id}: BuildMethod esbuild needs Metadata.BuildProperties.EntryPoints, a list of "
                         "files relative to CodeUri (e.g. [app.ts])")
    for name in ESBUILD_MULTI:
        if name in props and not isinstance(props[name], list):
            raise BuildError(f"{logical_id}: BuildProperties.{name} must be a list (e.g. {name}: ['...'])")
    for name in ESBUILD_SINGLE:
        if name in props and isinstance(props[name], (dict, list)) and name != "MainFields":
            raise BuildError(f"{logical_id}: BuildProperties.{name} must be a single value")
    return dict(props)


def esbuild_args(props: dict, outdir: Path) -> list[str]:
    """esbuild's command line for BuildProperties, with sam build's defaults (cjs, es2020, minified, bundled)."""
    args = ["--bundle", "--platform=node", f"--outdir={outdir}", "--log-level=warning"]
    if "Target" not in props:
        args.append("--target=es2020")
    if "Format" not in props:
        args.append("--format=cjs")
    if "Minify" not in props:
        args.append("--minify")
    for name, flag in ESBUILD_BOOLEAN.items():
        if name in props and _truthy(props[name]):
            args.append(f"--{flag}")
    for name, flag in ESBUILD_SINGLE.items():
        if name in props:
            value = props[name]
            value = ",".join(map(str, value)) if isinstance(value, list) else value
            value = str(value).lower() if isinstance(value, bool) else value
            args.append(f"--{flag}={value}")
    for name, flag in ESBUILD_MULTI.items():
        args += [f"--{flag}:{item}" for item in props.get(name) or []]
    return args


def resolve_entry_points(source: Path, entry_points: list[str], logical_id: str) -> list[str]:
    """Entry points as sam build finds them: as written, or with .ts then .js added when written without one."""
    out = []
    for entry in entry_points:
        if Path(entry).suffix:
            if not (source / entry).is_file():
                raise BuildError(f"{logical_id}: esbuild entry point {entry} does not exist in {source}")
            out.append(entry)
            continue
        found = next((entry + ext for ext in (".ts", ".js") if (source / (entry + ext)).is_file()), None)
        if not found:
            raise BuildError(f"{logical_id}: esbuild entry point {entry} (.ts or .js) does not exist in {source}")
        out.append(found)
    return out


def plan(template: dict, base_dir: Path, parameters: dict | None = None) -> list[Build]:
    """The builds a template asks for (Globals already applied to CodeUri). Raises BuildError for what the
    sandbox refuses to build: a Makefile, an unknown BuildMethod, esbuild without EntryPoints."""
    parameters = {**{k: v.get("Default") for k, v in (template.get("Parameters") or {}).items()
                     if isinstance(v, dict)}, **(parameters or {})}
    function_globals = ((template.get("Globals") or {}).get("Function") or {}) if isinstance(
        template.get("Globals"), dict) else {}
    builds = []
    for logical_id, resource in (template.get("Resources") or {}).items():
        if not isinstance(resource, dict):
            continue
        rtype = resource.get("Type")
        props = resource.get("Properties") or {}
        metadata = resource.get("Metadata") or {}
        method = metadata.get("BuildMethod") if isinstance(metadata, dict) else None
        method = str(method).strip() if method is not None else None
        if rtype == "AWS::Serverless::Function":
            if "InlineCode" in props or props.get("PackageType") == "Image" or "ImageUri" in props:
                continue
            prop = "CodeUri"
            runtime = _value(props.get("Runtime", function_globals.get("Runtime")), parameters)
            archs = _value(props.get("Architectures", function_globals.get("Architectures")), parameters)
        elif rtype == "AWS::Serverless::LayerVersion":
            if method is None:
                continue  # sam build builds a layer only when told how
            prop = "ContentUri"
            runtime = method
            archs = metadata.get("BuildArchitecture") or props.get("CompatibleArchitectures")
        else:
            continue
        runtime = str(runtime) if isinstance(runtime, str) else ""
        arch = str(archs[0] if isinstance(archs, list) and archs else archs or "x86_64")
        if method and method.lower() == "makefile":
            raise BuildError(f"{logical_id} ({rtype}) has Metadata BuildMethod: makefile. "
                             + MAKEFILE_HINT.format(prop=prop, logical_id=logical_id))
        source = _local_dir(props.get(prop), base_dir)
        if source is None:
            if method:
                raise BuildError(f"{logical_id}: BuildMethod {method} needs {prop} to be a local folder "
                                 f"(it is {props.get(prop)!r})")
            continue
        layer = rtype == "AWS::Serverless::LayerVersion"
        if method == "esbuild":
            if layer or not runtime.startswith("nodejs"):
                what = "a layer" if layer else f"Runtime {runtime or '(none)'}"
                raise BuildError(f"{logical_id}: BuildMethod esbuild bundles Node.js functions; {what} cannot use it")
            builds.append(Build(logical_id, rtype, prop, "esbuild", runtime, arch, source,
                                esbuild=esbuild_properties(logical_id, metadata.get("BuildProperties"))))
            continue
        if method:
            kind = _method_for_runtime(method)
            if kind is None:
                raise BuildError(
                    f"{logical_id}: BuildMethod {method} is not supported by the sandbox, which builds python3.x "
                    "(uv), nodejsNN.x (npm) and esbuild. Build it yourself and point "
                    f"{prop} at the output, with the Metadata removed.")
            if not layer and runtime and _method_for_runtime(runtime) != kind:
                raise BuildError(f"{logical_id}: BuildMethod {method} does not fit its Runtime {runtime}")
            runtime = method if layer else (runtime or method)
        else:
            kind = _method_for_runtime(runtime)
            if kind is None:
                continue  # nothing the sandbox builds (and nothing it can run: the executor says so)
            manifest = "requirements.txt" if kind == "python" else "package.json"
            if not (source / manifest).is_file():
                continue  # sam build only copies such code: packaging it as it is gives the same zip
        builds.append(Build(logical_id, rtype, prop, kind, runtime, arch, source, layer=layer))
    return builds


def python_platform(runtime: str, architecture: str) -> str:
    """uv's --python-platform for what Lambda runs the runtime on: Amazon Linux 2023 (glibc 2.34) from
    python3.12 on, Amazon Linux 2 (manylinux2014) before."""
    machine = "aarch64" if architecture == "arm64" else "x86_64"
    minor = int(runtime.removeprefix("python3.") or 0) if runtime.removeprefix("python3.").isdigit() else 0
    return f"{machine}-manylinux_2_34" if minor >= 12 else f"{machine}-manylinux2014"


def python_version(runtime: str) -> str:
    return runtime.removeprefix("python")


def tree_digest(root: Path) -> str:
    """A hash of the files of a source folder (names and contents), without what is never part of a build."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SOURCE_EXCLUDES)
        for name in sorted(filenames):
            if name in SOURCE_EXCLUDES or name.endswith((".pyc", ".pyo")):
                continue
            path = Path(dirpath) / name
            try:
                data = path.read_bytes()
            except OSError:
                continue  # a dangling link: not copied either
            rel = path.relative_to(root).as_posix()
            h.update(f"{rel}\0{len(data)}\0{os.access(path, os.X_OK)}\0".encode())
            h.update(data)
    return h.hexdigest()


def deps_key(build: Build) -> str:
    """What the installed dependencies depend on: the manifest, the lockfile, the runtime and the architecture."""
    h = hashlib.sha256(f"{BUILDER_VERSION}\0{build.method}\0{build.runtime}\0{build.architecture}\0"
                       f"{build.use_npm_ci}\0".encode())
    for path in (build.manifest, build.lockfile):
        h.update(path.read_bytes() if path else b"-")
        h.update(b"\0")
    return h.hexdigest()


def artifact_key(build: Build, deps: str, source_digest: str) -> str:
    props = json.dumps(build.esbuild, sort_keys=True, default=str)
    tool = ESBUILD_VERSION if build.method == "esbuild" else ""
    return hashlib.sha256(f"{deps}\0{source_digest}\0{build.layer}\0{props}\0{tool}".encode()).hexdigest()


# A package that could not be fetched, as uv and npm say it.
_UV_MISSING = [re.compile(r"Because (\S+?)(?:[<>=!~]=?[^ ]*)? was not found in the package registry"),
               re.compile(r"Because there is no version of (\S+?)(?:[<>=!~]=?[^ ]*)?(?:\s|$)"),
               re.compile(r"Failed to fetch: `?\S*?/simple/([^/`\s]+)/?`?"),
               re.compile(r"Failed to download `([^`=<>!~ ]+)")]
_NPM_MISSING = [re.compile(r"404 Not Found - GET \S+/(@?[^/\s]+)(?:\s|$)"),
                re.compile(r"request to \S+/(@?[^/\s]+) failed"),
                re.compile(r"No matching version found for (@?[^@\s]+)@"),
                re.compile(r"notarget.*?for (@?[^@\s]+)@")]


def unfetchable_packages(tool: str, output: str) -> list[str]:
    """Names of the packages the installer's output says it could not fetch (not found, or no network)."""
    names: list[str] = []
    output = " ".join(output.split())  # uv wraps its messages to the terminal's width
    for pattern in _UV_MISSING if tool == "uv" else _NPM_MISSING:
        for match in pattern.finditer(output):
            name = unquote(match.group(1)).strip("`'\".,")
            if name and name not in names:
                names.append(name)
    return names


# --- running ----------------------------------------------------------------------------------------------------
@dataclass
class BuildRecord:
    """What one build did, for the deploy's progress and report."""

    logical_id: str
    resource_type: str
    runtime: str
    ran: str
    seconds: float
    cached: bool              # nothing ran: the built artifact was reused
    deps_cached: bool         # no install ran (the dependencies came from the cache)
    artifact: str
    warning: str = ""

    @property
    def summary(self) -> str:
        what = f"cached ({self.ran})" if self.cached else self.ran
        return f"{self.runtime}: {what}, {self.seconds:.1f}s" + (f". {self.warning}" if self.warning else "")

    def as_dict(self) -> dict:
        return {**asdict(self), "seconds": round(self.seconds, 2)}


def tools_cache_dir() -> Path:
    """Per-user cache of the build tools (esbuild), shared by every sandbox."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "serverless-sandbox" / "build-tools"


_found_uv: list[str] = []


def _version_key(path: str) -> tuple:
    return tuple(int(part) if part.isdigit() else -1 for part in re.split(r"[.\-]", Path(path).parent.parent.name))


def _uv() -> str | None:
    """uv itself: the one `uv run` started us with, the one next to our interpreter, the one on PATH, or where its
    installers put it (newest Python's first) - the first that runs. A pyenv shim is passed over: it runs only where
    pyenv selects the Python uv was installed with (`pip install uv` under pyenv), and a deploy from another folder
    failed with "pyenv: uv: command not found". Found once per process (not found: looked for again next time)."""
    if _found_uv:
        return _found_uv[0]
    home = Path.home()
    candidates = [os.environ.get("UV"), str(Path(sys.executable).parent / "uv"), shutil.which("uv"),
                  str(home / ".local" / "bin" / "uv"), str(home / ".cargo" / "bin" / "uv"),
                  *sorted(glob.glob(str(home / ".pyenv" / "versions" / "*" / "bin" / "uv")), key=_version_key,
                          reverse=True)]
    for candidate in dict.fromkeys(c for c in candidates if c and "/shims/" not in c):
        if not (os.path.isfile(candidate) and os.access(candidate, os.X_OK)):
            continue
        try:
            if subprocess.run([candidate, "--version"], capture_output=True, timeout=20).returncode == 0:
                _found_uv.append(candidate)
                return candidate
        except (OSError, subprocess.SubprocessError):
            continue
    return None


def _touch(folder: Path) -> None:
    """Marks a cache entry as used (its folder's mtime; the files, whose mtimes go into the zip, stay as they are)."""
    try:
        os.utime(folder)
    except OSError:
        pass


def prune(root: Path, max_age_days: float = CACHE_DAYS) -> None:
    """Removes builds and installed dependencies no deploy has used for `max_age_days` (and leftovers of builds
    that were interrupted), so the build folder does not grow with every change."""
    limit = time.time() - max_age_days * 86400
    for kind in ("artifacts", "deps"):
        folder = root / kind
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            try:
                used = entry.stat().st_mtime
            except OSError:
                continue
            unfinished = ".tmp-" in entry.name or ".mod-" in entry.name or entry.name.endswith(".src")
            if used < limit or (unfinished and used < time.time() - 3600):
                shutil.rmtree(entry, ignore_errors=True)


def _link_or_copy(src: str, dst: str) -> str:
    """Hard links from the dependency cache (fast; the zip reads them like files), a copy across filesystems."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
    return dst


def _ignore(_dir: str, names: list[str]) -> set[str]:
    return {n for n in names if n in SOURCE_EXCLUDES or n.endswith((".pyc", ".pyo"))}


def copy_source(source: Path, dest: Path) -> None:
    shutil.copytree(source, dest, ignore=_ignore, dirs_exist_ok=True)


def _publish(tmp: Path, final: Path) -> Path:
    """Moves a finished build into place atomically; another deploy that got there first wins."""
    try:
        tmp.rename(final)
    except OSError:
        if not final.is_dir():
            raise
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def _count_packages(folder: Path, method: str) -> int:
    if not folder.is_dir():
        return 0
    if method == "python":
        return sum(1 for p in folder.iterdir() if p.name.endswith(".dist-info"))
    names = [p for p in folder.iterdir() if not p.name.startswith(".")]
    return sum(len(list(p.iterdir())) if p.name.startswith("@") else 1 for p in names)


def _without_dev_dependencies(manifest: Path, build: Build) -> None:
    """Without a lockfile, devDependencies (jest, typescript, ...) would only be resolved to be left out by
    --omit=dev: seconds of registry lookups for nothing. The copy in the scratch folder loses them."""
    try:
        package = json.loads(manifest.read_text())
    except ValueError as e:
        raise BuildError(f"building {build.logical_id}: {build.source / 'package.json'} is not valid JSON: {e}") from None
    if isinstance(package, dict) and package.pop("devDependencies", None) is not None:
        manifest.write_text(json.dumps(package, indent=2))


def interpreter(runtime: str) -> tuple[str, str]:
    """The Python (path, version) the sandbox runs `runtime` on: the executor's choice
    (sandbox/lambda_process/interpreters.py) when it has one, else the sandbox's own interpreter."""
    try:
        from sandbox.lambda_process import interpreters

        found = interpreters.resolve(runtime)
        if found is not None:
            return found.path, found.version
    except Exception:  # noqa: BLE001 - a warning and the interpreter uv builds sdists with depend on it, no more
        pass
    return sys.executable, f"{sys.version_info.major}.{sys.version_info.minor}"


def interpreter_version(runtime: str) -> str:
    return interpreter(runtime)[1]


def _compiled_warning(build: Build, deps: Path) -> str:
    """Compiled extensions built for what Lambda runs (the runtime's version, the function's architecture) cannot
    load when this machine runs the function on another Python or CPU: said at build time, not as an ImportError
    at the first invoke."""
    here = interpreter_version(build.runtime)
    machine = "arm64" if platform.machine().lower() in ("aarch64", "arm64") else "x86_64"
    if python_version(build.runtime) == here and build.architecture == machine:
        return ""
    if not any(deps.rglob("*.so")):
        return ""
    return (f"warning: compiled extensions were installed for {build.runtime}/{build.architecture} (as Lambda runs "
            f"it); the sandbox runs it on Python {here} ({machine}), where they may not import. Test it here with "
            f"Runtime: python{here}" + ("" if build.architecture == machine else f" and Architectures: [{machine}]"))


class Builder:
    """Runs the planned builds into `root` (the sandbox's build folder), reusing what the cache holds."""

    def __init__(self, root: Path, on_built: Callable[[BuildRecord], None] | None = None,
                 tools_dir: Path | None = None):
        self.root = Path(root)
        self.on_built = on_built
        self.tools_dir = Path(tools_dir) if tools_dir else tools_cache_dir()

    # the one entry point ----------------------------------------------------------------------------------
    def build_template(self, template: dict, base_dir: Path, parameters: dict | None = None) \
            -> tuple[dict, list[BuildRecord]]:
        """A copy of the template whose built functions and layers point at their artifacts, and what was done.
        Everything is planned (and refused) before anything runs."""
        builds = plan(template, Path(base_dir), parameters)
        if not builds:
            return template, []
        prune(self.root)
        out = copy.deepcopy(template)
        records = []
        for build in builds:
            record = self.build(build)
            out["Resources"][build.logical_id].setdefault("Properties", {})[build.prop] = record.artifact
            records.append(record)
            if self.on_built:
                self.on_built(record)
        return out, records

    def build(self, build: Build) -> BuildRecord:
        started = time.perf_counter()
        deps_id = deps_key(build)
        final = self.root / "artifacts" / artifact_key(build, deps_id, tree_digest(build.source))[:24]
        ran = self._describe(build)
        if final.is_dir():
            _touch(final)
            return BuildRecord(build.logical_id, build.resource_type, build.runtime, ran,
                               time.perf_counter() - started, True, True, str(final))
        deps, deps_cached = self._dependencies(build, deps_id)
        tmp = final.with_name(f"{final.name}.tmp-{os.getpid()}-{time.monotonic_ns()}")
        try:
            if build.method == "esbuild":
                self._bundle(build, deps, tmp)
            else:
                target = tmp / ("python" if build.method == "python" else "nodejs") if build.layer else tmp
                copy_source(build.source, target)
                if deps is not None:
                    dest = target if build.method == "python" else target / "node_modules"
                    shutil.copytree(deps, dest, copy_function=_link_or_copy, dirs_exist_ok=True, symlinks=True)
            _publish(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        warning = _compiled_warning(build, deps) if build.method == "python" and deps is not None else ""
        if deps_cached and build.manifest:
            ran += f"; {build.manifest.name} unchanged, dependencies from the cache"
        return BuildRecord(build.logical_id, build.resource_type, build.runtime, ran, time.perf_counter() - started,
                           False, deps_cached, str(final), warning)

    # what each builder runs --------------------------------------------------------------------------------
    def _describe(self, build: Build) -> str:
        if build.method == "python":
            return (f"uv pip install -r requirements.txt ({python_version(build.runtime)}, "
                    f"{python_platform(build.runtime, build.architecture)})")
        npm = ("npm ci --omit=dev" if build.use_npm_ci else "npm install --omit=dev") if build.manifest else ""
        if build.method == "npm":
            return npm
        bundle = f"esbuild {ESBUILD_VERSION} {' '.join(build.esbuild['EntryPoints'])}"
        return f"{npm} + {bundle}" if npm else bundle

    def _dependencies(self, build: Build, key: str) -> tuple[Path | None, bool]:
        """The folder of installed dependencies (site-packages content or node_modules), from the cache if there."""
        if build.manifest is None:
            return None, True
        final = self.root / "deps" / f"{build.method}-{key[:24]}"
        if final.is_dir():
            _touch(final)
            return final, True
        tmp = final.with_name(f"{final.name}.tmp-{os.getpid()}-{time.monotonic_ns()}")
        tmp.mkdir(parents=True)
        try:
            if build.method == "python":
                self._uv_install(build, tmp)
                (tmp / ".lock").unlink(missing_ok=True)  # uv's lock of the target folder, not the function's
                return _publish(tmp, final), False
            for name in ("package.json", "package-lock.json", ".npmrc"):
                if (build.source / name).is_file():
                    shutil.copy2(build.source / name, tmp / name)
            if not build.use_npm_ci:
                _without_dev_dependencies(tmp / "package.json", build)
            self._npm_install(build, tmp)
            modules = tmp / "node_modules"
            modules.mkdir(exist_ok=True)  # a package.json without dependencies
            done = final.with_name(f"{final.name}.mod-{os.getpid()}-{time.monotonic_ns()}")
            modules.rename(done)
            return _publish(done, final), False
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def _uv_install(self, build: Build, target: Path) -> None:
        uv = _uv()
        if not uv:
            raise BuildError(f"building {build.logical_id} needs uv to install requirements.txt, and none was found: "
                             "run the sandbox with `uv run sandbox ...` or `pip install uv`")
        command = [uv, "pip", "install", "--quiet", "--target", str(target), "-r", str(build.manifest),
                   "--python", interpreter(build.runtime)[0], "--python-version", python_version(build.runtime),
                   "--python-platform", python_platform(build.runtime, build.architecture)]
        self._run(build, "uv", command, cwd=build.source)

    def _npm_install(self, build: Build, cwd: Path) -> None:
        npm = self._npm(build)
        verb = ["ci"] if build.use_npm_ci else ["install"]
        command = [npm, *verb, "--omit=dev", "--no-audit", "--no-fund", "--no-update-notifier", "--loglevel=error",
                   "--fetch-retries=1", "--fetch-retry-mintimeout=2000", "--fetch-retry-maxtimeout=10000"]
        self._run(build, "npm", command, cwd=cwd)

    def _npm(self, build: Build) -> str:
        npm = shutil.which("npm")
        if not npm:
            raise BuildError(f"building {build.logical_id} ({build.runtime}) needs npm, which is not on PATH: "
                             "install Node.js with npm (e.g. `apt-get install nodejs npm`)")
        return npm

    def _esbuild(self, build: Build) -> Path:
        """esbuild from the npm registry, installed once per version into the per-user tools cache."""
        final = self.tools_dir / f"esbuild-{ESBUILD_VERSION}"
        binary = final / "node_modules" / ".bin" / "esbuild"
        if binary.exists():
            return binary
        tmp = final.with_name(f"{final.name}.tmp-{os.getpid()}-{time.monotonic_ns()}")
        tmp.mkdir(parents=True)
        try:
            (tmp / "package.json").write_text('{"private": true}\n')
            self._run(build, "npm", [self._npm(build), "install", f"esbuild@{ESBUILD_VERSION}", "--no-save",
                                     "--no-package-lock", "--no-audit", "--no-fund", "--no-update-notifier",
                                     "--loglevel=error", "--fetch-retries=1"], cwd=tmp,
                      what=f"esbuild {ESBUILD_VERSION} (the bundler BuildMethod esbuild needs)")
            _publish(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return binary

    def _bundle(self, build: Build, deps: Path | None, out: Path) -> None:
        """sam build's esbuild step: the source (its own node_modules left out) next to the installed
        dependencies, bundled into the artifact folder."""
        esbuild = self._esbuild(build)
        scratch = out.with_name(out.name + ".src")
        try:
            copy_source(build.source, scratch)
            if deps is not None:
                # a folder of hard links, not a symlink to the cache: esbuild resolves a symlinked package to its
                # real path, where no node_modules holds that package's own dependencies ("Could not resolve
                # @smithy/core/client" for the AWS SDK v3); sam build bundles from a real node_modules too
                shutil.copytree(deps, scratch / "node_modules", copy_function=_link_or_copy, symlinks=True)
            entries = resolve_entry_points(scratch, build.esbuild["EntryPoints"], build.logical_id)
            out.mkdir(parents=True)
            self._run(build, "esbuild", [str(esbuild), *entries, *esbuild_args(build.esbuild, out)], cwd=scratch)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _run(self, build: Build, tool: str, command: list[str], cwd: Path, what: str = "") -> None:
        try:
            done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=INSTALL_TIMEOUT,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise BuildError(f"building {build.logical_id}: {tool} did not finish within {INSTALL_TIMEOUT}s") from None
        except OSError as e:
            raise BuildError(f"building {build.logical_id}: cannot run {command[0]}: {e.strerror}") from None
        if done.returncode == 0:
            return
        output = (done.stderr or "") + "\n" + (done.stdout or "")
        missing = unfetchable_packages("npm" if tool == "npm" else tool, output)
        tail = "\n".join(line for line in output.strip().splitlines()[-12:] if line.strip())
        registry = "PyPI" if tool == "uv" else "the npm registry"
        if what:
            raise BuildError(f"building {build.logical_id} ({build.runtime}) failed: npm could not fetch {what} from "
                             f"{registry} (is there a network?). Connect and deploy again.\n{tail}")
        if missing:
            manifest = build.manifest.name if build.manifest else "the manifest"
            raise BuildError(f"building {build.logical_id} ({build.runtime}) failed: {tool} could not fetch "
                             f"{', '.join(missing)} from {registry} (no such name or version there, or no network). "
                             f"Check {manifest}, or connect and deploy again.\n{tail}")
        raise BuildError(f"building {build.logical_id} ({build.runtime}) failed: `{tool} {' '.join(command[1:3])} ...` "
                         f"exited with {done.returncode}:\n{tail}")


def build_for_deploy(state_dir: Path, template: dict, base_dir: Path, parameters: dict | None,
                     on_built: Callable[[BuildRecord], None] | None = None) -> dict:
    """The deployer's hook: the template to package, its functions and layers built under `<state_dir>/build`."""
    built, _records = Builder(Path(state_dir) / "build", on_built).build_template(template, base_dir, parameters)
    return built
