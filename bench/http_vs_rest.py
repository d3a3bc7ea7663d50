"""An HTTP API app vs the same app as a REST API: deploy time, first request, warm requests - side by side.

    uv run python bench/http_vs_rest.py [--rounds 3] [--warm 100]

One sandbox in a temporary directory on a free port. Each round deploys both SAM apps (one function behind
`Type: HttpApi` and behind `Type: Api`), times the first request (the function's cold start included) and then
`--warm` requests, alternating the two so both see the same machine load, and destroys both stacks.
Results are recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandbox import Sandbox, Settings  # noqa: E402
from sandbox.embedded import free_port  # noqa: E402

TEMPLATE = """Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.13
      Events:
        Get:
          Type: {event}
          Properties:
            Path: /items/{{id}}
            Method: get
Outputs:
  Url:
    Value: !Sub "https://${{{api}}}.execute-api.${{AWS::Region}}.amazonaws.com{stage}/items/"
"""
CODE = 'import json\ndef handler(event, context):\n    return {"statusCode": 200, "body": json.dumps(event["pathParameters"])}\n'
KINDS = {"HTTP API": ("HttpApi", "ServerlessHttpApi", ""), "REST API": ("Api", "ServerlessRestApi", "/Prod")}


def write_app(root: Path, kind: str) -> Path:
    event, api, stage = KINDS[kind]
    app = root / kind.replace(" ", "-").lower()
    (app / "src").mkdir(parents=True)
    (app / "src" / "app.py").write_text(CODE)
    (app / "template.yaml").write_text(TEMPLATE.format(event=event, api=api, stage=stage))
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warm", type=int, default=100)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-http-rest-", dir="/var/tmp"))
    sb = Sandbox(Settings(state_dir=root / "state", port=free_port(), endpoint=None))
    sb.up(timeout=120)
    apps = {kind: write_app(root, kind) for kind in KINDS}
    results: dict[str, dict[str, list[float]]] = {k: {"deploy": [], "first": [], "warm": []} for k in KINDS}
    session = requests.Session()
    try:
        for r in range(args.rounds):
            for kind, app in apps.items():
                stack = f"bench-{kind.split()[0].lower()}-{r}"
                t0 = time.perf_counter()
                url = sb.deploy(str(app), stack_name=stack).outputs["Url"]
                results[kind]["deploy"].append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                assert session.get(url + "first").status_code == 200
                results[kind]["first"].append(time.perf_counter() - t0)
                for i in range(args.warm):
                    t0 = time.perf_counter()
                    assert session.get(f"{url}{i}").status_code == 200
                    results[kind]["warm"].append(time.perf_counter() - t0)
                sb.destroy(stack)
    finally:
        sb.down()
        shutil.rmtree(root, ignore_errors=True)

    def ms(values: list[float], q: float) -> str:
        values = sorted(values)
        return f"{values[min(len(values) - 1, int(q * len(values)))] * 1000:7.1f}"

    print(f"{args.rounds} rounds, {args.warm} warm requests each")
    print(f"{'':10} {'deploy s (median)':>18} {'first request ms':>17} {'warm p50 ms':>12} {'warm p95 ms':>12}")
    for kind, r in results.items():
        print(f"{kind:10} {statistics.median(r['deploy']):18.2f} {statistics.median(r['first']) * 1000:17.1f} "
              f"{ms(r['warm'], 0.5):>12} {ms(r['warm'], 0.95):>12}")


if __name__ == "__main__":
    main()
