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


def test_the_functions_profile_puts_each_stack_in_its_part(tmp_path, monkeypatch):
    """bench/pipeline.py --profile-functions: the shares docs/benchmarks.md quotes (nineteenth round) come from here."""
    monkeypatch.syspath_prepend(str(BENCH))
    monkeypatch.delitem(sys.modules, "_common", raising=False)
    from _common import function_profile

    run = "Thread.run (threading.py:1);Runtime.run (bootstrap.py:459);Runtime.invoke (bootstrap.py:481)"
    (tmp_path / "101.txt").write_text("\n".join([
        f"{run};handler (app.py:40);BaseClient._make_api_call (botocore/client.py:1) 6",  # the SDK
        f"{run};handler (app.py:40);decorate (aws_lambda_powertools/logging/logger.py:1);"
        "save (aws_lambda_powertools/x.py:1);send (http/client.py:1) 2",  # Powertools' own SDK call: the SDK
        f"{run};decorate (aws_lambda_powertools/logging/logger.py:1);format (aws_lambda_powertools/f.py:2) 3",
        f"{run};handler (app.py:41) 1",  # the handler's own code
        f"{run};JSONDecoder.decode (json/decoder.py:344) 4",  # the payload: the runtime's
        "Runtime.run (bootstrap.py:459);Runtime.import_handler (bootstrap.py:300);<module> (app.py:1) 5",  # init
        "",
    ]))
    (tmp_path / "102.txt").write_text("main (zygote.py:146);_supervise (supervisor.py:284) 9\nnot a sample line\n")
    shares = function_profile(tmp_path)
    total = 6 + 2 + 3 + 1 + 4 + 5 + 9
    assert shares == pytest.approx({
        "functions profile: init %": 100 * 5 / total, "functions profile: runtime %": 100 * 4 / total,
        "functions profile: handler sdk %": 100 * 8 / total, "functions profile: handler powertools %": 100 * 3 / total,
        "functions profile: handler own %": 100 * 1 / total, "functions profile: supervisor %": 100 * 9 / total})
