"""sandbox/dynamodb_moto/fast_copy.py: its deep copies equal copy.deepcopy's, share nothing mutable, and moto's
UpdateItem still works through them (in-process moto backend, the same code LocalStack runs)."""

from __future__ import annotations

import copy

import pytest
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.parsing.ast_nodes import Node
from moto.dynamodb.parsing.expressions import UpdateExpressionParser

from sandbox.dynamodb_moto import fast_copy

fast_copy.install()

ATTRS = {
    "pk": {"S": "job-1"},
    "n": {"N": "41"},
    "b": {"B": b"\x00\x01"},
    "flag": {"BOOL": True},
    "nothing": {"NULL": True},
    "tags": {"SS": ["a", "b"]},
    "sizes": {"NS": ["1", "2"]},
    "history": {"L": [{"S": "queued"}, {"M": {"at": {"N": "1"}, "by": {"L": [{"S": "x"}]}}}]},
    "meta": {"M": {"owner": {"S": "ana"}, "limits": {"M": {"mb": {"N": "5"}}}}},
}


def test_an_item_copy_equals_the_original_and_shares_nothing_mutable():
    item = Item(DynamoType({"S": "job-1"}), None, ATTRS)
    assert Item.__deepcopy__.__module__ == fast_copy.__name__
    clone = copy.deepcopy(item)
    assert clone == item and clone.to_json() == item.to_json()
    assert type(clone.attrs) is type(item.attrs)
    clone.attrs["history"].value[1].value["by"].value.append(DynamoType({"S": "y"}))
    clone.attrs["tags"].value.append("c")
    clone.attrs["meta"].value["limits"].value["mb"] = DynamoType({"N": "9"})
    clone.hash_key.value = "other"
    assert item.to_json()["Attributes"] == ATTRS
    assert item.hash_key.value == "job-1"


def test_shared_values_stay_shared_in_the_copy_as_with_copy_deepcopy():
    shared = DynamoType({"L": [{"S": "x"}]})
    item = Item(DynamoType({"S": "k"}), None, {})
    dict.update(item.attrs, {"a": shared, "b": shared})
    clone = copy.deepcopy(item)
    assert clone.attrs["a"] is clone.attrs["b"] and clone.attrs["a"] is not shared


def _shape(node):
    if isinstance(node, Node):
        return (type(node).__name__, {k: _shape(v) for k, v in vars(node).items() if k != "parent"})
    if isinstance(node, list):
        return [_shape(v) for v in node]
    return node


def _nodes(node):
    yield node
    for child in node.children or []:
        if isinstance(child, Node):
            yield from _nodes(child)


@pytest.mark.parametrize("expression", [
    "SET #s = :done, finished_at = :t, attempts = if_not_exists(attempts, :zero) + :one",
    "SET history = list_append(history, :h) REMOVE meta.owner, tags[1] ADD sizes :more DELETE tags :gone",
    "SET meta.limits.mb = meta.limits.mb - :one, a[2].b = :v",
])
def test_an_expression_tree_copy_has_the_same_shape_and_its_own_parents(expression):
    tree = UpdateExpressionParser.make(expression)
    clone = copy.deepcopy(tree)
    assert _shape(clone) == _shape(tree)
    originals = {id(n) for n in _nodes(tree)}
    for node in _nodes(clone):
        assert id(node) not in originals
        for child in node.children or []:
            if isinstance(child, Node):
                assert child.parent is node


def test_update_item_through_the_copies_updates_the_item_and_leaves_the_old_image_alone():
    backend = DynamoDBBackend("us-east-1", "123456789012")
    backend.create_table("jobs", schema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         attr=[{"AttributeName": "pk", "AttributeType": "S"}], throughput=None,
                         billing_mode="PAY_PER_REQUEST", indexes=None, global_indexes=None,
                         streams={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
                         sse_specification=None, tags=None, deletion_protection_enabled=False,
                         warm_throughput=None)
    backend.put_item("jobs", ATTRS)
    item = backend.update_item(
        "jobs", {"pk": {"S": "job-1"}},
        "SET #s = :done, n = n + :one, history = list_append(history, :h), meta.limits.mb = :mb "
        "REMOVE flag ADD tags :more",
        {"#s": "status"},
        {":done": {"S": "DONE"}, ":one": {"N": "1"}, ":h": {"L": [{"S": "done"}]}, ":mb": {"N": "6"},
         ":more": {"SS": ["c"]}, ":n41": {"N": "41"}},
        condition_expression="attribute_exists(pk) AND n = :n41",
    )
    got = item.to_json()["Attributes"]
    assert got["status"] == {"S": "DONE"} and got["n"] == {"N": "42"} and "flag" not in got
    assert got["history"]["L"][-1] == {"S": "done"} and len(got["history"]["L"]) == 3
    assert got["meta"]["M"]["limits"] == {"M": {"mb": {"N": "6"}}}
    assert sorted(got["tags"]["SS"]) == ["a", "b", "c"]
    # the old image the stream recorded is the item before the update, untouched by it
    records = backend.get_table("jobs").stream_shard.items
    old = records[-1].record["dynamodb"]["OldImage"]
    assert old["n"] == {"N": "41"} and old["flag"] == {"BOOL": True} and len(old["history"]["L"]) == 2
