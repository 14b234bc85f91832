"""gateway/app/jsondoc.py: RFC 7386 merge patches, RFC 6901 pointers and diffs."""

import pytest

from gateway.app import jsondoc


@pytest.mark.parametrize(
    ("target", "patch", "result"),
    [  # the examples of RFC 7386, appendix A
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        (["a", "b"], ["c", "d"], ["c", "d"]),
        ({"a": "b"}, ["c"], ["c"]),
        ({"a": "foo"}, None, None),
        ({"a": "foo"}, "bar", "bar"),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_merge_patch_follows_rfc_7386(target, patch, result):
    assert jsondoc.merge_patch(target, patch) == result


def test_pointer_escapes_per_rfc_6901():
    assert jsondoc.pointer(["a/b", "m~n", 0]) == "/a~1b/m~0n/0"


def test_diff_reports_added_removed_and_changed_paths_in_order():
    old = {"game": {"title": "A", "tags": ["x"]}, "gone": 1, "log": list(range(10))}
    new = {"game": {"title": "B", "tags": ["x", "y"]}, "new": True, "log": [*range(10), 10, 11]}
    assert jsondoc.diff(old, new) == [
        {"op": "added", "path": "/game/tags/1", "old": None, "new": "y"},
        {"op": "changed", "path": "/game/title", "old": "A", "new": "B"},
        {"op": "removed", "path": "/gone", "old": 1, "new": None},
        {"op": "added", "path": "/log/10", "old": None, "new": 10},
        {"op": "added", "path": "/log/11", "old": None, "new": 11},
        {"op": "added", "path": "/new", "old": None, "new": True},
    ]
    assert jsondoc.diff({"a": [1, 2]}, {"a": [1]}) == [{"op": "removed", "path": "/a/1", "old": 2, "new": None}]
    assert jsondoc.diff({"a": 1}, {"a": True}) == [{"op": "changed", "path": "/a", "old": 1, "new": True}]
    assert jsondoc.diff({"a": 1}, {"a": 1}) == []


def test_describe_summarises_a_diff():
    changes = jsondoc.diff({}, {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6})
    assert jsondoc.describe(changes) == "added /a, added /b, added /c, added /d (+2 more)"
    assert jsondoc.describe([]) == "no change"
