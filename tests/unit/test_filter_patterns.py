"""CloudWatch Logs filter patterns (sandbox/localstack_ext/patches/logs_filter_pattern.py), parsed and matched
without the sandbox: the syntax corners the API tests (tests/live/test_patches.py) do not reach."""

import pytest

from sandbox.localstack_ext.patches.logs_filter_pattern import FilterPatternError, compile_pattern


@pytest.mark.parametrize("pattern, message, expected", [
    ("%ERR(OR)?%", "ERR 1", True),
    ("%^\\[WARN\\]%", "[INFO] [WARN]", False),
    ("{ $.items[0].sku = ABC* }", '{"items": [{"sku": "ABC-1"}]}', True),
    ("{ $.items[*].sku = XYZ }", '{"items": [{"sku": "ABC"}, {"sku": "XYZ"}]}', True),
    ('{ $.tags = "prod" }', '{"tags": ["dev", "prod"]}', True),
    ("{ $.n IS NULL }", '{"n": null}', True),
    ("{ $.ok IS FALSE }", '{"ok": true}', False),
    ("{ $.latency != 100 }", '{"latency": 100.0}', False),
    ("{ $.level = %^ERR% }", '{"level": "ERROR"}', True),
    ('{ $.level = "ERROR" }', "level ERROR but not json", False),
    ("[ip, user, ..., status = 4*, bytes > 1000]", '1.2.3.4 - [10/Oct/2000:13:25:15 -0700] "GET /x HTTP/1.0" 404 2326',
     True),
    ("[ip, user, ..., status = 4*, bytes > 3000]", '1.2.3.4 - [10/Oct/2000:13:25:15 -0700] "GET /x HTTP/1.0" 404 2326',
     False),
    ("[a, b]", "one two three", False),
    ("[a, b = 2 || b = 3]", "x 3", True),
])
def test_pattern_matcher_syntax(pattern, message, expected):
    assert compile_pattern(pattern)(message) is expected


@pytest.mark.parametrize("pattern", ['{ $.a > "x" }', "{ $.a = }", "{ a = 1 }", '"unterminated', "{ $.a = 1",
                                     "[a, , b]", "{ $.a = %(% }"])
def test_pattern_matcher_rejects_invalid_syntax(pattern):
    with pytest.raises(FilterPatternError):
        compile_pattern(pattern)
