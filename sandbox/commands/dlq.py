"""`sandbox dlq list|peek|redrive|purge`: dead-letter queues, over `sandbox.dlq.DeadLetterQueues`."""

from __future__ import annotations

import functools
import json

import click
from botocore.exceptions import BotoCoreError, ClientError

from sandbox.commands.common import get_sandbox
from sandbox.dlq import DeadLetterQueue, DeadLetterQueues, PeekedMessage, ms_to_iso
from sandbox.errors import SandboxError

_TIMESTAMPS = ("SentTimestamp", "ApproximateFirstReceiveTimestamp")


def _dlqs(settings, region) -> DeadLetterQueues:
    sb = get_sandbox(settings)
    sb.require_running()
    return DeadLetterQueues(sb, region)


def _aws_errors(fn):
    """AWS errors the engine does not explain itself: one line, not a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ClientError as e:
            err = e.response.get("Error", {})
            raise SandboxError(f"{e.operation_name} failed: {err.get('Code')}: {err.get('Message')}") from None
        except BotoCoreError as e:
            raise SandboxError(str(e)) from None

    return wrapper


def _region_option(fn):
    return click.option("--region", help="Region to look in (default: the sandbox's, or the queue ARN/URL's).")(fn)


@click.group()
def dlq():
    """Dead-letter queues: list them, peek inside, redrive their messages, purge them.

    QUEUE may be a queue name, URL or ARN.
    """


@dlq.command("list")
@_region_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
@_aws_errors
def list_command(settings, region, as_json):
    """Queues that receive failures: from queue RedrivePolicies, Lambda DeadLetterConfig and OnFailure
    destinations (async invokes and event source mappings), SNS subscriptions and EventBridge targets."""
    engine = _dlqs(settings, region)
    found = engine.list()
    if as_json:
        click.echo(json.dumps({"region": engine.region, "dlqs": [d.as_dict() for d in found]}, indent=2))
        return
    if not found:
        click.echo(f"no dead-letter queues in {engine.region}")
        return
    click.echo(f"{len(found)} dead-letter queue(s) in {engine.region}")
    for d in found:
        _show_dlq(d)


def _show_dlq(d: DeadLetterQueue) -> None:
    if not d.exists:
        click.secho(f"{d.name}  MISSING: configured as a DLQ, but the queue does not exist", fg="red")
    else:
        delayed = f", {d.delayed} delayed" if d.delayed else ""
        colour = "yellow" if d.depth else None
        click.secho(f"{d.name}  depth {d.depth} ({d.visible} visible, {d.in_flight} in flight{delayed})", fg=colour)
        click.echo(f"  url:  {d.url}")
    click.echo(f"  arn:  {d.arn}")
    for i, source in enumerate(d.sources):
        click.echo(f"  {'from:' if i == 0 else '     '} {source.describe()}")
    if d.redrive_policy:
        click.echo(f"  its own RedrivePolicy: to {d.redrive_policy.get('deadLetterTargetArn')} after "
                   f"{d.redrive_policy.get('maxReceiveCount')} receive(s)")


@dlq.command()
@click.argument("queue")
@click.option("--max", "max_messages", type=click.IntRange(1, 1000), default=10, show_default=True,
              help="How many messages to show at most.")
@_region_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
@_aws_errors
def peek(settings, queue, max_messages, region, as_json):
    """Show messages of a DLQ without consuming them.

    The messages are received and made visible again at once: the depth does not change. Every receive counts,
    though (on AWS too): ApproximateReceiveCount goes up by one per peek. The counts shown are those from before
    this peek.
    """
    engine = _dlqs(settings, region)
    d = engine.get(queue)
    messages = engine.peek(d, max_messages)
    if as_json:
        click.echo(json.dumps({"queue": d.name, "arn": d.arn, "url": d.url, "depth": d.depth,
                               "messages": [m.as_dict() for m in messages]}, indent=2))
        return
    if not messages:
        click.echo(f"{d.name} has no visible messages (depth {d.depth})")
        return
    click.echo(f"{d.name}: {len(messages)} of {d.depth} message(s); left in place, visible again")
    for i, m in enumerate(messages, 1):
        _show_message(i, len(messages), m)
    click.secho("note: each peek is a receive: these messages' ApproximateReceiveCount is now one higher "
                "(counts above are from before the peek)", dim=True, err=True)
    if d.redrive_policy:
        click.secho(f"warning: {d.name} has a RedrivePolicy of its own: peeks count toward its maxReceiveCount "
                    f"({d.redrive_policy.get('maxReceiveCount')})", fg="yellow", err=True)


def _show_message(i: int, n: int, m: PeekedMessage) -> None:
    click.secho(f"--- message {i}/{n}  id {m.message_id}  sent {m.sent or '?'}  "
                f"received {m.receive_count} time(s) before", bold=True)
    if m.failure:
        click.secho(f"  failure: {_failure_text(m.failure)}", fg="red")
    click.echo("  attributes:")
    for key in sorted(m.attributes):
        value = m.attributes[key]
        when = ms_to_iso(value) if key in _TIMESTAMPS else None
        click.echo(f"    {key}: {value}" + (f" ({when})" if when else ""))
    if m.message_attributes:
        click.echo("  message attributes:")
        for key in sorted(m.message_attributes):
            attr = m.message_attributes[key]
            click.echo(f"    {key} ({attr['type']}): {attr['value']}")
    click.echo("  body:")
    for line in m.pretty_body().splitlines() or [""]:
        click.echo(f"    {line}")


def _failure_text(f: dict) -> str:
    kind = f.get("kind")
    if kind == "lambda-destination":
        error = ": ".join(x for x in (f.get("error_type"), f.get("error_message")) if x) or f.get("function_error")
        text = (f"Lambda {f.get('condition') or 'failure'} after {f.get('approximate_invoke_count')} attempt(s)"
                f" of {f.get('function_arn')}")
        if error:
            text += f": {error}"
        if f.get("request_id"):
            text += f" (request {f['request_id']})"
        if f.get("batch_info"):
            text += f"; batch {json.dumps(f['batch_info'])}"
        return text
    if kind == "lambda-dlq":
        return (f"ErrorCode {f.get('error_code')}, ErrorMessage {f.get('error_message')!r}, "
                f"RequestID {f.get('request_id')}")
    if kind == "eventbridge":
        return (f"EventBridge {f.get('error_code')}: {f.get('error_message')} (rule {f.get('rule_arn')}, target "
                f"{f.get('target_arn')})")
    if kind == "sqs-redrive":
        return f"moved here from queue {f.get('source')} after too many receives"
    return json.dumps(f)


@dlq.command()
@click.argument("queue")
@click.option("--to", "to", metavar="QUEUE", help="Send the messages here instead of back to the source queue.")
@click.option("--timeout", type=float, default=60, show_default=True, help="Seconds to wait for the move.")
@_region_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
@_aws_errors
def redrive(settings, queue, to, timeout, region, as_json):
    """Move a DLQ's messages back to its source queue (or --to another queue) and wait until done.

    Uses SQS StartMessageMoveTask where it applies; otherwise (Lambda DLQs, FIFO queues) the messages are
    received, sent with the same body and message attributes, and deleted.
    """
    result = _dlqs(settings, region).redrive(queue, to=to, timeout=timeout)
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
        return
    click.echo(f"moved {result.moved} message(s) from {result.queue} to {result.destination} in "
               f"{result.seconds:.1f}s ({result.method})")
    if result.note:
        click.secho(f"note: {result.note}", dim=True, err=True)
    if result.remaining:
        click.secho(f"{result.remaining} message(s) remain in {result.queue} (in flight, or arrived meanwhile)",
                    fg="yellow")


@dlq.command()
@click.argument("queue")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@_region_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
@_aws_errors
def purge(settings, queue, yes, region, as_json):
    """Delete every message of a DLQ (asks first; --yes to skip)."""
    engine = _dlqs(settings, region)
    d = engine.get(queue)
    total = d.depth + d.delayed
    if total == 0:
        if as_json:
            click.echo(json.dumps({"queue": d.name, "queue_arn": d.arn, "deleted": 0}, indent=2))
        else:
            click.echo(f"{d.name} is empty: nothing to purge")
        return
    if not yes:
        click.confirm(f"Delete all {total} message(s) in {d.name}?", abort=True, err=True)
    result = engine.purge(d)
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
        return
    click.echo(f"purged {result.queue}: {result.deleted} message(s) deleted")


COMMANDS = [dlq]
