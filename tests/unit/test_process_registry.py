"""The process registry's identity check (sandbox/process_registry.py), on this process and a short-lived one."""


def test_a_boot_time_shift_does_not_lose_a_process():
    """psutil's start times move by whole seconds when /proc/stat's btime is recomputed after a clock adjustment."""
    from sandbox.process_registry import same_start

    assert same_start(1000.00, 1000.00) and same_start(1001.01, 1000.00) and same_start(998.98, 1000.00)
    assert not same_start(1000.5, 1000.0) and not same_start(1003.0, 1000.0) and not same_start(1000.2, 1000.0)


def test_a_record_keeps_its_process_when_the_wall_clock_is_stepped(tmp_path):
    """The identity check uses the start in clock ticks since boot: a VM snapshot that moved /proc/stat's boot time
    by half a minute (seen in CI) leaves the process recognised; a recycled PID (other ticks) is not."""
    import dataclasses
    import os

    from sandbox.process_registry import ProcessRegistry

    record = ProcessRegistry(tmp_path).add(os.getpid(), "test", "this process")
    assert record.start_ticks is not None and record.is_alive()
    stepped = dataclasses.replace(record, create_time=record.create_time + 30.0)
    assert stepped.is_alive()
    recycled = dataclasses.replace(record, start_ticks=record.start_ticks + 1)
    assert not recycled.is_alive()
    older = dataclasses.replace(record, start_ticks=None)  # a record written before ticks were kept
    assert older.is_alive() and not dataclasses.replace(older, create_time=record.create_time + 30.0).is_alive()
    assert ProcessRegistry(tmp_path).records()[0].start_ticks == record.start_ticks


def test_start_ticks_reads_past_a_command_name_with_spaces_and_parentheses(tmp_path):
    import shutil
    import subprocess

    from sandbox.lambda_process.environment import proctree

    odd = tmp_path / "a) (b c"
    shutil.copy(shutil.which("sleep"), odd)
    proc = subprocess.Popen([str(odd), "5"])
    try:
        with open(f"/proc/{proc.pid}/stat", "rb") as f:
            assert b"(a) (b c)" in f.read()
        ticks = proctree.start_ticks(proc.pid)
        assert ticks is not None and ticks >= proctree.start_ticks(1)
        assert abs(proctree.create_time(proc.pid) - __import__("psutil").Process(proc.pid).create_time()) < 0.05
    finally:
        proc.kill()
        proc.wait()
