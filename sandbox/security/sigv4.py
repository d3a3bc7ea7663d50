"""Checks an AWS Signature Version 4 against the instance's key: how remote clients prove themselves.

Only used when the sandbox was started with `--allow-remote`. Such a client signs with the credentials that
`sandbox env --remote` prints (key id derived from the instance token, secret = the token), so the secret never
crosses the network; on loopback the sandbox accepts any credentials, as LocalStack does.

The canonical request follows the SigV4 specification (and botocore's signer, sandbox's own clients): S3 paths
are taken as sent, other services' paths normalised and encoded once more; query pairs as sent and re-encoded
(SDKs differ in which form they sign), so a few canonical forms are tried.
"""

from __future__ import annotations

import hashlib
import hmac
import posixpath
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, unquote

from sandbox.security.policy import Request

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MAX_SKEW = timedelta(minutes=15)
MAX_PRESIGNED_SECONDS = 7 * 24 * 3600  # AWS's limit on X-Amz-Expires
_AUTH = re.compile(r"AWS4-HMAC-SHA256\s+Credential=(?P<cred>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+),\s*"
                   r"Signature=(?P<sig>[0-9a-f]{64})")


def remote_key_id(token: str) -> str:
    """The access key id remote clients sign with: 20 characters, not an AWS or LocalStack key prefix, so
    LocalStack files its requests under the default account 000000000000."""
    return "SBX" + hashlib.sha256(("key-id:" + token).encode()).hexdigest()[:17].upper()


def verify(request: Request, token: str, raw_uri: str, body: Callable[[], bytes],
           now: datetime | None = None) -> bool:
    """True if `request` carries a valid SigV4 signature (header or presigned query) by the instance's key."""
    if not token:
        return False
    now = now or datetime.now(timezone.utc)
    path, _, raw_query = raw_uri.partition("?")
    pairs = [p.partition("=")[::2] for p in raw_query.split("&") if p]
    auth = _AUTH.search(request.header("Authorization") or "")
    if auth:
        credential, signed, signature = auth["cred"], auth["signed"], auth["sig"]
        stamp = request.header("X-Amz-Date") or ""
        presigned = False
    else:
        query = {unquote(k): unquote(v) for k, v in pairs}
        if query.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" or "X-Amz-Signature" not in query:
            return False
        credential, signed, signature = query.get("X-Amz-Credential", ""), query.get("X-Amz-SignedHeaders", ""), \
            query["X-Amz-Signature"]
        stamp = query.get("X-Amz-Date", "")
        pairs = [(k, v) for k, v in pairs if unquote(k) != "X-Amz-Signature"]
        presigned = True
        try:
            expires = int(query.get("X-Amz-Expires", "3600"))
        except ValueError:
            return False
    scope = credential.split("/")
    if len(scope) != 5 or scope[0] != remote_key_id(token) or scope[4] != "aws4_request":
        return False
    _, day, region, service, _ = scope
    try:
        when = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return False
    if not stamp.startswith(day) or abs(now - when) > MAX_SKEW and not presigned:
        return False
    if presigned and not (0 < expires <= MAX_PRESIGNED_SECONDS and when - MAX_SKEW <= now <= when +
                          timedelta(seconds=expires)):
        return False
    names = [n for n in signed.lower().split(";") if n]
    if "host" not in names:
        return False
    header_block = "".join(f"{n}:{_header_values(request, n)}\n" for n in names)
    payload = _payload_hash(request, service, presigned, names, body)
    if payload is None:
        return False
    key = _signing_key(token, day, region, service)
    for canonical_path in _paths(path, service):
        for canonical_query in _queries(pairs):
            canonical = "\n".join([request.method.upper(), canonical_path, canonical_query, header_block,
                                   ";".join(names), payload])
            to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, f"{day}/{region}/{service}/aws4_request",
                                 hashlib.sha256(canonical.encode()).hexdigest()])
            expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
            if hmac.compare_digest(expected, signature):
                return True
    return False


def _payload_hash(request: Request, service: str, presigned: bool, signed: list[str],
                  body: Callable[[], bytes]) -> str | None:
    """The payload hash the signature covers, or None if the body is not the one that was signed.

    The hash is always taken of the body actually received: a sniffed signature stays valid for 15 minutes, and
    trusting a claimed `x-amz-content-sha256` (added unsigned, or naming the sniffed body's hash) would let anyone
    who saw one request send another body under it. Unsigned payloads - presigned URLs, streamed S3 uploads -
    are refused (AWS SDKs sign the payload over plain HTTP), except a presigned S3 URL: whoever holds one may send
    any body, on AWS too."""
    claimed = request.header("X-Amz-Content-Sha256")
    if presigned:
        return "UNSIGNED-PAYLOAD" if service == "s3" else hashlib.sha256(body() or b"").hexdigest()
    actual = hashlib.sha256(body() or b"").hexdigest()
    if claimed is not None and "x-amz-content-sha256" in signed and not hmac.compare_digest(claimed, actual):
        return None  # UNSIGNED-PAYLOAD, STREAMING-..., or the hash of another body
    return actual


def _header_values(request: Request, name: str) -> str:
    value = request.header(name)
    if value is None:
        return ""
    return ",".join(" ".join(part.split()) for part in value.split("\n"))


def _paths(raw_path: str, service: str) -> list[str]:
    raw_path = raw_path or "/"
    if service == "s3":
        return [raw_path, quote(unquote(raw_path), safe="/~")]
    normalised = posixpath.normpath(raw_path) if raw_path not in ("", "/") else "/"
    if raw_path.endswith("/") and normalised != "/":
        normalised += "/"
    return list(dict.fromkeys([quote(normalised, safe="/~"), quote(quote(unquote(normalised), safe="/~"), safe="/~")]))


def _queries(pairs: list[tuple[str, str]]) -> list[str]:
    as_sent = "&".join(f"{k}={v}" for k, v in sorted(pairs))
    encoded = sorted((quote(unquote(k.replace("+", " ")), safe="-_.~"), quote(unquote(v.replace("+", " ")), safe="-_.~"))
                     for k, v in pairs)
    return list(dict.fromkeys([as_sent, "&".join(f"{k}={v}" for k, v in encoded)]))


def _signing_key(secret: str, day: str, region: str, service: str) -> bytes:
    key = hmac.new(f"AWS4{secret}".encode(), day.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key
