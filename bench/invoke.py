"""Warm invoke latency against its floor, and two sandboxes side by side: as shipped, and started with the
variables of --compare (default `SANDBOX_LAMBDA_INLINE_REPLY=0`: the runtime's two callbacks through LocalStack's
gateway instead of its inline reply).

    uv run python bench/invoke.py [--calls 300] [--compare KEY=VALUE[,KEY=VALUE]] [--profile FILE]

The floor is the same handler behind a stdlib HTTP server on loopback, called two ways: a plain POST (`requests`),
and boto3's `lambda.invoke` - the server answers Lambda's Invoke path, so the second floor has the same client-side
cost (signing, serializing, parsing) as a call to the sandbox. Calls alternate between the sides, so all see the
same machine. Prints p50/p95 per call and LocalStack CPU per invoke; `--profile` runs py-spy on the default sandbox.
Results go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import http.server
import io
import json
import shutil
import statistics
import sys
import threading
import time
import zipfile
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

from _common import cpu_seconds, py_spy, start_sandbox, stop_py_spy  # noqa: E402

HANDLER = "def handler(event, context):\n    return {'ok': True, 'n': event.get('n')}\n"
ROLE = "arn:aws:iam::000000000000:role/bench"


def floor_server() -> str:
    """The handler behind the simplest server there is: what one loopback request-response costs."""
    namespace: dict = {}
    exec(HANDLER, namespace)
    handler = namespace["handler"]

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are two writes: no delayed-ACK stalls

        def do_POST(self):
            event = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            body = json.dumps(handler(event, None)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/"


def create(sb) -> str:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", HANDLER)
    lam = sb.client("lambda")
    lam.create_function(FunctionName="bench-warm", Runtime="python3.13", Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": buf.getvalue()})
    lam.get_waiter("function_active_v2").wait(FunctionName="bench-warm")
    lam.invoke(FunctionName="bench-warm", Payload=b"{}")  # the cold start
    return "bench-warm"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--compare", metavar="KEY=VALUE[,KEY=VALUE]", default="SANDBOX_LAMBDA_INLINE_REPLY=0",
                        help="the second sandbox's variables")
    parser.add_argument("--profile", metavar="FILE", help="py-spy the default sandbox during the calls")
    args = parser.parse_args()
    floor_url = floor_server()
    session = requests.Session()
    floor_boto3 = boto3.client("lambda", endpoint_url=floor_url.rstrip("/"), region_name="us-east-1",
                               aws_access_key_id="test", aws_secret_access_key="test",
                               config=Config(retries={"max_attempts": 1}))
    sides = {"as shipped": start_sandbox({}, prefix="bench-invoke-"),
             args.compare: start_sandbox(dict(p.split("=", 1) for p in args.compare.split(",")), prefix="bench-invoke-")}
    try:
        clients = {name: sb.client("lambda") for name, (sb, _) in sides.items()}
        for name, (sb, _) in sides.items():
            create(sb)
        times: dict[str, list[float]] = {"floor, requests": [], "floor, boto3": [], **{name: [] for name in sides}}
        cpu = {name: 0.0 for name in sides}
        spy = py_spy(sides["as shipped"][0], args.profile)
        for i in range(args.calls):
            payload = json.dumps({"n": i}).encode()
            t = time.perf_counter()
            session.post(floor_url, data=payload).raise_for_status()
            times["floor, requests"].append(time.perf_counter() - t)
            t = time.perf_counter()
            answer = floor_boto3.invoke(FunctionName="bench-warm", Payload=payload)
            times["floor, boto3"].append(time.perf_counter() - t)
            assert json.loads(answer["Payload"].read())["n"] == i, answer
            for name, (sb, _) in sides.items():
                c0 = cpu_seconds(sb)
                t = time.perf_counter()
                answer = clients[name].invoke(FunctionName="bench-warm", Payload=payload)
                times[name].append(time.perf_counter() - t)
                cpu[name] += cpu_seconds(sb) - c0
                assert json.loads(answer["Payload"].read())["n"] == i, answer
        stop_py_spy(spy)
        floors = [statistics.median(times[f]) for f in ("floor, requests", "floor, boto3")]
        print(f"{args.calls} warm calls each, alternating")
        w = max(len(name) for name in times)
        print(f"{'':{w}} {'p50 ms':>8} {'p95 ms':>8} {'x requests floor':>17} {'x boto3 floor':>14} "
              f"{'LocalStack CPU ms/invoke':>25}")
        for name, values in times.items():
            values.sort()
            p50, p95 = statistics.median(values), values[int(0.95 * (len(values) - 1))]
            cpu_ms = f"{cpu[name] * 1000 / args.calls:.2f}" if name in cpu else "-"
            print(f"{name:{w}} {p50 * 1000:8.2f} {p95 * 1000:8.2f} {p50 / floors[0]:17.1f} {p50 / floors[1]:14.1f} "
                  f"{cpu_ms:>25}")
    finally:
        for sb, state in sides.values():
            sb.down()
            shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
