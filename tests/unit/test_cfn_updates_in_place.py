"""Which properties an update changed, as the not-applied report names them (patch cfn_updates_in_place)."""

from sandbox.localstack_ext.patches.cfn_updates_in_place import changed_properties


def test_a_changed_added_or_removed_property_is_named():
    previous = {"BillingMode": "PAY_PER_REQUEST", "StreamSpecification": {"StreamViewType": "NEW_IMAGE"}, "A": 1}
    desired = {"BillingMode": "PROVISIONED", "TimeToLiveSpecification": {"Enabled": True}, "A": 1}
    assert changed_properties(desired, previous, frozenset()) == \
        ["BillingMode", "StreamSpecification", "TimeToLiveSpecification"]


def test_what_the_create_set_is_not_a_change():
    """Read-only attributes (Arn) and a create-only name the template leaves out (generated) are the previous
    state's, never the template's; a create-only name the template changes is named."""
    previous = {"Arn": "arn:aws:dynamodb:...", "TableName": "stack-Table-1A2B", "KeySchema": []}
    assert changed_properties({"KeySchema": []}, previous, frozenset({"Arn"}), frozenset({"TableName"})) == []
    assert changed_properties({"KeySchema": [], "TableName": "orders"}, previous, frozenset({"Arn"}),
                              frozenset({"TableName"})) == ["TableName"]
