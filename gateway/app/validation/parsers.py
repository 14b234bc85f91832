"""Real grammars for game code: GDScript (gdtoolkit's Lark grammars, Godot 3 and 4) and tree-sitter (C#,
TypeScript/TSX, JavaScript/JSX, GLSL and the Godot shading language on top of GLSL).

Each `parse_*` function returns None when the text parses, else a `SyntaxProblem` with a 1-based line and
column. Parsing is bounded: the caller checks the size (`Limits.max_parse_bytes`), and every parse stops at a
deadline (`Limits.max_parse_seconds`) with `ParseTimeout`. The functions block: they run in the worker thread
that validates a file, never inside a database transaction.

Grammar objects are built once per process. A GDScript grammar's LALR tables take seconds to build, so Lark
caches them in the temporary directory; tree-sitter languages load at once.
"""

import re
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.metadata import version
from pathlib import Path
from typing import Any

from lark import Lark, Token
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.indenter import DedentError, Indenter
from tree_sitter import Language, Node, Parser


class ParseTimeout(Exception):
    """The parse did not finish before its deadline."""


@dataclass(frozen=True)
class SyntaxProblem:
    """Where a text stops being valid in a grammar, and what was found there."""

    line: int
    column: int
    message: str


@dataclass(frozen=True)
class Grammar:
    """Which grammar judged a text, for the report (`info.grammar`)."""

    key: str  # gdscript-4, gdscript-3, csharp, typescript, tsx, javascript, glsl, gdshader
    label: str  # what a person reads: "GDScript (Godot 4, gdtoolkit 4.5.0)"


# --- GDScript ---------------------------------------------------------------------------------------------

GODOT_3, GODOT_4 = "3", "4"

# Syntax only one of the two engines accepts: enough to tell which one a file was written for.
_GODOT_4_MARKERS = re.compile(
    r"^\s*@(?:export|onready|tool|icon|rpc|warning_ignore)\b|\bawait\b|\bsuper\(", re.MULTILINE
)
_GODOT_3_MARKERS = re.compile(
    r"^\s*(?:export(?:\s*\(|\s+var\b)|onready\s+var\b|tool\s*$|(?:remote|master|puppet|remotesync)\s+func\b)"
    r"|\byield\s*\(|\bsetget\b",
    re.MULTILINE,
)


def godot_version_in(text: str) -> str | None:
    """The Godot major version a script's own syntax implies (`@export`/`await` → 4, `export`/`yield` → 3)."""
    four, three = _GODOT_4_MARKERS.search(text), _GODOT_3_MARKERS.search(text)
    if four and not three:
        return GODOT_4
    if three and not four:
        return GODOT_3
    return None


_ENGINE_VERSION = re.compile(r"godot[\s_-]*v?(\d)", re.IGNORECASE)


def godot_version_of(engine: str | None) -> str | None:
    """The Godot major version an engine name states ("Godot 4", "godot-3.5"), or None ("godot", "unity")."""
    match = _ENGINE_VERSION.search(engine or "")
    if match and match.group(1) in {GODOT_3, GODOT_4}:
        return match.group(1)
    return None


class _Godot3Indenter(Indenter):
    """gdtoolkit 3's indenter: INDENT/DEDENT tokens from leading whitespace, none inside brackets."""

    NL_type = "_NL"
    OPEN_PAREN_types = ["LPAR", "LSQB", "LBRACE"]
    CLOSE_PAREN_types = ["RPAR", "RSQB", "RBRACE"]
    INDENT_type = "_INDENT"
    DEDENT_type = "_DEDENT"
    tab_len = 4


def _deadline_stream(stream: Iterator[Token], deadline: float) -> Iterator[Token]:
    for count, token in enumerate(stream):
        if count % 256 == 0 and time.monotonic() > deadline:
            raise ParseTimeout
        yield token


def _with_deadline(indenter: Any) -> Any:
    """An indenter (Lark post-lexer) that also stops the parse at `indenter.deadline`."""
    base = type(indenter)

    class Bounded(base):  # type: ignore[misc, valid-type]  # the base is the given indenter's class, known at run time
        deadline = float("inf")

        def process(self, stream: Iterator[Token]) -> Iterator[Token]:
            return super().process(_deadline_stream(stream, self.deadline))

    return Bounded()


@dataclass
class _LarkGrammar:
    grammar: Grammar
    parser: Lark
    postlex: Any
    lock: threading.Lock  # a Lark parser's post-lexer keeps state: one parse at a time per grammar


@cache
def _gdscript(version_: str) -> _LarkGrammar:
    if version_ == GODOT_4:
        from gdtoolkit.parser.gdscript_indenter import GDScriptIndenter

        path = Path(str(resources.files("gdtoolkit.parser").joinpath("gdscript.lark")))
        postlex = _with_deadline(GDScriptIndenter())
        label = f"GDScript (Godot 4, gdtoolkit {version('gdtoolkit')})"
        options: dict[str, Any] = {"regex": True}
    else:
        path = Path(str(resources.files("gateway.app.validation").joinpath("grammars", "gdscript3.lark")))
        postlex = _with_deadline(_Godot3Indenter())
        label = "GDScript (Godot 3, gdtoolkit 3.6.0 grammar)"
        options = {}
    parser = Lark.open(
        str(path), parser="lalr", start="start", postlex=postlex, maybe_placeholders=False, cache=True, **options
    )
    return _LarkGrammar(Grammar(f"gdscript-{version_}", label), parser, postlex, threading.Lock())


def _terminal(parser: Lark, name: str) -> str:
    """A terminal as a person reads it: `')'` for a literal, its name for a pattern (NAME, NUMBER…)."""
    if name == "$END":
        return "end of file"
    try:
        pattern = parser.get_terminal(name).pattern
    except KeyError:
        return name.lstrip("_")
    return repr(pattern.value) if pattern.type == "str" else name.lstrip("_")


def _lark_problem(exc: LarkError, parser: Lark) -> SyntaxProblem:
    if isinstance(exc, UnexpectedToken):
        token = exc.token
        found = "the end of the file" if token.type == "$END" else repr(str(token))
        expected = sorted({_terminal(parser, name) for name in (exc.accepts or exc.expected)})
        hint = f"; expected {', '.join(expected[:6])}{'…' if len(expected) > 6 else ''}" if expected else ""
        return SyntaxProblem(exc.line, exc.column, f"unexpected {found}{hint}")
    if isinstance(exc, UnexpectedCharacters):
        return SyntaxProblem(exc.line, exc.column, f"unexpected character {exc.char!r}")
    if isinstance(exc, UnexpectedEOF | UnexpectedInput):
        return SyntaxProblem(getattr(exc, "line", 0) or 0, getattr(exc, "column", 0) or 0, "unexpected end of file")
    return SyntaxProblem(0, 0, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


def parse_gdscript(text: str, version_: str, *, seconds: float) -> tuple[Grammar, SyntaxProblem | None]:
    """Parse GDScript with the grammar of one Godot major version."""
    grammar = _gdscript(version_)
    with grammar.lock:
        grammar.postlex.deadline = time.monotonic() + seconds
        try:
            grammar.parser.parse(text + "\n")  # gdtoolkit appends a newline too: the grammar ends statements with one
        except DedentError as exc:
            line = _dedent_line(text, str(exc))
            return grammar.grammar, SyntaxProblem(line, 1, "the indentation does not match any outer block")
        except LarkError as exc:
            return grammar.grammar, _lark_problem(exc, grammar.parser)
    return grammar.grammar, None


def _dedent_line(text: str, message: str) -> int:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else 0


# --- tree-sitter ------------------------------------------------------------------------------------------


def _language(load: Callable[[], Any]) -> Language:
    with warnings.catch_warnings():
        # tree-sitter-glsl 0.2 hands over its language as an int, which tree-sitter 0.26 still accepts but
        # deprecates; the other wheels hand over a capsule.
        warnings.simplefilter("ignore", DeprecationWarning)
        return Language(load())


@cache
def _tree_sitter(key: str) -> tuple[Grammar, Language]:
    if key == "csharp":
        import tree_sitter_c_sharp as module

        return Grammar(key, f"C# (tree-sitter-c-sharp {version('tree-sitter-c-sharp')})"), _language(module.language)
    if key in {"typescript", "tsx"}:
        import tree_sitter_typescript as ts

        load = ts.language_typescript if key == "typescript" else ts.language_tsx
        label = "TypeScript" if key == "typescript" else "TSX"
        return Grammar(key, f"{label} (tree-sitter-typescript {version('tree-sitter-typescript')})"), _language(load)
    if key == "javascript":
        import tree_sitter_javascript as js

        return Grammar(key, f"JavaScript (tree-sitter-javascript {version('tree-sitter-javascript')})"), _language(
            js.language
        )
    if key in {"glsl", "gdshader"}:
        import tree_sitter_glsl as glsl

        label = "GLSL" if key == "glsl" else "Godot shading language, as GLSL"
        return Grammar(key, f"{label} (tree-sitter-glsl {version('tree-sitter-glsl')})"), _language(glsl.language)
    raise KeyError(key)


def _first_error(root: Node) -> Node | None:
    """The first ERROR or MISSING node in document order, descending only where errors are."""
    node = root
    while True:
        child = next((c for c in node.children if c.has_error or c.is_missing or c.is_error), None)
        if child is None:
            return node if node is not root else None
        if child.is_error or child.is_missing:
            # Inside an ERROR node, a deeper MISSING node pinpoints the place better.
            inner = _first_error(child) if child.is_error else None
            return inner or child
        node = child


def _describe(node: Node, source: bytes) -> str:
    if node.is_missing:
        return f"missing {node.type!r}"
    token = source[node.start_byte : min(node.end_byte, node.start_byte + 40)].decode("utf-8", "replace")
    token = token.split("\n", 1)[0].strip()
    return f"unexpected {token!r}" if token else "unexpected input"


def _column(source: bytes, node: Node) -> int:
    """1-based column in characters (tree-sitter counts bytes)."""
    line_start = source.rfind(b"\n", 0, node.start_byte) + 1
    return len(source[line_start : node.start_byte].decode("utf-8", "replace")) + 1


def parse_tree_sitter(text: str, key: str, *, seconds: float) -> tuple[Grammar, SyntaxProblem | None]:
    """Parse with a tree-sitter grammar; the first ERROR or MISSING node is the problem."""
    grammar, language = _tree_sitter(key)
    source = text.encode("utf-8")
    deadline = time.monotonic() + seconds
    try:
        tree = Parser(language).parse(
            lambda offset, _point: source[offset : offset + 65536],
            progress_callback=lambda _offset, _has_error: time.monotonic() > deadline,
        )
    except ValueError:  # the progress callback stopped the parse
        raise ParseTimeout from None
    if not tree.root_node.has_error:
        return grammar, None
    node = _first_error(tree.root_node) or tree.root_node
    return grammar, SyntaxProblem(node.start_point[0] + 1, _column(source, node), _describe(node, source))


# The Godot shading language is GLSL with a header and uniform hints GLSL does not have. These are blanked out
# (same length, so lines and columns stay true) before the GLSL grammar reads the rest.
_GODOT_SHADER_STATEMENT = re.compile(r"^[ \t]*(?:shader_type|render_mode|group_uniforms)\b[^;]*;", re.MULTILINE)
_GODOT_UNIFORM_QUALIFIER = re.compile(r"\b(?:global|instance)(?=\s+uniform\b)")
_GODOT_UNIFORM_HINT = re.compile(r"(\buniform\b[^;:=]*?)(:[^;=]*)")
_GODOT_INCLUDE = re.compile(r'^[ \t]*#include\s+"[^"\n]*"', re.MULTILINE)


def _blank(match: re.Match[str], group: int = 0) -> str:
    start, end = match.span(group)
    whole_start = match.start()
    kept = match.group(0)[: start - whole_start]
    return kept + re.sub(r"[^\n]", " ", match.group(0)[start - whole_start : end - whole_start])


def godot_shader_as_glsl(text: str) -> str:
    """A Godot shader with its Godot-only syntax blanked: what remains is GLSL."""
    text = _GODOT_SHADER_STATEMENT.sub(_blank, text)
    text = _GODOT_INCLUDE.sub(_blank, text)
    text = _GODOT_UNIFORM_QUALIFIER.sub(_blank, text)
    return _GODOT_UNIFORM_HINT.sub(lambda m: _blank(m, 2), text)
