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


def _index(name, key="id", throughput=None):
    return {"IndexName": name, "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"}, **({"ProvisionedThroughput": throughput} if throughput else {})}


def test_a_tables_index_updates_are_refused_as_cloudformation_refuses_them():
    import pytest

    from sandbox.localstack_ext.patches.cfn_updates_in_place import _index_updates

    assert _index_updates([_index("a")], [_index("a"), _index("b")], provisioned=False) == [
        {"Create": {k: v for k, v in _index("b").items()}}]
    assert _index_updates([_index("a"), _index("b")], [_index("a")], provisioned=False) == [
        {"Delete": {"IndexName": "b"}}]
    one, two = {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}, {"ReadCapacityUnits": 2, "WriteCapacityUnits": 1}
    assert _index_updates([_index("a", throughput=one)], [_index("a", throughput=two)], provisioned=True) == [
        {"Update": {"IndexName": "a", "ProvisionedThroughput": two}}]  # not removed and added again
    for before, after, said in (([_index("a")], [_index("b")], "more than one GSI creation or deletion"),
                                ([], [_index("a"), _index("b")], "more than one GSI creation or deletion"),
                                ([_index("a")], [_index("a", key="sku")], "other than Provisioned Throughput")):
        with pytest.raises(ValueError, match=said):
            _index_updates(before, after, provisioned=False)


def test_a_table_is_compared_as_its_template_says_it():
    """LocalStack's create stores capacities as ints, SSESpecification's SSEEnabled as Enabled, and drops an index's
    ContributorInsightsSpecification: compared raw, every later update 'changed' them (and failed on "5")."""
    from sandbox.localstack_ext.patches.cfn_updates_in_place import _table_as_compared

    template = {"ProvisionedThroughput": {"ReadCapacityUnits": "5", "WriteCapacityUnits": "5"},
                "SSESpecification": {"SSEEnabled": True},
                "GlobalSecondaryIndexes": [{**_index("a", throughput={"ReadCapacityUnits": "1",
                                                                      "WriteCapacityUnits": "1"}),
                                            "ContributorInsightsSpecification": {"Enabled": True}}]}
    stored = {"ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
              "SSESpecification": {"Enabled": True},
              "GlobalSecondaryIndexes": [_index("a", throughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1})]}
    assert _table_as_compared(template) == _table_as_compared(stored)


def test_an_inline_policy_is_written_as_localstacks_create_writes_it():
    import json

    from sandbox.localstack_ext.patches.cfn_updates_in_place import _policy_document

    written = json.loads(_policy_document({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                          "Resource": ["arn:aws:s3:::b/*", ""]}]}))
    assert written == {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                               "Resource": ["arn:aws:s3:::b/*"]}]}
    assert _policy_document('{"Version": "2012-10-17"}') == '{"Version": "2012-10-17"}'
