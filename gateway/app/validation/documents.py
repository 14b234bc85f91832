"""Documents and plain data: Markdown and text (UTF-8), XML family (well-formed), PDF (structure)."""

import re
import tomllib
from xml.parsers import expat

import yaml

from gateway.app.validation.registry import Sniffer, Validator, prefix, register
from gateway.app.validation.report import Category, Subject
from gateway.app.validation.text import check_utf8, iter_chunks, utf8_text

TEXT = "text"  # the format of a text file whose name says nothing more


@register(
    "markdown",
    label="Markdown",
    mime_type="text/markdown",
    category="document",
    also=("code",),
    extensions=(".md", ".markdown", ".mdx"),
)
def validate_markdown(subject: Subject) -> None:
    """Markdown: UTF-8 text without NUL bytes."""
    check_utf8(subject)


# Plain text under many names; the text itself is all there is to check. (format, label, MIME, extensions, category)
_TEXT_FORMATS: list[tuple[str, str, str, tuple[str, ...], Category]] = [
    (TEXT, "Plain text", "text/plain", (".txt", ".text", ".log", ".rst", ".adoc"), "document"),
    ("ink", "Ink story", "text/x-ink", (".ink",), "document"),
    ("csv", "CSV", "text/csv", (".csv", ".tsv"), "asset"),  # tables a game loads: translations, stats
    ("ini", "INI-style settings", "text/plain", (".ini", ".cfg", ".conf", ".import", ".editorconfig"), "code"),
    ("stylesheet", "Stylesheet", "text/css", (".css", ".uss"), "asset"),  # a UI theme
    ("shadergraph", "Unity Shader Graph", "application/json", (".shadergraph", ".shadersubgraph"), "asset"),
]

for _format, _label, _mime, _extensions, _category in _TEXT_FORMATS:

    def _validate_text(subject: Subject) -> None:
        check_utf8(subject)

    _validate_text.__doc__ = f"{_label}: UTF-8 text without NUL bytes."
    register(
        _format,
        label=_label,
        mime_type=_mime,
        category=_category,
        also=("document", "code", "asset"),
        extensions=_extensions,
    )(_validate_text)


# --- YAML and TOML: parsed whole ------------------------------------------------------------------------


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"Invalid YAML{where}: {problem}."


@register(
    "yaml",
    label="YAML",
    mime_type="application/yaml",
    category="code",  # settings and pipelines
    also=("document", "asset"),
    extensions=(".yaml", ".yml"),
)
def validate_yaml(subject: Subject) -> None:
    """UTF-8, then every document composed by PyYAML's safe loader (syntax, anchors and aliases; no objects built)."""
    text = utf8_text(subject, check="yaml_syntax")
    if text is None:
        return
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        documents = sum(1 for _ in yaml.compose_all(text, Loader=loader))
    except yaml.YAMLError as exc:
        subject.fail("yaml_syntax", _yaml_problem(exc))
        return
    except RecursionError:
        subject.fail("yaml_syntax", "Invalid YAML: nested too deeply to parse.")
        return
    subject.info["documents"] = documents
    subject.passed("yaml_syntax", "Parses as YAML")


_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


@register(
    "toml",
    label="TOML",
    mime_type="application/toml",
    category="code",
    also=("document", "asset"),
    extensions=(".toml",),
)
def validate_toml(subject: Subject) -> None:
    """UTF-8, then `tomllib`: the file is TOML 1.0."""
    text = utf8_text(subject, check="toml_syntax")
    if text is None:
        return
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        position = _TOML_POSITION.search(message)
        where = f" at line {position.group(1)}, column {position.group(2)}" if position else ""
        if "(at end of document)" in message:
            lines = text.split("\n")
            where, message = (
                f" at line {len(lines)}, column {len(lines[-1]) + 1} (the end)",
                message[: message.index(" (at end")],
            )
        subject.fail("toml_syntax", f"Invalid TOML{where}: {_TOML_POSITION.sub('', message).strip()}.")
        return
    except RecursionError:
        subject.fail("toml_syntax", "Invalid TOML: nested too deeply to parse.")
        return
    subject.passed("toml_syntax", "Parses as TOML")


# --- XML --------------------------------------------------------------------------------------------------


def _refuse_entities(*_args: object) -> None:
    raise ValueError("entity declarations are not accepted")


def check_xml(subject: Subject) -> bool:
    """Stream the file through expat: well-formed XML, and no entity declarations (no entity expansion bombs)."""
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.EntityDeclHandler = _refuse_entities
    root: list[str] = []

    def first_element(name: str, _attributes: object) -> None:
        root.append(name)
        parser.StartElementHandler = None  # one Python call for the root, none for the other elements

    parser.StartElementHandler = first_element
    try:
        for chunk in iter_chunks(subject.path, limit=subject.limits.max_scan_bytes):
            parser.Parse(chunk, False)
        if subject.size <= subject.limits.max_scan_bytes:
            parser.Parse(b"", True)
    except expat.ExpatError as exc:
        return subject.fail(
            "xml", f"Not well-formed XML at line {exc.lineno}, column {exc.offset}: {expat.ErrorString(exc.code)}."
        )
    except ValueError as exc:
        return subject.fail("xml", f"XML refused: {exc}.")
    if root:
        subject.info["root_element"] = root[0]
    return subject.passed("xml", "Well-formed XML")


def _xml_validator(root: str | None) -> Validator:
    def validate(subject: Subject) -> None:
        if not check_utf8(subject) or not check_xml(subject):
            return
        if root is not None:
            found = subject.info.get("root_element", "").rpartition(":")[2]
            subject.check("xml_root", found == root, f"Root element <{found}>, expected <{root}>.")

    return validate


_XML_FORMATS: list[tuple[str, str, str, tuple[str, ...], str | None, str, tuple[str, ...]]] = [
    ("xml", "XML", "application/xml", (".xml", ".uxml"), None, "asset", ("code", "document")),
    ("svg", "SVG image", "image/svg+xml", (".svg",), "svg", "asset", ("document",)),
    ("tiled_map", "Tiled map", "application/x-tiled-tmx", (".tmx",), "map", "asset", ("code",)),
    ("tiled_tileset", "Tiled tileset", "application/x-tiled-tsx", (".tsx",), "tileset", "asset", ("code",)),
    ("collada", "COLLADA model", "model/vnd.collada+xml", (".dae",), "COLLADA", "asset", ()),
]

# Text signatures: the XML declaration for any XML file; a tileset's own root to tell it from TypeScript (.tsx).
_XML_MAGIC: dict[str, Sniffer] = {
    "xml": prefix(b"<?xml"),
    "tiled_tileset": lambda head: head.lstrip()[:5] == b"<?xml" or head.lstrip().startswith(b"<tileset"),
}

for _format, _label, _mime, _extensions, _root, _xml_category, _also in _XML_FORMATS:
    _validate_xml = _xml_validator(_root)
    _validate_xml.__doc__ = f"{_label}: UTF-8, well-formed XML" + (f" with a <{_root}> root." if _root else ".")
    register(
        _format,
        label=_label,
        mime_type=_mime,
        category=_xml_category,  # type: ignore[arg-type]  # _XML_FORMATS holds category literals
        also=_also,  # type: ignore[arg-type]  # the registry's decorator takes the literal the spec was declared with
        extensions=_extensions,
        magic=_XML_MAGIC.get(_format),
        strong_magic=False,
    )(_validate_xml)


# --- PDF --------------------------------------------------------------------------------------------------

_PDF_VERSION = re.compile(rb"^%PDF-([12]\.\d)")
_STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF", re.DOTALL)
_PAGE = re.compile(rb"/Type\s*/Page(?![A-Za-z])")
PDF_TAIL_BYTES = 2048


@register(
    "pdf", label="PDF document", mime_type="application/pdf", category="document", extensions=(".pdf",), magic=b"%PDF-"
)
def validate_pdf(subject: Subject) -> None:
    """PDF: a `%PDF-1.x`/`2.x` header, `startxref` pointing at a cross-reference, `%%EOF` at the end."""
    version = _PDF_VERSION.match(subject.head)
    if version is None:
        subject.fail("pdf_header", "Not a PDF: the file does not start with %PDF-1.x or %PDF-2.x.")
        return
    subject.info["pdf_version"] = version.group(1).decode()
    subject.passed("pdf_header", f"PDF {version.group(1).decode()}")
    with subject.path.open("rb") as handle:
        handle.seek(max(0, subject.size - PDF_TAIL_BYTES))
        tail = handle.read()
        if b"%%EOF" not in tail:
            subject.fail("pdf_eof", "No %%EOF marker at the end: the PDF is truncated.")
            return
        subject.passed("pdf_eof", "%%EOF at the end")
        startxref = list(_STARTXREF.finditer(tail))
        if not startxref:
            subject.fail("pdf_xref", "No startxref before the final %%EOF.")
            return
        offset = int(startxref[-1].group(1))
        if offset >= subject.size:
            subject.fail("pdf_xref", f"startxref points past the end of the file ({offset}).")
            return
        handle.seek(offset)
        target = handle.read(1024)
    if not (target.lstrip().startswith(b"xref") or re.match(rb"\s*\d+\s+\d+\s+obj", target)):
        subject.fail("pdf_xref", f"startxref {offset} does not point at a cross-reference table or stream.")
        return
    subject.passed("pdf_xref", f"Cross-reference at offset {offset}")
    subject.info["encrypted"] = b"/Encrypt" in tail or b"/Encrypt" in target
    subject.info["pages_seen"] = _count_pages(subject)


_OVERLAP = 64


def _count_pages(subject: Subject) -> int:
    """Page objects seen, scanning in chunks; pages inside compressed object streams are not seen."""
    pages = 0
    next_start = 0  # matches starting before this offset were counted already
    offset = 0  # file offset of data[0]
    tail = b""
    for chunk in iter_chunks(subject.path, limit=subject.limits.max_scan_bytes):
        data = tail + chunk
        for match in _PAGE.finditer(data):
            # A match touching the end of the data waits for the next chunk, which may extend it ("/Pages").
            if offset + match.start() >= next_start and match.end() < len(data):
                pages += 1
                next_start = offset + match.start() + 1
        keep = min(len(data), _OVERLAP)
        tail = data[len(data) - keep :]
        offset += len(data) - keep
    pages += sum(1 for match in _PAGE.finditer(tail) if offset + match.start() >= next_start)
    return pages
