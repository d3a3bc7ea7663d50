"""Work botocore repeats on every call of a function's boto3 client although its answer cannot change: done once.

Functions share the machine's cores with LocalStack, so what their SDK spends per call is taken from the sandbox's
throughput (#13: the media pipeline's functions spent ~34 ms of CPU per file, three quarters of it inside botocore;
py-spy, docs/benchmarks.md twenty-third round). Two of botocore's per-call costs give the same answer every time:

* The User-Agent header: `UserAgentComponent.to_string` sanitizes each component's strings one character at a time,
  twice per component and request (`botocore/useragent.py`): ~115 us of a request here. The sanitizer is a pure
  function of its arguments: its answers are remembered.
* The endpoint: botocore caches `EndpointProvider.resolve_endpoint` by all its parameters, and S3's ruleset takes the
  object's `Key`, `Prefix` and `CopySource` although no rule reads them: every new key evaluated S3's whole ruleset
  again (~420 instead of ~75 us a call). Parameters a ruleset never reads (no `{"ref": name}`, no `{name}` template)
  and does not require are left out of the cache's key; an evaluation that fails is repeated with every parameter,
  so the error names them all as botocore's does.

Same headers, same endpoints, same errors: only the CPU differs (tests/unit/test_sdk_speedups.py compares them with
and without). Applied by the fork server to the botocore it preloads (zygote.py); a function that bundles its own
botocore imports that one, unchanged. Like every module of the environment: standard library (and botocore) only.
"""

import functools
import json
import re


def apply() -> bool:
    """Installs both; False when botocore is not importable or not as expected (then nothing is changed)."""
    try:
        from botocore import endpoint_provider, useragent
    except ImportError:
        return False
    sanitize = getattr(useragent, "sanitize_user_agent_string_component", None)
    provider = getattr(endpoint_provider, "EndpointProvider", None)
    if sanitize is None or provider is None or getattr(provider, "_sandbox_unread", None) is not None:
        return False
    useragent.sanitize_user_agent_string_component = functools.lru_cache(maxsize=512)(sanitize)
    _skip_unread_parameters(provider, endpoint_provider.EndpointResolutionError)
    return True


def unread_parameters(ruleset_data: dict) -> frozenset[str]:
    """The parameters a ruleset declares, does not require, and never reads."""
    rules = json.dumps({key: value for key, value in ruleset_data.items() if key != "parameters"})
    unread = set()
    for name, spec in (ruleset_data.get("parameters") or {}).items():
        if isinstance(spec, dict) and spec.get("required"):
            continue
        if '"ref": ' + json.dumps(name) in rules or re.search(r"\{" + re.escape(name) + r"[#}]", rules):
            continue
        unread.add(name)
    return frozenset(unread)


def _skip_unread_parameters(provider: type, resolution_error: type) -> None:
    original_init, resolve = provider.__init__, provider.resolve_endpoint

    def __init__(self, ruleset_data, partition_data):
        original_init(self, ruleset_data, partition_data)
        self._sandbox_unread = unread_parameters(ruleset_data)

    def resolve_endpoint(self, **input_parameters):
        unread = getattr(self, "_sandbox_unread", frozenset())
        if not unread or unread.isdisjoint(input_parameters):
            return resolve(self, **input_parameters)
        read = {key: value for key, value in input_parameters.items() if key not in unread}
        try:
            return resolve(self, **read)
        except resolution_error:
            return resolve(self, **input_parameters)

    provider.__init__ = __init__
    provider.resolve_endpoint = resolve_endpoint
    provider._sandbox_unread = frozenset()  # the mark that the class is patched
