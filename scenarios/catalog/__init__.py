"""The scenario catalog: one module per scenario, each defining `SCENARIO` (see docs/scenarios.md)."""
