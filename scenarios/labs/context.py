"""What a check gets: the sandbox, the deployed workspace and a few helpers, so a check reads as the lesson.

A check inspects the real sandbox (`ctx.sb`: resources, items, messages, the recorder's spans, logs) and may drive
traffic itself. It fails with `ctx.fail("what is still wrong, and what to change", **numbers)`; returning ends in
a pass (a returned string is the pass message).
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import NoReturn

from scenarios.labs.model import CheckFailed, Lab


class CheckContext:
    def __init__(self, sb, lab: Lab, workspace: Path, outputs: dict[str, str]):
        self.sb = sb
        self.lab = lab
        self.workspace = workspace
        self.outputs = outputs
        self.stack = lab.stack
        self.run_id = uuid.uuid4().hex[:8]  # keys of this check's traffic: earlier runs cannot be mistaken for it
        self.details: dict = {}

    def output(self, key: str) -> str:
        if key not in self.outputs:
            self.fail(f"the stack {self.stack} has no output {key}: the check needs it - put it back in the "
                      "Outputs of template.yaml")
        return self.outputs[key]

    def fail(self, message: str, **details) -> NoReturn:
        raise CheckFailed(message, **{**self.details, **details})

    def note(self, **details) -> None:
        """Numbers that go with the result, passed or not (the board and --json show them)."""
        self.details.update(details)

    def wait_until(self, condition, timeout: float, interval: float = 0.3, steady: float = 0):
        """Polls `condition` until truthy; returns its last value (falsy when the time ran out: the check then says
        what it saw, which is the useful message). With `steady`, a truthy value counts once `condition` has returned
        the same one for that many seconds: work still under way (a retried batch's next records) can change it."""
        deadline = time.monotonic() + timeout
        value, since = condition(), time.monotonic()
        while time.monotonic() < deadline:
            if value and time.monotonic() - since >= steady:
                return value
            time.sleep(interval)
            latest = condition()
            if latest != value:
                value, since = latest, time.monotonic()
        return value
