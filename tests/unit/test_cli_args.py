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



def test_commands_that_need_a_sandbox_say_so_without_a_traceback(tmp_path):
    """`stacks` and `destroy` called AWS at once: before `up` they ended in botocore's EndpointConnectionError."""
    env = {"SANDBOX_PORT": str(free_port())}
    for args in (["stacks"], ["stacks", "--json"], ["destroy", "app"], ["logs", "my-fn"], ["deploy", "crud-api"]):
        result = CliRunner().invoke(main, ["--state-dir", str(tmp_path), *args], env=env)
        assert result.exit_code == 1, (args, result.output)
        assert "No sandbox is running" in result.output and "sandbox up" in result.output, (args, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), (args, result.exception)


def test_function_logs_take_the_templates_logical_id_when_one_function_has_it():
    import pytest

    from sandbox.cli import _function_named
    from sandbox.errors import SandboxError

    known = {"orders-FulfilOrderFunction-b786", "orders-CreateOrderFunction-11aa", "old-CreateOrderFunction-22bb",
             "long-ProcessIncomingOrderEven-1665"}
    stacks = {"FulfilOrderFunction": ["orders-FulfilOrderFunction-b786"],
              "CreateOrderFunction": ["orders-CreateOrderFunction-11aa", "old-CreateOrderFunction-22bb"],
              "ProcessIncomingOrderEventsFunction": ["long-ProcessIncomingOrderEven-1665"]}  # 24 characters kept
    asked = []

    def by_logical_id():
        asked.append(1)
        return stacks

    assert _function_named("orders-FulfilOrderFunction-b786", known, by_logical_id) == "orders-FulfilOrderFunction-b786"
    assert _function_named("/aws/lambda/x", known, by_logical_id) == "/aws/lambda/x" and not asked
    assert _function_named("FulfilOrderFunction", known, by_logical_id) == "orders-FulfilOrderFunction-b786"
    assert _function_named("ProcessIncomingOrderEventsFunction", known, by_logical_id) == \
        "long-ProcessIncomingOrderEven-1665"
    with pytest.raises(SandboxError, match="several stacks: old-CreateOrderFunction-22bb, orders-CreateOrderFunction"):
        _function_named("CreateOrderFunction", known, by_logical_id)
    with pytest.raises(SandboxError, match="no Lambda function named Order"):  # not a substring match
        _function_named("Order", known, by_logical_id)


def test_events_of_a_misspelt_service_say_so_instead_of_no_events(tmp_path):
    """`events --service lamda` printed "no events"; `fault add` already named the nearest service."""
    (tmp_path / "observability").mkdir()
    (tmp_path / "observability" / "spans.jsonl").write_text(json.dumps(
        {"seq": 1, "ts": 1765000000.0, "duration_ms": 1.0, "kind": "request", "service": "sqs",
         "operation": "SendMessage", "status": 200, "error": None, "trace_id": "1-a", "span_id": "b", "noise": False,
         "caller": {"kind": "external", "name": None, "source_arn": None}}) + "\n")
    env = {"SANDBOX_PORT": str(free_port())}  # nothing runs there: the recorded file is read
    typo = CliRunner().invoke(main, ["--state-dir", str(tmp_path), "events", "--service", "sqs,lamda"], env=env)
    assert typo.exit_code == 1 and "--service lamda: no such service (did you mean lambda?)" in typo.output
    quiet = CliRunner().invoke(main, ["--state-dir", str(tmp_path), "events", "--service", "lambda"], env=env)
    assert quiet.exit_code == 0 and "no events" in quiet.output


def test_events_since_takes_a_duration_or_a_cursor(tmp_path):
    """`events --since 1m` said "'1m' is not a valid integer" while `logs` and `cost` take durations."""
    import time

    (tmp_path / "observability").mkdir()
    now = time.time()
    (tmp_path / "observability" / "spans.jsonl").write_text("".join(json.dumps(
        {"seq": seq, "ts": ts, "duration_ms": 1.0, "kind": "request", "service": "sqs", "operation": op,
         "status": 200, "error": None, "trace_id": "1-a", "span_id": f"s{seq}", "noise": False,
         "caller": {"kind": "external", "name": None, "source_arn": None}}) + "\n"
        for seq, ts, op in [(1, now - 3600, "CreateQueue"), (2, now - 30, "SendMessage"), (3, now - 5, "DeleteQueue")]))
    env = {"SANDBOX_PORT": str(free_port())}  # nothing runs there: the recorded file is read

    def ops(*since):
        got = CliRunner().invoke(main, ["--state-dir", str(tmp_path), "events", "--json", "--since", *since], env=env)
        assert got.exit_code == 0, got.output
        return [json.loads(line)["operation"] for line in got.output.splitlines()]

    assert ops("1m") == ["SendMessage", "DeleteQueue"]
    assert ops("1") == ops("cursor:1") == ["SendMessage", "DeleteQueue"]
    assert ops("2h") == ["CreateQueue", "SendMessage", "DeleteQueue"]
    bad = CliRunner().invoke(main, ["--state-dir", str(tmp_path), "events", "--since", "yesterday"], env=env)
    assert bad.exit_code == 2 and "use a duration (10m, 2h), an ISO time or cursor:<n>" in bad.output  # usage


def test_an_interrupted_deploy_says_the_stack_goes_on(tmp_path, monkeypatch):
    from sandbox import Sandbox

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Sandbox, "deploy", interrupted)
    result = CliRunner().invoke(main, ["--state-dir", str(tmp_path), "deploy", "crud-api"],
                                env={"SANDBOX_PORT": str(free_port())})
    assert result.exit_code == 130
    assert "Interrupted: a stack already handed to CloudFormation goes on deploying in the sandbox" in result.output


def test_a_state_dir_that_cannot_be_written_is_one_line_naming_the_file(tmp_path, monkeypatch):
    """`up` on a read-only state dir ended in `OSError: [Errno 30] Read-only file system` and a traceback (found by
    an adversarial probe). Other OS errors are not hidden."""
    import errno

    import pytest

    import sandbox.cli as cli

    def read_only(settings):
        raise OSError(errno.EROFS, "Read-only file system", str(tmp_path / "state" / "last-port"))

    monkeypatch.setattr(cli, "get_sandbox", read_only)
    result = CliRunner().invoke(main, ["--state-dir", str(tmp_path / "state"), "status"])
    assert result.exit_code == 1, result.output
    assert f"error: cannot write {tmp_path / 'state' / 'last-port'}: Read-only file system. The sandbox keeps its " \
           "state in its state dir: pass a writable one" in " ".join(result.output.split()).replace("\n", "")
    assert "Traceback" not in result.output

    def elsewhere(settings):  # not the state dir's: not taken for it (a review found any EACCES worded so)
        raise PermissionError(errno.EACCES, "Permission denied", "/etc/some-users-file")

    monkeypatch.setattr(cli, "get_sandbox", elsewhere)
    with pytest.raises(PermissionError):
        CliRunner().invoke(main, ["--state-dir", str(tmp_path / "state"), "status"], catch_exceptions=False)

    def other(settings):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(cli, "get_sandbox", other)
    with pytest.raises(OSError):
        CliRunner().invoke(main, ["--state-dir", str(tmp_path / "state"), "status"], catch_exceptions=False)
