"""LocalStack's edge router skipped for requests none of its rules can match (speed).

`localstack.aws.handlers.legacy.EdgeRouterHandler` runs werkzeug's URL matching over LocalStack's `ROUTER` (the
`/_sandbox` and `/_aws` resources, SQS queue URLs, API Gateway and Lambda URL hosts, S3 websites) for every
request, and for an AWS call - nearly every request - it ends in NotFound: about 50 us of LocalStack's CPU per
request, 0.7 ms per media-pipeline file (bench/pipeline.py --census handlers, docs/benchmarks.md "Twelfth round").

Before matching, the handler now asks a cheaper question: could any rule match this request at all? From each rule
it keeps a necessary condition: for a rule of any host (`<__host__>`), a regex of its path template with every
converter but `regex(...)` widened to `.*`, the template's trailing slash dropped and nothing anchored at the end;
for a rule with a host template, the literal pieces of that template, which the request's host must contain. A
request that meets no condition cannot be matched by werkzeug, nor redirected to a rule: its path is read as werkzeug
reads it (one leading slash), tested as it is and with runs of slashes merged (werkzeug's `merge_slashes` redirect),
and the templates lose their trailing slash (`strict_slashes`). Such a request goes on exactly as after a NotFound;
every other one is matched as before. (One difference: a Host werkzeug cannot IDNA-encode - an empty label, a label
over 63 characters - made the router raise BadHost, a 500; such a request is now served as an AWS call.) The conditions are rebuilt
whenever the router's map changes (rolo replaces the map on every `add` and `remove`).

`tests/unit/test_edge_router_prefilter.py` checks, over LocalStack's rules and requests built to come close to them,
that every request the prefilter skips is one werkzeug would not match.

`SANDBOX_EDGE_ROUTER_PREFILTER=0` matches every request as LocalStack does (to compare in a benchmark).
"""

from __future__ import annotations

import re
import threading

TARGET = "localstack.aws.handlers.legacy"
ANY_HOST = "<__host__>"
SLASHES = re.compile(r"/{2,}")


class Conditions:
    """What a request must meet for some rule of one URL map to match it."""

    __slots__ = ("url_map", "paths", "hosts")

    def __init__(self, url_map):
        self.url_map = url_map
        patterns, self.hosts = [], []
        try:
            for rule in url_map.iter_rules():
                host = rule.host
                if host and host != ANY_HOST:
                    self.hosts.append(tuple(part.lower() for part in _host_literals(host)))
                else:  # werkzeug merges a rule's own runs of slashes too
                    template = SLASHES.sub("/", rule.rule) if rule.merge_slashes else rule.rule
                    patterns.append(_path_pattern(template, url_map.converters))
            self.paths = re.compile("|".join(f"(?:{p})" for p in patterns), re.DOTALL) if patterns else None
        except (ValueError, IndexError, re.error):  # a rule read otherwise than here: no prefilter, not an error
            self.paths, self.hosts = re.compile(""), []

    def could_match(self, raw_path: str, host: str | None) -> bool:
        if self.paths is not None:
            path = "/" + raw_path.lstrip("/") if raw_path else ""  # what werkzeug's MapAdapter.match matches
            if not path or self.paths.match(path) or ("//" in path and self.paths.match(SLASHES.sub("/", path))):
                return True
        if self.hosts:
            host = (host or "").lower()
            for literals in self.hosts:
                if all(literal in host for literal in literals):
                    return True
        return False


def _parts(template: str):
    """werkzeug's own reading of a rule template: (slash, static text, converter, its arguments) per part."""
    from werkzeug.routing.rules import _part_re

    pos = 0
    while pos < len(template):
        match = _part_re.match(template, pos)
        if match is None:
            raise ValueError(f"malformed rule {template!r}")
        yield match.group("slash"), match.group("static"), match.group("converter"), match.group("arguments")
        pos = match.end()


def _host_literals(template: str) -> list[str]:
    return [static for _, static, _, _ in _parts(template) if static] or [""]


def _segment_safe(regex: str) -> bool:
    """Whether a converter's regex means inside a whole path what it means on the one segment werkzeug matches it
    against (`...\\Z`): no anchors, lookarounds, atomic groups, possessive repeats, back references or named
    groups (two rules naming the same group would not compile together)."""
    from re import _constants as sre, _parser as sre_parse

    unsafe = {sre.AT, sre.ASSERT, sre.ASSERT_NOT, sre.ATOMIC_GROUP, sre.POSSESSIVE_REPEAT, sre.GROUPREF,
              sre.GROUPREF_EXISTS}
    try:
        tree = sre_parse.parse(regex)
    except re.error:
        return False
    if tree.state.groupdict:
        return False

    def safe(node) -> bool:
        if isinstance(node, sre_parse.SubPattern):
            return all(op not in unsafe and safe(value) for op, value in node)
        if isinstance(node, (list, tuple)):
            return all(safe(item) for item in node)
        return True

    return safe(tree)


def _path_pattern(template: str, converters: dict) -> str:
    """A regex that every path this rule matches, or redirects to it, starts with. A converter becomes its own regex
    when that is safe to inline, else `[^/]*` if it matches within one segment, else `.*` (no nested `.*` runs on
    long paths: they would backtrack)."""
    from werkzeug.routing.rules import parse_converter_args

    if template.rstrip("/") == "":
        return r"/\Z"  # the root only
    pieces = []
    for slash, static, converter, arguments in _parts(template.rstrip("/")):
        if slash:
            pieces.append("/")
        elif static:
            pieces.append(re.escape(static))
        elif converter == "regex" and _segment_safe(regex := parse_converter_args(arguments or "")[0][0]):
            pieces.append(f"(?:{regex})")
        elif converter != "regex" and getattr(converters.get(converter or "default"), "part_isolating", False):
            pieces.append("[^/]*")
        else:
            pieces.append(".*")
    return "".join(pieces)


_lock = threading.Lock()
_conditions: Conditions | None = None


def conditions_for(url_map) -> Conditions:
    """The conditions of this map, rebuilt when the router has a new one."""
    global _conditions
    known = _conditions
    if known is None or known.url_map is not url_map:
        with _lock:
            known = _conditions
            if known is None or known.url_map is not url_map:
                known = _conditions = Conditions(url_map)
    return known


def apply() -> None:
    import os

    from rolo.request import get_raw_path

    from localstack.aws.handlers.legacy import EdgeRouterHandler

    if getattr(EdgeRouterHandler.__call__, "_sandbox_prefilter", False) or \
            (os.environ.get("SANDBOX_EDGE_ROUTER_PREFILTER") or "1") in ("0", "false", "no"):
        return
    original = EdgeRouterHandler.__call__

    def __call__(self, chain, context, response):
        request = context.request
        if not self.respond_not_found and not conditions_for(self.router.url_map).could_match(
                get_raw_path(request), request.host):
            return  # what a NotFound ends in here
        return original(self, chain, context, response)

    __call__._sandbox_prefilter = True
    EdgeRouterHandler.__call__ = __call__
