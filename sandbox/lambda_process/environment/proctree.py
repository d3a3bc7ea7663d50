"""A process and its descendants, read from /proc: who they are, how much memory they hold, how to stop them all.

Used by the environment supervisor (supervisor.py) and the fork server. Standard library only, like every module
that runs in a function's environment; Linux only (elsewhere the functions return nothing and the callers fall
back to process groups).
"""

from __future__ import annotations

import os
import signal
import time

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_boot_time: float | None = None


def children(pid: int) -> list[int]:
    """Direct children of `pid` (all its threads' children)."""
    out = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out.extend(int(c) for c in f.read().split())
        except (OSError, ValueError):
            continue
    return out


def descendants(pid: int) -> list[int]:
    """Every descendant of `pid`, parents before their children."""
    out, todo, seen = [], [pid], {pid}
    while todo:
        for child in children(todo.pop()):
            if child not in seen:
                seen.add(child)
                out.append(child)
                todo.append(child)
    return out


def rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


def peak_rss_bytes(pid: int) -> int:
    """The largest resident size `pid` has had (VmHWM): what AWS reports as Max Memory Used."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def private_bytes(pid: int) -> int:
    """Memory only `pid` holds (private pages): what a forked child adds to its parent's footprint."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            total = 0
            for line in f:
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    total += int(line.split()[1]) * 1024
            return total
    except (OSError, ValueError, IndexError):
        return rss_bytes(pid)


def memfd_files(pid: int) -> dict[tuple[int, int], int]:
    """Anonymous memory files (memfd_create) `pid` holds open: {(device, inode): bytes}. Their pages are memory but
    count in no resident set until mapped."""
    found = {}
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return found
    for fd in fds:
        path = f"/proc/{pid}/fd/{fd}"
        try:
            if not os.readlink(path).startswith("/memfd:"):
                continue
            st = os.stat(path)
        except OSError:
            continue
        found[(st.st_dev, st.st_ino)] = st.st_blocks * 512
    return found


def tree_memory(root: int, others: list[int]) -> int:
    """The memory of an environment: all of its runtime process, plus what each other process holds alone, plus
    the memory files any of them holds. (Summing resident sizes would count the pages a forked child shares with
    its parent twice.)"""
    files: dict[tuple[int, int], int] = {}
    for pid in [root, *others]:
        files.update(memfd_files(pid))
    return rss_bytes(root) + sum(private_bytes(p) for p in others if p != root) + sum(files.values())


def boot_time() -> float:
    global _boot_time
    if _boot_time is None:
        _boot_time = 0.0
        try:
            with open("/proc/stat") as f:
                for line in f:
                    if line.startswith("btime"):
                        _boot_time = float(line.split()[1])
                        break
        except OSError:
            pass
    return _boot_time


def start_ticks(pid: int) -> int | None:
    """When `pid` started, in clock ticks since boot (/proc/<pid>/stat, field 22), or None: unlike a wall-clock
    start time it does not move when the clock is stepped (sandbox/process_registry.py)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        # field 2, the command, is in parentheses and may hold spaces and ')': count from the last ')'
        return int(stat[stat.rindex(b")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def create_time(pid: int) -> float:
    """When `pid` started, as psutil computes it (so a ProcessRegistry record written here matches psutil's)."""
    ticks = start_ticks(pid)
    return 0.0 if ticks is None else boot_time() + ticks / _TICKS


def kill_all(pids: list[int], sig: int = signal.SIGKILL) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def kill_tree(root: int, include_root: bool = True, rounds: int = 5) -> None:
    """SIGKILL `root`'s descendants (and `root`). Stopped first, so none can fork a child we have not seen."""
    for _ in range(rounds):
        found = descendants(root)
        if not found:
            break
        kill_all(found, signal.SIGSTOP)
        kill_all(descendants(root) + found, signal.SIGKILL)
        time.sleep(0.005)
    if include_root:
        kill_all([root])
