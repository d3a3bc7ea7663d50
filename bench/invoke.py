"""Warm invoke latency against its floor: the same handler behind a stdlib HTTP server on loopback, and two
sandboxes side by side - the runtime's inline reply (default) and its two callbacks through LocalStack's gateway
(`SANDBOX_LAMBDA_INLINE_REPLY=0`).

    uv run python bench/invoke.py [--calls 300]

Calls alternate between the three, so all see the same machine. Prints p50/p95 per call and LocalStack CPU per
invoke. Results go to docs/benchmarks.md.
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

from _common import cpu_seconds, start_sandbox  # noqa: E402

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
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    floor_url = floor_server()
    session = requests.Session()
    sides = {"inline reply": start_sandbox({}, prefix="bench-invoke-"),
             "callbacks": start_sandbox({"SANDBOX_LAMBDA_INLINE_REPLY": "0"}, prefix="bench-invoke-")}
    try:
        clients = {name: sb.client("lambda") for name, (sb, _) in sides.items()}
        for name, (sb, _) in sides.items():
            create(sb)
        times: dict[str, list[float]] = {"loopback floor": [], **{name: [] for name in sides}}
        cpu = {name: 0.0 for name in sides}
        for i in range(args.calls):
            payload = json.dumps({"n": i}).encode()
            t = time.perf_counter()
            session.post(floor_url, data=payload).raise_for_status()
            times["loopback floor"].append(time.perf_counter() - t)
            for name, (sb, _) in sides.items():
                c0 = cpu_seconds(sb)
                t = time.perf_counter()
                answer = clients[name].invoke(FunctionName="bench-warm", Payload=payload)
                times[name].append(time.perf_counter() - t)
                cpu[name] += cpu_seconds(sb) - c0
                assert json.loads(answer["Payload"].read())["n"] == i, answer
        floor = statistics.median(times["loopback floor"])
        print(f"{args.calls} warm calls each, alternating")
        print(f"{'':16} {'p50 ms':>8} {'p95 ms':>8} {'x floor':>8} {'LocalStack CPU ms/invoke':>26}")
        for name, values in times.items():
            values.sort()
            p50, p95 = statistics.median(values), values[int(0.95 * (len(values) - 1))]
            cpu_ms = f"{cpu[name] * 1000 / args.calls:.2f}" if name in cpu else "-"
            print(f"{name:16} {p50 * 1000:8.2f} {p95 * 1000:8.2f} {p50 / floor:8.1f} {cpu_ms:>26}")
    finally:
        for sb, state in sides.values():
            sb.down()
            shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
