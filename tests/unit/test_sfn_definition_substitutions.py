"""A state machine's DefinitionSubstitutions (patch sfn_definition_substitutions)."""

import pytest

from sandbox.localstack_ext.patches.sfn_definition_substitutions import UnknownSubstitution, apply_substitutions


def test_every_token_is_replaced_numbers_included():
    assert apply_substitutions('{"R": "${Fn}", "S": "${Fn}-${Size}"}', {"Fn": "arn:f", "Size": 3}) == \
        '{"R": "arn:f", "S": "arn:f-3"}'


def test_an_unknown_token_is_named_with_the_keys_there_are():
    with pytest.raises(UnknownSubstitution) as err:
        apply_substitutions('{"R": "${StockCheckerFunctionArn}", "T": "${Table}"}', {"CheckerArn": "x", "Table": "t"})
    assert "${StockCheckerFunctionArn} (did you mean CheckerArn?)" in str(err.value)
    assert "it has: CheckerArn, Table" in str(err.value) and "${Table}" not in str(err.value)
