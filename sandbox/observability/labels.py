"""How a span is named in a line of text: what it did, and who called it. Shared by the CLI's rendering
(render.py) and the TUI, so both say the same (pure: no LocalStack)."""

from __future__ import annotations

from sandbox.observability.resources import short_name


def span_what(span: dict) -> str:
    """"service Operation", with its hop when it is one: "lambda Execute [lambda-exec]"."""
    hop = span.get("hop")
    label = f"{span.get('service')} {span.get('operation')}"
    return f"{label} [{hop}]" if hop else label


def caller_label(caller: dict | None) -> str:
    """"external", "λ <function>", "<service>:<source>" (an S3 notification of bucket X), or the service."""
    if not caller or caller.get("kind") == "external":
        return "external"
    if caller.get("kind") == "lambda":
        return f"λ {caller.get('name')}"
    if caller.get("source_arn"):
        return f"{caller.get('name') or 'service'}:{short_name(caller['source_arn'])}"
    return caller.get("name") or "service"
