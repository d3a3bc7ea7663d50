"""The attendee's copy of a lab: the starter copied in, solutions laid over it, and a marker saying whose it is.

The marker (.lab.json) lets `start` resume a workspace instead of overwriting an attendee's edits, and refuse a
folder that holds something else.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from scenarios.labs.model import Lab, LabError

MARKER = ".lab.json"
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".aws-sam")


def default_dir(lab: Lab, cwd: Path | None = None) -> Path:
    return (cwd or Path.cwd()) / "labs" / lab.id


def owner(folder: Path) -> str | None:
    """The lab a folder is the workspace of, or None."""
    try:
        return json.loads((folder / MARKER).read_text(encoding="utf-8")).get("lab")
    except (OSError, ValueError, AttributeError):
        return None


def create(lab: Lab, folder: Path) -> bool:
    """Copies the starter into `folder`; False when it already is this lab's workspace (kept as it is)."""
    folder = folder.resolve()
    if folder.exists() and not folder.is_dir():
        raise LabError(f"{folder} is a file: choose a folder with --dir")
    if folder.is_dir() and any(folder.iterdir()):
        if owner(folder) == lab.id:
            return False
        other = owner(folder)
        raise LabError(f"{folder} is not empty" + (f" (it is the workspace of lab {other})" if other else "")
                       + ": choose another folder with --dir, or empty it first")
    shutil.copytree(lab.starter, folder, ignore=IGNORED, dirs_exist_ok=True)
    (folder / MARKER).write_text(json.dumps({"lab": lab.id}) + "\n", encoding="utf-8")
    return True


def restore_starter(lab: Lab, folder: Path) -> None:
    """Puts the starter back: the attendee's edits are gone (the caller asked first)."""
    for child in folder.iterdir():
        if child.name == MARKER:
            continue
        shutil.rmtree(child) if child.is_dir() else child.unlink()
    shutil.copytree(lab.starter, folder, ignore=IGNORED, dirs_exist_ok=True)


def solution_files(lab: Lab, task_ids: list[str]) -> dict[str, Path]:
    """{relative path: source} of the solutions of `task_ids`, later tasks' versions winning."""
    out: dict[str, Path] = {}
    for task_id in task_ids:
        root = lab.solution(task_id)
        if not root.is_dir():
            raise LabError(f"lab {lab.id} has no solution for task {task_id} (solution/{task_id}/ is missing)")
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                out[path.relative_to(root).as_posix()] = path
    return out


def apply(files: dict[str, Path], folder: Path) -> list[str]:
    """Copies the files in; returns those whose content changed."""
    changed = []
    for rel, source in files.items():
        target = folder / rel
        if target.is_file() and target.read_bytes() == source.read_bytes():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        changed.append(rel)
    return changed


def signature(folder: Path) -> tuple:
    """Names, sizes and modification times of the workspace's files: it changes when the attendee saves one (what
    the Labs tab watches to check again)."""
    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not any(part in ("__pycache__", ".aws-sam") for part in path.parts):
            stat = path.stat()
            found.append((path.relative_to(folder).as_posix(), stat.st_size, stat.st_mtime_ns))
    return tuple(found)
