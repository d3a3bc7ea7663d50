"""An attendee's progress, in the sandbox's state directory: survives `sandbox down`/`up` and a new shell.

One JSON file (<state dir>/labs/progress.json): the current lab, and per lab its workspace and per task whether
it passed, the last message, how many hints were revealed and whether it was solved by `sandbox lab solve`.
Written atomically, so an interrupted check leaves the last good file.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from scenarios.labs.model import CheckResult, LabError


class Progress:
    def __init__(self, state_dir: Path):
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / "labs" / "progress.json"
        self.data = self._read()

    def _read(self) -> dict:
        if not self.path.exists():
            return {"current": None, "labs": {}}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or not isinstance(data.get("labs"), dict):
                raise ValueError("not a progress file")
        except (OSError, ValueError) as e:
            raise LabError(f"the lab progress file {self.path} is damaged ({e}): delete it to start over "
                           "(your workspaces are kept)") from None
        return data

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=2), encoding="utf-8")
        os.replace(tmp, self.path)

    # --- which lab ---------------------------------------------------------------------------------------
    @property
    def current(self) -> str | None:
        return self.data.get("current")

    def require_current(self) -> str:
        if not self.current:
            raise LabError("no lab is started: `sandbox lab list` shows them, `sandbox lab start ID` starts one")
        return self.current

    def start(self, lab_id: str, workspace: Path) -> None:
        entry = self.data["labs"].setdefault(lab_id, {"tasks": {}, "started": time.time()})
        entry["workspace"] = str(workspace)
        self.data["current"] = lab_id
        self.save()

    def lab(self, lab_id: str) -> dict:
        return self.data["labs"].setdefault(lab_id, {"tasks": {}})

    def workspace(self, lab_id: str) -> Path | None:
        found = self.data["labs"].get(lab_id, {}).get("workspace")
        return Path(found) if found else None

    def forget(self, lab_id: str) -> None:
        workspace = self.workspace(lab_id)
        self.data["labs"][lab_id] = {"tasks": {}, "started": time.time()}
        if workspace:
            self.data["labs"][lab_id]["workspace"] = str(workspace)
        self.save()

    # --- tasks -------------------------------------------------------------------------------------------
    def task(self, lab_id: str, task_id: str) -> dict:
        return self.lab(lab_id)["tasks"].setdefault(task_id, {"passed": False, "hints": 0})

    def record(self, lab_id: str, result: CheckResult) -> None:
        entry = self.task(lab_id, result.task_id)
        entry.update(passed=result.passed, message=result.message, checked_at=time.time())
        self.save()

    def passed(self, lab_id: str, task_id: str) -> bool:
        return bool(self.data["labs"].get(lab_id, {}).get("tasks", {}).get(task_id, {}).get("passed"))

    def reveal_hint(self, lab_id: str, task_id: str, available: int) -> int:
        """The number of hints now revealed (one more, up to `available`)."""
        entry = self.task(lab_id, task_id)
        entry["hints"] = min(entry.get("hints", 0) + 1, available)
        self.save()
        return entry["hints"]

    def mark_solved(self, lab_id: str, task_ids: list[str]) -> None:
        for task_id in task_ids:
            self.task(lab_id, task_id)["solved"] = True
        self.save()
