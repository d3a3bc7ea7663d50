"""REST API Lambda authorizers' answers as API Gateway reads them (sandbox/rest_authorizers/policy.py)."""

from __future__ import annotations

import pytest

from sandbox.rest_authorizers.policy import Denied, context_values, evaluate

ARN = "arn:aws:execute-api:us-east-1:000000000000:api/prod/GET/items/1"


def answer(effect="Allow", resource="arn:aws:execute-api:us-east-1:000000000000:api/prod/GET/*", context=None):
    return {"principalId": "u1", "context": context,
            "policyDocument": {"Statement": [{"Action": "execute-api:Invoke", "Effect": effect,
                                              "Resource": resource}]}}


def test_the_context_reaches_the_integration_as_strings():
    """API Gateway makes every context value a string ("3", "true"); they kept their JSON types here."""
    assert context_values({"tier": "gold", "n": 3, "ratio": 1.5, "admin": True, "off": False, "gone": None}) == {
        "tier": "gold", "n": "3", "ratio": "1.5", "admin": "true", "off": "false"}
    assert evaluate(answer(context={"n": 3}), ARN) == {"principalId": "u1", "n": "3"}
    assert context_values(None) == {} and context_values("x") == {}


@pytest.mark.parametrize("value", [{"id": 1}, [1, 2]])
def test_an_object_or_array_in_the_context_is_a_configuration_error(value):
    with pytest.raises(ValueError, match="context value 'team' is an object or array"):
        evaluate(answer(context={"team": value}), ARN)


def test_deny_wins_and_a_policy_for_another_resource_denies():
    with pytest.raises(Denied, match="explicit deny"):
        evaluate(answer("Deny"), ARN)
    with pytest.raises(Denied, match="not authorized"):
        evaluate(answer(resource="arn:aws:execute-api:us-east-1:000000000000:api/prod/POST/*"), ARN)
