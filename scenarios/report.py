"""The report of a scenario variant, and the before/after table of several: the model every surface shows.

The runner (scenarios/runner.py) builds a Report at the end of each variant; the CLI, the TUI and replay read it
(`Report.from_dict` of a recording's `report` event). `comparison_rows` is the before/after table, one row a
measure, one column a variant, "–" where nothing was measured (a count no step made is absent from
`Report.counts`: a 0 in the table is always a measured 0).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

COUNT_NAMES = ("sent", "invoked", "succeeded", "retried", "duplicated", "throttled", "in_dlq", "lost")
# What each count means, as the before/after table names it. sent/succeeded/lost count work items (messages,
# jobs, orders, executions); invoked counts function invocations, and one invocation may take a whole batch.
COUNT_LABELS = {"sent": "items sent", "invoked": "function invocations", "succeeded": "items succeeded",
                "retried": "retries", "duplicated": "duplicates", "throttled": "throttled", "in_dlq": "in DLQ",
                "lost": "items lost"}
STOPPED = "stopped before the end"  # the error of a report whose run was stopped
# A report's verdict in colour names that click (CLI) and rich (TUI) both know, so both say it alike.
VERDICT_COLOURS = {"PASSED": "green", "FAILED": "red", "STOPPED": "yellow"}


@dataclass
class Report:
    scenario: str
    variant: str
    seed: int
    started: float
    seconds: float
    counts: dict[str, int]
    latency_ms: dict[str, float | None]
    cost_usd: float | None
    expectations: list[dict]
    observations: dict[str, Any]
    error: str | None = None
    # stopped from outside (stop button, Ctrl-C): neither passed nor failed; its expectations were not evaluated
    # (each has "passed": None, "skipped": True)
    stopped: bool = False

    @property
    def passed(self) -> bool:
        return self.error is None and not self.stopped and all(e["passed"] for e in self.expectations)

    @property
    def verdict(self) -> str:
        return "STOPPED" if self.stopped else "PASSED" if self.passed else "FAILED"

    def as_dict(self) -> dict:
        return {"scenario": self.scenario, "variant": self.variant, "seed": self.seed, "started": self.started,
                "seconds": round(self.seconds, 2), "passed": self.passed, "stopped": self.stopped,
                "counts": self.counts, "latency_ms": self.latency_ms, "cost_usd": self.cost_usd,
                "expectations": self.expectations, "observations": self.observations, "error": self.error}

    @classmethod
    def from_dict(cls, d: dict) -> "Report":
        return cls(d["scenario"], d["variant"], d["seed"], d["started"], d["seconds"], d["counts"], d["latency_ms"],
                   d["cost_usd"], d["expectations"], d["observations"], d.get("error"), bool(d.get("stopped")))


NOTHING = "–"  # a measure with no value (no latency samples, no cost data)


def _shown(value: Any) -> str:
    return NOTHING if value is None else str(value)


# How a check's comparison reads in a sentence: "good jobs transcoded again: 0 (want 0)", "... (want at least 2)".
OP_WORDS = {"==": "", "!=": "not ", ">": "more than ", ">=": "at least ", "<": "less than ", "<=": "at most "}


def words(value: Any) -> str:
    """A target or an observed value as a person reads it: yes/no, text without quotes, "–" for nothing."""
    if value is None:
        return NOTHING
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def wanted(op: str, target: Any) -> str:
    """What a check wants, in words: "0", "at least 2", "not FAILED"."""
    return f"{OP_WORDS.get(op, op + ' ')}{words(target)}"


def check_sentence(result: dict) -> str:
    """One checked expectation as a sentence: "name: observed (want target)"; a check that could not measure says
    so instead of a value, one that was not evaluated (the run stopped) says that."""
    want = f"(want {wanted(result.get('op', '=='), result.get('target'))})"
    if result.get("skipped") or (result.get("passed") is None and not result.get("error")):
        return f"{result['name']}: not evaluated, the run was stopped {want}"
    if result.get("error"):
        return f"{result['name']}: {result['error']} {want}"
    return f"{result['name']}: {words(result.get('observed'))} {want}"


def expectations_met(report: Report) -> str:
    """"5/7" (met of checked), or "stopped" when the run was stopped before its expectations were evaluated."""
    if report.stopped:
        return "stopped"
    return f"{sum(1 for e in report.expectations if e['passed'])}/{len(report.expectations)}"


def comparison_rows(reports: list[Report]) -> list[tuple[str, list[str]]]:
    """Rows of a before/after table: (measure, [value per variant]); counts by their labels (COUNT_LABELS), a
    count the variant did not measure as "–"."""
    rows = [(COUNT_LABELS[name], [_shown(r.counts.get(name)) for r in reports]) for name in COUNT_NAMES]
    extra = sorted({name for r in reports for name in r.counts} - set(COUNT_NAMES))  # counts a scenario added
    rows += [(name.replace("_", " "), [_shown(r.counts.get(name)) for r in reports]) for name in extra]
    rows.append(("latency p50 ms", [_shown(r.latency_ms.get("p50")) for r in reports]))
    rows.append(("latency p99 ms", [_shown(r.latency_ms.get("p99")) for r in reports]))
    rows.append(("cost USD", [f"{r.cost_usd:.6f}" if r.cost_usd is not None else NOTHING for r in reports]))
    rows.append(("expectations met", [expectations_met(r) for r in reports]))
    return rows


def summarize(values: list[float]) -> dict:
    return {"p50": percentile(values, 50), "p99": percentile(values, 99),
            "mean": round(statistics.fmean(values), 1) if values else None}


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))], 1)
