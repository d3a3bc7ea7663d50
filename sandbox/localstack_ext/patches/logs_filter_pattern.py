"""CloudWatch Logs `filterPattern` is ignored: FilterLogEvents returns every event whatever the pattern.

Bug in `localstack.services.logs.provider` (localstack-core 2026.3.0): its patch of moto's
`LogStream.filter_log_events` calls moto with `filter_pattern=None` and filters the result with the module's
`get_pattern_matcher(pattern)`, whose community implementation is a stub, `lambda _pattern, _event: True`
("Can be patched by plugins to return a more sophisticated pattern matcher"). The same stub decides which
events a subscription filter forwards and which events a metric filter counts, so those ignore their patterns
too. moto's own matcher (`moto.logs.models.EventMessageFilter`) only knows plain terms and one quoted phrase,
and matches everything else, so it is not reused.

Workaround: `get_pattern_matcher` is replaced by the matcher below, which implements the CloudWatch Logs filter
pattern syntax (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html):

* unstructured text: `ERROR` (case-sensitive substring), `ERROR Exception` (all terms), `"an exact phrase"`,
  `?ERROR ?WARN` (any of the ?-terms), `ERROR -Retrying` / `-"a phrase"` (exclusion), `%regex%` terms;
* JSON: `{ $.level = "ERROR" }`, `{ $.latency > 100 }` (=, !=, <, <=, >, >= on numbers), string values with
  `*` wildcards (`"abc*"`, unquoted too), `%regex%` values, `IS TRUE` / `IS FALSE` / `IS NULL` / `NOT EXISTS`,
  `&&`, `||` and parentheses, selectors like `$.a.b`, `$.list[0]`, `$.list[*]` / `$.obj.*` (any element);
* space-delimited: `[ip, user, ..., status = 4*, bytes > 1000]`, with `...` for any number of fields and
  `&&` / `||` between conditions of a field.

FilterLogEvents answers an invalid or unsupported pattern with InvalidParameterException (as AWS does for
invalid ones) instead of returning everything. Subscription and metric filters (whose patterns LocalStack does
not validate when they are created) keep LocalStack's old behaviour for such a pattern, match everything, and
log a warning.

The matcher (`compile_pattern`) is plain Python without LocalStack imports, so it can be unit-tested directly.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
from collections.abc import Callable
from typing import Any

LOG = logging.getLogger(__name__)

_MISSING = object()


class FilterPatternError(ValueError):
    """The pattern is not valid (or not supported) filter pattern syntax."""


# --------------------------------------------------------------------------------------------------------------
# tokenizer shared by JSON and space-delimited conditions
# --------------------------------------------------------------------------------------------------------------
_OPERATORS = ("&&", "||", "!=", "<=", ">=", "=", "<", ">", "(", ")")
_WORD_STOP = set(' \t\r\n()=!<>&|"%')


def _read_quoted(text: str, i: int) -> tuple[str, int]:
    """Reads a double-quoted string starting at text[i] == '"'; returns (content, index after the quote)."""
    out = []
    i += 1
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if c == '"':
            return "".join(out), i + 1
        out.append(c)
        i += 1
    raise FilterPatternError("unterminated quoted string")


def _read_regex(text: str, i: int) -> tuple[str, int]:
    """Reads a %regex% starting at text[i] == '%'; returns (regex, index after the closing %)."""
    j = i + 1
    while j < len(text):
        if text[j] == "\\" and j + 1 < len(text):
            j += 2
            continue
        if text[j] == "%":
            return text[i + 1 : j], j + 1
        j += 1
    raise FilterPatternError("unterminated %regex%")


def _tokenize(text: str) -> list[tuple[str, str]]:
    """Tokens as (kind, value): kind is 'op', 'str' (quoted), 'regex' or 'word'."""
    tokens = []
    i = 0
    while i < len(text):
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c == '"':
            value, i = _read_quoted(text, i)
            tokens.append(("str", value))
            continue
        if c == "%":
            value, i = _read_regex(text, i)
            tokens.append(("regex", value))
            continue
        for op in _OPERATORS:
            if text.startswith(op, i):
                tokens.append(("op", op))
                i += len(op)
                break
        else:
            j = i
            while j < len(text) and text[j] not in _WORD_STOP:
                j += 1
            if j == i:
                raise FilterPatternError(f"unexpected character {c!r}")
            tokens.append(("word", text[i:j]))
            i = j
    return tokens


# --------------------------------------------------------------------------------------------------------------
# conditions: `selector op value`, `selector IS TRUE`, ..., combined with && / || and parentheses
# --------------------------------------------------------------------------------------------------------------
_NUMBER = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        return float(value)
    return None


def _wildcard_regex(text: str) -> re.Pattern:
    return re.compile(".*".join(re.escape(part) for part in text.split("*")), re.DOTALL)


def _scalar_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return None  # null, objects and arrays have no text to compare


def _comparison(selector: str, op: str, kind: str, literal: str) -> Callable[[Callable], bool]:
    """A predicate over `lookup(selector) -> list of candidate values` (empty when the selector finds nothing)."""
    number = _as_number(literal) if kind == "word" else None
    if op in ("<", ">", "<=", ">="):
        if number is None:
            raise FilterPatternError(f"operator {op} needs a number, got {literal!r}")
    if kind == "regex":
        if op not in ("=", "!="):
            raise FilterPatternError(f"operator {op} cannot be used with a regex")
        try:
            rx = re.compile(literal)
        except re.error as e:
            raise FilterPatternError(f"invalid regex %{literal}%: {e}") from None

        def text_match(v):
            t = _scalar_text(v)
            return t is not None and rx.search(t) is not None
    else:
        wildcard = _wildcard_regex(literal)

        def text_match(v):
            t = _scalar_text(v)
            return t is not None and wildcard.fullmatch(t) is not None

    def one(v) -> bool:
        if number is not None:
            n = _as_number(v)
            if n is not None:
                return {
                    "=": math.isclose(n, number, rel_tol=0, abs_tol=1e-9),
                    "!=": not math.isclose(n, number, rel_tol=0, abs_tol=1e-9),
                    "<": n < number,
                    ">": n > number,
                    "<=": n <= number,
                    ">=": n >= number,
                }[op]
            if op not in ("=", "!="):
                return False
        matched = text_match(v)
        return matched if op == "=" else (not matched and _scalar_text(v) is not None)

    return lambda lookup: any(one(v) for v in lookup(selector))


class _ConditionParser:
    """Recursive descent over tokens: or := and ('||' and)*; and := atom ('&&' atom)*; atom := '(' or ')' | cmp."""

    def __init__(self, tokens: list[tuple[str, str]], selector_ok: Callable[[str], bool]):
        self.tokens = tokens
        self.pos = 0
        self.selector_ok = selector_ok

    def parse(self):
        if not self.tokens:
            raise FilterPatternError("empty condition")
        expr = self._or()
        if self.pos != len(self.tokens):
            raise FilterPatternError(f"unexpected {self.tokens[self.pos][1]!r}")
        return expr

    def _peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else (None, None)

    def _next(self, what: str):
        if self.pos >= len(self.tokens):
            raise FilterPatternError(f"pattern ends where {what} was expected")
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def _or(self):
        parts = [self._and()]
        while self._peek() == ("op", "||"):
            self.pos += 1
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else (lambda lookup: any(p(lookup) for p in parts))

    def _and(self):
        parts = [self._atom()]
        while self._peek() == ("op", "&&"):
            self.pos += 1
            parts.append(self._atom())
        return parts[0] if len(parts) == 1 else (lambda lookup: all(p(lookup) for p in parts))

    def _atom(self):
        if self._peek() == ("op", "("):
            self.pos += 1
            expr = self._or()
            if self._next("')'") != ("op", ")"):
                raise FilterPatternError("missing ')'")
            return expr
        kind, selector = self._next("a selector")
        if kind != "word" or not self.selector_ok(selector):
            raise FilterPatternError(f"invalid selector {selector!r}")
        kind, value = self._next("an operator")
        if kind == "word" and value.upper() == "IS":
            _, what = self._next("TRUE, FALSE or NULL")
            what = what.upper()
            if what == "TRUE":
                return lambda lookup: any(v is True for v in lookup(selector))
            if what == "FALSE":
                return lambda lookup: any(v is False for v in lookup(selector))
            if what == "NULL":
                return lambda lookup: any(v is None for v in lookup(selector))
            raise FilterPatternError(f"IS {what}: expected TRUE, FALSE or NULL")
        if kind == "word" and value.upper() == "NOT":
            _, what = self._next("EXISTS")
            if what.upper() != "EXISTS":
                raise FilterPatternError(f"NOT {what}: expected NOT EXISTS")
            return lambda lookup: not lookup(selector)
        if kind != "op" or value not in ("=", "!=", "<", ">", "<=", ">="):
            raise FilterPatternError(f"expected a comparison operator after {selector}, got {value!r}")
        lit_kind, literal = self._next("a value")
        if lit_kind == "op":
            raise FilterPatternError(f"expected a value after {selector} {value}, got {literal!r}")
        return _comparison(selector, value, lit_kind, literal)


# --------------------------------------------------------------------------------------------------------------
# JSON patterns
# --------------------------------------------------------------------------------------------------------------
_SELECTOR_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+|\*)\]")


def _parse_selector(selector: str) -> list[str | int]:
    if not selector.startswith("$"):
        raise FilterPatternError(f"JSON selector must start with $: {selector!r}")
    steps: list[str | int] = []
    pos = 1
    while pos < len(selector):
        m = _SELECTOR_STEP.match(selector, pos)
        if not m:
            raise FilterPatternError(f"invalid JSON selector {selector!r}")
        if m.group(1) is not None:
            steps.append(m.group(1))
        else:
            steps.append("*" if m.group(2) == "*" else int(m.group(2)))
        pos = m.end()
    if not steps:
        raise FilterPatternError("JSON selector $ selects nothing")
    return steps


def _resolve(doc: Any, steps: list[str | int]) -> list[Any]:
    values = [doc]
    for step in steps:
        found = []
        for v in values:
            if step == "*":
                if isinstance(v, dict):
                    found.extend(v.values())
                elif isinstance(v, list):
                    found.extend(v)
            elif isinstance(step, int):
                if isinstance(v, list) and step < len(v):
                    found.append(v[step])
            elif isinstance(v, dict) and step in v:
                found.append(v[step])
        values = found
    # a selector ending on an array compares against its elements, as CloudWatch does for `$.list = "x"`
    out = []
    for v in values:
        out.extend(v if isinstance(v, list) else [v])
    return out


def _compile_json(body: str) -> Callable[[str], bool]:
    tokens = _tokenize(body)
    selectors: dict[str, list] = {}

    def selector_ok(s: str) -> bool:
        selectors[s] = _parse_selector(s)
        return True

    expr = _ConditionParser(tokens, selector_ok).parse()

    def matches(message: str) -> bool:
        try:
            doc = json.loads(message)
        except ValueError:
            return False
        if not isinstance(doc, (dict, list)):
            return False
        return bool(expr(lambda s: _resolve(doc, selectors[s])))

    return matches


# --------------------------------------------------------------------------------------------------------------
# space-delimited patterns
# --------------------------------------------------------------------------------------------------------------
_FIELD = re.compile(r'\[[^\]]*\]|"(?:[^"\\]|\\.)*"|\S+')
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


def _split_top_level(body: str) -> list[str]:
    parts, depth, cur, i = [], 0, [], 0
    while i < len(body):
        c = body[i]
        if c == '"':
            _, j = _read_quoted(body, i)
            cur.append(body[i:j])
            i = j
            continue
        if c == "%":
            _, j = _read_regex(body, i)
            cur.append(body[i:j])
            i = j
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        if c == "," and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
        i += 1
    parts.append("".join(cur).strip())
    return parts


def _message_fields(message: str) -> list[str]:
    fields = []
    for f in _FIELD.findall(message.strip()):
        if len(f) >= 2 and ((f[0] == "[" and f[-1] == "]") or (f[0] == '"' and f[-1] == '"')):
            f = f[1:-1]
        fields.append(f)
    return fields


def _compile_space_delimited(body: str) -> Callable[[str], bool]:
    if not body.strip():
        raise FilterPatternError("empty space-delimited pattern []")
    specs: list[tuple[str, Any]] = []  # ("...", None) or (name, condition or None)
    for part in _split_top_level(body):
        if part == "...":
            specs.append(("...", None))
            continue
        tokens = _tokenize(part)
        if not tokens or tokens[0][0] != "word" or not _NAME.match(tokens[0][1]):
            raise FilterPatternError(f"invalid field {part!r} in space-delimited pattern")
        name = tokens[0][1]
        if len(tokens) == 1:
            specs.append((name, None))
            continue
        cond = _ConditionParser(tokens, lambda s, name=name: s == name).parse()
        specs.append((name, cond))

    def match_from(fields: list[str], fi: int, si: int) -> bool:
        if si == len(specs):
            return fi == len(fields)
        name, cond = specs[si]
        if name == "...":
            return any(match_from(fields, k, si + 1) for k in range(fi, len(fields) + 1))
        if fi >= len(fields):
            return False
        if cond is not None and not cond(lambda _s, v=fields[fi]: [v]):
            return False
        return match_from(fields, fi + 1, si + 1)

    return lambda message: match_from(_message_fields(message), 0, 0)


# --------------------------------------------------------------------------------------------------------------
# unstructured text patterns
# --------------------------------------------------------------------------------------------------------------
def _compile_text(pattern: str) -> Callable[[str], bool]:
    required, optional, excluded = [], [], []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c.isspace():
            i += 1
            continue
        bucket = required
        if c in "?-" and i + 1 < len(pattern) and not pattern[i + 1].isspace():
            bucket = optional if c == "?" else excluded
            i += 1
            c = pattern[i]
        if c == '"':
            term, i = _read_quoted(pattern, i)
            bucket.append(lambda m, t=term: t in m)
        elif c == "%":
            rx, i = _read_regex(pattern, i)
            try:
                compiled = re.compile(rx)
            except re.error as e:
                raise FilterPatternError(f"invalid regex %{rx}%: {e}") from None
            bucket.append(lambda m, r=compiled: r.search(m) is not None)
        else:
            j = i
            while j < len(pattern) and not pattern[j].isspace():
                j += 1
            term = pattern[i:j]
            if '"' in term:
                raise FilterPatternError(f"misplaced quote in term {term!r}")
            bucket.append(lambda m, t=term: t in m)
            i = j

    def matches(message: str) -> bool:
        return (
            all(t(message) for t in required)
            and (not optional or any(t(message) for t in optional))
            and not any(t(message) for t in excluded)
        )

    return matches


# --------------------------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=256)
def compile_pattern(pattern: str | None) -> Callable[[str], bool]:
    """A predicate over a log message for a CloudWatch Logs filter pattern; FilterPatternError when invalid."""
    text = (pattern or "").strip()
    if not text or text == '""':
        return lambda message: True
    if text.startswith("{"):
        if not text.endswith("}"):
            raise FilterPatternError("JSON pattern must end with }")
        return _compile_json(text[1:-1])
    if text.startswith("["):
        if not text.endswith("]"):
            raise FilterPatternError("space-delimited pattern must end with ]")
        return _compile_space_delimited(text[1:-1])
    return _compile_text(text)


def _message_of(event: Any) -> str:
    if isinstance(event, dict):
        message = event.get("message", "")
    else:
        message = getattr(event, "message", "")
    return message if isinstance(message, str) else str(message)


def get_pattern_matcher(pattern: str) -> Callable[[str, Any], bool]:
    """Drop-in for `localstack.services.logs.provider.get_pattern_matcher`: a `(pattern, log_event) -> bool`."""
    try:
        compiled = compile_pattern(pattern)
    except FilterPatternError as e:
        LOG.warning("Unsupported CloudWatch Logs filter pattern %r (%s): it matches every event", pattern, e)
        return lambda _pattern, _event: True
    return lambda _pattern, event: compiled(_message_of(event))


TARGET = "localstack.services.logs.provider"


def apply() -> None:
    from localstack.services.logs import provider as logs_provider
    from localstack.utils.patch import Patch, patch
    from moto.logs.exceptions import InvalidParameterException
    from moto.logs.models import LogsBackend

    # module global looked up at call time by the provider's filter_log_events / put_log_events patches
    Patch(logs_provider, "get_pattern_matcher", get_pattern_matcher).apply()

    @patch(LogsBackend.filter_log_events)
    def filter_log_events(fn, self, log_group_name, log_stream_names, start_time, end_time, limit, next_token,
                          filter_pattern, interleaved):
        if filter_pattern:
            try:
                compile_pattern(filter_pattern)
            except FilterPatternError as e:
                raise InvalidParameterException(f"Invalid filter pattern {filter_pattern!r}: {e}") from None
        return fn(self, log_group_name, log_stream_names, start_time, end_time, limit, next_token,
                  filter_pattern, interleaved)
