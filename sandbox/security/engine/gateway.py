"""The request guard inside LocalStack: the first handler of the gateway's chain applies `policy.decide`.

Installed by our runtime server (sandbox.security.engine.server) before the first request is served, ahead of every
LocalStack handler: nothing (not /_localstack, not /_sandbox, not a service) runs for a refused request.
Refusals are answered with a message that says what was wrong and how to fix it, logged, and listed at
`/_sandbox/info` (`refused_requests`) so a user whose tool was refused can find out why.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import Counter, deque
from pathlib import Path

from localstack.aws.api import RequestContext
from localstack.aws.chain import HandlerChain
from localstack.http import Response

from sandbox.security import policy as policy_mod

LOG = logging.getLogger(__name__)

_recent: deque = deque(maxlen=50)
_counts: Counter = Counter()
_lock = threading.Lock()


def policy_from_env(port: int) -> policy_mod.Policy:
    """The policy of this LocalStack, from what `sandbox up` passed in its environment."""
    origins = [o for o in os.environ.get("SANDBOX_ALLOWED_ORIGINS", "").split(",") if o.strip()]
    return policy_mod.Policy.create(
        port=port,
        token=os.environ.get("SANDBOX_TOKEN", ""),
        allowed_origins=origins,
        local_names=_hosts_file_names(),
        allow_remote=os.environ.get("SANDBOX_ALLOW_REMOTE", "") in ("1", "true"),
    )


def _hosts_file_names() -> set[str]:
    try:
        return policy_mod.hosts_file_loopback_names(Path("/etc/hosts").read_text(errors="replace"))
    except OSError:
        return set()


class RequestGuard:
    def __init__(self, policy: policy_mod.Policy):
        self.policy = policy
        self.allow_remote = policy.allow_remote

    def __call__(self, chain: HandlerChain, context: RequestContext, response: Response) -> None:
        request = context.request
        view = policy_mod.Request(method=request.method, path=request.path, headers=request.headers,
                                  query=request.args, remote_addr=request.remote_addr or "", headers_ignore_case=True)
        remote_auth = policy_mod.RemoteAuth(lambda v: self._verify_sigv4(v, request)) if self.allow_remote else None
        decision = policy_mod.decide(view, self.policy, remote_auth, is_s3=lambda _: _is_s3(context))
        if decision.allowed:
            if policy_mod.is_data_plane(view):  # let in as an app's API: what it would be otherwise, for later
                strict = policy_mod.decide(view, self.policy, remote_auth, is_s3=lambda _: _is_s3(context),
                                           as_data_plane=False)
                if not strict.allowed:
                    context.__dict__[OFF_DATA_PLANE] = (view, strict)
            return
        _remember(view, decision)
        LOG.warning("Sandbox refused %s %s from %s (Host %s, Origin %s): %s", request.method, request.path,
                    view.remote_addr, view.header("Host"), view.header("Origin"), decision.reason)
        refuse(response, decision, wants_json=_wants_json(view))
        chain.terminate()

    def _verify_sigv4(self, view: policy_mod.Request, request) -> bool:
        from sandbox.security import sigv4

        # the body is read (and cached by werkzeug for LocalStack) only when no x-amz-content-sha256 names its hash
        return sigv4.verify(view, self.policy.token, raw_uri=request.environ.get("RAW_URI") or request.full_path,
                            body=lambda: request.get_data(cache=True))


def _is_s3(context: RequestContext) -> bool:
    from localstack.aws.protocol.service_router import determine_aws_service_model

    try:
        model = determine_aws_service_model(context.request)
    except Exception:  # noqa: BLE001 - an unparseable request is not an S3 read
        return False
    return bool(model) and model.service_name == "s3"


def _wants_json(view: policy_mod.Request) -> bool:
    content_type = (view.header("Content-Type") or "").lower()
    accept = (view.header("Accept") or "").lower()
    return bool(view.header("X-Amz-Target")) or "json" in content_type or "json" in accept \
        or view.path.startswith(("/_sandbox", "/_localstack", "/2015-03-31", "/2021-10-31"))


OFF_DATA_PLANE = "sandbox_off_data_plane"  # context key: the verdict on a request let in as an app's API alone


def refuse_off_data_plane(chain: HandlerChain, context: RequestContext, response: Response) -> None:
    """First of `serve_custom_service_request_handlers`: a request let in only as an app's API (cross-site, or
    unsigned) that reached an AWS service instead - no API Gateway or function URL route took it - is refused as it
    would have been. Layered under policy.is_data_plane, which mirrors LocalStack's routes: a path the guard took for
    an API's once went to CloudFormation (`/_aws/execute-api/?Action=CreateStack` from a page's form)."""
    held = context.__dict__.get(OFF_DATA_PLANE)
    if held is None or context.service is None:
        return
    view, decision = held
    decision = policy_mod.Decision(False, decision.status, f"{decision.reason} (it reached "
                                   f"{context.service.service_name}, not an app's API)", decision.kind)
    _remember(view, decision)
    LOG.warning("Sandbox refused %s %s (reached %s, not an app's API): %s", view.method, view.path,
                context.service.service_name, decision.reason)
    refuse(response, decision, wants_json=_wants_json(view))
    chain.stop()


def refuse(response: Response, decision: policy_mod.Decision, wants_json: bool) -> None:
    """The refusal in a shape AWS SDKs parse (JSON or XML `AccessDenied`), so the message reaches the user."""
    message = f"Serverless Sandbox refused this request: {decision.reason}. See docs/security.md."
    response.status_code = decision.status
    if wants_json:
        response.set_data(json.dumps({"__type": "AccessDeniedException", "message": message,
                                      "sandbox_refusal": decision.kind}))
        response.mimetype = "application/json"
    else:
        escaped = message.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        response.set_data(f'<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error><Type>Sender</Type>'
                          f"<Code>AccessDenied</Code><Message>{escaped}</Message></Error></ErrorResponse>")
        response.mimetype = "application/xml"
    response.headers["X-Sandbox-Refused"] = decision.kind


def _remember(view: policy_mod.Request, decision: policy_mod.Decision) -> None:
    with _lock:
        _counts[decision.kind] += 1
        _recent.append({"time": time.time(), "method": view.method, "path": view.path[:200],
                        "remote": view.remote_addr, "host": view.header("Host"), "origin": view.header("Origin"),
                        "kind": decision.kind, "reason": decision.reason})


# A page the sandbox serves - an HTML object in a bucket at http://127.0.0.1:4566/bucket/page.html, the HTML an
# app's API returns at /_aws/execute-api/... - would otherwise have the sandbox's own origin and be free to call
# every API (with a made-up signature: only its shape is checked on loopback). As a document of no origin its
# scripts still run (a static site or an app's page works), but its requests carry `Origin: null` and are
# refused like any other site's. Added even when the app sets a policy of its own: browsers apply every policy.
DOCUMENT_POLICY = "sandbox allow-scripts allow-forms allow-popups allow-downloads allow-modals"


def harden_response(chain: HandlerChain, context: RequestContext, response: Response) -> None:
    """Response handler: nothing the sandbox serves can become a page of its origin (see DOCUMENT_POLICY)."""
    response.headers.add("Content-Security-Policy", DOCUMENT_POLICY)
    response.headers["X-Content-Type-Options"] = "nosniff"


def refusals() -> dict:
    """What was refused since start: counts by kind and the latest 50 (for /_sandbox/info)."""
    with _lock:
        return {"total": sum(_counts.values()), "by_kind": dict(_counts), "recent": list(_recent)}
