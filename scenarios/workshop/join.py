"""An attendee's side of the board: `sandbox lab join` saves where to report, each check then reports its results.

Only results leave the laptop: the lab, each checked task's id, passed or not, and when - never the check's
message, the workspace's code or any payload. A board that is unreachable never fails a check: the surface says
the report did not arrive and the check's result stands.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from sandbox.security.policy import TOKEN_HEADER
from scenarios.labs.model import CheckResult, LabError
from scenarios.workshop.board import NAME

TIMEOUT = 5.0


def membership_path(state_dir: Path) -> Path:
    return Path(state_dir) / "labs" / "workshop.json"


def membership(state_dir: Path) -> dict | None:
    """{url, name, token} after `sandbox lab join`, else None."""
    try:
        found = json.loads(membership_path(state_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) and {"url", "name", "token"} <= found.keys() else None


def join(state_dir: Path, url: str, name: str, token: str) -> dict:
    """Checks that the board answers and takes the token, then saves the membership (0600: it holds the token)."""
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname or parts.path or parts.query:
        raise LabError(f"{url!r} is not a board's join URL: it looks like http://192.168.1.20:8700 (what "
                       "`sandbox workshop host` printed)")
    if not NAME.match(name.strip()):
        raise LabError("--name must be 1 to 40 letters, digits, spaces or . @ ' - (what the instructor sees)")
    answer = _call(url, token, "GET", "/hello")
    found = {"url": url, "name": name.strip(), "token": token}
    path = membership_path(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(found, out)
    return {**found, "labs": answer.get("labs", [])}


def leave(state_dir: Path) -> bool:
    path = membership_path(state_dir)
    existed = path.exists()
    path.unlink(missing_ok=True)
    return existed


def report_payload(name: str, lab: str, results: list[CheckResult]) -> dict:
    """What is sent: results only (see the module's docstring)."""
    now = time.time()
    return {"name": name, "lab": lab,
            "results": [{"task": r.task_id, "passed": bool(r.passed), "at": now} for r in results]}


def report(state_dir: Path, lab: str, results: list[CheckResult]) -> str | None:
    """Reports to the board joined, if any. Returns a line for the surface (None: not in a workshop); never
    raises, so a board that is down does not fail a check."""
    found = membership(state_dir)
    if found is None or not results:
        return None
    try:
        _call(found["url"], found["token"], "POST", "/report", report_payload(found["name"], lab, results))
    except LabError as e:
        return f"not reported to the board: {e}"
    return f"reported to the board at {found['url']} as {found['name']}"


def _call(url: str, token: str, method: str, path: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url + path, data=data, method=method,
                                     headers={TOKEN_HEADER: token, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 - an http URL, checked
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as e:
        try:
            message = json.loads(e.read()).get("error") or e.reason
        except (ValueError, AttributeError):
            message = e.reason
        raise LabError(f"the board at {url} refused ({e.code}): {message}") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise LabError(f"the board at {url} cannot be reached ({reason}): is `sandbox workshop host` running, and "
                       "is the URL the one it printed?") from None
    except ValueError:
        raise LabError(f"{url} answered, but not as a workshop board: check the URL") from None
