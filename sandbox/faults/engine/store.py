"""The fault configuration of the running LocalStack: in memory, thread-safe, gone on restart or reset."""

from __future__ import annotations

import random
import threading

from sandbox.faults.rules import LambdaRule, ServiceRule


class ChaosStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random()
        self.rules: tuple[ServiceRule, ...] = ()  # replaced whole, never mutated: readers need no lock
        self.lambda_rules: tuple[LambdaRule, ...] = ()
        self.latency_ms: float = 0
        self.counts = {"faults": 0, "internal_faults": 0, "latency": 0, "lambda_faults": 0}

    # --- service rules ---------------------------------------------------------------------------------
    def get_rules(self) -> list[dict]:
        return [dict(r.spec) for r in self.rules]

    def replace_rules(self, rules: list[ServiceRule]) -> None:
        with self._lock:
            self.rules = tuple(rules)

    def add_rules(self, rules: list[ServiceRule]) -> None:
        with self._lock:
            self.rules = self.rules + tuple(rules)

    def remove_rules(self, rules: list[ServiceRule]) -> int:
        keys = {r.key() for r in rules}
        with self._lock:
            kept = tuple(r for r in self.rules if r.key() not in keys)
            removed, self.rules = len(self.rules) - len(kept), kept
        return removed

    def match(self, service: str | None, region: str | None, operation: str | None,
              internal: bool = False) -> ServiceRule | None:
        """The rule that fails this request, if any: the first matching rule decides (with its probability)."""
        for rule in self.rules:
            if rule.matches(service, region, operation):
                if rule.probability >= 1 or self._roll() < rule.probability:
                    with self._lock:
                        rule.hits += 1
                        self.counts["faults"] += 1
                        if internal:
                            self.counts["internal_faults"] += 1
                    return rule
                return None
        return None

    # --- effects ---------------------------------------------------------------------------------------
    def get_effects(self) -> dict:
        ms = self.latency_ms
        return {"latency": int(ms) if ms == int(ms) else ms}

    def set_effects(self, effects: dict) -> None:
        with self._lock:
            self.latency_ms = effects.get("latency", 0)

    def count_latency(self) -> None:
        with self._lock:
            self.counts["latency"] += 1

    # --- Lambda rules ----------------------------------------------------------------------------------
    def get_lambda_rules(self) -> list[dict]:
        return [dict(r.spec) for r in self.lambda_rules]

    def replace_lambda_rules(self, rules: list[LambdaRule]) -> None:
        with self._lock:
            self.lambda_rules = tuple(rules)

    def add_lambda_rules(self, rules: list[LambdaRule]) -> None:
        with self._lock:
            self.lambda_rules = self.lambda_rules + tuple(rules)

    def remove_lambda_rules(self, rules: list[LambdaRule]) -> int:
        keys = {r.key() for r in rules}
        with self._lock:
            kept = tuple(r for r in self.lambda_rules if r.key() not in keys)
            removed, self.lambda_rules = len(self.lambda_rules) - len(kept), kept
        return removed

    def match_lambda(self, function_name: str, account: str, region: str, qualifiers: set[str],
                     cold: bool) -> LambdaRule | None:
        for rule in self.lambda_rules:
            if rule.matches(function_name, account, region, qualifiers, cold):
                if rule.probability >= 1 or self._roll() < rule.probability:
                    with self._lock:
                        rule.hits += 1
                        self.counts["lambda_faults"] += 1
                    return rule
                return None
        return None

    # --- all -------------------------------------------------------------------------------------------
    def active(self) -> bool:
        return bool(self.rules or self.latency_ms)

    def clear(self, counts: bool = False) -> None:
        """No rule, no effect; `counts` also zeroes the injection counters (they count since start otherwise)."""
        with self._lock:
            self.rules, self.lambda_rules, self.latency_ms = (), (), 0
            if counts:
                self.counts = dict.fromkeys(self.counts, 0)

    def status(self) -> dict:
        return {
            "faults": [{**r.spec, "hits": r.hits} for r in self.rules],
            "effects": self.get_effects(),
            "lambda": [{**r.spec, "hits": r.hits} for r in self.lambda_rules],
            "injected": dict(self.counts),
        }

    def _roll(self) -> float:
        with self._lock:
            return self._rng.random()


STORE = ChaosStore()
