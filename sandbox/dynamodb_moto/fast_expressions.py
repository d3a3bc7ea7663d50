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

* The validator's first three walks (`ActionCountValidator`, `OverlappingPathsValidator`,
  `UpdateHashRangeKeyValidator`) read only the tree, the request's attribute names and the table's key attributes;
  they change nothing and either pass or raise. The first two ran their check at every clause node (each one an
  `UpdateExpression` subclass), each check a search of the clauses below it: 274 of 586 µs of the ingest's
  seven-action expression (thread CPU, 2026-12-06), and the validator alone was ~2 ms of LocalStack's CPU per
  media-pipeline file. A kept tree that passed them with the same names and key attributes skips them; a check that
  raises is never remembered, so an invalid update raises the same error every time.
* The validator deep-copies the kept tree before it resolves names and values into it: ~130 µs for the ingest's
  68 nodes, through `copy.deepcopy`'s memo even with `fast_copy`. Each kept tree now has a plan of itself (its
  nodes' classes, their plain attributes, which node each reference points to), made once when it is parsed, and
  the validator's copy is built from the plan: the same objects `copy.deepcopy` makes, shared references and
  parent links included. A tree holding anything but nodes, lists of nodes and immutable values has no plan and
  is deep-copied as before.
* Condition expressions (ConditionExpression, FilterExpression) are lexed again for every
  request, and twice for a conditional PutItem (once to check the request, once to apply it): a regex loop over the
  string, 40 % of a PutItem with Powertools' idempotency condition (cProfile, 2026-12-06). The tokens of the last
  512 strings are kept (the lexer's output depends on the string alone); each request gets fresh copies, since the
  later stages, which read the request's names and values, build on them.
* Every attribute name written without a placeholder is looked up in moto's reserved words, a list of 573: 3.6 µs
  a lookup. The list moto keeps is now one whose `in` asks a set.

One difference a caller can see: an expression of several hundred actions (under DynamoDB's 4 KB limit) made moto
copy its tree by recursion and fail with RecursionError (a 500); copied from its plan it is updated, as on AWS.

The kept tables and caches here are plain dicts changed without a lock: every DynamoDB and DynamoDB Streams request
runs under one lock (`streams.LOCK`, plugin.py `_serialized_moto_dispatcher`), so one thread at a time uses them.

`SANDBOX_MOTO_FAST_EXPRESSIONS=0` leaves moto as it is (to compare in a benchmark).
"""

from __future__ import annotations

import functools
import os
from collections import OrderedDict

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
        tree = parse(cls, expression_str)
        _keep(tree)
        return tree

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
    _install_tree_check_memo()
    _install_keyword_set()
    _install_condition_lexing_cache()
    _install_tree_clones()


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


def _install_tree_check_memo() -> None:
    """UpdateExpressionValidator skips its tree-only checks for a (kept tree, names, key attributes) that passed them
    (see the module docstring)."""
    from moto.dynamodb.parsing.validators import (ActionCountValidator, OverlappingPathsValidator,
                                                  UpdateExpressionValidator, UpdateHashRangeKeyValidator)

    tree_checks = (ActionCountValidator, OverlappingPathsValidator, UpdateHashRangeKeyValidator)
    moto_init = UpdateExpressionValidator.__init__

    def __init__(self, expression, *args, **kwargs):
        moto_init(self, expression, *args, **kwargs)
        self._sandbox_source = expression  # the tree before the validator's deep copy: the parse cache's

    def memo(self) -> tuple[KeptTree, tuple] | None:
        """(the kept tree validated, what else the tree-only checks read), or None: every walk runs."""
        processors = self.processors
        if len(processors) < len(tree_checks) or any(type(p) is not c for p, c in zip(processors, tree_checks)):
            return None  # not moto's list as we know it
        kept = kept_tree(self.__dict__.get("_sandbox_source"))
        if kept is None:
            return None
        try:
            names = self.expression_attribute_names
            inputs = (tuple(sorted(names.items())) if names else (), tuple(self.table.table_key_attrs))
            hash(inputs)
        except Exception:  # noqa: BLE001 - odd names (unhashable, unsortable): moto's walks decide
            return None
        return kept, inputs

    def validate(self):
        found = memo(self)
        skip = len(tree_checks) if found is not None and found[1] in found[0].passed else 0
        node = self.node_to_validate
        for i, processor in enumerate(self.processors[skip:], start=skip):
            node = processor.traverse(node)
            if found is not None and i == len(tree_checks) - 1 and not skip:
                found[0].passed_with(found[1])
        return node

    UpdateExpressionValidator.__init__ = __init__
    UpdateExpressionValidator.validate = validate


class KeywordList(list):
    """moto's reserved words, still the list moto hands out, whose `in` is a set lookup (moto never changes it)."""

    def __init__(self, words):
        super().__init__(words)
        self._set = frozenset(words)

    def __contains__(self, word) -> bool:
        try:
            return word in self._set
        except TypeError:  # unhashable: what the list would say
            return list.__contains__(self, word)


def _install_keyword_set() -> None:
    from moto.dynamodb.parsing.reserved_keywords import ReservedKeywords

    words = ReservedKeywords.get_reserved_keywords()
    if type(words) is list:
        ReservedKeywords.KEYWORDS = KeywordList(words)


CONDITIONS_LEXED_KEPT = 512


def _install_condition_lexing_cache() -> None:
    from collections import deque

    from moto.dynamodb.comparisons import ConditionExpressionParser

    lex = ConditionExpressionParser._lex_condition_expression
    lexed: dict[str, tuple] = {}

    def _lex_condition_expression(self):
        expression = self.condition_expression
        if type(expression) is not str or type(self) is not ConditionExpressionParser:
            return lex(self)
        tokens = lexed.get(expression)
        if tokens is None:
            tokens = tuple(lex(self))  # raises for a string it cannot lex: nothing kept, the same error each time
            if any(token.children for token in tokens):
                return deque(tokens)  # not what this moto's lexer makes: not kept
            if len(lexed) >= CONDITIONS_LEXED_KEPT:
                lexed.pop(next(iter(lexed)))  # the oldest (one thread at a time: see the module docstring)
            lexed[expression] = tokens
        node = self.Node
        return deque(node(t.nonterminal, t.kind, t.text, t.value, []) for t in tokens)

    ConditionExpressionParser._lex_condition_expression = _lex_condition_expression
    ConditionExpressionParser._sandbox_lexed = lexed  # for tests


KEPT_TREES = 2 * PARSED_EXPRESSIONS_KEPT
CHECKS_PASSED_KEPT = 16  # (names, key attributes) a kept tree passed the tree-only checks with


class KeptTree:
    """What is known of a tree the parse cache kept: its clone plan (None: deep-copied) and the inputs it passed
    the validator's tree-only checks with. Holds the tree, so that its id (the key of `_kept_trees`) is not reused
    while this is there."""

    __slots__ = ("tree", "plan", "passed")

    def __init__(self, tree, plan):
        self.tree, self.plan, self.passed = tree, plan, set()

    def passed_with(self, inputs: tuple) -> None:
        if len(self.passed) >= CHECKS_PASSED_KEPT:
            self.passed.clear()
        self.passed.add(inputs)


# id(tree) -> KeptTree, least recently used first: each use (a validator's copy, its checks) moves one to the end,
# so a tree the parse cache keeps (its 512 most recently used) keeps its entry
_kept_trees: OrderedDict[int, KeptTree] = OrderedDict()


def kept_tree(tree) -> KeptTree | None:
    kept = _kept_trees.get(id(tree))
    if kept is None or kept.tree is not tree:
        return None
    _kept_trees.move_to_end(id(tree))
    return kept


IMMUTABLE = (str, int, float, bool, bytes, type(None))
VALUE, NODE, NODES = range(3)


def clone_plan(tree) -> list | None:
    """[(class, [(attribute, kind, payload)])] of every node reachable from `tree` (the root first), or None when
    an attribute holds something a plan does not copy (then `copy.deepcopy` is used)."""
    from moto.dynamodb.parsing.ast_nodes import Node

    index: dict[int, int] = {}
    order: list = []

    def number(node) -> int:
        if id(node) not in index:
            index[id(node)] = len(order)
            order.append(node)
        return index[id(node)]

    def spec(value):
        if type(value) in IMMUTABLE:
            return VALUE, value
        if isinstance(value, Node):
            return NODE, number(value)
        return None

    number(tree)
    plan = []
    i = 0
    while i < len(order):  # `order` grows while it is read: every node reached is numbered and planned
        node = order[i]
        attributes = []
        for name, value in vars(node).items():
            if type(value) is list:
                items = [spec(v) for v in value]
                if None in items:
                    return None
                attributes.append((name, NODES, items))
            else:
                found = spec(value)
                if found is None:
                    return None
                attributes.append((name, *found))
        plan.append((type(node), attributes))
        i += 1
    return plan


def clone(plan: list):
    """A deep copy of the planned tree: new nodes, plain values shared (they are immutable)."""
    nodes = [cls.__new__(cls) for cls, _ in plan]
    for node, (_, attributes) in zip(nodes, plan):
        fields = node.__dict__
        for name, kind, payload in attributes:
            if kind == VALUE:
                fields[name] = payload
            elif kind == NODE:
                fields[name] = nodes[payload]
            else:
                fields[name] = [nodes[p] if k == NODE else p for k, p in payload]
    return nodes[0]


def _keep(tree) -> None:
    """A tree the parse cache has just kept: its entry in `_kept_trees`, with its clone plan."""
    try:
        plan = clone_plan(tree)
    except Exception:  # noqa: BLE001 - a node this plan cannot read (no __dict__...): deep-copied as before
        plan = None
    if len(_kept_trees) >= KEPT_TREES:
        _kept_trees.popitem(last=False)
    _kept_trees[id(tree)] = KeptTree(tree, plan)


def _install_tree_clones() -> None:
    """The validators module's `deepcopy` copies a kept tree from its plan, anything else as before."""
    import copy

    from moto.dynamodb.parsing import validators

    deepcopy = copy.deepcopy

    def deepcopy_kept_trees(x, memo=None, _nil=[]):  # noqa: B006 - copy.deepcopy's own signature
        if memo is None:
            kept = kept_tree(x)
            if kept is not None and kept.plan is not None:
                return clone(kept.plan)
        return deepcopy(x, memo, _nil)

    validators.deepcopy = deepcopy_kept_trees
