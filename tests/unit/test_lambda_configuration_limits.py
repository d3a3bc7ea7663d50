"""lambda_configuration_limits: the ranges AWS's Lambda API enforces, and its wording."""

from __future__ import annotations

import pytest

from sandbox.localstack_ext.patches.lambda_configuration_limits import message, violations


@pytest.mark.parametrize("request_, expected", [
    ({"Timeout": 900, "MemorySize": 10240, "EphemeralStorage": {"Size": 10240}}, []),
    ({"Timeout": 1, "MemorySize": 128, "EphemeralStorage": {"Size": 512}}, []),
    ({}, []),
    ({"Timeout": 901}, ["Value '901' at 'timeout' failed to satisfy constraint: Member must have value less than or "
                        "equal to 900"]),
    ({"Timeout": 0}, ["Value '0' at 'timeout' failed to satisfy constraint: Member must have value greater than or "
                      "equal to 1"]),
    ({"MemorySize": 127}, ["Value '127' at 'memorySize' failed to satisfy constraint: Member must have value "
                           "greater than or equal to 128"]),
    ({"MemorySize": "10241"}, ["Value '10241' at 'memorySize' failed to satisfy constraint: Member must have value "
                               "less than or equal to 10240"]),
    ({"EphemeralStorage": {"Size": 511}}, ["Value '511' at 'ephemeralStorage.size' failed to satisfy constraint: "
                                           "Member must have value greater than or equal to 512"]),
    ({"Timeout": "soon"}, []),  # not a number: LocalStack's own parsing answers
])
def test_violations(request_, expected):
    assert violations(request_) == expected


def test_message_counts_the_errors_as_aws_does():
    errors = violations({"Timeout": 1000, "MemorySize": 64})
    assert message(errors) == ("2 validation errors detected: Value '1000' at 'timeout' failed to satisfy constraint: "
                               "Member must have value less than or equal to 900; Value '64' at 'memorySize' failed "
                               "to satisfy constraint: Member must have value greater than or equal to 128")
    assert message(errors[:1]).startswith("1 validation error detected: ")
