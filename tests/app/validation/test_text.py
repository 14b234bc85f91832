"""gateway/app/validation/text.py: the bracket lexers and the text sniffing the detection relies on."""

import time

import pytest

from gateway.app.validation.text import Position, bracket_problem, looks_like_text


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"hello\n", True),
        (b"", True),
        ("caf\u00e9".encode()[:-1], True),  # a character cut by the head's end
        (b"\xff\xfe", False),
        (b"abc\x00def", False),
    ],
)
def test_looks_like_text(head, expected):
    assert looks_like_text(head) is expected


def test_position_lines():
    position = Position("a\nbc\n\nd")
    assert [position.line(i) for i in (0, 1, 2, 4, 5, 6)] == [1, 1, 2, 2, 3, 4]


@pytest.mark.parametrize(
    ("text", "lexer", "problem"),
    [
        ("f(a[1]{2})", "c", None),
        ("/* unclosed comment (", "c", None),
        ("f(\n\n]", "c", "Line 3: ']' does not match '(' opened on line 1."),
        ("x = ')'\ny = (", "hash", "'(' opened on line 2 is never closed."),
        ("s = '''\n(\n'''", "hash", None),
        ("--[==[ ( ]==]\nx = ( )", "lua", None),
    ],
)
def test_bracket_problem(text, lexer, problem):
    assert bracket_problem(text, lexer=lexer) == problem


@pytest.mark.parametrize(
    ("text", "lexer"),
    [('R"(' * 300_000, "c"), ("[[" * 300_000, "lua"), ("'''x" * 200_000, "hash"), ('@"' * 300_000, "c")],
)
def test_unclosed_constructs_are_scanned_in_linear_time(text, lexer):
    # Each unclosed construct used to be rescanned to the end of the text from every occurrence (quadratic).
    started = time.perf_counter()
    bracket_problem(text, lexer=lexer)
    assert time.perf_counter() - started < 5
