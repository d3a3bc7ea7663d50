"""Which schedule a name given on the command line means (pure).

`NAME` may be the schedule's (or rule's) name, its ARN, or - when that is unique - a part of its name: SAM
names a `Schedule` event's rule `<stack>-<Function><Event>-<suffix>`, and nobody types the suffix. `--group`
narrows to a schedule group (or, for rules, an event bus).
"""

from __future__ import annotations

import difflib


class NotFound(LookupError):
    """No schedule, or more than one, answers to the name; the message lists what exists."""


def find(entries, name: str, group: str | None = None):
    """The one entry `name` (and `group`) means. Entries need .name, .group, .arn, .kind and .label."""
    pool = [e for e in entries if group in (None, "", e.group)]
    for test in (lambda e: e.arn == name, lambda e: e.name == name,
                 lambda e: name.lower() in e.name.lower()):
        found = [e for e in pool if test(e)]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            listed = ", ".join(f"{e.kind} {e.label}" for e in found)
            raise NotFound(f"{name!r} matches {len(found)} schedules ({listed}): give the full name, --group or "
                           "the ARN")
    where = f" in group {group!r}" if group else ""
    if not entries:
        raise NotFound(f"no schedule {name!r}{where}: there are no schedules (deploy an app with one first)")
    names = sorted({e.label for e in entries})
    close = difflib.get_close_matches(name, [e.name for e in entries], n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]}?)" if close else ""
    listed = ", ".join(names[:20]) + (f" and {len(names) - 20} more" if len(names) > 20 else "")
    raise NotFound(f"no schedule {name!r}{where}{hint}; schedules: {listed}")
