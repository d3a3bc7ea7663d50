"""Who may call a route: CORS (the API answers preflights itself) and JWT authorizers.

AWS_IAM routes: the request must be SigV4-signed (an `Authorization: AWS4-HMAC-SHA256 Credential=...` header or a
presigned query); as everywhere in LocalStack, the signature itself is not verified.

JWT offline: the sandbox cannot fetch the issuer's JWKS (no network), so a token's signature is NOT verified. What
is checked, as API Gateway does: the token is a well-formed JWT, `iss` equals the authorizer's issuer, `aud` (or
`client_id`) is one of its audiences, `exp`/`nbf` hold, and the route's authorization scopes are in `scope`/`scp`.
"""

from __future__ import annotations

import base64
import json
import time


def cors_preflight(cors: dict, origin: str | None, method: str | None, headers: str | None) -> list[tuple[str, str]]:
    """The headers of API Gateway's automatic answer to an OPTIONS preflight (empty: origin not allowed)."""
    allowed = cors_origin(cors, origin)
    if not allowed:
        return []
    out = [("access-control-allow-origin", allowed)]
    methods = [m.upper() for m in cors.get("AllowMethods") or []]
    if method and (not methods or "*" in methods or method.upper() in methods):
        out.append(("access-control-allow-methods", ",".join(methods) if methods and "*" not in methods else method))
    wanted = [h.strip().lower() for h in (headers or "").split(",") if h.strip()]
    allow_headers = [h.lower() for h in cors.get("AllowHeaders") or []]
    if wanted:
        granted = wanted if "*" in allow_headers else [h for h in wanted if h in allow_headers]
        if granted:
            out.append(("access-control-allow-headers", ",".join(granted)))
    if cors.get("MaxAge") is not None:
        out.append(("access-control-max-age", str(cors["MaxAge"])))
    if cors.get("AllowCredentials"):
        out.append(("access-control-allow-credentials", "true"))
    return out


def cors_origin(cors: dict, origin: str | None) -> str | None:
    if not origin:
        return None
    origins = cors.get("AllowOrigins") or []
    if "*" in origins:
        return "*" if not cors.get("AllowCredentials") else origin
    return origin if origin in origins else None


def cors_response_headers(cors: dict, origin: str | None) -> list[tuple[str, str]]:
    allowed = cors_origin(cors, origin)
    if not allowed:
        return []
    out = [("access-control-allow-origin", allowed)]
    if cors.get("ExposeHeaders"):
        out.append(("access-control-expose-headers", ",".join(cors["ExposeHeaders"])))
    if cors.get("AllowCredentials"):
        out.append(("access-control-allow-credentials", "true"))
    return out


class Unauthorized(Exception):
    """401: the request carries no usable identity."""


class Forbidden(Exception):
    """403: the identity is not allowed on this route."""


def _b64json(part: str) -> dict:
    padded = part + "=" * (-len(part) % 4)
    value = json.loads(base64.urlsafe_b64decode(padded))
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def check_jwt(token: str | None, issuer: str | None, audiences: list[str], scopes: list[str],
              now: float | None = None) -> dict:
    """The token's claims and scopes as API Gateway passes them (`requestContext.authorizer.jwt`)."""
    if not token:
        raise Unauthorized("no token in the identity source")
    token = token.strip()
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    parts = token.split(".")
    if len(parts) != 3:
        raise Unauthorized("the token is not a JWT (header.payload.signature)")
    try:
        _b64json(parts[0])
        claims = _b64json(parts[1])
    except (ValueError, UnicodeDecodeError) as e:
        raise Unauthorized(f"the token cannot be decoded: {e}") from None
    now = time.time() if now is None else now
    if issuer and claims.get("iss") != issuer:
        raise Unauthorized(f"the token's issuer {claims.get('iss')!r} is not {issuer!r}")
    aud = claims.get("aud", claims.get("client_id"))
    aud = aud if isinstance(aud, list) else [aud]
    if audiences and not set(map(str, aud)) & set(audiences):
        raise Unauthorized(f"the token's audience {aud} is none of {audiences}")
    if "exp" in claims and float(claims["exp"]) <= now:
        raise Unauthorized("the token has expired")
    if "nbf" in claims and float(claims["nbf"]) > now:
        raise Unauthorized("the token is not valid yet (nbf)")
    granted = str(claims.get("scope") or claims.get("scp") or "").replace(",", " ").split()
    if scopes and not set(scopes) & set(granted):
        raise Forbidden(f"the token has none of the route's scopes {scopes}")
    return {"claims": {k: (v if isinstance(v, str) else json.dumps(v) if isinstance(v, (list, dict)) else str(v))
                       for k, v in claims.items()}, "scopes": granted or None}


def check_sigv4(authorization: str | None, query: dict[str, str], account: str) -> dict:
    """`requestContext.authorizer.iam` of a SigV4-signed request; Forbidden when it is not signed."""
    credential = ""
    if authorization and authorization.startswith("AWS4-HMAC-SHA256 "):
        for part in authorization[len("AWS4-HMAC-SHA256 "):].split(","):
            key, _, value = part.strip().partition("=")
            if key == "Credential":
                credential = value
    elif query.get("X-Amz-Algorithm") == "AWS4-HMAC-SHA256":
        credential = query.get("X-Amz-Credential", "")
    if not credential or credential.count("/") < 4:
        raise Forbidden("the route needs AWS_IAM authorization: sign the request with SigV4")
    access_key = credential.split("/", 1)[0]
    return {"accessKey": access_key, "accountId": account, "callerId": access_key,
            "principalOrgId": None, "userArn": f"arn:aws:iam::{account}:user/sandbox", "userId": access_key}
