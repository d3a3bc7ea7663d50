"""When the Labs tab checks again by itself: a workspace file saved, or traffic the recorder saw from outside.

A check deploys and drives traffic itself, and what it started (retries, redeliveries) can go on for a while; so
after each check the watch settles for SETTLE seconds and takes the workspace's new state as the baseline, and only
root spans (a client's call, not a hop inside the app) count. Otherwise each check would start the next one.
"""

from __future__ import annotations

import time

SETTLE = 5.0


class WatchState:
    def __init__(self):
        self.enabled = True
        self.signature: tuple | None = None
        self.cursor = None
        self.primed = False
        self.quiet_until = 0.0

    def forget(self) -> None:
        """A new lab (or a new workspace): the next poll takes the baseline again."""
        self.signature = None
        self.primed = False

    def checked(self, workspace: str | None) -> None:
        self.quiet_until = time.time() + SETTLE
        self.signature = None  # the check may have deployed a changed workspace: that is the baseline now

    def poll(self, backend, workspace: str, now: float) -> str | None:
        """'saved', 'traffic' or None (nothing new); called from a worker thread."""
        try:
            signature = backend.lab_workspace_signature(workspace)
        except OSError:
            return None
        if self.signature is None:
            self.signature = signature
        elif signature != self.signature:
            self.signature = signature
            return "saved"
        try:
            events, self.cursor = backend.poll_events(self.cursor, wait=0)
        except Exception:  # noqa: BLE001 - no recorder: saving a file and `c` still check
            return None
        if not self.primed:
            self.primed = True  # the recorder's past is not news
            return None
        if now < self.quiet_until:
            return None
        if any(is_outside_call(span, self.quiet_until) for span in events):
            return "traffic"
        return None


def is_outside_call(span: dict, since: float) -> bool:
    """A call that came from outside the app (the attendee's curl, a script), after the last check settled."""
    return not span.get("noise") and not span.get("parent_id") and (span.get("ts") or 0) >= since
