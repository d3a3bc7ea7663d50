"""The CLI's argument handling, without LocalStack (#14, 13: global options after the subcommand)."""

import json

from click.testing import CliRunner

from sandbox.cli import main
from sandbox.embedded import free_port


def _status(*args, tmp_path):
    result = CliRunner().invoke(main, list(args), env={"SANDBOX_PORT": str(free_port())})
    assert result.exit_code in (0, 3), result.output
    return json.loads(result.output)


def test_global_options_are_taken_before_or_after_the_subcommand(tmp_path):
    before = _status("--state-dir", str(tmp_path / "a"), "status", "--json", tmp_path=tmp_path)
    after = _status("status", "--json", "--state-dir", str(tmp_path / "b"), tmp_path=tmp_path)
    equals = _status("status", "--state-dir=" + str(tmp_path / "c"), "--json", tmp_path=tmp_path)
    assert (before["state_dir"], after["state_dir"], equals["state_dir"]) == \
        (str(tmp_path / "a"), str(tmp_path / "b"), str(tmp_path / "c"))


def test_a_subcommand_option_of_the_same_name_stays_the_subcommands():
    from sandbox.cli import GLOBAL_OPTIONS, _option_names, main as group

    assert "--region" in GLOBAL_OPTIONS and "--region" in _option_names(group.commands["deploy"])

