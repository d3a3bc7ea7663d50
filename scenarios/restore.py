"""What a run changed in the sandbox, undone when it ends: the patterns are left as the run found them.

A step may pause a pattern's event source mapping (poison-message hands the jobs queue to its own worker) or deploy
stacks of its own (scenario apps, a pattern's copy in another region). Left behind, they change what the pattern does
for the attendee afterwards: files uploaded by hand would go to the scenario's worker. `Baseline.take` notes the
mappings and stacks right after the scenario's patterns are deployed; `Baseline.restore` puts the mappings back and
removes the stacks the run added, however the run ended (stopped, failed). Data the run left on purpose (messages in a
DLQ for the attendee) is the scenario's to announce. Faults are cleared by the runner itself.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class Baseline:
    mappings: dict[str, tuple[str, bool]] = field(default_factory=dict)  # uuid -> (function name, enabled)
    stacks: set[str] = field(default_factory=set)  # stacks of the sandbox's region

    @classmethod
    def take(cls, sb) -> "Baseline":
        return cls(_mappings(sb), {s["name"] for s in sb.stacks()})

    def restore(self, sb, deployed: list[tuple[str, str | None]]) -> list[str]:
        """Puts the noted mappings back and removes the stacks added since (`deployed`: (stack, region) a step
        deployed, for the other regions); returns what it did, in words. What cannot be undone says how to."""
        done: list[str] = []
        added = [(s["name"], None) for s in sb.stacks() if s["name"] not in self.stacks]
        elsewhere = [(name, region) for name, region in deployed if region is not None]
        for name, region in [*reversed(elsewhere), *reversed(added)]:
            where = f" in {region}" if region else ""
            try:
                if sb.destroy(name, region=region):
                    done.append(f"removed stack {name}{where}, deployed by the scenario")
            except Exception:  # noqa: BLE001 - said in words; the rest is still restored
                done.append(f"could not remove stack {name}{where}: remove it with `sandbox destroy {name}`")
        now = _mappings(sb)
        lam = sb.client("lambda")
        for uuid, (function, enabled) in self.mappings.items():
            if uuid not in now or now[uuid][1] == enabled:
                continue
            state = "enabled" if enabled else "disabled"
            try:
                lam.update_event_source_mapping(UUID=uuid, Enabled=enabled)
                _wait_state(lam, uuid, "Enabled" if enabled else "Disabled")
                done.append(f"{'re-enabled' if enabled else 'disabled'} the event source mapping of {function}, "
                            f"as it was before the run")
            except Exception:  # noqa: BLE001
                flag = "--enabled" if enabled else "--no-enabled"
                done.append(f"could not set the event source mapping of {function} back to {state}: "
                            f"`aws lambda update-event-source-mapping --uuid {uuid} {flag}`")
        return done


def _mappings(sb) -> dict[str, tuple[str, bool]]:
    lam = sb.client("lambda")
    out = {}
    for page in lam.get_paginator("list_event_source_mappings").paginate():
        for esm in page.get("EventSourceMappings", []):
            function = esm.get("FunctionArn", "").rsplit(":", 1)[-1]
            out[esm["UUID"]] = (function, esm.get("State") in ("Enabled", "Enabling", "Creating", "Updating"))
    return out


def _wait_state(lam, uuid: str, want: str, timeout: float = 30) -> None:
    """Not ctx.wait_until: a stopped run is restored too, and a stop must not cut this short."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lam.get_event_source_mapping(UUID=uuid)["State"] == want:
            return
        time.sleep(0.25)
    raise TimeoutError(f"mapping {uuid} not {want} after {timeout:.0f}s")


def reset_impact(sb) -> dict[str, int] | None:
    """What the reset at the start of every variant removes: everything the sandbox holds, deployed or made by hand
    (its inventory: stacks, functions, tables, items, queues, queued messages, buckets, objects, ...) and its fault
    rules; None when the sandbox cannot tell."""
    inventory = sb.inventory()
    if inventory is None:
        return None
    impact = {k: int(v) for k, v in inventory.items() if isinstance(v, int) and v}
    rules = sb.faults.rule_count()
    if rules:
        impact["fault rules"] = rules
    return impact


def describe_reset(impact: dict[str, int] | None) -> str:
    """'It removes everything in the sandbox, among it 3 stacks, 1 queue, 12 queued messages, 1 fault rule.' The
    inventory counts the commonest kinds only; topics, parameters, secrets, APIs, log groups, roles... go too. (The
    words as sandbox.api.in_words makes them: the TUI shows this and may reach the core only through its backend.)"""
    def in_words(counts: dict[str, int]) -> str:
        return ", ".join(f"{n} {name if n != 1 else name.removesuffix('s')}" for name, n in counts.items() if n)

    if impact is None:
        return "It removes everything in the sandbox (what is there now could not be counted)."
    if not any(impact.values()):
        return ("It removes everything in the sandbox: no stack, function, table, queue, bucket, state machine, "
                "event rule or fault rule is there now; topics, parameters, secrets, APIs, log groups or roles "
                "made by hand would go too.")
    return f"It removes everything in the sandbox, among it {in_words(impact)}."
