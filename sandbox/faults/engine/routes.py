"""HTTP API of fault injection.

    /_localstack/chaos/faults    GET list | POST replace all | PATCH add | DELETE remove the given rules
    /_localstack/chaos/effects   GET | POST {"latency": ms}
    /_sandbox/chaos/lambda       GET list | POST replace all | PATCH add | DELETE remove the given rules
    /_sandbox/chaos              GET everything with hit counts | DELETE clears everything

Every write answers with the resulting configuration (as GET would); invalid input is a 400 whose `message`
names the rule, the field and what is wrong. The first two have the shape of LocalStack's Chaos API.
"""

from __future__ import annotations

import json
import logging

from localstack.http import Request, Response, route

from sandbox.faults import rules as R
from sandbox.faults.engine.store import STORE

LOG = logging.getLogger(__name__)


def bad_request(message: str) -> Response:
    return Response.for_json({"error": "BadRequest", "message": message}, status=400)


def _body(request: Request, required: bool = True):
    raw = request.get_data()
    if not raw.strip():
        if required:
            raise R.RuleError("the request needs a JSON body")
        return None
    try:
        return json.loads(raw)
    except ValueError as e:
        raise R.RuleError(f"the body is not valid JSON: {e}") from None


class ChaosApi:
    """The LocalStack Chaos API shape, under /_localstack/chaos."""

    @route("/_localstack/chaos/faults", methods=["GET", "POST", "PATCH", "DELETE"])
    def faults(self, request: Request) -> Response:
        if request.method == "GET":
            return Response.for_json(STORE.get_rules())
        try:
            body = _body(request)
            if request.method == "DELETE" and body == []:
                raise R.RuleError("DELETE needs the rules to remove; to remove every rule, POST []")
            parsed = R.parse_service_rules(body)
        except R.RuleError as e:
            return bad_request(str(e))
        if request.method == "POST":
            STORE.replace_rules(parsed)
        elif request.method == "PATCH":
            STORE.add_rules(parsed)
        else:
            STORE.remove_rules(parsed)
        return Response.for_json(STORE.get_rules())

    @route("/_localstack/chaos/effects", methods=["GET", "POST"])
    def effects(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                STORE.set_effects(R.parse_effects(_body(request)))
            except R.RuleError as e:
                return bad_request(str(e))
        return Response.for_json(STORE.get_effects())


class SandboxChaosApi:
    """Lambda-level faults and the whole fault configuration, under /_sandbox/chaos."""

    @route("/_sandbox/chaos/lambda", methods=["GET", "POST", "PATCH", "DELETE"])
    def lambda_faults(self, request: Request) -> Response:
        if request.method == "GET":
            return Response.for_json(STORE.get_lambda_rules())
        try:
            body = _body(request)
            if request.method == "DELETE" and body == []:
                raise R.RuleError("DELETE needs the rules to remove; to remove every rule, POST []")
            parsed = R.parse_lambda_rules(body)
        except R.RuleError as e:
            return bad_request(str(e))
        if request.method == "POST":
            STORE.replace_lambda_rules(parsed)
        elif request.method == "PATCH":
            STORE.add_lambda_rules(parsed)
        else:
            STORE.remove_lambda_rules(parsed)
        return Response.for_json(STORE.get_lambda_rules())

    @route("/_sandbox/chaos", methods=["GET", "DELETE"])
    def everything(self, request: Request) -> Response:
        if request.method == "DELETE":
            STORE.clear()
        return Response.for_json(STORE.status())
