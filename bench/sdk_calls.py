"""What a function's boto3 call costs its process, with and without the fork server's SDK speed-ups.

    uv run python bench/sdk_calls.py [--calls 2000]            # built and signed, stopped before sending
    uv run python bench/sdk_calls.py --sent [--calls 1000]     # sent to a sandbox, its answer parsed

Without `--sent`, the client side only: each request is built, signed and given its User-Agent and endpoint, then
stopped before it is sent (botocore's `before-send`), so no server's speed is in it; `plain` is botocore as shipped,
`speedups` has sandbox/lambda_process/environment/sdk_speedups.py applied as the fork server applies it to every Python
function. With `--sent`, the whole call against a sandbox this bench starts (temporary state, free port): `speedups`
(urllib3 and http.client carry the request) against `lean`, which adds lean_http.py as the fork server does; the CPU
counted is still the calling thread's only (the sandbox's is not in it). Sides run in fresh interpreters, one after the
other, alternating (medians). The calls are media-pipeline's: HeadObject, GetObject and PutObject of a new key each
time, an UpdateItem, a SendMessage; botocore signs them in Python, as in a function (no `awscrt`). Results go to
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ENVIRONMENT = Path(__file__).resolve().parents[1] / "sandbox" / "lambda_process" / "environment"

ONE_SIDE = r"""
import json, sys, time
sys.modules["awscrt"] = None  # as in a function: AWS's runtime (and the sandbox's runtime site) has no awscrt
sys.path.insert(0, sys.argv[1])
if sys.argv[2] in ("speedups", "lean"):
    import sdk_speedups
    assert sdk_speedups.apply()
if sys.argv[2] == "lean":
    import lean_http
    assert lean_http.apply()
ENDPOINT = sys.argv[4] if len(sys.argv) > 4 else ""
import boto3

class Stop(Exception):
    pass

def stop(**kwargs):
    raise Stop()

def client(service):
    c = boto3.client(service, endpoint_url=ENDPOINT or "http://127.0.0.1:4566", region_name="us-east-1",
                     aws_access_key_id="test", aws_secret_access_key="test")
    if not ENDPOINT:
        c.meta.events.register("before-send", stop)
    return c

s3, ddb, sqs = client("s3"), client("dynamodb"), client("sqs")
calls = {
    "HeadObject (new key)": lambda i: s3.head_object(Bucket="uploads", Key=f"bench/{i:06d}.mp4"),
    "GetObject (new key)": lambda i: s3.get_object(Bucket="uploads", Key=f"bench/{i:06d}.mp4")["Body"].read(),
    "PutObject (new key)": lambda i: s3.put_object(Bucket="processed", Key=f"processed/{i:06d}.mp4", Body=b"x" * 1000),
    "UpdateItem": lambda i: ddb.update_item(TableName="jobs", Key={"job_id": {"S": str(i)}},
                                            UpdateExpression="SET #s = :s", ExpressionAttributeNames={"#s": "status"},
                                            ExpressionAttributeValues={":s": {"S": "DONE"}}),
    "SendMessage": lambda i: sqs.send_message(QueueUrl=(ENDPOINT or "http://127.0.0.1:4566") + "/000000000000/jobs",
                                              MessageBody="{}"),
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


def side(name: str, calls: int, endpoint: str = "") -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", ONE_SIDE, str(ENVIRONMENT), name, str(calls), endpoint],
                          capture_output=True,
                          text=True, check=True, env={"PATH": "/usr/bin:/bin", "AWS_CONFIG_FILE": "/dev/null",
                                                      "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"})
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls of each operation per side and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sent", action="store_true", help="send the calls to a sandbox started here")
    args = parser.parse_args()
    before, after = ("speedups", "lean") if args.sent else ("plain", "speedups")
    runs: dict[str, list[dict[str, float]]] = {before: [], after: []}
    sandbox = state = None
    if args.sent:
        sandbox, state = sent_to_a_sandbox(args.calls)
    endpoint = sandbox.endpoint if sandbox else ""
    try:
        for _ in range(args.rounds):
            for name in runs:
                runs[name].append(side(name, args.calls, endpoint))
    finally:
        if sandbox is not None:
            sandbox.down()
            shutil.rmtree(state, ignore_errors=True)
    what = "sent to a sandbox, answer parsed" if args.sent else "stopped before sending"
    print(f"client CPU per call, us ({what}; median of {args.rounds} rounds, {args.calls} calls each)")
    print(f"{'operation':<24}{before:>10}{after:>10}{'change':>10}")
    for operation in runs[before][0]:
        slow = statistics.median(r[operation] for r in runs[before])
        fast = statistics.median(r[operation] for r in runs[after])
        print(f"{operation:<24}{slow:>10.1f}{fast:>10.1f}{(fast - slow) / slow * 100:>9.1f}%")


def sent_to_a_sandbox(calls: int):
    """A sandbox with what the calls read (the buckets, every object a side heads and gets, the table, the queue), and
    its temporary state folder."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _common import start_sandbox

    sandbox, state = start_sandbox({})
    s3 = sandbox.client("s3")
    for bucket in ("uploads", "processed"):
        s3.create_bucket(Bucket=bucket)
    for i in range(-50, calls):
        s3.put_object(Bucket="uploads", Key=f"bench/{i:06d}.mp4", Body=b"m" * 1000)
    sandbox.client("dynamodb").create_table(
        TableName="jobs", KeySchema=[{"AttributeName": "job_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "job_id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    sandbox.client("sqs").create_queue(QueueName="jobs")
    return sandbox, state


if __name__ == "__main__":
    main()
