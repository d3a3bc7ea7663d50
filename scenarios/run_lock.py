"""One scenario run at a time on a sandbox, across processes: a run started from the CLI while the TUI's ran reset
the sandbox under it (its stack deleted mid-deploy: "DeployError: ... DELETE_COMPLETE", the other run's checks
failed 0/7). The lock is the state dir's `scenario-run.lock`, held with flock(2) for the whole run: the kernel
releases it when the process ends, however it ends, so a crashed run never leaves it taken."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_FILE = "scenario-run.lock"


class RunBusy(Exception):
    """Another run holds the sandbox; the message says which."""


class RunLock:
    def __init__(self, fd: int):
        self._fd: int | None = fd

    @classmethod
    def take(cls, state_dir: str | os.PathLike, what: str) -> "RunLock":
        """Holds the lock for `what` ("retry-storm"), or raises RunBusy naming the run that holds it."""
        path = Path(state_dir) / LOCK_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode("utf-8", "replace").strip() or "another run"
            os.close(fd)
            raise RunBusy(f"a scenario is already running on this sandbox ({holder}): wait for it to end, or stop it "
                          "(Ctrl-C where it runs; in the TUI, its stop key)") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{what}, pid {os.getpid()}".encode())
        return cls(fd)

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
