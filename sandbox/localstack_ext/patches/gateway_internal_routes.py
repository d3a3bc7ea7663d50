"""LocalStack's internal resources (`/_localstack/...`) matched only for paths that can be one of them (speed).

localstack/aws/handlers/internal.py `LocalstackResourceHandler` runs werkzeug's URL matching over its router for
every request and raises NotFound for every AWS call (3 % of LocalStack's GIL time in a SendMessage loop, py-spy
2026-12-05). When every rule of that router is under `/_localstack` (as shipped: health, info, plugins, init, and
the swagger UI), a path outside it cannot match and the handler is skipped; if anything ever adds a rule elsewhere,
every request is matched again as before.
"""

from __future__ import annotations

TARGET = "localstack.aws.handlers.internal"
PREFIX = "/_localstack"


def apply() -> None:
    from localstack.aws.handlers.internal import LocalstackResourceHandler

    original = LocalstackResourceHandler.__call__
    checked: dict[int, bool] = {}  # number of rules -> all under PREFIX

    def all_under_prefix(resources) -> bool:
        rules = resources.url_map._rules
        known = checked.get(len(rules))
        if known is None:
            known = checked[len(rules)] = all(r.rule == PREFIX or r.rule.startswith(PREFIX + "/") for r in rules)
        return known

    def __call__(self, chain, context, response):
        if not context.request.path.startswith(PREFIX) and all_under_prefix(self.resources):
            return
        return original(self, chain, context, response)

    LocalstackResourceHandler.__call__ = __call__
