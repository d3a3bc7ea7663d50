"""Cheaper update expressions in moto's DynamoDB: each expression parsed once, each tree walk deciding by node type
without rebuilding its dispatch table per node (same results, same errors).

What an UpdateItem cost in moto (moto-ext 5.1.54, shipped with LocalStack 2026.3.0), with `fast_copy` installed
(cProfile of 2,000 UpdateItems, 2026-12-05): half of moto's time in `UpdateExpressionValidator.validate`, a
quarter parsing the expression - twice per request, once in `DynamoHandler.update_item` (to list the names and
values it uses) and once in `DynamoDBBackend.update_item`. In a media-pipeline drain UpdateItem is a third of
LocalStack's CPU (four per file). Three changes, none visible to a caller:

* `UpdateExpressionParser.make` keeps the trees of the last 512 expression strings. A tree is never changed by
  its users: the validator deep-copies it before it resolves names and values into it
  (`Validator.__init__`: `self.node_to_validate = deepcopy(expression)`), the request handler only reads it
  (`find_clauses`). An expression that fails to parse is not kept and fails again.
* `DepthFirstTraverser` (the validator's ten passes over the tree) built its `_processing_map()` dict twice for
  every node it visits, although the map is the same for the whole walk (node class -> bound method of the
  traverser, in all ten of moto's traversers). It is now built once per traverser (its methods kept unbound, so
  the traverser is not a reference cycle). A traverser whose class overrides `nodes_to_be_processed` or `process`
  keeps its own.

* The walk itself (`DepthFirstTraverser.traverse_node_recursively`) and `Node.find_clauses` asked `isinstance`
  about every node against moto's node classes, which are ABCs: each such check is a Python-level
  `ABCMeta.__instancecheck__`, about 1,000 per UpdateItem (cProfile, 2026-12-06). What a node's class is to a
  walk (not a node, a node left alone, or the first class of the processing map it belongs to) is now looked up
  by the node's type, in a table shared by the traversers of the same map; -150 µs per UpdateItem (~850 µs).
  A traverser whose class or instance has its own `process` or `nodes_to_be_processed` keeps moto's walk. Not
  seen, unlike moto: a class registered with an ABC (`ABC.register`) after a node of its type was walked, and
  a node whose `__class__` is not its type (mocks, proxies); moto's trees have neither.

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
    _install_typed_walks(DepthFirstTraverser, processing_map)


NOT_A_NODE, LEFT_ALONE = -2, -1
MOTO_WALK = ("moto's own walk",)
# processing map's classes (in order) -> {node type -> NOT_A_NODE, LEFT_ALONE or the index of its first class}
_KINDS_BY_MAP: dict[tuple, dict[type, int]] = {}


def _install_typed_walks(traverser_class, processing_map) -> None:
    """moto's walk and clause search, deciding what to do with a node by its type (see the module docstring)."""
    from moto.dynamodb.parsing.ast_nodes import Expression, Node, UpdateExpressionFunction

    moto_walk = traverser_class.traverse_node_recursively
    own_process, own_kinds = traverser_class.process, traverser_class.nodes_to_be_processed

    def walk_plan(self):
        """(kinds table, processors, classes) of this traverser, or MOTO_WALK when its class decides per node."""
        plan = MOTO_WALK
        own = vars(self)
        if (type(self).process is own_process and type(self).nodes_to_be_processed is own_kinds
                and "process" not in own and "nodes_to_be_processed" not in own):
            table = processing_map(self)
            classes = tuple(table)
            plan = (_KINDS_BY_MAP.setdefault(classes, {}), tuple(table.values()), classes)
        self.__dict__["_sandbox_walk_plan"] = plan
        return plan

    def traverse_node_recursively(self, node, child_id=-1):
        plan = self.__dict__.get("_sandbox_walk_plan") or walk_plan(self)
        if plan is MOTO_WALK:
            return moto_walk(self, node, child_id)
        kinds, processors, classes = plan
        kind = kinds.get(type(node))
        if kind is None:
            kind = kinds[type(node)] = _kind(type(node), classes, Node)
        if kind == NOT_A_NODE:
            return node
        parent_node = node.parent
        if node.children is not None:
            for i, child_node in enumerate(node.children):
                self.pre_processing_of_child(node, i)
                self.traverse_node_recursively(child_node, i)
        if kind != LEFT_ALONE:
            processor, own = processors[kind]
            node = processor(self, node) if own else processor(node)
            node.parent = parent_node
            if parent_node:
                parent_node.children[child_id] = node
        return node

    searched: dict[type, bool] = {}  # node type -> whether find_clauses looks into its children
    nested = (Expression, UpdateExpressionFunction)

    def find_clauses(self, clause_types):
        clauses = []
        for child in self.children or []:
            kind = type(child)
            if kind in clause_types:
                clauses.append(child)
                continue
            inside = searched.get(kind)
            if inside is None:
                inside = searched[kind] = issubclass(kind, nested)
            if inside:
                clauses.extend(child.find_clauses(clause_types))
        return clauses

    traverser_class.traverse_node_recursively = traverse_node_recursively
    Node.find_clauses = find_clauses


def _kind(node_type: type, classes: tuple, node_class: type) -> int:
    if not issubclass(node_type, node_class):
        return NOT_A_NODE
    return next((i for i, cls in enumerate(classes) if issubclass(node_type, cls)), LEFT_ALONE)
