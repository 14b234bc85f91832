"""Helpers for text formats: streamed UTF-8 checks, bounded loading for parsers, bracket balance."""

import codecs
import re
from bisect import bisect_right
from collections.abc import Iterator
from pathlib import Path

from gateway.app.validation.report import MiB, Subject

CHUNK_BYTES = 1024 * 1024
BOM = codecs.BOM_UTF8


def iter_chunks(path: Path, *, limit: int | None = None, chunk_bytes: int | None = None) -> Iterator[bytes]:
    """The file's bytes in chunks, up to `limit` bytes when given."""
    chunk_bytes = chunk_bytes or CHUNK_BYTES
    remaining = limit
    with path.open("rb") as handle:
        while remaining is None or remaining > 0:
            chunk = handle.read(chunk_bytes if remaining is None else min(chunk_bytes, remaining))
            if not chunk:
                return
            if remaining is not None:
                remaining -= len(chunk)
            yield chunk


def looks_like_text(head: bytes) -> bool:
    """Whether a file's first bytes read as UTF-8 text (a character cut at the end of the head is fine)."""
    if b"\x00" in head:
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def check_utf8(subject: Subject) -> bool:
    """Stream the file through a UTF-8 decoder: valid UTF-8 (a BOM is fine), no NUL bytes; counts lines."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    limit = subject.limits.max_scan_bytes
    offset = 0
    lines = 0
    last = b""
    blank = True
    for chunk in iter_chunks(subject.path, limit=limit):
        nul = chunk.find(b"\x00")
        if nul >= 0:
            line = lines + chunk.count(b"\n", 0, nul) + 1
            return subject.fail("utf8", f"A NUL byte at offset {offset + nul} (line {line}): this is not a text file.")
        try:
            decoded = decoder.decode(chunk, final=False)
        except UnicodeDecodeError as exc:
            line = lines + chunk.count(b"\n", 0, exc.start) + 1
            return subject.fail("utf8", f"Not UTF-8: invalid byte at offset {offset + exc.start} (line {line}).")
        lines += chunk.count(b"\n")
        offset += len(chunk)
        last = chunk
        blank = blank and not decoded.replace("\ufeff", "").strip()  # a BOM alone is no content either
    if offset == subject.size:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return subject.fail("utf8", "Not UTF-8: the file ends in the middle of a character.")
        if last and not last.endswith(b"\n"):
            lines += 1
        subject.info["line_count"] = lines
    else:
        subject.check("utf8_scan", True, f"Only the first {limit // MiB} MiB were scanned.", warning=True)
    if subject.head.startswith(BOM):
        subject.info["bom"] = True
    subject.passed("utf8", "UTF-8 text without NUL bytes")
    if blank:
        return subject.fail("not_blank", "The file holds only whitespace: there is nothing in it.")
    return True


def load_text(subject: Subject, *, check: str = "parse") -> str | None:
    """The whole text for a parser, or None (with a failed check) when it is too large to parse."""
    limit = subject.limits.max_parse_bytes
    if subject.size > limit:
        subject.fail(check, f"Too large to parse: {subject.size} bytes, the limit is {limit} bytes.")
        return None
    return subject.path.read_bytes().decode("utf-8-sig")


def utf8_text(subject: Subject, *, check: str = "parse") -> str | None:
    """UTF-8 check, then the whole text for a parser; None when either fails."""
    if not check_utf8(subject):
        return None
    return load_text(subject, check=check)


class Position:
    """Line numbers of offsets in a text."""

    def __init__(self, text: str) -> None:
        self.newlines = [m.start() for m in re.finditer("\n", text)]

    def line(self, offset: int) -> int:
        """The 1-based line of an offset."""
        return bisect_right(self.newlines, offset - 1) + 1


_PAIRS = {")": "(", "]": "[", "}": "{"}

# Comments and strings whose brackets do not count, per family of languages (an approximation: it is a warning).
# Every construct that spans lines also ends at the end of the text when unclosed, so scanning stays linear.
_C_LIKE = re.compile(
    r"""//[^\n]*|/\*.*?(?:\*/|\Z)"""
    r"""|R"([^()\\ ]{0,16})\(.*?(?:\)\1"|\Z)"""  # C++ raw string
    r'''|"""[\s\S]*?(?:"""|\Z)'''  # C# raw string
    r"""|@"(?:[^"]|"")*(?:"|\Z)"""  # C# verbatim string
    r"""|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*(?:`|\Z)"""
    r"|(?P<bracket>[()\[\]{}])",
    re.DOTALL,
)
_HASH_COMMENTS = re.compile(
    r"#[^\n]*"
    r'|"""[\s\S]*?(?:"""|\Z)'
    r"|'''[\s\S]*?(?:'''|\Z)"
    r'|"(?:\\.|[^"\\\n])*"'
    r"|'(?:\\.|[^'\\\n])*'"
    r"|(?P<bracket>[()\[\]{}])",
)
_DASH_COMMENTS = re.compile(  # Lua
    r"--\[(=*)\[.*?(?:\]\1\]|\Z)|--[^\n]*|\[(=*)\[.*?(?:\]\2\]|\Z)"
    r"""|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|(?P<bracket>[()\[\]{}])""",
    re.DOTALL,
)
LEXERS = {"c": _C_LIKE, "hash": _HASH_COMMENTS, "lua": _DASH_COMMENTS}


def bracket_problem(text: str, *, lexer: str) -> str | None:
    """The first unbalanced bracket outside comments and strings, described; None when all balance."""
    position = Position(text)
    stack: list[tuple[str, int]] = []
    for match in LEXERS[lexer].finditer(text):
        bracket = match.group("bracket")
        if bracket is None:
            continue
        if bracket in "([{":
            stack.append((bracket, match.start()))
            continue
        if not stack:
            return f"Line {position.line(match.start())}: {bracket!r} closes nothing."
        opened, at = stack.pop()
        if _PAIRS[bracket] != opened:
            return (
                f"Line {position.line(match.start())}: {bracket!r} does not match {opened!r} "
                f"opened on line {position.line(at)}."
            )
    if stack:
        opened, at = stack[-1]
        return f"{opened!r} opened on line {position.line(at)} is never closed."
    return None


def check_brackets(subject: Subject, text: str, *, lexer: str) -> None:
    """A warning check that brackets balance outside comments and strings."""
    problem = bracket_problem(text, lexer=lexer)
    subject.check("brackets", problem is None, problem or "Brackets balance", warning=True)
