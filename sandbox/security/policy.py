"""Who may talk to the sandbox: the decision for one HTTP request, as pure logic (no LocalStack, no I/O).

Lambda functions here are host processes, so a request that creates or changes a function runs code on the
laptop. The gateway (sandbox.security.engine.gateway) asks `decide()` about every request before LocalStack sees it:

1. **Remote peers** (only reachable with `--allow-remote`) must authenticate: the instance token in
   `X-Sandbox-Token`, or AWS SigV4 signed with the instance's key (checked by sandbox.security.sigv4).
2. **Host header** must name this machine (loopback addresses, `localhost`, `*.localhost`, or a name the hosts
   file maps to loopback): a DNS-rebinding page sends its own domain and is refused.
3. **Cross-site requests** (an `Origin`, `Sec-Fetch-Site` or `Referer` naming another site) are refused, except
   where AWS itself serves browsers: an app's own API (execute-api, function URLs, whose CORS is the app's) and
   S3 reads (a presigned link opened from anywhere). `--allow-origin` names a local web app that may call it all.
4. **State-changing requests without any browser signal** must carry what a browser cannot send cross-origin
   without a preflight (which rule 3 refuses): a SigV4/SigV2 `Authorization` header, as every SDK and CLI sends,
   a query signature on a non-GET request (presigned S3 PUT), or the instance token for the sandbox's own
   endpoints.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

TOKEN_HEADER = "X-Sandbox-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Where AWS serves the public: an app's API, not the control plane. The app's own CORS settings decide there.
# LocalStack routes `/_aws/execute-api/<api id>/...` to API Gateway (its execute_api/router.py: the id and the slash
# after it are part of every route); `/_aws/execute-api/` or `//` alone match no route and went to the AWS services,
# which read `Action=CreateStack` from the query: a page's form or <img> deployed code.
DATA_PLANE_PATH = re.compile(r"^/_aws/execute-api/[A-Za-z0-9]+/")
# LocalStack's routes for these hosts (localstack/services/apigateway/next_gen/execute_api/router.py,
# localstack/services/lambda_/urlrouter.py, its region pattern: localstack/utils/aws/request_context.py
# AWS_REGION_REGEX) send the host's paths to the API or function URL - all but LocalStack's own resources, which it
# serves on any host before routing (/_localstack/health, the chaos API...): RESERVED_PATH_PREFIXES.
DATA_PLANE_HOST = re.compile(r"^[a-z0-9]+\.(execute-api|lambda-url\.(us(-gov)?|ap|ca|cn|eu|sa)-"
                             r"(central|(north|south)?(east|west)?)-\d)\.[a-z0-9.-]+$")
RESERVED_PATH_PREFIXES = ("/_localstack", "/_sandbox", "/_aws/", "/_extension", "/_pods")
# Lambda runtime callbacks: authenticated by their environment's own secret (lambda_process.executor).
RUNTIME_CALLBACK_PREFIX = "/_localstack_lambda/"
# The sandbox's and LocalStack's own control endpoints (reset, the chaos API, health's kill): a state change there
# needs the token. An AWS signature is not enough: any program on this machine, or a function (which gets
# credentials), can make one with any key, as LocalStack accepts any.
CONTROL_PATH_PREFIXES = ("/_localstack/", "/_sandbox/", "/_extension", "/_pods")
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# The pure checks of a peer address or a Host value keep their last answers: a request asked three of them, ~10 us
# of parsing (ipaddress) for the same few values every time (~37 us of the guard's CPU a request in a media-pipeline
# drain, 2026-12-06). Bounded in number and in size: a value longer than any host name (253 characters and a port)
# is answered without being kept, so a client sending a new 64 KB Host each time holds nothing.
ANSWERS_KEPT = 1024
LONGEST_KEPT = 300
HOW_TO_ALLOW_ORIGIN = "start the sandbox with `sandbox up --allow-origin <origin>` (or SANDBOX_ALLOWED_ORIGINS)"


@dataclass(frozen=True)
class Request:
    """What the policy needs of an HTTP request (header names case-insensitive via `header`)."""

    method: str
    path: str
    headers: Mapping[str, str]
    query: Mapping[str, str] = field(default_factory=dict)
    remote_addr: str = "127.0.0.1"
    headers_ignore_case: bool = False  # `headers.get` already ignores case (werkzeug's Headers): no second search

    def header(self, name: str) -> str | None:
        value = self.headers.get(name)
        if value is None and not self.headers_ignore_case:
            lower = name.lower()
            for key, val in self.headers.items():
                if key.lower() == lower:
                    return val
        return value


@dataclass(frozen=True)
class Policy:
    port: int
    token: str = ""
    allowed_origins: frozenset[str] = frozenset()  # extra origins (a local web app), normalised
    local_names: frozenset[str] = frozenset()  # extra host names mapped to loopback by the hosts file
    allow_remote: bool = False

    @classmethod
    def create(cls, port: int, token: str = "", allowed_origins: Iterable[str] = (), local_names: Iterable[str] = (),
               allow_remote: bool = False) -> "Policy":
        return cls(port=port, token=token, allowed_origins=frozenset(normalise_origin(o) for o in allowed_origins if o),
                   local_names=frozenset(n.lower() for n in local_names), allow_remote=allow_remote)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    status: int = 200
    reason: str = ""  # for the refusal message and the log; what was wrong and how to fix it
    kind: str = ""  # short tag: remote, host, cross-site, unsigned, token

    @classmethod
    def allow(cls) -> "Decision":
        return ALLOW


ALLOW = Decision(True)


class RemoteAuth:
    """How a remote peer proved itself; the gateway passes a verifier for SigV4 (it needs the body)."""

    def __init__(self, verify_sigv4=None):
        self.verify_sigv4 = verify_sigv4 or (lambda request: False)


def decide(request: Request, policy: Policy, remote_auth: RemoteAuth | None = None,
           is_s3: Callable[[Request], bool] | None = None, as_data_plane: bool | None = None) -> Decision:
    """The verdict on one request. `is_s3(request)` tells whether an AWS request is for S3 (asked only for
    cross-site requests, where it matters). `as_data_plane=False`: the verdict were it not an app's API (the gateway
    asks it once the request turns out to reach an AWS service)."""
    token_ok = bool(policy.token) and _constant_time_eq(request.header(TOKEN_HEADER), policy.token)
    if not is_loopback_address(request.remote_addr):
        if not policy.allow_remote:
            return Decision(False, 403, f"connections from {request.remote_addr} are not accepted: the sandbox "
                                        "serves this machine only (loopback)", "remote")
        if token_ok or (remote_auth and remote_auth.verify_sigv4(request)):
            return ALLOW  # an authenticated remote client: its Host is this machine's network name
        return Decision(False, 401, f"a remote client ({request.remote_addr}) must authenticate: send the header "
                                    f"{TOKEN_HEADER} or sign with the credentials `sandbox env --remote` prints",
                        "remote")
    host = request.header("Host")
    if host is not None and not is_local_host(host, policy.local_names):
        return Decision(False, 403, f"Host {host!r} is not this machine (a DNS-rebinding page sends its own domain); "
                                    f"use http://127.0.0.1:{policy.port} or http://localhost:{policy.port}", "host")
    data_plane = is_data_plane(request) if as_data_plane is None else as_data_plane
    crossing = cross_site_origin(request, policy)
    if crossing is not None:
        if data_plane:
            return ALLOW  # the app's API: its own CORS configuration answers, as on AWS
        if request.method in ("GET", "HEAD") and "Action" not in request.query and \
                not request.path.startswith("/_") and is_s3 is not None and is_s3(request):
            return ALLOW  # an S3 read, e.g. a presigned link opened from a chat or a page
        return Decision(False, 403, f"cross-site request from {crossing} refused: a web page may not drive the "
                                    f"sandbox. If {crossing} is your own local web app, {HOW_TO_ALLOW_ORIGIN}",
                        "cross-site")
    if not changes_state(request) or data_plane or request.path.startswith(RUNTIME_CALLBACK_PREFIX):
        return ALLOW
    if token_ok:
        return ALLOW
    if request.header(TOKEN_HEADER) is not None:
        return Decision(False, 403, f"the {TOKEN_HEADER} header does not match this sandbox's token", "token")
    if request.path.startswith(CONTROL_PATH_PREFIXES) or request.path == "/_localstack":
        return Decision(False, 403, f"the sandbox's own endpoints ({request.path}) change state only with the header "
                                    f"{TOKEN_HEADER} (`sandbox env` prints it; the Python API and the CLI send it): an "
                                    "AWS signature is not enough here, any program or function can make one", "token")
    if has_signature(request) or (is_s3_form_post(request) and is_s3 is not None and is_s3(request)):
        return ALLOW
    return Decision(False, 403, "a request that changes state must be signed (AWS SigV4 `Authorization` header, as "
                                "every AWS SDK and CLI sends) or carry the header "
                                f"{TOKEN_HEADER} (`sandbox env` prints it)", "unsigned")


# --- the pieces ------------------------------------------------------------------------------------------------


def _kept(check):
    """`check` with its last ANSWERS_KEPT answers kept, for a first argument of at most LONGEST_KEPT characters."""
    cached = functools.lru_cache(maxsize=ANSWERS_KEPT)(check)

    @functools.wraps(check)
    def answer(value, *rest):
        return cached(value, *rest) if value is None or len(value) <= LONGEST_KEPT else check(value, *rest)

    answer.cache_clear = cached.cache_clear
    answer.cache_info = cached.cache_info
    return answer


@_kept
def is_loopback_address(address: str | None) -> bool:
    if not address:
        return True  # a UNIX socket or an in-process call: no network peer
    try:
        return ipaddress.ip_address(address.strip("[]").split("%")[0]).is_loopback
    except ValueError:
        return False


@_kept
def split_host(host: str) -> str:
    """The host name of a Host header value, without port or IPv6 brackets, lower case ("" if malformed)."""
    host = host.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        rest = host[end + 1:] if end > 0 else "?"
        return host[1:end] if rest == "" or (rest.startswith(":") and rest[1:].isdigit()) else ""
    if host.count(":") == 1:
        host, port = host.split(":", 1)
        if not port.isdigit():
            return ""
    return host.rstrip(".")


def _is_loopback_ip(name: str) -> bool:
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def is_local_host(host: str, local_names: Iterable[str] = frozenset()) -> bool:
    """A Host header value that names this machine: loopback addresses, `localhost` and `*.localhost` (RFC 6761:
    browsers resolve them to loopback themselves, so no DNS answer can re-point them), and names the hosts file
    maps to loopback (and their subdomains, which LocalStack's virtual hosts use)."""
    return _is_local_host(host, local_names if isinstance(local_names, frozenset) else frozenset(local_names))


@_kept
def _is_local_host(host: str, local_names: frozenset[str]) -> bool:
    name = split_host(host)
    if not name:
        return False
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        pass
    return any(name == n or name.endswith("." + n) for n in local_names)


def normalise_origin(origin: str) -> str:
    origin = origin.strip().rstrip("/")
    parts = urlsplit(origin)
    if not parts.scheme or not parts.netloc:
        return origin.lower()
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def check_origin(origin: str) -> str:
    """An origin a user allows (`--allow-origin`), normalised; ValueError with the fix if it is not one."""
    raw = origin.strip().rstrip("/")
    parts = urlsplit(raw)
    value = normalise_origin(raw)
    if raw in ("*", "null") or parts.scheme.lower() not in ("http", "https") or not parts.hostname or \
            parts.path or parts.query or parts.fragment:
        raise ValueError(f"--allow-origin {origin!r} is not an origin: give scheme, host and port of one web app, "
                         "e.g. http://localhost:5173 (wildcards and 'null' would let any page in)")
    return value


def _origin_of(url: str) -> str | None:
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def is_own_origin(origin: str, policy: Policy) -> bool:
    """The sandbox's own origin (a page it served itself), or one the user allowed."""
    origin = normalise_origin(origin)
    if origin in policy.allowed_origins:
        return True
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return False
    # Only the plain names of this machine: a page of a virtual host (an API's `<id>.execute-api.localhost`, a
    # bucket website) is the app's, not the sandbox's.
    name = parts.hostname.lower().rstrip(".")
    own = name == "localhost" or name in policy.local_names or _is_loopback_ip(name)
    return port == policy.port and own


def cross_site_origin(request: Request, policy: Policy) -> str | None:
    """The foreign origin a browser says this request comes from, or None for same-origin and non-browser
    requests. `Origin: null` (sandboxed documents, file:// pages, redirects) is foreign too."""
    origin = request.header("Origin")
    if origin is not None:
        return None if is_own_origin(origin, policy) else origin.strip() or "null"
    referer = request.header("Referer")
    referer_origin = _origin_of(referer) if referer else None
    site = (request.header("Sec-Fetch-Site") or "").lower()
    if site in ("cross-site", "same-site"):
        # no-cors GETs carry no Origin; the Referer (when sent) says whose page it was
        if referer_origin and is_own_origin(referer_origin, policy):
            return None
        return referer_origin or f"another site (Sec-Fetch-Site: {site})"
    if site in ("same-origin", "none"):
        return None
    if referer_origin and not is_own_origin(referer_origin, policy):
        return referer_origin
    return None


def is_data_plane(request: Request) -> bool:
    """An app's own API: `/_aws/execute-api/<id>/...`, or a path of a host LocalStack routes to one:
    `<id>.execute-api.<host>`, `<id>.lambda-url.<region>.<host>` - but never LocalStack's or the sandbox's own
    resources (`/_localstack/...`, `/_sandbox/...`), which LocalStack serves on any host. A host that only contains
    such a word is not enough. (The gateway also refuses a request let in as an app's API that reaches an AWS
    service: sandbox/security/engine/gateway.py.)"""
    path = request.path
    if path.startswith("/_aws/execute-api/"):
        return DATA_PLANE_PATH.match(path) is not None
    if path.startswith(RESERVED_PATH_PREFIXES):
        return False
    return _is_data_plane_host(request.header("Host") or "")


@_kept
def _is_data_plane_host(host: str) -> bool:
    return bool(DATA_PLANE_HOST.match(split_host(host)))


def changes_state(request: Request) -> bool:
    """Every non-GET request, and GETs of the query protocol (`?Action=CreateQueue` creates a queue)."""
    return request.method.upper() not in SAFE_METHODS or "Action" in request.query


def has_signature(request: Request) -> bool:
    """An AWS signature's shape: what every SDK and CLI sends, and what no web page can send cross-origin
    without a preflight. Query signatures count only on non-GET requests (a page can put any query on an <img>)."""
    auth = (request.header("Authorization") or "").strip()
    if auth.startswith("AWS4-HMAC-SHA256 ") and "Credential=" in auth and "Signature=" in auth:
        return True
    if auth.startswith("AWS ") and ":" in auth:
        return True  # SigV2 (old S3 clients)
    if request.method.upper() in ("GET", "HEAD"):
        return False
    query = request.query
    return ("X-Amz-Signature" in query and "X-Amz-Credential" in query) or (
        "Signature" in query and "AWSAccessKeyId" in query)


def is_s3_form_post(request: Request) -> bool:
    """A browser-style S3 upload (POST policy): its signature is a form field. Browsers always send `Origin` on a
    POST, so one that reaches here without any browser signal comes from a tool such as curl."""
    content_type = (request.header("Content-Type") or "").lower()
    bucket = request.path.strip("/").split("/", 1)[0]
    return request.method.upper() == "POST" and content_type.startswith("multipart/form-data") and \
        bool(BUCKET_NAME.match(bucket)) and "/" not in request.path.strip("/") and "Action" not in request.query


def _constant_time_eq(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def hosts_file_loopback_names(text: str) -> set[str]:
    """Names that a hosts file (/etc/hosts) maps to a loopback address: requests naming them stay on this machine
    whatever DNS says, so they are as good as `localhost` (e.g. `localhost.localstack.cloud`, the laptop's name)."""
    names = set()
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) < 2 or not is_loopback_address(fields[0]):
            continue
        try:
            ipaddress.ip_address(fields[0])
        except ValueError:
            continue
        names.update(name.lower().rstrip(".") for name in fields[1:])
    return names
