"""sandbox/dynamodb_moto/fast_expressions.py: moto's UpdateItem gives the same items and the same errors with the
parse cache and the traversers' kept tables as without them (the same battery run in a process where they are
switched off), and a kept tree is never changed by the updates that use it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, Node, UpdateExpressionPath
from moto.dynamodb.parsing.expressions import UpdateExpressionParser

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # when run as a script by the test below
from sandbox.dynamodb_moto import fast_copy, fast_expressions  # noqa: E402

fast_copy.install()
fast_expressions.install()

START = {
    "pk": {"S": "job-1"},
    "n": {"N": "41"},
    "s": {"S": "text"},
    "tags": {"SS": ["a", "b"]},
    "history": {"L": [{"S": "queued"}, {"M": {"at": {"N": "1"}}}]},
    "meta": {"M": {"owner": {"S": "ana"}, "limits": {"M": {"mb": {"N": "5"}}}}},
}

# (expression, names, values): each is applied twice in a row (the second time from the parse cache), on the item
# the previous step left, and on an item that does not exist yet; the item or the error is recorded each time.
BATTERY = [
    ("SET #s = :v, updated_at = :t ADD attempts :one", {"#s": "status"},
     {":v": {"S": "PROCESSING"}, ":t": {"S": "2026-12-05T10:00:00"}, ":one": {"N": "1"}}),
    ("SET #s = :v, updated_at = :t ADD attempts :one", {"#s": "status"},
     {":v": {"S": "DONE"}, ":t": {"S": "2026-12-05T10:00:01"}, ":one": {"N": "2"}}),
    ("SET   #s=:v,updated_at =:t   ADD attempts :one", {"#s": "status"},
     {":v": {"S": "AGAIN"}, ":t": {"S": "x"}, ":one": {"N": "1"}}),
    ("SET created = if_not_exists(created, :now), n = n + :one", None, {":now": {"S": "t0"}, ":one": {"N": "1"}}),
    ("SET #h = list_append(#h, :h) REMOVE meta.#o", {"#h": "history", "#o": "owner"}, {":h": {"L": [{"S": "x"}]}}),
    ("SET meta.limits.mb = meta.limits.mb - :one, #h[0] = :first", {"#h": "history"},
     {":one": {"N": "1"}, ":first": {"S": "first"}}),
    ("REMOVE #h[1], s", {"#h": "history"}, None),
    ("ADD tags :more", None, {":more": {"SS": ["c"]}}),
    ("DELETE tags :gone", None, {":gone": {"SS": ["a"]}}),
    ("ADD tags :more DELETE tags :gone", None, {":more": {"SS": ["c"]}, ":gone": {"SS": ["a"]}}),
    # errors, which must stay the same (type and message)
    ("SET a = ", None, {":v": {"S": "x"}}),
    ("SET a = :v SET b = :v", None, {":v": {"S": "x"}}),
    ("SET a = :v, a = :w", None, {":v": {"S": "x"}, ":w": {"S": "y"}}),
    ("SET pk = :v", None, {":v": {"S": "other"}}),
    ("SET a = :missing", None, {":v": {"S": "x"}}),
    ("SET #missing = :v", None, {":v": {"S": "x"}}),
    ("ADD s :one", None, {":one": {"N": "1"}}),
    ("SET n = n + :word", None, {":word": {"S": "x"}}),
    ("SET nothing_here = gone + :one", None, {":one": {"N": "1"}}),
    # the tree-only checks are remembered per (tree, names, key attributes): the same expression passes with some
    # names and fails with others, in either order
    ("SET #a = :v, #b = :w", {"#a": "x", "#b": "y"}, {":v": {"S": "1"}, ":w": {"S": "2"}}),
    ("SET #a = :v, #b = :w", {"#a": "x", "#b": "x"}, {":v": {"S": "1"}, ":w": {"S": "2"}}),
    ("SET #a = :v, #b = :w", {"#a": "pk", "#b": "y"}, {":v": {"S": "1"}, ":w": {"S": "2"}}),
    ("SET #a = :v, #b = :w", {"#a": "x", "#b": "y"}, {":v": {"S": "3"}, ":w": {"S": "4"}}),
    # reserved words (looked up in a set instead of moto's list)
    ("SET #s = :v, comment = :v", {"#s": "status"}, {":v": {"S": "x"}}),
    ("SET #s = :v, notes = :v", {"#s": "status"}, {":v": {"S": "x"}}),
]


# (condition, names, values) for a conditional PutItem of {"pk": "job-1", "n": 41}, applied twice in a row (the
# second time from the kept tokens)
CONDITIONS = [
    ("attribute_not_exists(#id) OR #expiry < :now OR (attribute_exists(#ip) AND #ip < :ms AND #s = :inprogress)",
     {"#id": "pk", "#expiry": "expiration", "#ip": "in_progress_expiration", "#s": "status"},
     {":now": {"N": "5"}, ":ms": {"N": "5000"}, ":inprogress": {"S": "INPROGRESS"}}),
    ("attribute_not_exists(pk)", None, None),
    ("n = :v", None, {":v": {"N": "41"}}),
    ("n = :v", None, {":v": {"N": "42"}}),
    ("n BETWEEN :lo AND :hi AND size(s) > :z", None, {":lo": {"N": "1"}, ":hi": {"N": "99"}, ":z": {"N": "0"}}),
    ("#n IN (:a, :b)", {"#n": "n"}, {":a": {"N": "1"}, ":b": {"N": "41"}}),
    ("begins_with(s, :p) AND NOT contains(tags, :t)", None, {":p": {"S": "te"}, ":t": {"S": "z"}}),
    ("n = :missing", None, {":v": {"N": "1"}}),
    ("#missing = :v", None, {":v": {"N": "1"}}),
    ("n === :v", None, {":v": {"N": "1"}}),
    ("n = :v AND (", None, {":v": {"N": "1"}}),
    ("n = ~:v", None, {":v": {"N": "1"}}),
]


def _backend() -> DynamoDBBackend:
    backend = DynamoDBBackend("us-east-1", "123456789012")
    backend.create_table("jobs", schema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         attr=[{"AttributeName": "pk", "AttributeType": "S"}], throughput=None,
                         billing_mode="PAY_PER_REQUEST", indexes=None, global_indexes=None,
                         streams=None, sse_specification=None, tags=None, deletion_protection_enabled=False,
                         warm_throughput=None)
    backend.put_item("jobs", START)
    return backend


def run_battery() -> list:
    """What each update of the battery gave: the item's attributes or the error's type and message."""
    backend = _backend()
    outcomes = []
    for expression, names, values in BATTERY:
        for key in ("job-1", "job-1", f"new-{len(outcomes)}"):
            try:
                item = backend.update_item("jobs", {"pk": {"S": key}}, expression, names or {}, values or {})
                outcomes.append(["item", item.to_json()["Attributes"]])
            except Exception as e:  # noqa: BLE001 - the error is the outcome to compare
                outcomes.append(["error", type(e).__name__, str(e)])
    for condition, names, values in CONDITIONS:
        for _ in range(2):
            backend.put_item("jobs", {"pk": {"S": "cond"}, "n": {"N": "41"}, "s": {"S": "text"}})
            try:
                item = backend.put_item("jobs", {"pk": {"S": "cond"}, "n": {"N": "1"}}, condition_expression=condition,
                                        expression_attribute_names=names, expression_attribute_values=values)
                outcomes.append(["put", item.to_json()["Attributes"]])
            except Exception as e:  # noqa: BLE001
                outcomes.append(["error", type(e).__name__, str(e)])
    return outcomes


def test_the_battery_gives_what_moto_gives_without_the_patch():
    here = run_battery()
    env = {**os.environ, "SANDBOX_MOTO_FAST_EXPRESSIONS": "0"}
    plain = subprocess.run([sys.executable, __file__], env=env, capture_output=True, text=True, timeout=120)
    assert plain.returncode == 0, plain.stderr
    unpatched = json.loads(plain.stdout)
    assert unpatched.pop(0) is False, "the subprocess was meant to run moto unpatched"
    assert json.loads(json.dumps(here, default=str)) == unpatched
    # the comparison covers both kinds of outcome
    assert sum(o[0] == "error" for o in here) >= 20 and sum(o[0] == "item" for o in here) >= 15
    assert UpdateExpressionParser._sandbox_parsed.cache_info().hits >= len(BATTERY)
    # the conditions' outcomes: some puts pass, some fail their condition, some are refused as malformed
    conditions = here[-2 * len(CONDITIONS):]
    assert {o[0] for o in conditions} == {"put", "error"}
    assert any(o[1] == "ConditionalCheckFailed" for o in conditions if o[0] == "error")
    from moto.dynamodb.comparisons import ConditionExpressionParser

    assert set(ConditionExpressionParser._sandbox_lexed) >= {c for c, _, _ in CONDITIONS[:7]}


def test_the_tree_checks_are_skipped_only_for_what_passed_them(monkeypatch):
    """A repeat of an update that passed skips the tree-only walks; the same expression and names on a table
    whose key they would change still fails, every time."""
    from moto.dynamodb.parsing import validators

    walked = []
    walk = validators.ActionCountValidator.traverse
    monkeypatch.setattr(validators.ActionCountValidator, "traverse", lambda self, node: walked.append(1) or walk(self, node))
    backend = _backend()
    backend.create_table("keyed-on-x", schema=[{"AttributeName": "x", "KeyType": "HASH"}],
                         attr=[{"AttributeName": "x", "AttributeType": "S"}], throughput=None,
                         billing_mode="PAY_PER_REQUEST", indexes=None, global_indexes=None, streams=None,
                         sse_specification=None, tags=None, deletion_protection_enabled=False, warm_throughput=None)
    backend.put_item("keyed-on-x", {"x": {"S": "k"}})
    # an expression no other test uses: what is remembered is the process's (a rerun here would find it)
    expression, names = f"SET #a = :v, updated_{os.getpid()}_{id(backend)} = :v", {"#a": "x"}
    for value in ("1", "2"):
        item = backend.update_item("jobs", {"pk": {"S": "job-1"}}, expression, names, {":v": {"S": value}})
        assert item.to_json()["Attributes"]["x"] == {"S": value}
    assert len(walked) == 1, "the second update walked the tree-only checks again"
    for _ in range(2):
        try:
            backend.update_item("keyed-on-x", {"x": {"S": "k"}}, expression, names, {":v": {"S": "3"}})
        except Exception as e:  # noqa: BLE001
            assert type(e).__name__ == "UpdateHashRangeKeyException" and "x" in str(e)
        else:
            raise AssertionError("an update of the key attribute passed")
    assert len(walked) == 3
    backend.update_item("jobs", {"pk": {"S": "job-1"}}, expression, {"#a": "x", "#unused": "y"}, {":v": {"S": "4"}})
    assert len(walked) == 4, "other names are another key"


def _nodes(tree) -> list:
    out, todo = [], [tree]
    while todo:
        node = todo.pop()
        out.append(node)
        todo.extend(c for c in node.children or [] if isinstance(c, Node))
    return out


def test_the_validator_copies_a_kept_tree_from_its_plan_as_deepcopy_would(monkeypatch):
    import copy

    from moto.dynamodb.parsing import validators

    for expression, _, _ in BATTERY:
        try:
            tree = UpdateExpressionParser.make(expression)
        except Exception:  # noqa: BLE001 - the ones that do not parse
            continue
        assert fast_expressions.kept_tree(tree).plan is not None, expression
        planned, reference = validators.deepcopy(tree), copy.deepcopy(tree)
        assert _shape(planned) == _shape(reference) == _shape(tree)
        originals = {id(n) for n in _nodes(tree)}
        copies = _nodes(planned)
        assert not originals & {id(n) for n in copies}, "a node of the kept tree is in the copy"
        for node in copies:  # parent links point into the copy, as deepcopy's memo makes them
            for child in node.children or []:
                if isinstance(child, Node) and "parent" in vars(child):
                    assert child.parent is node or id(child.parent) in {id(n) for n in copies}
        assert [type(n) for n in copies] == [type(n) for n in _nodes(reference)]
    other = copy.deepcopy(UpdateExpressionParser.make("SET a = :v"))  # not a kept tree: deep-copied as before
    assert fast_expressions.kept_tree(other) is None and _shape(validators.deepcopy(other)) == _shape(other)
    planned, from_plan = [], fast_expressions.clone
    monkeypatch.setattr(fast_expressions, "clone", lambda plan: planned.append(plan) or from_plan(plan))
    item = _backend().update_item("jobs", {"pk": {"S": "job-1"}}, "SET #s = :v", {"#s": "status"}, {":v": {"S": "X"}})
    assert item.to_json()["Attributes"]["status"] == {"S": "X"}
    assert planned, "the validator deep-copied the kept tree instead of building it from its plan"


def test_a_tree_in_use_keeps_its_plan_while_many_others_are_parsed():
    from moto.dynamodb.parsing import validators

    used = UpdateExpressionParser.make("SET kept_in_use = :v")
    for i in range(fast_expressions.KEPT_TREES + 100):
        UpdateExpressionParser.make(f"SET other_{i} = :v")
        if i % 100 == 0:
            validators.deepcopy(UpdateExpressionParser.make("SET kept_in_use = :v"))
    assert UpdateExpressionParser.make("SET kept_in_use = :v") is used
    assert id(used) in fast_expressions._kept_trees, "the plan of a tree in use was dropped"
    assert len(fast_expressions._kept_trees) <= fast_expressions.KEPT_TREES


def test_reserved_words_are_looked_up_in_a_set_and_still_refused():
    from moto.dynamodb.parsing.reserved_keywords import ReservedKeywords

    words = ReservedKeywords.get_reserved_keywords()
    assert "COMMENT" in words and "NOTES" not in words and len(words) > 500
    assert isinstance(words, list) and words == ReservedKeywords._get_reserved_keywords()
    assert type(words).__contains__ is not list.__contains__


def _shape(node):
    if isinstance(node, Node):
        return (type(node).__name__, {k: _shape(v) for k, v in vars(node).items() if k != "parent"})
    if isinstance(node, list):
        return [_shape(v) for v in node]
    return repr(node)


def test_a_kept_tree_is_the_one_moto_parses_and_no_update_changes_it():
    expression = "SET #s = :v, meta.limits.mb = meta.limits.mb - :one ADD attempts :one REMOVE history[0]"
    tree = UpdateExpressionParser.make(expression)
    assert UpdateExpressionParser.make(expression) is tree
    fresh = fast_expressions_parse(expression)
    assert fresh is not tree and _shape(fresh) == _shape(tree)
    before = _shape(tree)
    backend = _backend()
    for status in ("A", "B"):
        item = backend.update_item("jobs", {"pk": {"S": "job-1"}}, expression, {"#s": "status"},
                                   {":v": {"S": status}, ":one": {"N": "1"}})
        assert item.to_json()["Attributes"]["status"] == {"S": status}
    assert _shape(tree) == before


def fast_expressions_parse(expression: str):
    """A tree parsed anew, bypassing the cache."""
    return UpdateExpressionParser._sandbox_parsed.__wrapped__(UpdateExpressionParser, expression)


def test_an_expression_that_does_not_parse_fails_every_time():
    for _ in range(2):
        try:
            UpdateExpressionParser.make("SET = oops")
        except Exception as e:  # noqa: BLE001
            assert "Invalid UpdateExpression" in str(e)
        else:
            raise AssertionError("a broken expression parsed")


def test_a_traverser_builds_its_table_once_per_walk_and_keeps_its_own_overrides():
    calls = []

    class PathCounter(DepthFirstTraverser):
        def __init__(self):
            self.paths = 0

        def _processing_map(self):
            calls.append(1)
            return {UpdateExpressionPath: self.count}

        def count(self, node):
            self.paths += 1
            return node

    tree = fast_expressions_parse("SET a = :v, b.c = :w, d[1] = e ADD f :one")
    counter = PathCounter()
    counter.traverse(tree)
    assert counter.paths == 5 and len(calls) == 1

    class Custom(PathCounter):
        def nodes_to_be_processed(self):
            return ()  # processes nothing: an override moto's docstring allows

    custom = Custom()
    custom.traverse(tree)
    assert custom.paths == 0


def test_the_walk_by_node_type_visits_and_replaces_nodes_as_moto_s_own_walk_does():
    """A node of two classes in the map goes to the first one, as in moto's `process`; a traverser class with its
    own `process` is walked by moto's code, which is the reference here."""

    class Both(DepthFirstTraverser):
        def __init__(self):
            self.seen = []

        def _processing_map(self):
            return {UpdateExpressionPath: self.path, Node: self.other}

        def path(self, node):
            self.seen.append(("path", type(node).__name__))
            return node

        def other(self, node):
            self.seen.append(("other", type(node).__name__))
            return node

    class MotoWalk(Both):
        def process(self, node):
            return DepthFirstTraverser.process(self, node)

    expression = "SET a = if_not_exists(a, :v) + :w, b.c[2] = list_append(d, :l) ADD e :one REMOVE f"
    fast, reference = Both(), MotoWalk()
    fast_tree, reference_tree = fast.traverse(fast_expressions_parse(expression)), \
        reference.traverse(fast_expressions_parse(expression))
    assert fast.seen == reference.seen
    assert {kind for kind, _ in fast.seen} == {"path", "other"} and len(fast.seen) > 20
    assert _shape(fast_tree) == _shape(reference_tree)
    assert "_sandbox_walk_plan" in vars(fast) and vars(reference)["_sandbox_walk_plan"] is fast_expressions.MOTO_WALK

    patched = Both()  # a `process` set on the instance (as mock.patch.object does) is honoured, as by moto
    patched.process = lambda node: node
    patched.traverse(fast_expressions_parse(expression))
    assert patched.seen == [] and vars(patched)["_sandbox_walk_plan"] is fast_expressions.MOTO_WALK


def test_a_traverser_is_freed_by_reference_counting_after_its_walk():
    """Its kept table holds its methods unbound: no reference cycle keeps it (and the item it resolved) alive."""
    import gc
    import weakref

    from moto.dynamodb.parsing.validators import ExpressionAttributeValueProcessor

    gc.disable()
    try:
        processor = ExpressionAttributeValueProcessor({":v": {"S": "x"}})
        processor.traverse(fast_expressions_parse("SET a = :v"))
        gone = weakref.ref(processor)
        del processor
        assert gone() is None
    finally:
        gc.enable()


if __name__ == "__main__":
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser as Parser

    print(json.dumps([getattr(Parser, "_sandbox_cached", False)] + run_battery(), default=str))
