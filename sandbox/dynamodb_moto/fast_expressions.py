"""Cheaper update expressions in moto's DynamoDB: each expression parsed once, each tree walk without rebuilding
its dispatch table per node (same results, same errors).

What an UpdateItem cost in moto (moto-ext 5.1.54, shipped with LocalStack 2026.3.0), with `fast_copy` installed
(cProfile of 2,000 UpdateItems, 2026-12-05): half of moto's time in `UpdateExpressionValidator.validate`, a
quarter parsing the expression - twice per request, once in `DynamoHandler.update_item` (to list the names and
values it uses) and once in `DynamoDBBackend.update_item`. In a media-pipeline drain UpdateItem is a third of
LocalStack's CPU (four per file). Two changes, neither visible to a caller:

* `UpdateExpressionParser.make` keeps the trees of the last 512 expression strings. A tree is never changed by
  its users: the validator deep-copies it before it resolves names and values into it
  (`Validator.__init__`: `self.node_to_validate = deepcopy(expression)`), the request handler only reads it
  (`find_clauses`). An expression that fails to parse is not kept and fails again.
* `DepthFirstTraverser` (the validator's ten passes over the tree) built its `_processing_map()` dict twice for
  every node it visits, although the map is the same for the whole walk (node class -> bound method of the
  traverser, in all ten of moto's traversers). It is now built once per traverser (its methods kept unbound, so
  the traverser is not a reference cycle). A traverser whose class overrides `nodes_to_be_processed` or `process`
  keeps its own.

`SANDBOX_MOTO_FAST_EXPRESSIONS=0` leaves moto as it is (to compare in a benchmark).
"""

from __future__ import annotations

import functools
import os

PARSED_EXPRESSIONS_KEPT = 512


def install() -> None:
    """Patches moto's UpdateExpressionParser.make and DepthFirstTraverser (idempotent)."""
    if os.environ.get("SANDBOX_MOTO_FAST_EXPRESSIONS", "1") == "0":
        return
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    if getattr(UpdateExpressionParser, "_sandbox_cached", False):
        return
    parse = UpdateExpressionParser.make.__func__

    @functools.lru_cache(maxsize=PARSED_EXPRESSIONS_KEPT)
    def parsed(cls, expression_str):
        return parse(cls, expression_str)

    def make(cls, expression_str):
        if type(expression_str) is not str:  # unhashable or odd input: moto's own handling and errors
            return parse(cls, expression_str)
        return parsed(cls, expression_str)

    UpdateExpressionParser.make = classmethod(make)
    UpdateExpressionParser._sandbox_cached = True
    UpdateExpressionParser._sandbox_parsed = parsed  # cache_info() for tests

    def processing_map(self) -> dict:
        """node class -> (function, whether it takes the traverser first). The traverser's own methods are kept
        unbound: bound, they would make each traverser a reference cycle, freed only by the cycle collector."""
        table = self.__dict__.get("_sandbox_processing_map")
        if table is None:
            table = {}
            for kind, processor in self._processing_map().items():
                own = getattr(processor, "__self__", None) is self
                table[kind] = (processor.__func__, True) if own else (processor, False)
            self.__dict__["_sandbox_processing_map"] = table
        return table

    def nodes_to_be_processed(self):
        kinds = self.__dict__.get("_sandbox_node_kinds")
        if kinds is None:
            kinds = self.__dict__["_sandbox_node_kinds"] = tuple(processing_map(self))
        return kinds

    def process(self, node):
        for class_key, (processor, own) in processing_map(self).items():
            if isinstance(node, class_key):
                return processor(self, node) if own else processor(node)

    DepthFirstTraverser.nodes_to_be_processed = nodes_to_be_processed
    DepthFirstTraverser.process = process
