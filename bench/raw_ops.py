"""Raw API calls, the sandbox vs moto server, side by side in one run.

    uv run python bench/raw_ops.py [--calls 300] [--moto 'moto[server]==5.1.18'] [--compare KEY=VALUE[,KEY=VALUE]]

Starts its own sandbox (temporary state dir, free port, recorder on as shipped), with `--compare` a second one
started with those environment variables, and a moto server on another free loopback port (`uv tool run --from
<spec> moto_server -H 127.0.0.1`; uv fetches it from PyPI the first time). Creates the same queue, table, bucket,
topic and log stream on each, warms every call up, then alternates call by call between them (each side first in
turn), so drift of the machine affects all alike. Prints the p50 per operation and side, and moto's p50 divided
by each sandbox's (above 1: the sandbox is faster). Fake credentials only; nothing leaves loopback.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import time
import uuid
from pathlib import Path

import boto3
from botocore.config import Config

from _common import start_sandbox

from sandbox import Sandbox
from sandbox.embedded import free_port

# Pinned: the ratio moves with moto's releases (5.2.6 answered SendMessage in 5.4 ms where 5.1.18 took 4.8 ms, same
# run conditions; docs/benchmarks.md), and rounds of this bench are compared with each other.
MOTO_DEFAULT = "moto[server]==5.1.18"
FAKE = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "us-east-1"}


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def start_moto(spec: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.Popen(["uv", "tool", "run", "--python", "3.13", "--from", spec, "moto_server", "-H",
                             "127.0.0.1", "-p", str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 180
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"moto server ({spec}) exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, f"http://127.0.0.1:{port}"
        time.sleep(0.2)
    stop(proc)
    raise SystemExit("moto server did not start in 180 s")


def stop(proc: subprocess.Popen) -> None:
    """The server and the uv process that started it: the process group of its own session."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def operations(client) -> dict:
    """The same resources on either backend, and one callable per operation."""
    suffix = uuid.uuid4().hex[:8]
    sqs, ddb, s3 = client("sqs"), client("dynamodb"), client("s3")
    sns, events, logs = client("sns"), client("events"), client("logs")
    queue = sqs.create_queue(QueueName=f"bench-{suffix}")["QueueUrl"]
    table = f"bench-{suffix}"
    ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                                 {"AttributeName": "sk", "KeyType": "RANGE"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                           {"AttributeName": "sk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    for i in range(20):
        ddb.put_item(TableName=table, Item={"pk": {"S": "k"}, "sk": {"S": f"{i:03d}"}, "v": {"S": "x" * 200}})
    bucket = f"bench-{suffix}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"z" * 1024)
    topic = sns.create_topic(Name=f"bench-{suffix}")["TopicArn"]
    group = f"/bench/{suffix}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    body = '{"correlation_id": "bench", "data": "' + "y" * 500 + '"}'
    counter = iter(range(10**9))

    def receive_delete():
        sqs.send_message(QueueUrl=queue, MessageBody=body)
        for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=1).get("Messages", []):
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])

    return {
        "sqs SendMessage": lambda: sqs.send_message(QueueUrl=queue, MessageBody=body),
        "sqs Send+Receive+Delete": receive_delete,
        "dynamodb PutItem": lambda: ddb.put_item(TableName=table, Item={"pk": {"S": "p"}, "sk": {"S": "1"},
                                                                         "v": {"S": body}}),
        "dynamodb GetItem": lambda: ddb.get_item(TableName=table, Key={"pk": {"S": "k"}, "sk": {"S": "001"}}),
        "dynamodb UpdateItem": lambda: ddb.update_item(
            TableName=table, Key={"pk": {"S": "k"}, "sk": {"S": "002"}},
            UpdateExpression="SET #s = :s, updated_at = :t ADD attempts :one",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": "DONE"}, ":t": {"S": str(time.time())}, ":one": {"N": "1"}}),
        "dynamodb Query (20 items)": lambda: ddb.query(TableName=table, KeyConditionExpression="pk = :k",
                                                        ExpressionAttributeValues={":k": {"S": "k"}}),
        "s3 PutObject 1KB": lambda: s3.put_object(Bucket=bucket, Key="w", Body=b"z" * 1024),
        "s3 GetObject 1KB": lambda: s3.get_object(Bucket=bucket, Key="k")["Body"].read(),
        "sns Publish": lambda: sns.publish(TopicArn=topic, Message=body),
        "events PutEvents": lambda: events.put_events(Entries=[{"Source": "bench", "DetailType": "t",
                                                                "Detail": body}]),
        "logs PutLogEvents": lambda: logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=[
            {"timestamp": int(time.time() * 1000), "message": f"line {next(counter)}"}]),
    }


def timed(call) -> float:
    t0 = time.perf_counter()
    call()
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=300, help="calls per operation and backend")
    parser.add_argument("--moto", default=MOTO_DEFAULT, help="what `uv tool run --from` starts moto server from")
    parser.add_argument("--compare", metavar="KEY=VALUE[,KEY=VALUE]",
                        help="also a second sandbox started with these environment variables")
    args = parser.parse_args()

    variants = {"sandbox": {}}
    if args.compare:
        variants[args.compare] = dict(p.split("=", 1) for p in args.compare.split(","))
    started: list[tuple[Sandbox, Path]] = []
    moto = None
    try:
        sides = {}
        for name, env in variants.items():
            started.append(start_sandbox(env, prefix="bench-raw-"))
            sides[name] = started[-1][0].client
        moto, url = start_moto(args.moto)
        cfg = Config(retries={"max_attempts": 0}, max_pool_connections=4)
        sides["moto"] = lambda service: boto3.client(service, endpoint_url=url, config=cfg, **FAKE)
        ops = {side: operations(client) for side, client in sides.items()}
        for side_ops in ops.values():
            for call in side_ops.values():
                for _ in range(30):
                    call()
        names = list(ops["sandbox"])
        order = list(ops)
        results = {side: {name: [] for name in names} for side in ops}
        for i in range(args.calls):
            turn = order[i % len(order):] + order[:i % len(order)]  # each side goes first in turn
            for name in names:
                for side in turn:
                    results[side][name].append(timed(ops[side][name]))
        print(f"raw calls, {args.calls} alternating calls per operation and side; moto server: {args.moto}")
        for i, side in enumerate(order):
            print(f"  side {i}: {side}")
        print(f"\n{'operation':<28}" + "".join(f"{f'p50 side {i}':>13}" for i in range(len(order)))
              + "".join(f"{f'moto/side {i}':>13}" for i in range(len(order) - 1)))
        for name in names:
            p50 = [statistics.median(results[side][name]) for side in order]
            print(f"{name:<28}" + "".join(f"{v:>11.2f}ms" for v in p50)
                  + "".join(f"{p50[-1] / v:>12.2f}x" for v in p50[:-1]))
    finally:
        if moto is not None:
            stop(moto)
        for sb, state in started:
            sb.down()
            shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
