"""Terminal rendering of schedules and firings for `sandbox schedule` (plain text, click styles)."""

from __future__ import annotations

import click


def _short(arn: str | None) -> str:
    if not arn:
        return "-"
    if ":aws-sdk:" in arn:
        return arn.split(":aws-sdk:", 1)[1]
    parts = arn.split(":")
    service = parts[2] if len(parts) > 2 else "?"
    name = parts[-1].split("/")[-1] if service != "events" else parts[-1]
    return f"{service}:{name}"


def schedule_lines(s: dict) -> list[tuple[str, dict]]:
    """One schedule as (text, click.style kwargs) lines."""
    kind = "schedule" if s["kind"] == "schedule" else "rule"
    label = s["name"] if s["group"] == "default" else f"{s['group']}/{s['name']}"
    tz = f" {s['timezone']}" if s["timezone"] not in ("UTC", None) else ""
    colour = {"disabled": "yellow", "scheduled": None}.get(s["status"], "red" if s["status"].startswith("invalid")
                                                          else None)
    lines = [(f"{label}  ({kind})  {s['expression']}{tz}  {s['state']}", {"bold": True})]
    nxt = s["next_fire"] or s["status"]
    lines.append((f"  next:   {nxt}", {"fg": colour} if colour else {}))
    lines.append((f"  target: {', '.join(_short(t) for t in s['targets']) or '(none)'}", {}))
    if s["dead_letter_queues"]:
        lines.append((f"  dlq:    {', '.join(_short(q) for q in s['dead_letter_queues'])}", {}))
    last = s.get("last")
    if last:
        lines.append((f"  last:   {delivery_text(last)}", {"fg": "red" if last["error"] else None}))
    return lines


def delivery_text(d: dict) -> str:
    text = f"{d['scheduled_time']} -> {_short(d['target'])}: {d['outcome']}"
    if d["attempts"] > 1:
        text += f" after {d['attempts']} attempts"
    if d.get("error"):
        text += f" ({d['error']['code']}: {d['error']['message'][:120]})"
    if d.get("dead_letter_queue"):
        text += f", sent to {_short(d['dead_letter_queue'])}"
    if d.get("manual"):
        text += "  [fired by hand]"
    return text


def echo_lines(lines: list[tuple[str, dict]]) -> None:
    for text, style in lines:
        click.secho(text, **style)
