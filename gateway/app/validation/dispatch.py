"""Recognise a file (magic bytes first, then its name) and run the validator registered for its format."""

import hashlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from gateway.app.logging import get_logger

# Importing the validator modules registers their formats; the order is the order magic is tried in.
from gateway.app.validation import assets, audio, categories, code, documents, images, models3d  # noqa: F401
from gateway.app.validation.documents import TEXT
from gateway.app.validation.registry import FormatSpec, formats, get
from gateway.app.validation.report import Category, Limits, Subject, ValidationReport
from gateway.app.validation.text import iter_chunks, looks_like_text

log = get_logger(__name__)

HEAD_BYTES = 8192
UNKNOWN = "unknown"
DEFAULT_LIMITS = Limits()


@dataclass(frozen=True, slots=True)
class Detected:
    """What a file is: its format, its content type and the category it falls in unless told otherwise."""

    format: str
    mime_type: str
    category: Category


def _base_name(name: str) -> str:
    return PurePosixPath(name.replace("\\", "/")).name.lower()


def spec_by_name(name: str, head: bytes = b"") -> FormatSpec | None:
    """The format a file name implies: a full name (project.godot) first, then the extension.

    An extension two formats share (.tsx: TypeScript or a Tiled tileset) goes to the one whose magic matches.
    """
    base = _base_name(name)
    suffix = PurePosixPath(base).suffix
    by_full_name = next((spec for spec in formats() if base in spec.names), None)
    if by_full_name is not None:
        return by_full_name
    candidates = [spec for spec in formats() if suffix and suffix in spec.extensions]
    matching = [spec for spec in candidates if spec.magic is not None and spec.magic(head)]
    return next(iter(matching or candidates), None)


def _recognise(name: str, head: bytes) -> tuple[FormatSpec | None, FormatSpec | None]:
    """(format of the content, format the name implies)."""
    by_name = spec_by_name(name, head)
    for spec in formats():
        if spec.strong_magic and spec.magic is not None and spec.magic(head):
            return spec, by_name
    if by_name is not None:
        return by_name, by_name
    for spec in formats():
        if not spec.strong_magic and spec.magic is not None and spec.magic(head):
            return spec, by_name
    if looks_like_text(head):
        return get(TEXT), by_name
    return None, by_name


def _detected(spec: FormatSpec | None, where: str) -> Detected:
    if spec is None:
        return Detected(format=UNKNOWN, mime_type="application/octet-stream", category="asset")
    category = categories.infer(where, spec) or spec.category
    return Detected(format=spec.format, mime_type=spec.mime_type, category=category)


def detect(name: str, head: bytes, *, path: str | None = None) -> Detected:
    """What a file is, from its name and first bytes: magic bytes first, the extension second.

    `path` (where the file goes in the project) refines the category, as the plan's deliverables do.
    """
    return _detected(_recognise(name, head)[0], path or name)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    for chunk in iter_chunks(path):
        digest.update(chunk)
    return digest.hexdigest()


def _run(subject: Subject, spec: FormatSpec | None, by_name: FormatSpec | None, declared: Category | None) -> None:
    if subject.size == 0:
        subject.fail("not_empty", "The file is empty (0 bytes).")
        return
    subject.passed("not_empty", f"{subject.size} bytes")
    if spec is None:
        subject.fail("format", f"Unsupported format: {subject.name!r} is not a kind of file the gateway can check.")
        return
    if by_name is not None and by_name is not spec:
        suffix = PurePosixPath(_base_name(subject.name)).suffix
        subject.fail("format", f"The name ({suffix}) says {by_name.label}, but the content is a {spec.label}.")
    else:
        subject.passed("format", spec.label)
    if declared is not None:
        allowed = ", ".join(sorted(spec.categories))
        subject.check(
            "category",
            declared in spec.categories,
            f"Declared {declared!r}; a {spec.label} can be: {allowed}.",
        )
    try:
        spec.validate(subject)
    except Exception as exc:  # a hostile file can break a parser in ways it does not document: that is a finding
        log.warning("validator failed", format=spec.format, name=subject.name, error=repr(exc))
        subject.fail("validator", f"The {spec.label} could not be checked: {type(exc).__name__}: {exc}")


def validate(
    path: Path,
    *,
    name: str,
    category: Category | None = None,
    limits: Limits = DEFAULT_LIMITS,
    sha256: str | None = None,
    project_path: str | None = None,
    engine: str | None = None,
) -> ValidationReport:
    """Validate a stored file for real, by category and format; the report says valid or invalid and why.

    Without a declared category, the category table (`categories`) infers one from the format and the file's
    place in the project (`project_path`, else its name). `engine` (the project's, e.g. "Godot 4") picks the
    grammar where engine versions differ; without one, the file's own syntax decides.
    """
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    spec, by_name = _recognise(name, head)
    detected = _detected(spec, project_path or name)
    effective = category or detected.category
    subject = Subject(path=path, name=name, size=size, head=head, category=effective, limits=limits, engine=engine)
    _run(subject, spec, by_name, category)
    errors = subject.errors
    return ValidationReport(
        status="invalid" if errors else "valid",
        category=effective,
        format=detected.format,
        mime_type=detected.mime_type,
        size_bytes=size,
        sha256=sha256 or _file_sha256(path),
        checks=subject.checks,
        errors=errors,
        info=subject.info,
    )
