"""REST API methods whose OpenAPI security is AWS_IAM were imported as `authorizationType: NONE` (open to anyone).

localstack/services/apigateway/helpers.py `import_api_from_openapi_spec` turns only security schemes with an
`x-amazon-apigateway-authorizer` into authorizers; SAM's `Auth: Authorizer: AWS_IAM` (and
`DefaultAuthorizer: AWS_IAM`) writes a scheme with `x-amazon-apigateway-authtype: awsSigv4` and no authorizer
object, so the method got no authorization at all. Workaround: such schemes are imported as an AWS_IAM
"authorizer" (which the importer maps to `authorizationType: AWS_IAM`), and that placeholder authorizer is then
removed again (AWS lists none). The sandbox's REST authorization step (sandbox/rest_authorizers) then requires a
signed request.
"""

from __future__ import annotations

import copy

TARGET = "localstack.services.apigateway.legacy.provider"


def _iam_schemes(spec: dict) -> list[dict]:
    schemes = dict(spec.get("securityDefinitions") or {})
    schemes.update((spec.get("components") or {}).get("securitySchemes") or {})
    return [s for s in schemes.values() if isinstance(s, dict) and "x-amazon-apigateway-authorizer" not in s
            and str(s.get("x-amazon-apigateway-authtype", "")).lower() == "awssigv4"]


def apply() -> None:
    from localstack.services.apigateway import helpers
    from localstack.services.apigateway.legacy import provider

    original = provider.import_api_from_openapi_spec

    def import_api_from_openapi_spec(rest_api, context, open_api_spec, mode):
        if not isinstance(open_api_spec, dict) or not _iam_schemes(open_api_spec):
            return original(rest_api, context, open_api_spec, mode)
        spec = copy.deepcopy(open_api_spec)
        for scheme in _iam_schemes(spec):
            scheme["x-amazon-apigateway-authorizer"] = {"type": "aws_iam"}
        rest_api, warnings = original(rest_api, context, spec, mode)
        container = helpers.get_apigateway_store(context=context).rest_apis.get(rest_api.id)
        if container is not None:
            placeholders = {k for k, a in container.authorizers.items() if a.get("type") == "AWS_IAM"}
            for key in placeholders:
                container.authorizers.pop(key, None)
            for resource in rest_api.resources.values():
                for method in (resource.resource_methods or {}).values():
                    if getattr(method, "authorizer_id", None) in placeholders:
                        method.authorizer_id = None
        return rest_api, warnings

    provider.import_api_from_openapi_spec = import_api_from_openapi_spec
