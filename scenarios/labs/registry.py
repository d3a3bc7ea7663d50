"""The lab catalog: every folder under scenarios/labs/ with a lab.md is a lab, found by itself.

A lab's checks live in its own `checks.py` (a file, not a package: lab ids have dashes), loaded by path. Its
`CHECKS` maps each task id of lab.md to a check; a task without a check (or a check without a task) is an error
the author sees at once, not an attendee in the middle of a workshop.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

from scenarios.labs.markdown import parse
from scenarios.labs.model import Lab, LabError

LABS_DIR = Path(__file__).resolve().parent


def lab_folders(root: Path = LABS_DIR) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / "lab.md").is_file())


def load_lab(folder: Path) -> Lab:
    lab_id = folder.name
    title, intro, tasks = parse((folder / "lab.md").read_text(encoding="utf-8"), source=f"{lab_id}/lab.md")
    module = _load_checks(folder)
    checks = dict(getattr(module, "CHECKS", {}))
    missing = [t.id for t in tasks if t.id not in checks]
    extra = sorted(set(checks) - {t.id for t in tasks})
    if missing or extra:
        raise LabError(f"lab {lab_id}: " + "; ".join(
            ([f"task(s) {', '.join(missing)} of lab.md have no check in checks.py's CHECKS"] if missing else [])
            + ([f"check(s) {', '.join(extra)} in CHECKS have no task in lab.md"] if extra else [])))
    solvers = dict(getattr(module, "SOLVERS", {}))
    unsolvable = [t.id for t in tasks if not (folder / "solution" / t.id).is_dir() and t.id not in solvers]
    if unsolvable:
        raise LabError(f"lab {lab_id}: task(s) {', '.join(unsolvable)} have neither a solution/<task>/ folder nor "
                       "a solver in checks.py's SOLVERS")
    if not (folder / "starter" / "template.yaml").is_file():
        raise LabError(f"lab {lab_id}: no starter/template.yaml: the starter is the app the attendee begins with")
    return Lab(id=lab_id, title=title, intro=intro, tasks=tuple(tasks), folder=folder, checks=checks, solvers=solvers,
               setup=getattr(module, "SETUP", None),
               pattern=getattr(module, "PATTERN", ""), stack=getattr(module, "STACK", f"lab-{lab_id}"))


def _load_checks(folder: Path):
    path = folder / "checks.py"
    if not path.is_file():
        raise LabError(f"lab {folder.name}: no checks.py next to its lab.md")
    name = "scenarios.labs._checks_" + folder.name.replace("-", "_")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@cache
def all_labs() -> tuple[Lab, ...]:
    labs = [load_lab(folder) for folder in lab_folders()]
    order = {lab_id: i for i, lab_id in enumerate(CATALOG_ORDER)}
    return tuple(sorted(labs, key=lambda lab: (order.get(lab.id, len(order)), lab.id)))


def get_lab(lab_id: str) -> Lab:
    for lab in all_labs():
        if lab.id == lab_id:
            return lab
    raise LabError(f"unknown lab {lab_id!r}. Valid: {', '.join(lab.id for lab in all_labs())} "
                   "(see `sandbox lab list`)")


# The order a workshop takes them in (labs not listed come after, by id).
CATALOG_ORDER = ["first-api", "add-a-route", "tame-the-poison", "idempotent-worker", "retries-that-help",
                 "redrive-after-fix"]
