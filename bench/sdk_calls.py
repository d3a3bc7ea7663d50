"""What a function's boto3 call costs its process in botocore, with and without the fork server's SDK speed-ups.

    uv run python bench/sdk_calls.py [--calls 2000]

The client side only: each request is built, signed and given its User-Agent and endpoint, then stopped before it is
sent (botocore's `before-send`), so no server's speed is in it. Both sides run in fresh interpreters, one after the
other, alternating three times (medians): `plain` is botocore as shipped, `speedups` has
sandbox/lambda_process/environment/sdk_speedups.py applied as the fork server applies it to every Python function.
The calls are media-pipeline's: HeadObject, GetObject and PutObject of a new key each time, an UpdateItem, a
SendMessage; botocore signs them in Python, as in a function (no `awscrt`). Results go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ENVIRONMENT = Path(__file__).resolve().parents[1] / "sandbox" / "lambda_process" / "environment"

ONE_SIDE = r"""
import json, sys, time
sys.modules["awscrt"] = None  # as in a function: AWS's runtime (and the sandbox's runtime site) has no awscrt
sys.path.insert(0, sys.argv[1])
if sys.argv[2] == "speedups":
    import sdk_speedups
    assert sdk_speedups.apply()
import boto3

class Stop(Exception):
    pass

def stop(**kwargs):
    raise Stop()

def client(service):
    c = boto3.client(service, endpoint_url="http://127.0.0.1:4566", region_name="us-east-1",
                     aws_access_key_id="test", aws_secret_access_key="test")
    c.meta.events.register("before-send", stop)
    return c

s3, ddb, sqs = client("s3"), client("dynamodb"), client("sqs")
calls = {
    "HeadObject (new key)": lambda i: s3.head_object(Bucket="uploads", Key=f"bench/{i:06d}.mp4"),
    "GetObject (new key)": lambda i: s3.get_object(Bucket="uploads", Key=f"bench/{i:06d}.mp4"),
    "PutObject (new key)": lambda i: s3.put_object(Bucket="processed", Key=f"processed/{i:06d}.mp4", Body=b"x" * 1000),
    "UpdateItem": lambda i: ddb.update_item(TableName="jobs", Key={"job_id": {"S": str(i)}},
                                            UpdateExpression="SET #s = :s", ExpressionAttributeNames={"#s": "status"},
                                            ExpressionAttributeValues={":s": {"S": "DONE"}}),
    "SendMessage": lambda i: sqs.send_message(QueueUrl="http://127.0.0.1:4566/000000000000/jobs", MessageBody="{}"),
}
out = {}
n = int(sys.argv[3])
for name, call in calls.items():
    for i in range(50):  # warm: models loaded, caches filled as in a warm function
        try:
            call(-1 - i)
        except Stop:
            pass
    t0 = time.thread_time()
    for i in range(n):
        try:
            call(i)
        except Stop:
            pass
    out[name] = (time.thread_time() - t0) / n * 1e6
print(json.dumps(out))
"""


def side(name: str, calls: int) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", ONE_SIDE, str(ENVIRONMENT), name, str(calls)], capture_output=True,
                          text=True, check=True, env={"PATH": "/usr/bin:/bin", "AWS_CONFIG_FILE": "/dev/null",
                                                      "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"})
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls of each operation per side and round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    runs: dict[str, list[dict[str, float]]] = {"plain": [], "speedups": []}
    for _ in range(args.rounds):
        for name in runs:
            runs[name].append(side(name, args.calls))
    print(f"client CPU per call, us (median of {args.rounds} rounds, {args.calls} calls each)")
    print(f"{'operation':<24}{'plain':>10}{'speedups':>10}{'change':>10}")
    for operation in runs["plain"][0]:
        plain = statistics.median(r[operation] for r in runs["plain"])
        fast = statistics.median(r[operation] for r in runs["speedups"])
        print(f"{operation:<24}{plain:>10.1f}{fast:>10.1f}{(fast - plain) / plain * 100:>9.1f}%")


if __name__ == "__main__":
    main()
