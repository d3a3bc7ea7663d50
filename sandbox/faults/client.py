"""Fault injection from the host: a client of the sandbox's fault API, and named templates of common failures.

    sb = Sandbox()
    sb.faults.apply("service-outage", service="dynamodb")          # every DynamoDB call fails with 503
    sb.faults.add({"service": "sqs", "operation": "SendMessage", "probability": 0.2})
    sb.faults.set_latency(200)                                      # 200 ms on every AWS request
    sb.faults.apply("lambda-errors", function="orders", probability=0.3)  # FaultError if no function "orders"
    with sb.faults.injected("throttling", service="dynamodb"):      # removed again on exit
        ...
    sb.faults.clear()

Service faults and effects use LocalStack's Chaos API shape (`/_localstack/chaos/faults`, `/effects`), so the
same calls work against LocalStack Pro; Lambda-level faults are the sandbox's (`/_sandbox/chaos/lambda`).
Rule formats: see `sandbox/faults/rules.py`; templates: `sandbox/faults/templates.py`.
"""

from __future__ import annotations

import difflib
import json
from contextlib import contextmanager
from typing import TYPE_CHECKING

import requests

from sandbox.errors import SandboxError
from sandbox.faults.templates import TEMPLATES, FaultError, FaultPlan, Template, build_template

if TYPE_CHECKING:
    from sandbox.api import Sandbox

FAULTS_PATH = "/_localstack/chaos/faults"
EFFECTS_PATH = "/_localstack/chaos/effects"
LAMBDA_PATH = "/_sandbox/chaos/lambda"
STATUS_PATH = "/_sandbox/chaos"


# --- targets that exist --------------------------------------------------------------------------------------
MAX_LISTED_FUNCTIONS = 20


def similar_functions(name: str, known: list[str]) -> list[str]:
    """Functions `name` probably meant: those containing it (the logical id of a stack's function, say), else the
    close spellings."""
    low = name.lower()
    containing = [k for k in known if low in k.lower()]
    return containing[:3] if containing else difflib.get_close_matches(name, known, n=1, cutoff=0.75)


def function_target(value: str) -> tuple[str, str | None] | None:
    """The function a rule's "function" names, as (name, the ARN's region or None for a plain name); None for an
    ARN it cannot read (the fault API's validation explains the format)."""
    if not value.startswith("arn:"):
        return value, None
    from sandbox.faults.rules import FUNCTION_ARN_RE

    m = FUNCTION_ARN_RE.match(value)
    return (m["name"], m["region"]) if m else None


def unknown_function_message(name: str, region: str, known: list[str], *, listed_by_caller: bool = False) -> str:
    """Says that no function `name` exists in `region`, which one was probably meant, and which exist (unless
    `listed_by_caller`: the add-fault form shows them under the field)."""
    text = f"no Lambda function {name!r} in {region}"
    close = similar_functions(name, known)
    if close:
        text += f" (did you mean {' or '.join(close)}?)"
    if not known:
        return text + f"; there are no functions in {region} (deploy first)"
    if listed_by_caller:
        return text if close else text + "; name one of those deployed"
    listed = ", ".join(known[:MAX_LISTED_FUNCTIONS])
    more = f" and {len(known) - MAX_LISTED_FUNCTIONS} more" if len(known) > MAX_LISTED_FUNCTIONS else ""
    return f"{text}; functions in {region}: {listed}{more}"


# --- the client --------------------------------------------------------------------------------------------
def _lambda_regions() -> list[str]:
    """The regions botocore knows for Lambda (offline: from its bundled endpoint data; no host profile read)."""
    from sandbox.clients import isolated_session

    return isolated_session("us-east-1").get_available_regions("lambda")


class Faults:
    """Client of the fault API of a running sandbox (what `Sandbox.faults` returns)."""

    def __init__(self, sandbox: Sandbox):
        self.sandbox = sandbox

    def _call(self, method: str, path: str, body=None, what: str = "fault injection"):
        url = f"{self.sandbox.endpoint}{path}"
        try:
            resp = self.sandbox.http.request(method, url, data=None if body is None else json.dumps(body),
                                             headers={"Content-Type": "application/json"}, timeout=30)
        except requests.RequestException:
            raise SandboxError(self.sandbox.not_running_message()) from None
        if resp.status_code == 400:
            try:
                message = resp.json().get("message") or resp.text
            except ValueError:
                message = resp.text
            raise FaultError(f"invalid fault configuration: {message}")
        if resp.status_code in (404, 405):
            raise SandboxError(f"This backend has no {what} API ({method} {path} answered {resp.status_code}): "
                               "it needs the sandbox's embedded backend"
                               + ("" if path.startswith("/_sandbox") else " or LocalStack Pro") + ".")
        resp.raise_for_status()
        return resp.json()

    # service fault rules (LocalStack Chaos API)
    def list(self) -> list[dict]:
        """The service fault rules, in the order they are matched."""
        return self._call("GET", FAULTS_PATH)

    def add(self, *rules: dict) -> list[dict]:
        """Appends rules (after the existing ones: the first matching rule wins); returns all rules."""
        return self._call("PATCH", FAULTS_PATH, list(rules))

    def replace(self, rules: list[dict]) -> list[dict]:
        return self._call("POST", FAULTS_PATH, list(rules))

    def remove(self, *rules: dict) -> list[dict]:
        """Removes the rules equal to the given ones (defaults filled in); returns the remaining rules."""
        if not rules:
            return self.list()
        return self._call("DELETE", FAULTS_PATH, list(rules))

    # effects
    def effects(self) -> dict:
        return self._call("GET", EFFECTS_PATH)

    def set_latency(self, ms: float) -> dict:
        """Latency added to every AWS request (0 = none)."""
        return self._call("POST", EFFECTS_PATH, {"latency": ms})

    # Lambda fault rules
    def lambda_faults(self) -> list[dict]:
        return self._call("GET", LAMBDA_PATH, what="Lambda fault")

    def add_lambda(self, *rules: dict) -> list[dict]:
        return self._call("PATCH", LAMBDA_PATH, list(rules), what="Lambda fault")

    def replace_lambda(self, rules: list[dict]) -> list[dict]:
        return self._call("POST", LAMBDA_PATH, list(rules), what="Lambda fault")

    def remove_lambda(self, *rules: dict) -> list[dict]:
        if not rules:
            return self.lambda_faults()
        return self._call("DELETE", LAMBDA_PATH, list(rules), what="Lambda fault")

    # everything
    def status(self) -> dict:
        """{"faults": [...], "effects": {...}, "lambda": [...], "injected": counts}, rules with their hits."""
        try:
            return self._call("GET", STATUS_PATH)
        except SandboxError:
            if not self._is_plain_chaos_api():
                raise
            return {"faults": self.list(), "effects": self.effects(), "lambda": [], "injected": {}}

    def rule_count(self) -> int:
        """How many fault rules (service and Lambda) are set; 0 when the sandbox cannot tell (a courtesy count:
        what a reset or `down` removes)."""
        try:
            found = self.status()
        except Exception:  # noqa: BLE001 - the count is a courtesy
            return 0
        return len(found.get("faults") or []) + len(found.get("lambda") or [])

    def clear(self) -> None:
        """Every service fault, Lambda fault and effect gone."""
        try:
            self._call("DELETE", STATUS_PATH)
        except SandboxError:
            if not self._is_plain_chaos_api():
                raise
            self.replace([])
            self.set_latency(0)

    def _is_plain_chaos_api(self) -> bool:
        try:
            self.list()
            return True
        except SandboxError:
            return False

    # templates
    @staticmethod
    def templates() -> dict[str, Template]:
        return dict(TEMPLATES)

    def apply(self, template: str, **params) -> FaultPlan:
        """Adds what the named template describes (see TEMPLATES); returns it, e.g. for `remove_plan`.

        FaultError if it names a Lambda function that does not exist (the message says which do).
        """
        plan = build_template(template, **params)
        self.apply_plan(plan)
        return plan

    def check_plan(self, plan: FaultPlan) -> None:
        """FaultError when a Lambda rule of the plan names a function that does not exist in its region (the
        rule's, the ARN's, or the sandbox's default region): a typo would otherwise match nothing, silently.

        A rule without a function (every function) passes; so does everything when the functions cannot be
        listed (the fault API then says what is wrong).
        """
        from botocore.exceptions import BotoCoreError, ClientError

        listed: dict[str, list[str]] = {}
        for rule in plan.lambda_rules:
            value = rule.get("function")
            target = function_target(value) if value and isinstance(value, str) else None
            if target is None:
                continue
            name, region = target[0], rule.get("region") or target[1]
            regions = [region] if region else [self.sandbox.settings.region]
            if not region:  # a rule without a region matches the function in any region: look there too
                regions += [r for r in _lambda_regions() if r not in regions]
            try:
                for where in regions:
                    if where not in listed:
                        listed[where] = self.sandbox.functions(where)
                    if name in listed[where]:
                        break
                else:
                    shown = regions[0]
                    raise FaultError(unknown_function_message(name, shown, listed[shown]))
            except (BotoCoreError, ClientError):
                return

    def apply_plan(self, plan: FaultPlan, check: bool = True) -> None:
        """Adds a plan's rules and effects; `check`: first refuse a Lambda rule for a function that does not
        exist (see `check_plan`)."""
        if check:
            self.check_plan(plan)
        if plan.faults:
            self.add(*plan.faults)
        if plan.lambda_rules:
            self.add_lambda(*plan.lambda_rules)
        if plan.effects is not None:
            self.set_latency(plan.effects["latency"])

    def remove_plan(self, plan: FaultPlan) -> None:
        if plan.faults:
            self.remove(*plan.faults)
        if plan.lambda_rules:
            self.remove_lambda(*plan.lambda_rules)
        if plan.effects is not None:
            self.set_latency(0)

    @contextmanager
    def injected(self, template: str | None = None, *, rules: list[dict] | None = None,
                 lambda_rules: list[dict] | None = None, **params):
        """A template's (or the given rules') faults for the duration of a `with` block."""
        plan = build_template(template, **params) if template else FaultPlan(list(rules or []),
                                                                             list(lambda_rules or []))
        self.apply_plan(plan, check=template is not None)
        try:
            yield plan
        finally:
            self.remove_plan(plan)


def is_lambda_rule(rule: dict) -> bool:
    """Whether a rule (e.g. from `--rule JSON`) is a Lambda fault rule rather than a service fault rule."""
    return isinstance(rule, dict) and any(k in rule for k in ("fault", "function", "qualifier", "latencyMs"))
