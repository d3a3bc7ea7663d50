"""The process registry's identity check (sandbox/process_registry.py), without processes."""


def test_a_boot_time_shift_does_not_lose_a_process():
    """psutil's start times move by whole seconds when /proc/stat's btime is recomputed after a clock adjustment."""
    from sandbox.process_registry import same_start

    assert same_start(1000.00, 1000.00) and same_start(1001.01, 1000.00) and same_start(998.98, 1000.00)
    assert not same_start(1000.5, 1000.0) and not same_start(1003.0, 1000.0) and not same_start(1000.2, 1000.0)
