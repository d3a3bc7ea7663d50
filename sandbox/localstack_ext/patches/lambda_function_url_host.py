"""A function URL that LocalStack hands out resolves nowhere.

`localstack.services.lambda_.provider.LambdaProvider.create_function_url_config` (localstack-core 2026.3.0) builds
`http://<id>.lambda-url.<region>.<LOCALSTACK_HOST>/`; the sandbox's LOCALSTACK_HOST is `127.0.0.1:<port>`, so
`get-function-url-config`, a stack's `!GetAtt FunctionUrl.FunctionUrl` output and `sam list stack-outputs` gave
`http://<id>.lambda-url.us-east-1.127.0.0.1:4566/`, a name no resolver knows (curl: "could not resolve host"); only
`sandbox deploy`'s display rewrote it.

Workaround: the URL's host is `localhost` when LocalStack's is loopback: `<id>.lambda-url.<region>.localhost` is
loopback for browsers and curl (RFC 6761), and the URL router matches any host after the region. (Python's resolver
does not know `*.localhost` names: a script connects to 127.0.0.1 with the URL's Host header.)
"""

from __future__ import annotations

TARGET = "localstack.services.lambda_.provider"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def apply() -> None:
    from localstack.services.lambda_ import provider
    from localstack.config import HostAndPort

    original = provider.localstack_host  # used by the provider for function URLs only
    if getattr(original, "_sandbox_patch", False):
        return

    def localstack_host(custom_port: int | None = None) -> HostAndPort:
        host = original(custom_port=custom_port)
        return HostAndPort(host="localhost", port=host.port) if host.host in LOOPBACK_HOSTS else host

    localstack_host._sandbox_patch = True
    provider.localstack_host = localstack_host
