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
  and does not require are left out of the cache's key (not a value of another type than declared: botocore's type
  check still refuses it); an evaluation that fails is repeated with every parameter, so the error names them all
  as botocore's does. Which parameters those are is read once per ruleset, not per client.

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


_TYPES = {"string": str, "boolean": bool}


def unread_parameters(ruleset_data: dict) -> dict[str, type]:
    """The parameters a ruleset declares, does not require, and never reads: {name: the Python type of its declared
    type}. A value of another type is left in (botocore refuses it while resolving, and so it still does)."""
    rules = json.dumps({key: value for key, value in ruleset_data.items() if key != "parameters"})
    unread = {}
    for name, spec in (ruleset_data.get("parameters") or {}).items():
        if not isinstance(spec, dict) or spec.get("required") or str(spec.get("type")).lower() not in _TYPES:
            continue
        if '"ref": ' + json.dumps(name) in rules or re.search(r"\{" + re.escape(name) + r"[#}]", rules):
            continue
        unread[name] = _TYPES[str(spec["type"]).lower()]
    return unread


# id(ruleset data) -> (the data, its unread parameters): botocore builds an EndpointProvider per client, and reading
# S3's ruleset costs ~6 ms; the fork server's shared loader hands every client the same dict (zygote.py). The data is
# held so that its id is not reused; a few entries at most (one per service).
_UNREAD: dict[int, tuple[dict, dict[str, type]]] = {}


def _unread_of(ruleset_data: dict) -> dict[str, type]:
    known = _UNREAD.get(id(ruleset_data))
    if known is not None and known[0] is ruleset_data:
        return known[1]
    unread = unread_parameters(ruleset_data)
    if len(_UNREAD) < 256:  # a loader of its own per client (AWS_DATA_PATH) reads again rather than grow this
        _UNREAD[id(ruleset_data)] = (ruleset_data, unread)
    return unread


def _skip_unread_parameters(provider: type, resolution_error: type) -> None:
    original_init, resolve = provider.__init__, provider.resolve_endpoint

    def __init__(self, ruleset_data, partition_data):
        original_init(self, ruleset_data, partition_data)
        self._sandbox_unread = _unread_of(ruleset_data)

    def resolve_endpoint(self, **input_parameters):
        unread = self.__dict__.get("_sandbox_unread")
        if not unread or unread.keys().isdisjoint(input_parameters):
            return resolve(self, **input_parameters)
        read = {}
        for key, value in input_parameters.items():
            kind = unread.get(key)
            if kind is None or value is None:
                read[key] = value
            elif type(value) is not kind:  # a Key=123: botocore's own type check must still see it
                return resolve(self, **input_parameters)
        try:
            return resolve(self, **read)
        except resolution_error:
            return resolve(self, **input_parameters)

    provider.__init__ = __init__
    provider.resolve_endpoint = resolve_endpoint
    provider._sandbox_unread = {}  # the mark that the class is patched
