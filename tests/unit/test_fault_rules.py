"""Fault rules (sandbox/faults/rules.py) validated directly: what is accepted, and what each mistake says.

The same rules go through the fault API in tests/live/test_faults.py; here without LocalStack running (the
service catalog is LocalStack's, read from its cache)."""

import pytest

from sandbox.faults import rules as R


def test_service_rules_with_defaults_filled_in():
    rule = R.parse_service_rule({"service": "dynamodb", "operation": "PutItem", "probability": 0.25})
    assert (rule.service, rule.operation, rule.probability, rule.status_code, rule.code) == (
        "dynamodb", "PutItem", 0.25, 503, "ServiceUnavailable")
    assert R.parse_service_rule({"region": "eu-west-1"}).region == "eu-west-1"


@pytest.mark.parametrize("body, fragment", [
    ({"servce": "s3"}, "unknown key 'servce' in a fault rule (did you mean 'service'?)"),
    ({"service": "dynamo"}, "LocalStack's service catalog calls it 'dynamodb'"),
    ({"service": "dynamodb", "operation": "Putitem"}, "did you mean 'PutItem'?"),
    ({"probability": 1.5}, "'probability' must be between 0 and 1, got 1.5"),
    ({"probability": float("nan")}, "'probability' must be a finite number, got nan"),
    ({"error": {"statusCode": 302}}, "an HTTP error status between 400 and 599, got 302"),
    ({"region": "moon"}, "'region': 'moon' is not valid"),
])
def test_service_rule_mistakes_are_explained(body, fragment):
    with pytest.raises(R.RuleError, match=None) as info:
        R.parse_service_rule(body)
    assert fragment in str(info.value), str(info.value)


def test_lambda_rules():
    rule = R.parse_lambda_rule({"function": "orders", "fault": "latency", "latencyMs": 300})
    assert (rule.function, rule.fault, rule.latency_ms) == ("orders", "latency", 300)
    startup = R.parse_lambda_rule({"function": "orders", "fault": "startup-latency", "latencyMs": 5})
    assert startup.matches("orders", "000000000000", "us-east-1", {"$LATEST"}, cold=True)
    assert not startup.matches("orders", "000000000000", "us-east-1", {"$LATEST"}, cold=False)  # warm: untouched
    assert not startup.matches("payments", "000000000000", "us-east-1", {"$LATEST"}, cold=True)
    for body, fragment in (({"fault": "explode"}, "is not a Lambda fault"),
                           ({"fault": "latency"}, "'latencyMs' is required"),
                           ({}, "'fault' is required")):
        with pytest.raises(R.RuleError) as info:
            R.parse_lambda_rule(body)
        assert fragment in str(info.value), str(info.value)


def test_lists_of_rules_say_which_one_is_wrong():
    with pytest.raises(R.RuleError, match="rule 1: 'probability'"):
        R.parse_service_rules([{}, {"probability": -1}])
    with pytest.raises(R.RuleError, match="expected a JSON array"):
        R.parse_service_rules({"service": "s3"})


def test_an_empty_rule_list_is_refused_not_added_silently():
    from sandbox.commands.fault import _parse_rules
    from sandbox.faults import FaultError

    with pytest.raises(FaultError, match="--rule holds no rule"):
        _parse_rules("[]")
    assert _parse_rules('{"service": "sqs"}') == [{"service": "sqs"}]
