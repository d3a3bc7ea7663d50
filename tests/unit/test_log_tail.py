"""`sandbox logs -n N` (embedded.tail): the last N lines however long the log, not the last 64 KB of it."""

from sandbox.embedded import tail


def test_the_last_n_lines_of_a_log_longer_than_one_block(tmp_path):
    log = tmp_path / "localstack.log"
    log.write_text("".join(f"line {i} " + "x" * 90 + "\n" for i in range(10_000)))  # ~1 MB
    shown = tail(log, 5_000).splitlines()
    assert len(shown) == 5_000 and shown[0].startswith("line 5000 ") and shown[-1].startswith("line 9999 ")
    everything = tail(log, 100_000).splitlines()
    assert len(everything) == 10_000 and everything[0].startswith("line 0 "), "a shorter log from its start"


def test_short_logs_missing_logs_and_no_lines(tmp_path):
    log = tmp_path / "localstack.log"
    log.write_text("Ready.\nlast line without newline")
    assert tail(log, 1) == "last line without newline"
    assert tail(log, 10) == "Ready.\nlast line without newline"
    assert tail(log, 0) == ""
    assert tail(tmp_path / "missing.log", 5) == "(no log)"
