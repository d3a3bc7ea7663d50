"""What the Labs tab's workers tell it: the pane reacts to these on the UI thread, workers never touch widgets."""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.message import Message


@dataclass
class LabLoaded(Message):
    """The current lab and each task's state (None: no lab started), and the catalog to start one from."""

    status: dict | None
    catalog: list = field(default_factory=list)
    started: bool = False  # the end of starting a lab (the pane is no longer busy)


@dataclass
class LabBusy(Message):
    """A slow step began (deploying a starter, a check): said in the result panel until its outcome arrives."""

    text: str


@dataclass
class LabChecked(Message):
    """Results of a check run (CheckResult.as_dict), or the error that stopped it (a workspace that does not
    deploy)."""

    results: list[dict]
    error: str | None = None
    why: str = ""  # what started it: the key, a saved file, traffic
    reported: str | None = None  # whether the results reached the instructor's board (None: not in a workshop)
    status: dict | None = None  # the progress read after the check (None: keep the pane's until its reload)


@dataclass
class LabHint(Message):
    hint: dict


@dataclass
class LabSolvePlanned(Message):
    """What solving would overwrite: the pane asks before doing it."""

    plan: dict
    task: str | None


@dataclass
class LabFailed(Message):
    error: str
