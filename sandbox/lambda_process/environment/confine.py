"""Operating-system confinement of one Lambda execution environment, each measure used where the OS offers it.

A function is code the user deployed, running as the user on the laptop. What this module can take away from it
(Linux; see docs/security.md for what remains and for other systems):

* `own_process_tree()`  - subreaper: whatever the function starts stays our descendant, so it can be killed.
* `new_user_and_pid_namespaces()` - the function's processes live in a PID namespace of their own: it sees no
  other process, and when its first process dies the kernel kills every process in it (no orphan survives).
* `private_mounts()`    - a fresh /proc showing only its own processes, and its own /tmp (as on AWS).
* `landlock()`          - a Landlock ruleset: reads only the runtime, its code and layers and system directories,
  writes only its /tmp; no signals to, no ptrace of, no abstract UNIX socket to processes outside; and since
  /proc/<pid>/environ needs ptrace access, no reading of another process's environment (host credentials).
* `drop_capabilities()` - the capabilities a user namespace grants are dropped before the function's code runs.

Standard library only (ctypes), no import from `sandbox`: this runs in the function's environment. Every measure
returns a reason string when the OS refuses it; the caller goes on without it and says so once.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import sys

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_CAPBSET_DROP = 24
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 8, 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME, MS_STRICTATIME = 1024, 2048, 1 << 21, 1 << 24
CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID = 0x00020000, 0x10000000, 0x20000000
# Landlock (include/uapi/linux/landlock.h); the syscall numbers are the same on every architecture
SYS_LANDLOCK_CREATE_RULESET, SYS_LANDLOCK_ADD_RULE, SYS_LANDLOCK_RESTRICT_SELF = 444, 445, 446
LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_RULE_PATH_BENEATH = 1
FS_EXECUTE, FS_WRITE_FILE, FS_READ_FILE, FS_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
FS_ALL_V1 = (1 << 13) - 1  # execute ... make_sym
FS_REFER, FS_TRUNCATE, FS_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1
READ = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR

_libc = None


def libc():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        _libc.syscall.restype = ctypes.c_long
        _libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
        _libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]
    return _libc


def _err(what: str) -> str:
    code = ctypes.get_errno()
    return f"{what}: {os.strerror(code) if code else 'not available'}"


def linux() -> bool:
    return sys.platform.startswith("linux")


def prctl(option: int, arg: int = 0) -> str | None:
    if not linux():
        return "not Linux"
    if libc().prctl(option, arg, 0, 0, 0) != 0:
        return _err(f"prctl({option})")
    return None


def own_process_tree() -> str | None:
    """Orphans of our descendants are re-parented to us instead of to init (PR_SET_CHILD_SUBREAPER)."""
    return prctl(PR_SET_CHILD_SUBREAPER, 1)


def die_with_parent(sig: int = 9) -> str | None:
    """`sig` (default SIGKILL) when the parent (thread) that forked us exits. Only safe when that parent is
    single-threaded: the signal follows the thread, not the process."""
    return prctl(PR_SET_PDEATHSIG, sig)


def new_user_and_pid_namespaces() -> str | None:
    """A user namespace mapping our own uid/gid (no privilege on the host), and a PID namespace for the next child.

    Must be called by a single-threaded process. The next child forked is PID 1 of the new namespace."""
    if not linux() or not hasattr(os, "unshare"):
        return "not Linux"
    uid, gid = os.geteuid(), os.getegid()
    try:
        os.unshare(CLONE_NEWUSER | CLONE_NEWPID)
    except OSError as e:
        return f"user namespaces unavailable ({e.strerror})"
    try:
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{uid} {uid} 1")
        _write("/proc/self/gid_map", f"{gid} {gid} 1")
    except OSError as e:
        return f"user namespace id maps refused ({e.strerror})"
    return None


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def _mount(source, target, fstype, flags) -> str | None:
    def enc(v):
        return v.encode() if isinstance(v, str) else v

    if libc().mount(enc(source), enc(target), enc(fstype), flags, None) != 0:
        return _err(f"mount {target}")
    return None


def private_mounts(tmp_dir: str, keep: list[str]) -> list[str]:
    """In a new mount namespace: a /proc of our PID namespace, `tmp_dir` at /tmp, and every other mount read-only.
    Returns the problems (none: all done).

    Whatever of `keep` (the runtime, the function's code and layers) lies under /tmp - the sandbox checked out or
    its state kept there - would be hidden by the new /tmp: each is bound back at its own path on top of it."""
    try:
        os.unshare(CLONE_NEWNS)
    except OSError as e:
        return [f"mount namespace unavailable ({e.strerror})"]
    problem = _mount(None, "/", None, MS_REC | MS_PRIVATE) or \
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    if problem:
        return [problem]
    hidden = {}
    for path in dict.fromkeys(keep):
        real = os.path.realpath(path)
        if real.startswith("/tmp/") and os.path.exists(real):
            try:
                hidden[real] = os.open(real, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
    try:
        if problem := _mount(tmp_dir, "/tmp", None, MS_BIND | MS_REC):
            return [problem]
        for real, fd in sorted(hidden.items()):
            try:
                os.makedirs(real, exist_ok=True) if os.path.isdir(f"/proc/self/fd/{fd}") else \
                    (os.makedirs(os.path.dirname(real), exist_ok=True), open(real, "a").close())
            except OSError as e:
                return [f"cannot keep {real} visible under the private /tmp ({e.strerror})"]
            if problem := _mount(f"/proc/self/fd/{fd}", real, None, MS_BIND | MS_REC):
                return [problem]
    finally:
        for fd in hidden.values():
            os.close(fd)
    problem = read_only_everywhere_but(("/proc",), writable_exactly=("/tmp",))
    return [problem] if problem else []


_OPTION_FLAGS = {"ro": MS_RDONLY, "nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC,
                 "noatime": MS_NOATIME, "nodiratime": MS_NODIRATIME, "relatime": MS_RELATIME}


def read_only_everywhere_but(keep: tuple[str, ...], writable_exactly: tuple[str, ...] = ()) -> str | None:
    """Every mount of our mount namespace read-only except `keep` (and what lies below them) and the mounts at
    exactly `writable_exactly` (what is mounted below those becomes read-only too).

    Landlock decides what may be read and written, but not who may change a file's mode, owner, times or
    extended attributes: on a read-only mount nobody can (a function could otherwise `chmod 644` the sandbox's
    token file, or `chmod 777` a home directory). The mount flags the kernel locked for us are passed back as
    they are, or the remount is refused."""
    problems = []
    try:
        with open("/proc/self/mountinfo") as f:
            lines = f.read().splitlines()
    except OSError as e:
        return f"mount list unavailable ({e.strerror})"
    for line in lines:
        fields = line.split()
        if len(fields) < 6:
            continue
        point = fields[4].encode().decode("unicode_escape")
        if point in writable_exactly or any(point == k or point.startswith(k.rstrip("/") + "/") for k in keep):
            continue
        options = fields[5].split(",")
        if "ro" in options:
            continue
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY
        for option in options:
            flags |= _OPTION_FLAGS.get(option, 0)
        if not any(o in options for o in ("noatime", "relatime")):
            flags |= MS_STRICTATIME
        if problem := _mount(None, point, None, flags):
            problems.append(problem)
    return f"not read-only: {'; '.join(problems)}" if problems else None


def drop_capabilities() -> str | None:
    """No capability left (a user namespace gives its creator all of them within it)."""
    if not linux():
        return "not Linux"

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]

    for cap in range(64):
        if libc().prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() == errno.EINVAL:
            break
    header = Header(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (Data * 2)()
    if libc().capset(ctypes.byref(header), data) != 0:
        return _err("capset")
    return None


def landlock_abi() -> int:
    if not linux():
        return 0
    abi = libc().syscall(SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0),
                         ctypes.c_uint32(LANDLOCK_CREATE_RULESET_VERSION))
    return max(int(abi), 0)


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def landlock(read: list[str], write: list[str]) -> str | None:
    """Restricts this process and its future children to reading `read` and reading/writing `write` (each a
    directory or file, with everything beneath), plus Landlock's scoping of signals and abstract UNIX sockets."""
    abi = landlock_abi()
    if abi < 1:
        return "Landlock unavailable (Linux 5.13+ with Landlock enabled)"
    everything = FS_ALL_V1 | (FS_REFER if abi >= 2 else 0) | (FS_TRUNCATE if abi >= 3 else 0) | \
        (FS_IOCTL_DEV if abi >= 5 else 0)
    attr = _RulesetAttr(everything, 0, (SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL) if abi >= 6 else 0)
    size = ctypes.sizeof(_RulesetAttr) if abi >= 6 else 16 if abi >= 4 else 8
    fd = libc().syscall(SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if fd < 0:
        return _err("landlock_create_ruleset")
    try:
        for paths, access in ((read, READ), (write, everything)):
            for path in dict.fromkeys(paths):
                _add_path_rule(fd, path, access)
        if problem := prctl(PR_SET_NO_NEW_PRIVS, 1):
            return problem
        if libc().syscall(SYS_LANDLOCK_RESTRICT_SELF, ctypes.c_int(fd), ctypes.c_uint32(0)) != 0:
            return _err("landlock_restrict_self")
    finally:
        os.close(fd)
    return None


def _add_path_rule(ruleset_fd: int, path: str, access: int) -> None:
    try:
        path_fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # a path this machine does not have
    try:
        if not os.path.isdir(path):
            # rights that only make sense on directories are refused on a file rule
            access &= FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV
        rule = _PathBeneath(access, path_fd)
        libc().syscall(SYS_LANDLOCK_ADD_RULE, ctypes.c_int(ruleset_fd), ctypes.c_int(LANDLOCK_RULE_PATH_BENEATH),
                       ctypes.byref(rule), ctypes.c_uint32(0))
    finally:
        os.close(path_fd)


# System directories a runtime reads (libraries, certificates, time zones, locale data); never a user's home.
SYSTEM_READ = ["/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin", "/etc", "/proc", "/sys",
               "/dev/urandom", "/dev/random", "/dev/zero", "/dev/null", "/dev/full", "/dev/fd",
               "/System", "/Library"]
SYSTEM_WRITE = ["/dev/null"]
