"""Entry point of every function of the shop: routes API Gateway proxy events to the features in this package.

The router imports every module in `features/` at init, as a web framework imports all of its route modules at
start-up. The monolith's package has all three features (and all of their dependencies); each function of the
split layout has one. So the same code is a monolith or a set of small functions depending only on packaging.
"""

import importlib
import json
import pkgutil

import features

ROUTES = {}
for _info in pkgutil.iter_modules(features.__path__):
    ROUTES.update(importlib.import_module(f"features.{_info.name}").ROUTES)


def handler(event, context):
    route = ROUTES.get((event.get("httpMethod"), event.get("resource")))
    if route is None:
        return {"statusCode": 404, "body": json.dumps({"message": "no such route in this function"})}
    body = json.loads(event.get("body") or "{}")
    status, result = route(event.get("pathParameters") or {}, body)
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(result)}
