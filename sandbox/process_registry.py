"""PID files for every process the sandbox starts, so `sandbox down` and test teardown can stop exactly those.

Each record holds the PID *and* the process's start (clock ticks since boot, and the wall-clock start time):
a PID the kernel recycled for someone else's process is never signalled (we never kill by name).
"""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import psutil


@dataclass(frozen=True)
class ProcessRecord:
    pid: int
    create_time: float
    kind: str
    label: str
    path: Path
    start_ticks: int | None = None  # see start_ticks(); None in records written before it was kept

    def is_alive(self) -> bool:
        """True if the PID still belongs to the process we started (same start: its clock ticks since boot when
        recorded, else its wall-clock start time)."""
        try:
            proc = psutil.Process(self.pid)
            ticks = start_ticks(self.pid) if self.start_ticks is not None else None
            same = ticks == self.start_ticks if ticks is not None else same_start(proc.create_time(), self.create_time)
            return same and proc.status() != psutil.STATUS_ZOMBIE
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return False


def start_ticks(pid: int) -> int | None:
    """When the process started, in clock ticks since boot (Linux), or None. Unlike a wall-clock start time it does
    not move when the clock is stepped: a clean CI run lost its two LocalStacks at once when the VM it ran in was
    snapshotted (the kernel logged "crng reseeded due to virtual machine fork"): /proc/stat's boot time moved by
    more than same_start() forgives, and every test after it got "No sandbox is running" and 403s for want of the
    token (2026-12-06)."""
    from sandbox.lambda_process.environment import proctree  # the same reading the supervisors' records use

    return proctree.start_ticks(pid)


def same_start(now_reported: float, recorded: float) -> bool:
    """psutil computes a start time as the boot time plus the process's start ticks, and on Linux the boot time is
    /proc/stat's `btime` in whole seconds, which the kernel recomputes when the wall clock is adjusted: the same
    process can be reported a whole second or two later than it was recorded. (Seen: a clean CI run lost track of
    its own LocalStack mid-run - no token, "No sandbox is running".) A shift by whole seconds is the same process; a
    recycled PID would also have to have started a whole number of seconds (+-50 ms) apart, within 2 s."""
    diff = abs(now_reported - recorded)
    return diff < 0.05 or (diff <= 2.05 and abs(diff - round(diff)) < 0.05)


class ProcessRegistry:
    """A directory of `<pid>.json` records; safe to use from several processes at once."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def add(self, pid: int, kind: str, label: str) -> ProcessRecord:
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            create_time = psutil.Process(pid).create_time()
        except psutil.NoSuchProcess:
            create_time = 0.0
        ticks = start_ticks(pid)
        path = self.directory / f"{pid}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"pid": pid, "create_time": create_time, "kind": kind, "label": label,
                                   "start_ticks": ticks}))
        tmp.replace(path)
        return ProcessRecord(pid, create_time, kind, label, path, ticks)

    def remove(self, pid: int) -> None:
        (self.directory / f"{pid}.json").unlink(missing_ok=True)

    def records(self) -> list[ProcessRecord]:
        out = []
        if not self.directory.is_dir():
            return out
        for path in sorted(self.directory.glob("*.json")):
            try:
                data = json.loads(path.read_text())
                ticks = data.get("start_ticks")
                out.append(ProcessRecord(int(data["pid"]), float(data["create_time"]), data["kind"], data["label"], path,
                                         int(ticks) if ticks is not None else None))
            except (OSError, ValueError, KeyError):
                path.unlink(missing_ok=True)
        return out

    def alive(self) -> list[ProcessRecord]:
        return [r for r in self.records() if r.is_alive()]

    def stop_all(self, grace: float = 2.0) -> list[ProcessRecord]:
        """Stop every live recorded process (its whole process group) and drop all records.

        Returns the records of the processes that were still running.
        """
        live = self.alive()
        for rec in live:
            terminate_group(rec.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(r.is_alive() for r in live):
            time.sleep(0.05)
        for rec in live:
            if rec.is_alive():
                terminate_group(rec.pid, signal.SIGKILL)
        for rec in self.records():
            rec.path.unlink(missing_ok=True)
        return live


def terminate_group(pid: int, sig: int, group: bool = True) -> None:
    """Signal the process group led by `pid` (our children are session leaders), else (or with group=False) the
    process alone."""
    try:
        if group and os.getpgid(pid) == pid:
            os.killpg(pid, sig)
            return
    except (ProcessLookupError, PermissionError):
        pass
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
