"""Every bench script still runs: it imports what it names and parses `--help`.

Benches run by hand, so nothing else would notice when a refactor removes a name one of them imports (bench/invoke.py
imported `start` from bench/pipeline.py after it was folded into bench/_common.py)."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
SCRIPTS = sorted(p for p in BENCH.glob("*.py") if not p.name.startswith("_"))


def test_the_benches_are_found():
    assert {"invoke.py", "pipeline.py", "raw_ops.py", "memory.py"} <= {p.name for p in SCRIPTS}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_a_bench_imports_and_answers_help(script, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(BENCH))
    monkeypatch.setattr(sys, "argv", [str(script), "--help"])
    for name in [m for m in sys.modules if m in {p.stem for p in SCRIPTS} | {"_common"}]:
        monkeypatch.delitem(sys.modules, name)  # each script imports its siblings afresh
    with pytest.raises(SystemExit) as ended:
        runpy.run_path(str(script), run_name="__main__")
    assert ended.value.code == 0
    assert "usage:" in capsys.readouterr().out
