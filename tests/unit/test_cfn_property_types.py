"""Values made to the types a resource's schema wants (patch cfn_property_types), as CloudFormation converts them."""

from sandbox.localstack_ext.patches.cfn_property_types import coerce

SCHEMA = {
    "properties": {
        "Tags": {"type": "array", "items": {"$ref": "#/definitions/Tag"}},
        "MemorySize": {"type": "integer"},
        "Pattern": {"type": ["string", "object"]},
        "Mixed": {"type": ["string", "integer"]},
        "Labels": {"type": "object", "patternProperties": {"^[a-z]+$": {"type": "string"}}},
        "Vars": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "definitions": {"Tag": {"type": "object", "properties": {"Key": {"type": "string"}, "Value": {"type": "string"}}}},
}


def test_numbers_and_booleans_become_text_only_where_the_schema_wants_text():
    props = {"Tags": [{"Key": "threshold", "Value": 100}, {"Key": "on", "Value": True}], "MemorySize": 256,
             "Pattern": 1.5, "Mixed": 7, "Labels": {"team": 3, "X1": 4}, "Vars": {"RATE": 2.0}, "Unknown": 9}
    coerce(props, {"properties": SCHEMA["properties"]}, SCHEMA["definitions"])
    assert props == {"Tags": [{"Key": "threshold", "Value": "100"}, {"Key": "on", "Value": "true"}], "MemorySize": 256,
                     "Pattern": "1.5", "Mixed": 7, "Labels": {"team": "3", "X1": 4}, "Vars": {"RATE": "2"},
                     "Unknown": 9}
