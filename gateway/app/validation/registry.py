"""The format registry: each format is one decorated validator function that says how to recognise it."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from gateway.app.validation.report import Category, Subject

Sniffer = Callable[[bytes], bool]


class Validator(Protocol):
    """Checks one file of a known format, recording checks and facts on the subject."""

    def __call__(self, subject: Subject, /) -> None: ...


@dataclass(frozen=True)
class FormatSpec:
    """A format the gateway recognises: how to spot it, what it is and which validator checks it."""

    format: str
    label: str
    mime_type: str
    category: Category
    categories: frozenset[Category]
    extensions: tuple[str, ...]
    names: tuple[str, ...]
    magic: Sniffer | None
    strong_magic: bool
    validate: Validator


_FORMATS: dict[str, FormatSpec] = {}


def prefix(*signatures: bytes, at: int = 0) -> Sniffer:
    """A sniffer matching any of the byte strings at an offset of the head."""
    return lambda head: any(head[at : at + len(signature)] == signature for signature in signatures)


def register(
    format: str,
    *,
    label: str,
    mime_type: str,
    category: Category,
    also: Iterable[Category] = (),
    extensions: Iterable[str] = (),
    names: Iterable[str] = (),
    magic: bytes | Sniffer | None = None,
    strong_magic: bool = True,
) -> Callable[[Validator], Validator]:
    """Register a validator for a format.

    `extensions` (".png") and `names` ("project.godot") recognise it by name; `magic` by content. Strong magic
    (binary signatures) wins over the extension, and a file whose extension says otherwise is flagged; weak
    magic (text headers) only decides when the extension says nothing.
    """
    sniff = prefix(magic) if isinstance(magic, bytes) else magic

    def decorate(function: Validator) -> Validator:
        if format in _FORMATS:
            raise ValueError(f"format {format!r} is registered twice")
        _FORMATS[format] = FormatSpec(
            format=format,
            label=label,
            mime_type=mime_type,
            category=category,
            categories=frozenset({category, *also}),
            extensions=tuple(e.lower() for e in extensions),
            names=tuple(n.lower() for n in names),
            magic=sniff,
            strong_magic=strong_magic,
            validate=function,
        )
        return function

    return decorate


def formats() -> list[FormatSpec]:
    """Every registered format, in registration order (the order magic is tried in)."""
    return list(_FORMATS.values())


def get(format: str) -> FormatSpec | None:
    """The registered format with that id."""
    return _FORMATS.get(format)
