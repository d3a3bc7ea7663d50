"""What the three functions share: the orders table and timestamps."""

import os
import time
from datetime import UTC, datetime

import boto3

table = boto3.resource("dynamodb").Table(os.environ["ORDERS_TABLE"])


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def epoch_ms() -> int:
    return int(time.time() * 1000)


class ChainError(Exception):
    """A function this one called synchronously failed: its failure is now ours."""
