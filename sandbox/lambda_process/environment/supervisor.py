"""The first process of every Lambda execution environment: it confines the runtime and answers for its whole tree.

    executor (LocalStack) ─ fork server ─fork─► supervisor ─fork─► namespace init (PID 1) ─fork─► runtime ─► ...

The supervisor is what the executor tracks (its PID record) and kills. It
* makes itself a subreaper and, where the OS allows, gives the runtime a user + PID namespace of its own
  (confine.py), whose first process (a small init) mounts a fresh /proc and a private /tmp: every process the
  function starts - forked, double-forked, `setsid`-ed - stays inside, and dies with the runtime;
* in the runtime process, before the function's code loads: capabilities dropped and a Landlock ruleset (files,
  signals, ptrace), then the Python runtime (bootstrap.py, in process) or the Node.js one
  (`exec node bootstrap.mjs`);
* enforces the function's memory size: the RSS of the tree is sampled, and past the limit the tree is killed and
  the executor told (file `memory-exceeded` in the environment's folder), as Lambda kills an environment that runs
  out of memory (`Runtime.OutOfMemory`);
* stops the whole tree when the runtime exits, when told to (SIGTERM) and when its parent dies (the fork server,
  or LocalStack itself killed with -9): no orphan outlives the environment.

Standard library only, no import from `sandbox`: it runs in the function's environment.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import confine  # noqa: E402
import proctree  # noqa: E402
from layout import CONFINEMENT_FILE, MEMORY_MARKER  # noqa: E402
# Sampling of the tree's memory: often while it changes, rarely while an idle environment waits.
FAST_INTERVAL, SLOW_INTERVAL, IDLE_CHECK = 0.025, 0.5, 5.0  # seconds


class Spec:
    """What to run: built by the executor (executor.ProcessRuntimeExecutor._spawn), sent as JSON."""

    def __init__(self, data: dict):
        self.env: dict[str, str] = data["env"]
        self.cwd: str = data["cwd"]
        self.argv: list[str] | None = data.get("argv")  # None: the Python runtime, in this process
        self.env_dir: str = data["env_dir"]
        self.tmp: str = data["tmp"]
        self.memory_mb: int = int(data.get("memory_mb") or 0)
        self.read_paths: list[str] = data.get("read_paths", [])
        self.registry_dir: str | None = data.get("registry_dir")
        self.label: str = data.get("label", "")
        self.confine: bool = data.get("confine", True)
        self.namespaces: bool = data.get("namespaces", self.confine)
        self.parent_is_single_threaded: bool = data.get("parent_is_single_threaded", False)


def run(spec: Spec, preloaded: set[str] | None = None) -> None:
    """Never returns: exits the way the runtime did (same code, same signal)."""
    parent = os.getppid()
    applied, problems = [], []

    def note(what: str, problem: str | None) -> bool:
        (problems if problem else applied).append(problem or what)
        return problem is None

    note("subreaper", confine.own_process_tree())
    if spec.parent_is_single_threaded:
        confine.die_with_parent(signal.SIGTERM)  # SIGTERM, not KILL: the tree is stopped before we go
    namespaces = spec.namespaces and note("user+pid namespaces", confine.new_user_and_pid_namespaces())
    report_r, report_w = os.pipe()
    status_r, status_w = os.pipe()
    activity_r, activity_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(report_r)
        os.close(status_r)
        os.close(activity_r)
        if namespaces:
            _namespace_init(spec, report_w, status_w, activity_w, preloaded)
        os.close(status_w)
        _runtime(spec, False, False, report_w, activity_w, preloaded)
        os._exit(1)  # not reached
    os.close(report_w)
    os.close(status_w)
    os.close(activity_w)
    for line in _read_all(report_r).splitlines():
        try:
            report = json.loads(line)
        except ValueError:
            continue
        applied += report.get("applied", [])
        problems += report.get("problems", [])
    _write_confinement(spec, pid, namespaces, applied, problems)
    _record(spec, pid, "lambda-runtime")
    _supervise(spec, pid, parent, status_r if namespaces else None, activity_r)


def _namespace_init(spec: Spec, report_w: int, status_w: int, activity_w: int, preloaded: set[str] | None) -> None:
    """PID 1 of the environment's namespace: mounts its /proc and /tmp, starts the runtime, reaps orphans, and
    exits when the runtime does (the kernel then kills whatever is left in the namespace).

    The runtime is not PID 1 itself: PID 1 ignores every signal it has no handler for, even SIGKILL sent from
    inside its namespace, and runtimes end themselves that way (bootstrap.mjs after an uncaught error)."""
    confine.die_with_parent()  # the supervisor is single-threaded
    problems = confine.private_mounts(spec.tmp, spec.read_paths + [spec.cwd])
    tmp_mapped = not problems or all(p.startswith("not read-only") for p in problems)
    report = {"applied": [], "problems": problems}
    if tmp_mapped:
        report["applied"].append("private /proc and /tmp")
        if not problems:
            report["applied"].append("read-only mounts")
    os.write(report_w, (json.dumps(report) + "\n").encode())
    runtime = os.fork()
    if runtime == 0:
        os.close(status_w)
        _runtime(spec, True, tmp_mapped, report_w, activity_w, preloaded)
        os._exit(1)  # not reached
    os.close(report_w)
    os.close(activity_w)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(1)
        if pid == runtime:
            os.write(status_w, str(status).encode())
            os._exit(0)


def _runtime(spec: Spec, namespaces: bool, tmp_mapped: bool, report_w: int, activity_w: int,
             preloaded: set[str] | None) -> None:
    """The runtime process: confined (Landlock, no capabilities), then the Python runtime in this process, or
    `exec` of the Node.js one."""
    report = {"applied": [], "problems": []}

    def note(what: str, problem: str | None) -> None:
        report["problems" if problem else "applied"].append(problem or what)

    confine.die_with_parent()  # its parent (supervisor or namespace init) is single-threaded
    env = dict(spec.env)
    if tmp_mapped:
        env.update(TMPDIR="/tmp", HOME="/tmp")
    os.set_inheritable(activity_w, True)  # kept across `exec node`
    env["SANDBOX_ACTIVITY_FD"] = str(activity_w)
    if spec.argv and "SANDBOX_INVOKE_TOKEN" in env:
        # An exec'd runtime cannot take a variable back out of /proc/self/environ: it reads the secret from a pipe.
        token_r, token_w = os.pipe()
        os.write(token_w, env.pop("SANDBOX_INVOKE_TOKEN").encode())
        os.close(token_w)
        os.set_inheritable(token_r, True)
        env["SANDBOX_INVOKE_TOKEN_FD"] = str(token_r)
    if spec.confine:
        write = [spec.tmp, "/tmp"] + confine.SYSTEM_WRITE  # /tmp: its own when mapped, else the host's (by name)
        read = spec.read_paths + [spec.cwd] + confine.SYSTEM_READ
        note("landlock", confine.landlock(read, write))
        if namespaces:
            note("capabilities dropped", confine.drop_capabilities())
    os.write(report_w, (json.dumps(report) + "\n").encode())
    os.close(report_w)
    os.chdir(spec.cwd)
    if spec.argv:
        os.execve(spec.argv[0], spec.argv, env)
    os.environ.clear()
    os.environ.update(env)
    sys.argv = [os.path.join(HERE, "bootstrap.py")]
    import bootstrap  # ours, before a function's own `bootstrap.py` may take the name

    forget_unreachable_modules(bootstrap.lambda_sys_path(env),
                               [p for p in env.get("SANDBOX_PYTHONPATH", "").split(os.pathsep) if p],
                               preloaded if preloaded is not None else {n.split(".")[0] for n in sys.modules})
    try:
        bootstrap.Runtime(init_started=time.perf_counter()).run()
    except SystemExit as e:  # sys.exit(3) in a handler: the runtime exits 3, as Python does (it was reported as 1)
        code = e.code if isinstance(e.code, int) else 0 if e.code is None else 1
        if not isinstance(e.code, (int, type(None))):
            print(e.code, file=sys.stderr)
        import atexit

        atexit._run_exitfuncs()  # as the interpreter would at exit (a handler's telemetry flush registered there)
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code & 0xFF)


def _location(module) -> str | None:
    """The file (or package folder) a module was loaded from, as imported (not resolved: realpath() of every
    preloaded module would cost milliseconds); None for built-in and frozen ones."""
    spec = getattr(module, "__spec__", None)
    if spec is None:
        return None
    if spec.origin and spec.has_location:
        return spec.origin
    locations = list(spec.submodule_search_locations or ())
    return locations[0] if locations else None


def _found_location(name: str, search_path: list[str]) -> str | None:
    from importlib.machinery import PathFinder

    try:
        spec = PathFinder.find_spec(name, search_path)
    except (ImportError, ValueError):
        return None
    if spec is None or not (spec.origin and spec.has_location):
        return None  # a namespace portion: a regular package later on the path is imported before it
    return os.path.realpath(spec.origin)


def forget_unreachable_modules(search_path: list[str], function_dirs: list[str], preloaded: set[str]) -> None:
    """The fork server preloaded boto3, Powertools, ... (zygote.py); a function keeps a preloaded module only if
    its own sys.path (`search_path`) would import the very same file.

    * not importable by the function (Powertools without its layer, anything of the sandbox's own interpreter):
      dropped, so `import` fails as on AWS instead of handing out our copy;
    * the function ships its own copy (a pinned boto3, a urllib3 that came with requests): every preloaded
      package is dropped, so the function's copies are imported and the runtime's packages that import them use
      them too, as on AWS where the function's code comes first on sys.path;
    * the standard library stays, unless the function's code or a layer (`function_dirs`) has a module of that name.
    """
    from bootstrap import in_standard_library

    drop: set[str] = set()
    shadowed = False
    packages: set[str] = set()
    in_function_dirs: set[str] = set()  # names the function's code and layers have (one listing each)
    for directory in function_dirs:
        try:
            in_function_dirs.update(entry.split(".")[0] for entry in os.listdir(directory))
        except OSError:
            pass
    for name in preloaded:
        module = sys.modules.get(name)
        if module is None or name in sys.builtin_module_names or name == "__main__":
            continue
        loaded = _location(module)
        if loaded is None or os.path.dirname(loaded) == HERE:
            continue  # built-in, frozen, or the runtime's own modules (bootstrap, supervisor, ...)
        if in_standard_library(loaded):
            if name in in_function_dirs and _found_location(name, function_dirs) is not None:
                drop.add(name)
            continue
        packages.add(name)
        found = _found_location(name, search_path)
        if found is None:
            drop.add(name)
        elif found != os.path.realpath(loaded):
            shadowed = True
    if shadowed:
        drop |= packages
    for name in list(sys.modules):
        if name.split(".")[0] in drop:
            del sys.modules[name]


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks)


def _supervise(spec: Spec, child: int, parent: int, status_fd: int | None, activity_fd: int) -> None:
    """`child` is the runtime, or the namespace's init (`status_fd` then carries the runtime's wait status).

    The runtime writes a byte to `activity_fd` when an invocation starts ("i") and ends ("d"): memory is sampled
    often while one runs and while memory moves, and only every IDLE_CHECK seconds while the environment waits
    (an idle environment costs next to nothing)."""
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    os.set_blocking(wake_r, False)
    os.set_blocking(activity_fd, False)
    signal.set_wakeup_fd(wake_w)
    stop = {"signal": None}

    def on_signal(signum, _frame):
        stop["signal"] = signum

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    limit = spec.memory_mb * 1024 * 1024
    # Without a parent-death signal (started by a multi-threaded parent), we must look at our parent ourselves.
    longest = IDLE_CHECK if spec.parent_is_single_threaded else SLOW_INTERVAL
    activity: int | None = activity_fd
    interval, busy, last_rss, peak, runtime, last_walk = FAST_INTERVAL, True, 0, 0, None, 0.0
    while True:
        readable, _, _ = select.select([wake_r] + ([activity] if activity is not None else []), [], [],
                                       min(interval, longest))
        try:
            os.read(wake_r, 4096)
        except BlockingIOError:
            pass
        if activity is not None and activity in readable:
            try:
                data = os.read(activity, 4096)
            except BlockingIOError:
                data = b"i"
            if not data:  # every writer gone: the runtime has exited or closed it
                os.close(activity)
                activity = None
            else:
                busy, interval = data[-1:] != b"d", FAST_INTERVAL
        status = _reap(child)
        if status is not None:
            if status_fd is not None:
                reported = _read_all(status_fd)
                status = int(reported) if reported.strip() else status
            _finish(spec, child)
            _exit_like(status)
        if stop["signal"] is not None or os.getppid() != parent:
            _finish(spec, child)
            os._exit(128 + (stop["signal"] or signal.SIGKILL))
        if not limit:
            interval = IDLE_CHECK
            continue
        now = time.monotonic()
        if not walk_due(now - last_walk, interval):
            continue
        last_walk = now
        tree = proctree.descendants(os.getpid())
        if runtime is None or runtime not in tree:
            # the runtime: the child itself, or the init's (first) child in a namespace
            runtime = child if status_fd is None else next(iter(proctree.children(child)), None)
        rss = proctree.tree_memory(runtime, [p for p in tree if p != child or status_fd is None]) if runtime else 0
        peak = max(peak, rss)
        if rss > limit:
            _mark_memory_exceeded(spec, peak)
            _finish(spec, child)
            os.kill(os.getpid(), signal.SIGKILL)
        if abs(rss - last_rss) > 1024 * 1024:
            interval = FAST_INTERVAL
        elif busy:
            interval = min(interval * 2, SLOW_INTERVAL)
        else:
            interval = IDLE_CHECK
        last_rss = rss


def walk_due(since_last_walk: float, interval: float) -> bool:
    """Whether to walk the tree's memory now. An idle environment: every IDLE_CHECK. Otherwise at most every
    FAST_INTERVAL: each invocation's start and end wake the supervisor, and back-to-back short invocations walked
    /proc twice per invocation (~0.1-0.2 ms of CPU a walk). In a media-pipeline drain an environment's invocations
    come ~130 ms apart, so there both walks still happen (docs/benchmarks.md, thirteenth round). The wake-up that is
    skipped leaves a select timeout of at most FAST_INTERVAL, so a running invocation is still looked at within
    2 x FAST_INTERVAL of its start."""
    return since_last_walk >= (IDLE_CHECK if interval >= IDLE_CHECK else FAST_INTERVAL)


def _reap(child: int) -> int | None:
    """Reaps every exited child (adopted orphans too); the child's wait status once it has exited."""
    result = None
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return result
        if pid == 0:
            return result
        if pid == child:
            result = status


def _finish(spec: Spec, child: int) -> None:
    """Every process of the environment gone: with a PID namespace killing its init is enough (the kernel kills
    the rest); without one, our descendants (adopted orphans included) one by one."""
    proctree.kill_all([child])
    proctree.kill_tree(os.getpid(), include_root=False)
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break
    _unrecord(spec, child)


def _exit_like(status: int) -> None:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    os._exit(os.waitstatus_to_exitcode(status) if not os.WIFSIGNALED(status) else 1)


def _mark_memory_exceeded(spec: Spec, peak: int) -> None:
    try:
        with open(os.path.join(spec.env_dir, MEMORY_MARKER), "w") as f:
            # rounded up: rss > limit, so a peak a few KiB over a 64 MB limit reads 65, not 64
            json.dump({"peak_mb": -(-peak // (1024 * 1024)), "limit_mb": spec.memory_mb}, f)
    except OSError:
        pass


def _write_confinement(spec: Spec, runtime: int, namespaces: bool, applied: list[str], problems: list[str]) -> None:
    """What was applied to this environment (`sandbox status` and the tests read it)."""
    try:
        path = os.path.join(spec.env_dir, CONFINEMENT_FILE)
        with open(path + ".tmp", "w") as f:
            json.dump({"supervisor": os.getpid(), "runtime": runtime, "pid_namespace": namespaces,
                       "applied": applied, "problems": problems}, f)
        os.replace(path + ".tmp", path)
    except OSError:
        pass


def _record(spec: Spec, pid: int, kind: str) -> None:
    """A ProcessRegistry record (sandbox/process_registry.py), so `sandbox down`/`up` can stop it even if the
    supervisor and LocalStack were killed with -9."""
    if not spec.registry_dir:
        return
    try:
        path = os.path.join(spec.registry_dir, f"{pid}.json")
        with open(path + ".tmp", "w") as f:
            json.dump({"pid": pid, "create_time": proctree.create_time(pid), "start_ticks": proctree.start_ticks(pid),
                       "kind": kind, "label": spec.label}, f)
        os.replace(path + ".tmp", path)
    except OSError:
        pass


def _unrecord(spec: Spec, pid: int) -> None:
    if spec.registry_dir:
        try:
            os.unlink(os.path.join(spec.registry_dir, f"{pid}.json"))
        except OSError:
            pass


def main() -> None:
    """`python supervisor.py` with the spec as JSON on stdin (when no fork server is used)."""
    spec = Spec(json.loads(sys.stdin.buffer.read()))
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    run(spec)


if __name__ == "__main__":
    main()
