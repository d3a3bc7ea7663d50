"""Benchmark: how long until a fresh sandbox has every built-in pattern deployed (`sandbox up --deploy all`).

    uv run python bench/deploy.py [--rounds 2]

Compares, in one run, deploying the patterns one after another with deploying them in dependency waves in
parallel (what `--deploy all` does). Each round starts its own sandbox in a temporary directory.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandbox import Sandbox, Settings  # noqa: E402
from sandbox.deploy.bulk import select, waves  # noqa: E402
from sandbox.embedded import free_port  # noqa: E402


def one_round(parallel: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="sandbox-bench-deploy-") as tmp:
        sb = Sandbox(Settings(state_dir=Path(tmp), port=free_port(), endpoint=None))
        t0 = time.perf_counter()
        _, up_seconds, _ = sb.up()
        try:
            t1 = time.perf_counter()
            if parallel:
                sb.deploy_patterns(["all"])
            else:
                for wave in waves(select(["all"])):
                    for pattern in wave:
                        sb.deploy(pattern.name)
            t2 = time.perf_counter()
        finally:
            sb.down()
        return {"up": up_seconds, "deploy": t2 - t1, "total": t2 - t0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    results: dict[str, list[dict]] = {"sequential": [], "parallel waves": []}
    for _ in range(args.rounds):
        results["sequential"].append(one_round(parallel=False))
        results["parallel waves"].append(one_round(parallel=True))
    names = [p.name for p in select(["all"])]
    print(f"machine: {platform.machine()}, Python {platform.python_version()}; patterns: {', '.join(names)}")
    print(f"{'mode':<16} {'up (s)':>8} {'deploy (s)':>11} {'up + deploy (s)':>16}   target: all four <= 15 s")
    for mode, rounds in results.items():
        med = {k: statistics.median(r[k] for r in rounds) for k in ("up", "deploy", "total")}
        print(f"{mode:<16} {med['up']:>8.1f} {med['deploy']:>11.1f} {med['total']:>16.1f}   (median of {len(rounds)})")


if __name__ == "__main__":
    main()
