"""Workarounds for bugs of the frozen localstack-core 2026.3.0, one module per bug; each names what it fixes."""


def apply_all() -> None:
    pass
