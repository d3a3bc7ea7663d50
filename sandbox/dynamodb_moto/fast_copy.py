"""Cheaper deep copies of moto's DynamoDB items and expression trees (same result as `copy.deepcopy`).

moto (moto-ext 5.1.54, shipped with LocalStack 2026.3.0) deep-copies on every UpdateItem: the item before the
update (`DynamoDBBackend.update_item`: `orig_item = copy.deepcopy(item)`, for the stream's old image) and the
parsed update expression (`moto.dynamodb.parsing.validators.Validator.__init__`: `deepcopy(expression)`), and
every Query/Scan result. `copy.deepcopy` goes through `__reduce_ex__` and `copy._reconstruct` for each
`DynamoType`, `Item` and AST node: py-spy of a media-pipeline drain put 18 % of LocalStack's GIL time in
`deepcopy` (2026-12-05). The methods installed here build the same objects directly:

* `DynamoType`: type and value; strings, numbers (kept as strings), bytes and booleans are immutable and shared,
  lists (L, SS, NS, BS) and maps (M) are copied element by element.
* `Item`: its keys and attributes copied as above, into a new `LimitedSizeDict` filled without re-checking the
  400 KB limit per attribute (the original was within it).
* AST nodes (`moto.dynamodb.parsing.ast_nodes.Node`): their attributes copied as `copy.deepcopy` would, with
  the memo (a node's `parent` refers back up the tree), minus the reduce protocol.

`SANDBOX_MOTO_FAST_COPY=0` leaves moto's deep copies as they are (to compare in a benchmark).
"""

from __future__ import annotations

import copy
import os

_IMMUTABLE = (str, int, float, bool, bytes, type(None))


def install() -> None:
    """Adds `__deepcopy__` to moto's DynamoType, Item and AST nodes (idempotent)."""
    if os.environ.get("SANDBOX_MOTO_FAST_COPY", "1") == "0":
        return
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
    from moto.dynamodb.parsing.ast_nodes import Node

    if getattr(DynamoType, "_sandbox_fast_copy", False):
        return

    def copy_value(value, memo):
        if type(value) in _IMMUTABLE:
            return value
        if type(value) is DynamoType:
            return copy_dynamo_type(value, memo)
        return copy.deepcopy(value, memo)

    def copy_dynamo_type(self, memo):
        existing = memo.get(id(self))
        if existing is not None:
            return existing
        new = memo[id(self)] = type(self).__new__(type(self))
        new.__dict__.update(self.__dict__)
        value = self.value
        if type(value) is list:
            new.value = [copy_value(v, memo) for v in value]
        elif type(value) is dict:
            new.value = {k: copy_value(v, memo) for k, v in value.items()}
        elif type(value) not in _IMMUTABLE:
            new.value = copy.deepcopy(value, memo)
        return new

    def copy_item(self, memo):
        existing = memo.get(id(self))
        if existing is not None:
            return existing
        new = memo[id(self)] = type(self).__new__(type(self))
        for name, value in self.__dict__.items():
            if name == "attrs" and type(value) is LimitedSizeDict:
                attrs = LimitedSizeDict()
                dict.update(attrs, {k: copy_value(v, memo) for k, v in value.items()})
                new.__dict__[name] = attrs
            else:
                new.__dict__[name] = copy_value(value, memo)
        return new

    def copy_node(self, memo):
        existing = memo.get(id(self))
        if existing is not None:
            return existing
        new = memo[id(self)] = type(self).__new__(type(self))
        attrs = new.__dict__
        for name, value in self.__dict__.items():
            if type(value) is list:  # children
                attrs[name] = [copy_tree_value(v, memo) for v in value]
            else:
                attrs[name] = copy_tree_value(value, memo)
        return new

    node_types: set[type] = set()  # isinstance() through Node's ABCMeta is slow; the node classes are few

    def copy_tree_value(value, memo):
        kind = type(value)
        if kind in _IMMUTABLE:
            return value
        if kind in node_types or (isinstance(value, Node) and not node_types.add(kind)):
            return copy_node(value, memo)
        return copy_value(value, memo)

    DynamoType.__deepcopy__ = copy_dynamo_type
    Item.__deepcopy__ = copy_item
    Node.__deepcopy__ = copy_node
    DynamoType._sandbox_fast_copy = True
