"""LocalStack's HTTP server, bound to the address it was told, with the request guard in front of the gateway.

localstack/runtime/server/twisted.py listens on every interface whatever GATEWAY_LISTEN says
(`TCP4ServerEndpoint(reactor, port)`, marked `# TODO: interface = host?`): `127.0.0.1:4566` served the whole
network. This runtime server plugin (GATEWAY_SERVER=sandbox, registered in pyproject.toml) passes the interface,
refuses to bind anything but loopback unless the sandbox was started with `--allow-remote`, and puts
sandbox.security.engine.gateway.RequestGuard first in the gateway's handler chain before the first request is accepted.
It serves with our threaded server (http_server.py: no reactor, no hand-off between threads), or with twisted as
LocalStack does when SANDBOX_HTTP_SERVER=twisted.
"""

from __future__ import annotations

import logging
import os

from localstack import config
from localstack.runtime.server.core import RuntimeServer, RuntimeServerPlugin
from localstack.runtime.server.twisted import TwistedRuntimeServer

from sandbox.security import policy as policy_mod

LOG = logging.getLogger(__name__)


class ListenRefused(RuntimeError):
    pass


class SandboxRuntimeServer(TwistedRuntimeServer):
    """Serves the gateway with our threaded server (sandbox.security.engine.http_server), or with twisted as
    LocalStack does when SANDBOX_HTTP_SERVER=twisted; either way bound to the address it was given."""

    _threaded = None

    def run(self):
        if self._threaded is not None:
            return self._threaded.serve_forever()
        return super().run()

    def shutdown(self):
        if self._threaded is not None:
            return self._threaded.shutdown()
        return super().shutdown()

    def register(self, gateway, listen: list[config.HostAndPort], ssl_creds=None):
        from twisted.internet import endpoints, reactor, ssl
        from rolo.serving.twisted import TwistedGateway
        from localstack.aws.serving.twisted import TLSMultiplexerFactory

        from localstack.aws import handlers

        from sandbox.security.engine.gateway import (RequestGuard, harden_response, policy_from_env,
                                                     refuse_off_data_plane)

        allow_remote = os.environ.get("SANDBOX_ALLOW_REMOTE", "") in ("1", "true")
        for address in listen:
            if not policy_mod.is_loopback_address(address.host) and not allow_remote:
                raise ListenRefused(f"refusing to listen on {address.host}:{address.port}: the sandbox serves "
                                    "loopback only unless started with --allow-remote")
        guard = RequestGuard(policy_from_env(listen[0].port))
        gateway.request_handlers.insert(0, guard)
        handlers.serve_custom_service_request_handlers.handlers.insert(0, refuse_off_data_plane)
        gateway.response_handlers.append(harden_response)
        _restrict_cors_origins(guard.policy)

        if os.environ.get("SANDBOX_HTTP_SERVER", "threaded") != "twisted":
            from rolo.gateway.wsgi import WsgiGateway

            from sandbox.security.engine.http_server import ThreadedHTTPServer

            sockets = [ThreadedHTTPServer.listen(address.host.strip("[]"), address.port) for address in listen]
            self._threaded = ThreadedHTTPServer(WsgiGateway(gateway), sockets, ssl_creds)
            for address in listen:
                LOG.info("Sandbox gateway listening on %s:%s", address.host.strip("[]"), address.port)
            return
        site = TwistedGateway(gateway)
        # twisted/web/http.py Request.requestReceived parses the Content-Type of every POST with the email package
        # (`_parseContentType`, 5 % of LocalStack's GIL time in a SendMessage loop, py-spy 2026-12-05) and then
        # form or multipart bodies into `request.args`, which the WSGI gateway never reads (it reads the body).
        site._parsePOSTFormSubmission = False
        if ssl_creds:
            cert_file_name, key_file_name = ssl_creds
            context_factory = ssl.DefaultOpenSSLContextFactory(key_file_name, cert_file_name)
            context_factory.getContext().use_certificate_chain_file(cert_file_name)
            protocol_factory = TLSMultiplexerFactory(context_factory, False, site)
        else:
            protocol_factory = site
        for address in listen:
            host = address.host.strip("[]")
            if config.is_ipv6_address(host):
                endpoint = endpoints.TCP6ServerEndpoint(reactor, address.port, interface=host)
            else:
                endpoint = endpoints.TCP4ServerEndpoint(reactor, address.port, interface=host)
            endpoint.listen(protocol_factory)
            LOG.info("Sandbox gateway listening on %s:%s", host, address.port)


def _restrict_cors_origins(policy: policy_mod.Policy) -> None:
    """LocalStack's CORS enforcer trusts https://app.localstack.cloud and others by default and answers them with
    `Access-Control-Allow-Credentials: true` (localstack/aws/handlers/cors.py, ALLOWED_CORS_ORIGINS). Our guard
    refuses them first; the list is narrowed too, so no later change to the guard can let them read answers."""
    from localstack.aws.handlers import cors

    own = [f"{scheme}://{host}:{policy.port}" for scheme in ("http", "https")
           for host in ("127.0.0.1", "localhost", "[::1]")]
    cors.ALLOWED_CORS_ORIGINS[:] = own + sorted(policy.allowed_origins)


class SandboxRuntimeServerPlugin(RuntimeServerPlugin):
    name = "sandbox"

    def load(self, *args, **kwargs) -> RuntimeServer:
        return SandboxRuntimeServer()
