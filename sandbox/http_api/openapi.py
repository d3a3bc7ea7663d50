"""An HTTP API's OpenAPI definition (ImportApi, `Body` of AWS::ApiGatewayV2::Api, what SAM generates) read into
the routes, integrations, authorizers and CORS configuration API Gateway would create from it.

moto's own import (moto/apigatewayv2/models.py `Api.import_api`) keeps only a route and an integration URI per
operation; SAM's output also relies on `x-amazon-apigateway-any-method`, `$default`, `payloadFormatVersion`,
`security` with `x-amazon-apigateway-authorizer` schemes, first-class integrations (`integrationSubtype`,
`requestParameters`, `credentials`) and `x-amazon-apigateway-cors`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import yaml

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
ANY_METHOD = "x-amazon-apigateway-any-method"


class DefinitionError(ValueError):
    """The definition cannot be imported; the message says where and why."""


@dataclass
class Authorizer:
    name: str
    type: str  # "REQUEST" | "JWT"
    uri: str | None = None
    identity_source: list[str] = field(default_factory=list)
    payload_format_version: str | None = None
    simple_responses: bool = False
    jwt: dict | None = None  # {"Issuer": ..., "Audience": [...]}
    ttl: int = 0
    credentials: str | None = None


@dataclass
class Integration:
    type: str  # AWS_PROXY | HTTP_PROXY | MOCK ...
    uri: str | None
    method: str | None = None
    payload_format_version: str | None = None
    subtype: str | None = None
    request_parameters: dict[str, str] | None = None
    credentials: str | None = None
    timeout_ms: int | None = None


@dataclass
class Route:
    key: str
    integration: Integration | None
    authorizer: str | None = None  # name of an Authorizer
    scopes: list[str] = field(default_factory=list)
    iam: bool = False  # AWS_IAM: callers sign their requests (SAM's EnableIamAuthorizer)


@dataclass
class Definition:
    title: str | None
    version: str | None
    description: str | None
    cors: dict | None
    authorizers: dict[str, Authorizer]
    routes: list[Route]


def load(body: str | dict) -> dict:
    if isinstance(body, dict):
        return body
    try:
        doc = json.loads(body)
    except ValueError:
        try:
            doc = yaml.safe_load(body)
        except yaml.YAMLError as e:
            raise DefinitionError(f"the definition is neither JSON nor YAML: {e}") from None
    if not isinstance(doc, dict):
        raise DefinitionError("the definition must be an OpenAPI document (a mapping with 'openapi' and 'paths')")
    return doc


def _resolve(doc: dict, node):
    """Follows a local `$ref` (e.g. to components/x-amazon-apigateway-integrations/<name>)."""
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise DefinitionError(f"only local references are supported, not {ref!r}")
        target = doc
        for part in ref[2:].split("/"):
            target = target.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(target, dict) else None
        if target is None:
            raise DefinitionError(f"reference {ref!r} points to nothing")
        node = target
    return node


def _camel_cors(cors: dict | None) -> dict | None:
    if not cors:
        return None
    names = {"alloworigins": "AllowOrigins", "allowmethods": "AllowMethods", "allowheaders": "AllowHeaders",
             "exposeheaders": "ExposeHeaders", "maxage": "MaxAge", "allowcredentials": "AllowCredentials"}
    return {names.get(k.lower(), k): v for k, v in cors.items()}


def _authorizer(name: str, scheme: dict) -> Authorizer:
    spec = scheme.get("x-amazon-apigateway-authorizer") or {}
    kind = str(spec.get("type", "")).lower()
    identity = spec.get("identitySource")
    identity = [identity] if isinstance(identity, str) else list(identity or [])
    identity = [s.strip() for item in identity for s in str(item).split(",") if s.strip()]
    if kind == "jwt":
        jwt = spec.get("jwtConfiguration") or {}
        audience = jwt.get("audience") or []
        return Authorizer(name, "JWT", identity_source=identity or ["$request.header.Authorization"],
                          jwt={"Issuer": jwt.get("issuer"), "Audience": [audience] if isinstance(audience, str)
                               else list(audience)})
    if kind == "request":
        return Authorizer(name, "REQUEST", uri=spec.get("authorizerUri"), identity_source=identity,
                          payload_format_version=str(spec.get("authorizerPayloadFormatVersion") or "2.0"),
                          simple_responses=bool(spec.get("enableSimpleResponses")),
                          ttl=int(spec.get("authorizerResultTtlInSeconds") or 0),
                          credentials=spec.get("authorizerCredentials"))
    raise DefinitionError(f"authorizer {name!r}: type {spec.get('type')!r} is not supported by HTTP APIs "
                          "(use 'request' for a Lambda authorizer or 'jwt')")


def _integration(doc: dict, where: str, spec: dict) -> Integration:
    spec = _resolve(doc, spec)
    kind = str(spec.get("type", "")).upper()
    if not kind:
        raise DefinitionError(f"{where}: x-amazon-apigateway-integration has no 'type'")
    return Integration(
        type=kind, uri=spec.get("uri"), method=spec.get("httpMethod"),
        payload_format_version=str(spec["payloadFormatVersion"]) if spec.get("payloadFormatVersion") else None,
        subtype=spec.get("integrationSubtype"), request_parameters=spec.get("requestParameters"),
        credentials=spec.get("credentials"),
        timeout_ms=int(spec["timeoutInMillis"]) if spec.get("timeoutInMillis") else None)


def parse(body: str | dict) -> Definition:
    doc = load(body)
    schemes = ((doc.get("components") or {}).get("securitySchemes") or {})
    authorizers = {name: _authorizer(name, scheme) for name, scheme in schemes.items()
                   if isinstance(scheme, dict) and "x-amazon-apigateway-authorizer" in scheme}
    default_security = doc.get("security") or []
    routes: list[Route] = []
    for path, operations in (doc.get("paths") or {}).items():
        operations = _resolve(doc, operations) or {}
        for method, operation in operations.items():
            if method not in HTTP_METHODS and method != ANY_METHOD:
                continue
            operation = operation or {}
            if path == "$default" or operation.get("isDefaultRoute"):
                key = "$default"
            else:
                key = f"{'ANY' if method == ANY_METHOD else method.upper()} {path}"
            spec = operation.get("x-amazon-apigateway-integration")
            integration = _integration(doc, key, spec) if spec else None
            authorizer, scopes, iam = None, [], False
            for requirement in operation.get("security", default_security) or []:
                for name, wanted in (requirement or {}).items():
                    if name in authorizers:
                        authorizer, scopes = name, list(wanted or [])
                    elif name == "NONE":  # SAM's `Auth: Authorizer: NONE`: a public route
                        continue
                    elif str((schemes.get(name) or {}).get("x-amazon-apigateway-authtype", "")).lower() == \
                            "awssigv4" or name == "AWS_IAM":
                        iam = True
                    elif name not in schemes:
                        raise DefinitionError(f"route {key!r} requires security scheme {name!r}, which "
                                              "components.securitySchemes does not define")
            routes.append(Route(key, integration, authorizer, scopes, iam))
    info = doc.get("info") or {}
    return Definition(title=info.get("title"), version=str(info["version"]) if "version" in info else None,
                      description=info.get("description"), cors=_camel_cors(doc.get("x-amazon-apigateway-cors")),
                      authorizers=authorizers, routes=routes)
