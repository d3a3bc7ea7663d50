"""lab.md into a title, an introduction and tasks: one file an author writes and an attendee reads.

    # Title of the lab
    Introduction ...
    ## Task <id>: <title>
    What to do ...
    ### Hints
    - first hint (revealed first)
    - second hint

A task heading that does not follow the shape is an error with its line number, not a task that silently vanishes.
"""

from __future__ import annotations

import re

from scenarios.labs.model import LabError, Task

_TASK = re.compile(r"^## Task ([a-z0-9][a-z0-9-]*):\s*(\S.*)$")
_HINT = re.compile(r"^\s*[-*]\s+(.*)$")


def parse(text: str, source: str = "lab.md") -> tuple[str, str, list[Task]]:
    """(title, intro, tasks) of a lab.md."""
    lines = text.splitlines()
    title = next((line[2:].strip() for line in lines if line.startswith("# ")), "")
    if not title:
        raise LabError(f"{source}: no title: the first heading must be '# <title of the lab>'")
    intro: list[str] = []
    tasks: list[dict] = []
    in_hints = False
    for number, line in enumerate(lines, 1):
        if line.startswith("# ") and line[2:].strip() == title and not tasks and not intro:
            continue
        if line.startswith("## "):
            m = _TASK.match(line.rstrip())
            if not m:
                raise LabError(f"{source}:{number}: {line.strip()!r} is not a task heading: write "
                               "'## Task <id>: <title>' (id in lowercase letters, digits and dashes)")
            if any(t["id"] == m[1] for t in tasks):
                raise LabError(f"{source}:{number}: task {m[1]!r} appears twice")
            tasks.append({"id": m[1], "title": m[2].strip(), "body": [], "hints": []})
            in_hints = False
            continue
        if not tasks:
            intro.append(line)
            continue
        if line.startswith("### ") and line[4:].strip().lower() == "hints":
            in_hints = True
            continue
        if in_hints and line.startswith("#"):
            in_hints = False
        if in_hints:
            m = _HINT.match(line)
            if m:
                tasks[-1]["hints"].append(m[1].strip())
            elif line.strip() and tasks[-1]["hints"]:
                tasks[-1]["hints"][-1] += " " + line.strip()  # a hint continued on the next line
            continue
        tasks[-1]["body"].append(line)
    if not tasks:
        raise LabError(f"{source}: no tasks: add at least one '## Task <id>: <title>' section")
    return title, "\n".join(intro).strip(), [
        Task(t["id"], t["title"], "\n".join(t["body"]).strip(), tuple(t["hints"])) for t in tasks]
