"""Every speed switch reaches LocalStack, and `sandbox up --help` and README both name it (#13: expose every knob)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from sandbox.cli import main
from sandbox.embedded import EXECUTOR_SWITCHES
from sandbox.settings import SPEED_SWITCHES

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_speed_switch_is_passed_on_to_localstack():
    assert set(SPEED_SWITCHES) <= set(EXECUTOR_SWITCHES)


def test_up_help_lists_every_speed_switch_with_its_default_within_80_columns():
    result = CliRunner().invoke(main, ["up", "--help"], terminal_width=80)
    assert result.exit_code == 0, result.output
    for name, (default, _) in SPEED_SWITCHES.items():
        assert f"{name}={default}" in result.output
    assert all(len(line) <= 80 for line in result.output.splitlines()), result.output


def test_readme_speed_knob_table_names_every_switch():
    table = README.split("### Speed knobs", 1)[1].split("\n## ", 1)[0]
    missing = [name for name in SPEED_SWITCHES if f"`{name}" not in table]
    assert not missing, f"README's speed knob table lacks {missing}"
