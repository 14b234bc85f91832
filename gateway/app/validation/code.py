"""Code and engine text formats: UTF-8, and a real parse wherever a parser is at hand."""

import ast
import json
import re
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

from gateway.app.validation import parsers
from gateway.app.validation.registry import Validator, register
from gateway.app.validation.report import Subject
from gateway.app.validation.text import Position, check_brackets, check_utf8, load_text, utf8_text

# --- Python and JSON: parsed whole ----------------------------------------------------------------------


def _python_shebang(head: bytes) -> bool:
    first = head.split(b"\n", 1)[0]
    return first.startswith(b"#!") and b"python" in first


@register(
    "python",
    label="Python source",
    mime_type="text/x-python",
    category="code",
    extensions=(".py", ".pyw", ".pyi"),
    magic=_python_shebang,
    strong_magic=False,
)
def validate_python(subject: Subject) -> None:
    """UTF-8, then `ast.parse`: the file is Python the interpreter would accept."""
    text = utf8_text(subject, check="python_syntax")
    if text is None:
        return
    try:
        tree = ast.parse(text, filename=subject.name)
    except SyntaxError as exc:
        subject.fail("python_syntax", f"Python syntax error at line {exc.lineno}, column {exc.offset}: {exc.msg}.")
        return
    except (ValueError, RecursionError, MemoryError) as exc:  # nesting too deep for the parser
        subject.fail("python_syntax", f"Python could not parse the file: {type(exc).__name__}.")
        return
    definitions = sum(isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) for node in tree.body)
    subject.info["top_level_definitions"] = definitions
    subject.passed("python_syntax", "Parses as Python")


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(subject: Subject, text: str, *, check: str = "json_syntax") -> Any:
    """Strict JSON (no NaN/Infinity) or None with a failed check."""
    try:
        value = json.loads(text, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        subject.fail(check, f"Invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}.")
        return None
    except ValueError as exc:
        subject.fail(check, f"Invalid JSON: {exc}.")
        return None
    except RecursionError:
        subject.fail(check, "Invalid JSON: nested too deeply to parse.")
        return None
    subject.passed(check, "Parses as JSON")
    return value


@register(
    "json",
    label="JSON",
    mime_type="application/json",
    category="asset",  # data; manifests such as package.json are code by name (see categories)
    also=("code", "document"),
    extensions=(".json", ".jsonc", ".ldtk", ".tmj", ".tsj", ".inputactions"),
)
def validate_json(subject: Subject) -> None:
    """UTF-8, then a strict JSON parse."""
    text = utf8_text(subject, check="json_syntax")
    if text is None:
        return
    value = parse_json(subject, text)
    if value is not None:
        subject.info["top_level"] = type(value).__name__


# --- C-like and other sources: UTF-8 text, brackets as a warning ------------------------------------------


def _source(subject: Subject, *, lexer: str) -> None:
    if not check_utf8(subject):
        return
    if subject.size > subject.limits.max_parse_bytes:
        subject.check("brackets", True, "Too large for the bracket check; not run.", warning=True)
        return
    text = load_text(subject)
    assert text is not None  # the size was checked above
    check_brackets(subject, text, lexer=lexer)


_SOURCES: list[tuple[str, str, str, tuple[str, ...], str]] = [
    ("c", "C source", "text/x-c", (".c", ".h"), "c"),
    ("cpp", "C++ source", "text/x-c++", (".cpp", ".cc", ".cxx", ".hpp", ".hh", ".hxx", ".inl"), "c"),
    ("lua", "Lua source", "text/x-lua", (".lua",), "lua"),
]

for _format, _label, _mime, _extensions, _lexer in _SOURCES:

    def _validate(subject: Subject, _lexer: str = _lexer) -> None:
        _source(subject, lexer=_lexer)

    _validate.__doc__ = f"{_label}: UTF-8 text; unbalanced brackets are a warning (no grammar is installed)."
    register(_format, label=_label, mime_type=_mime, category="code", extensions=_extensions)(_validate)


# --- Sources with a real grammar --------------------------------------------------------------------------


def _grammar_check(
    subject: Subject,
    check: str,
    language: str,
    parse: Callable[[str], tuple[parsers.Grammar, parsers.SyntaxProblem | None]],
    text: str,
) -> bool:
    """Run one grammar over the text and record the outcome: the problem with its line and column."""
    seconds = subject.limits.max_parse_seconds
    try:
        grammar, problem = parse(text)
    except parsers.ParseTimeout:
        return subject.fail(check, f"The {language} parser did not finish within {seconds:g} s: the file is unchecked.")
    except RecursionError:
        return subject.fail(check, f"The {language} parser gave up: the file is nested too deeply.")
    subject.info["grammar"] = grammar.label
    if problem is not None:
        subject.info["syntax_error"] = {"line": problem.line, "column": problem.column}
        return subject.fail(
            check,
            f"{language} syntax error at line {problem.line}, column {problem.column}: {problem.message} "
            f"(grammar: {grammar.label}).",
        )
    return subject.passed(check, f"Parses as {grammar.label}")


def _tree_sitter_source(check: str, language: str, key_of: Callable[[Subject], str]) -> Validator:
    def validate(subject: Subject) -> None:
        text = utf8_text(subject, check=check)
        if text is None:
            return
        key = key_of(subject)
        seconds = subject.limits.max_parse_seconds
        _grammar_check(subject, check, language, lambda t: parsers.parse_tree_sitter(t, key, seconds=seconds), text)

    validate.__doc__ = f"{language}: UTF-8, then the tree-sitter grammar; a syntax error is located."
    return validate


def _suffix(subject: Subject) -> str:
    return PurePosixPath(subject.name.lower()).suffix


register("csharp", label="C# source", mime_type="text/x-csharp", category="code", extensions=(".cs",))(
    _tree_sitter_source("csharp_syntax", "C#", lambda _subject: "csharp")
)
register(
    "javascript",
    label="JavaScript",
    mime_type="text/javascript",
    category="code",
    extensions=(".js", ".mjs", ".cjs", ".jsx"),
)(_tree_sitter_source("javascript_syntax", "JavaScript", lambda _subject: "javascript"))
register(
    "typescript",
    label="TypeScript",
    mime_type="text/x-typescript",
    category="code",
    extensions=(".ts", ".mts", ".cts", ".tsx"),
)(_tree_sitter_source("typescript_syntax", "TypeScript", lambda s: "tsx" if _suffix(s) == ".tsx" else "typescript"))


@register("gdscript", label="GDScript", mime_type="text/x-gdscript", category="code", extensions=(".gd",))
def validate_gdscript(subject: Subject) -> None:
    """GDScript: UTF-8, then gdtoolkit's grammar for the project's Godot version (3 or 4).

    The version comes from the project's engine ("Godot 3.5"), else from the script's own syntax (`@export`,
    `await` are Godot 4; `export var`, `yield(` Godot 3); a script that says neither is tried as Godot 4, then 3.
    """
    text = utf8_text(subject, check="gdscript_syntax")
    if text is None:
        return
    seconds = subject.limits.max_parse_seconds
    stated = parsers.godot_version_of(subject.engine)
    implied = parsers.godot_version_in(text)
    version = stated or implied or parsers.GODOT_4
    subject.info["godot_version"] = version
    subject.info["godot_version_from"] = "project" if stated else "script syntax" if implied else "default"

    def parse(source: str) -> tuple[parsers.Grammar, parsers.SyntaxProblem | None]:
        grammar, problem = parsers.parse_gdscript(source, version, seconds=seconds)
        if problem is None or (stated is None and implied is not None):
            return grammar, problem
        other = parsers.GODOT_3 if version == parsers.GODOT_4 else parsers.GODOT_4
        other_grammar, other_problem = parsers.parse_gdscript(source, other, seconds=seconds)
        if other_problem is not None:
            return grammar, problem
        if stated is None:  # nothing said which Godot: the one whose grammar accepts it
            subject.info["godot_version"] = other
            return other_grammar, None
        message = f"{problem.message}; the script is valid Godot {other} GDScript, but the project uses Godot {stated}"
        return grammar, parsers.SyntaxProblem(problem.line, problem.column, message)

    _grammar_check(subject, "gdscript_syntax", "GDScript", parse, text)


def _shader_language(subject: Subject, text: str) -> str | None:
    """Which grammar a shader file takes: GLSL, the Godot shading language, or none (HLSL, ShaderLab, WGSL)."""
    suffix = _suffix(subject)
    if suffix in {".gdshader", ".gdshaderinc"}:
        return "gdshader"
    if suffix in {".glsl", ".vert", ".frag"}:
        return "glsl"
    if suffix == ".shader" and re.search(r"^\s*shader_type\s+\w+\s*;", text, re.MULTILINE):
        return "gdshader"  # a Godot 3 shader
    return None


@register(
    "shader",
    label="Shader source",
    mime_type="text/x-shader",
    category="code",
    also=("asset",),
    extensions=(".gdshader", ".gdshaderinc", ".shader", ".glsl", ".vert", ".frag", ".hlsl", ".cginc", ".wgsl"),
)
def validate_shader(subject: Subject) -> None:
    """Shaders: GLSL and Godot shaders through the GLSL grammar; HLSL, ShaderLab and WGSL brackets only."""
    if not check_utf8(subject):
        return
    text = load_text(subject, check="shader_syntax")
    if text is None:
        return
    language = _shader_language(subject, text)
    if language is None:
        subject.info["grammar"] = "none (no HLSL, ShaderLab or WGSL grammar is installed): brackets only"
        check_brackets(subject, text, lexer="c")
        return
    seconds = subject.limits.max_parse_seconds
    source = parsers.godot_shader_as_glsl(text) if language == "gdshader" else text
    label = "Godot shader" if language == "gdshader" else "GLSL"
    _grammar_check(
        subject, "shader_syntax", label, lambda t: parsers.parse_tree_sitter(t, language, seconds=seconds), source
    )


# --- Godot text formats -----------------------------------------------------------------------------------

_GODOT_ATTRIBUTE = re.compile(r'(?:^|\s)([A-Za-z_]\w*)=\s*("(?:[^"\\]|\\.)*"|\w+\([^)]*\)|[^\s\]]+)')
_GODOT_SECTION = re.compile(r"^\[([A-Za-z_]\w*)(?:\s+(.*))?\]$")
_GODOT_KEY = re.compile(r"^[^\s=\[\]]+\s*=")
_SEGMENT = re.compile(r'[^"\[\](){}]*')
_STRING_REST = re.compile(r'(?:[^"\\]|\\.)*"')
_EXT_REFERENCE = re.compile(r'ExtResource\(\s*"?([^")\s]+)"?\s*\)')
_SUB_REFERENCE = re.compile(r'SubResource\(\s*"?([^")\s]+)"?\s*\)')

_SCENE_SECTIONS = {"ext_resource", "sub_resource", "node", "connection", "editable"}
_RESOURCE_SECTIONS = {"ext_resource", "sub_resource", "resource"}


def _advance(line: str, depth: int, in_string: bool) -> tuple[int, bool]:
    """Carry bracket depth and open strings across one line of a Godot text file."""
    index = 0
    while index < len(line):
        if in_string:
            match = _STRING_REST.match(line, index)
            if match is None:
                return depth, True
            index, in_string = match.end(), False
            continue
        index = _SEGMENT.match(line, index).end()  # type: ignore[union-attr]  # matches the empty string at least
        if index >= len(line):
            break
        char = line[index]
        index += 1
        if char == '"':
            in_string = True
        elif char in "([{":
            depth += 1
        else:
            depth -= 1
    return depth, in_string


def _attributes(text: str) -> dict[str, str]:
    return {key: value.strip('"') for key, value in _GODOT_ATTRIBUTE.findall(text)}


class _GodotFile:
    """A Godot text file read statement by statement: `[section attrs]` headers and `key = value` lines."""

    def __init__(self, subject: Subject, text: str) -> None:
        self.subject = subject
        self.sections: list[tuple[int, str, dict[str, str]]] = []
        self.top_keys: dict[str, str] = {}
        self.problems: list[str] = []
        depth, in_string = 0, False
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if depth == 0 and not in_string and line and not line.startswith(";"):
                if line.startswith("["):
                    match = _GODOT_SECTION.match(line)
                    if match is None or _advance(line, 0, False) != (0, False):
                        self.problems.append(f"Line {number}: malformed section header {line[:80]!r}.")
                    else:
                        self.sections.append((number, match.group(1), _attributes(match.group(2) or "")))
                    continue
                if not _GODOT_KEY.match(line):
                    self.problems.append(f"Line {number}: expected `key = value`, found {line[:80]!r}.")
                elif not self.sections:
                    key, _, value = line.partition("=")
                    self.top_keys[key.strip()] = value.strip()
            depth, in_string = _advance(raw, depth, in_string)
            if depth < 0:
                self.problems.append(f"Line {number}: a closing bracket without an opening one.")
                depth = 0
        if in_string:
            self.problems.append("A string is never closed.")
        elif depth:
            self.problems.append("A bracket is never closed.")

    def check_syntax(self) -> bool:
        """Record the syntax check."""
        if self.problems:
            more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
            return self.subject.fail("godot_syntax", self.problems[0] + more)
        return self.subject.passed("godot_syntax", f"{len(self.sections)} well-formed sections")


def _godot_resource_file(subject: Subject, *, header: str, allowed: set[str]) -> _GodotFile | None:
    text = utf8_text(subject, check="godot_syntax")
    if text is None:
        return None
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if not first.startswith(f"[{header}"):
        subject.fail("godot_header", f"The file must start with a [{header} …] header; it starts with {first[:60]!r}.")
        return None
    godot = _GodotFile(subject, text)
    if not godot.sections or godot.sections[0][1] != header:
        subject.fail("godot_header", f"The [{header} …] header is malformed.")
        return None
    attributes = godot.sections[0][2]
    version = attributes.get("format", "")
    if not version.isdigit():
        subject.fail("godot_header", f"The [{header}] header needs format=<number>; found {version or 'none'!r}.")
        return None
    subject.info["format_version"] = int(version)
    for key in ("load_steps", "uid", "type", "script_class"):
        if key in attributes:
            subject.info[key] = int(attributes[key]) if attributes[key].isdigit() else attributes[key]
    subject.passed("godot_header", f"[{header} format={version}]")
    godot.check_syntax()
    unknown = sorted({name for _, name, _ in godot.sections[1:] if name not in allowed})
    subject.check(
        "godot_sections",
        not unknown,
        f"Unexpected sections: {', '.join(unknown)}." if unknown else "Known sections only",
        warning=True,
    )
    _check_references(subject, godot, text)
    return godot


def _check_references(subject: Subject, godot: _GodotFile, text: str) -> None:
    declared = {
        kind: {attrs.get("id") for _, name, attrs in godot.sections if name == kind}
        for kind in ("ext_resource", "sub_resource")
    }
    position = Position(text)
    for kind, pattern, label in (
        ("ext_resource", _EXT_REFERENCE, "ExtResource"),
        ("sub_resource", _SUB_REFERENCE, "SubResource"),
    ):
        for match in pattern.finditer(text):
            if match.group(1) not in declared[kind]:
                subject.fail(
                    "godot_references",
                    f"Line {position.line(match.start())}: {label}({match.group(1)!r}) is not declared in the file.",
                )
                return
    subject.info["ext_resources"] = len(declared["ext_resource"] - {None})
    subject.info["sub_resources"] = len(declared["sub_resource"] - {None})
    subject.passed("godot_references", "Every ExtResource/SubResource is declared")


@register(
    "godot_scene",
    label="Godot scene",
    mime_type="application/x-godot-scene",
    category="asset",
    also=("code",),
    extensions=(".tscn", ".escn"),
    magic=b"[gd_scene",
    strong_magic=False,
)
def validate_godot_scene(subject: Subject) -> None:
    """A `[gd_scene … format=N]` header, well-formed sections, declared resources, exactly one root node."""
    godot = _godot_resource_file(subject, header="gd_scene", allowed=_SCENE_SECTIONS)
    if godot is None:
        return
    nodes = [attrs for _, name, attrs in godot.sections if name == "node"]
    roots = [attrs.get("name", "?") for attrs in nodes if "parent" not in attrs]
    subject.info["node_count"] = len(nodes)
    if len(roots) == 1:
        subject.passed("godot_nodes", f"{len(nodes)} nodes under the root {roots[0]!r}")
    elif not roots:
        subject.fail("godot_nodes", "The scene has no root node (a [node] without parent=).")
    else:
        subject.fail("godot_nodes", f"The scene has {len(roots)} root nodes ({', '.join(roots[:5])}); it needs one.")


@register(
    "godot_resource",
    label="Godot resource",
    mime_type="application/x-godot-resource",
    category="asset",
    also=("code",),
    extensions=(".tres",),
    magic=b"[gd_resource",
    strong_magic=False,
)
def validate_godot_resource(subject: Subject) -> None:
    """A `[gd_resource type=… format=N]` header, well-formed sections and declared resources."""
    godot = _godot_resource_file(subject, header="gd_resource", allowed=_RESOURCE_SECTIONS)
    if godot is None:
        return
    has_resource = any(name == "resource" for _, name, _ in godot.sections)
    subject.check(
        "godot_resource_section",
        has_resource,
        "Has a [resource] section" if has_resource else "No [resource] section: the resource has no properties.",
        warning=True,
    )


@register(
    "godot_project",
    label="Godot project settings",
    mime_type="application/x-godot-project",
    category="code",
    names=("project.godot",),
)
def validate_godot_project(subject: Subject) -> None:
    """`project.godot`: well-formed sections and a `config_version=N` before them."""
    text = utf8_text(subject, check="godot_syntax")
    if text is None:
        return
    godot = _GodotFile(subject, text)
    godot.check_syntax()
    version = godot.top_keys.get("config_version", "")
    if not version.isdigit():
        subject.fail("godot_config_version", "project.godot needs config_version=<number> before its first section.")
        return
    subject.info["config_version"] = int(version)
    subject.passed("godot_config_version", f"config_version={version}")
    name = re.search(r'^[ \t]*config/name[ \t]*=[ \t]*"((?:[^"\\]|\\.)*)"', text, re.MULTILINE)
    if name:
        subject.info["project_name"] = name.group(1)
    features = re.search(r'^[ \t]*config/features[ \t]*=[ \t]*PackedStringArray\(\s*"([\d.]+)"', text, re.MULTILINE)
    if features:
        subject.info["engine_version"] = features.group(1)


# --- Unity YAML -------------------------------------------------------------------------------------------

_UNITY_DOCUMENT = re.compile(r"^--- !u!(\d+) &(-?\d+)(?: stripped)?\s*$")


def _unity_yaml(head: bytes) -> bool:
    return head.startswith(b"--- !u!") or b"%TAG !u! tag:unity3d.com," in head[:200]


@register(
    "unity_yaml",
    label="Unity YAML asset",
    mime_type="application/x-yaml",
    category="asset",
    also=("code",),
    extensions=(
        ".unity",
        ".prefab",
        ".asset",
        ".mat",
        ".controller",
        ".anim",
        ".overridecontroller",
        ".mask",
        ".mixer",
    ),
    magic=_unity_yaml,
    strong_magic=False,
)
def validate_unity_yaml(subject: Subject) -> None:
    """Unity's text serialisation: the %YAML/%TAG header and `--- !u!<class> &<fileID>` documents."""
    if not subject.head.lstrip(b"\xef\xbb\xbf").startswith((b"%YAML", b"--- !u!")):
        subject.fail(
            "unity_header",
            "Not Unity text YAML (no %YAML header): binary serialisation is not accepted; use Force Text.",
        )
        return
    text = utf8_text(subject, check="unity_documents")
    if text is None:
        return
    lines = text.splitlines()
    if lines[0].startswith("%YAML") and not (len(lines) > 1 and lines[1].startswith("%TAG !u! tag:unity3d.com,")):
        subject.fail("unity_header", "The %YAML header must be followed by %TAG !u! tag:unity3d.com,2011:.")
        return
    subject.passed("unity_header", lines[0].strip())
    ids: set[str] = set()
    classes: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.startswith("---"):
            continue
        match = _UNITY_DOCUMENT.match(line)
        if match is None:
            subject.fail("unity_documents", f"Line {number}: malformed document header {line[:60]!r}.")
            return
        if match.group(2) in ids:
            subject.fail("unity_documents", f"Line {number}: fileID {match.group(2)} is used twice.")
            return
        ids.add(match.group(2))
        classes[match.group(1)] = classes.get(match.group(1), 0) + 1
    if not ids:
        subject.fail("unity_documents", "No `--- !u!<class> &<fileID>` document in the file.")
        return
    subject.info["object_count"] = len(ids)
    subject.info["class_ids"] = dict(sorted(classes.items(), key=lambda item: int(item[0])))
    subject.passed("unity_documents", f"{len(ids)} objects with distinct fileIDs")


_META_GUID = re.compile(r"^guid: ([0-9a-f]{32})\s*$", re.MULTILINE)
_META_VERSION = re.compile(r"^fileFormatVersion: (\d+)\s*$", re.MULTILINE)


@register(
    "unity_meta",
    label="Unity .meta file",
    mime_type="application/x-yaml",
    category="asset",
    also=("code",),
    extensions=(".meta",),
)
def validate_unity_meta(subject: Subject) -> None:
    """A Unity .meta file: `fileFormatVersion` and a 32-hex `guid`."""
    text = utf8_text(subject, check="unity_meta")
    if text is None:
        return
    version, guid = _META_VERSION.search(text), _META_GUID.search(text)
    if version is None or guid is None:
        missing = " and ".join(k for k, v in (("fileFormatVersion", version), ("guid", guid)) if v is None)
        subject.fail("unity_meta", f"A Unity .meta file needs {missing}.")
        return
    subject.info["guid"] = guid.group(1)
    subject.info["file_format_version"] = int(version.group(1))
    subject.passed("unity_meta", f"guid {guid.group(1)}")
