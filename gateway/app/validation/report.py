"""What a validation produces (the report stored on an artifact) and what validators work on."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Bump when checks change meaning, so stored reports can be told apart and artifacts re-validated.
VALIDATOR_VERSION = "1.0.0"

Category = Literal["code", "asset", "document", "screenshot"]
CATEGORIES: tuple[Category, ...] = ("code", "asset", "document", "screenshot")

MiB = 1024 * 1024
# An 8K texture (8192 x 8192); a decode takes up to 4 bytes a pixel in memory, so 256 MiB at most.
MAX_IMAGE_PIXELS = 8192 * 8192


class Limits(BaseModel):
    """Bounds that keep validation of hostile files cheap, and what counts as a sane image."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_image_side: int = Field(default=16_384, ge=1, description="Largest width or height, in pixels")
    min_image_side: int = Field(default=1, ge=1, description="Smallest width or height, in pixels")
    max_image_pixels: int = Field(
        default=MAX_IMAGE_PIXELS, ge=1, description="Largest width x height (checked from the header, before decoding)"
    )
    max_concurrent_decodes: int = Field(
        default=2, ge=1, description="Images decoded at once in this process (each may take ~4 bytes a pixel)"
    )
    min_screenshot_side: int = Field(default=64, ge=1, description="Smallest side of a screenshot")
    max_screenshot_aspect: float = Field(default=4.0, ge=1, description="Longest side over shortest, screenshots")
    max_parse_bytes: int = Field(default=8 * MiB, ge=1, description="Largest file parsed whole (JSON, Python…)")
    max_parse_seconds: float = Field(
        default=20.0, gt=0, description="How long one grammar may take over a file (GDScript, C#, TypeScript…)"
    )
    max_scan_bytes: int = Field(
        default=64 * MiB, ge=1, description="How much of a file is scanned (UTF-8, lines, pages); the rest is not"
    )


class Check(BaseModel):
    """One check a validator ran: its name, whether it passed, and what it found."""

    name: str
    ok: bool
    detail: str = ""
    severity: Literal["error", "warning"] = Field(
        default="error", description="A failed warning is reported but does not make the artifact invalid"
    )


_EXAMPLE = {
    "status": "valid",
    "category": "asset",
    "format": "png",
    "mime_type": "image/png",
    "size_bytes": 48213,
    "sha256": "9f2c5d0e7b1a4c3d8e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d",
    "checks": [
        {"name": "signature", "ok": True, "detail": "PNG signature", "severity": "error"},
        {"name": "decode", "ok": True, "detail": "decoded 512x512 RGBA", "severity": "error"},
        {"name": "dimensions", "ok": True, "detail": "512x512 within limits", "severity": "error"},
    ],
    "errors": [],
    "info": {"width": 512, "height": 512, "mode": "RGBA"},
    "validator_version": VALIDATOR_VERSION,
}


class ValidationReport(BaseModel):
    """The outcome of validating one file: valid or not, what it is, every check run and what was learnt."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    status: Literal["valid", "invalid"]
    category: Category = Field(description="The declared category, or the one inferred from the content")
    format: str = Field(description="Format found by magic bytes, then extension (png, gltf, python, …)")
    mime_type: str
    size_bytes: int
    sha256: str | None = None
    checks: list[Check] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list, description="Why the file is invalid, one line per failure")
    info: dict[str, Any] = Field(default_factory=dict, description="Facts found: dimensions, duration, lines…")
    validator_version: str = VALIDATOR_VERSION


@dataclass
class Subject:
    """The file under validation, and what the validators have found so far."""

    path: Path
    name: str
    size: int
    head: bytes
    category: Category
    limits: Limits
    engine: str | None = None  # the project's engine as its brief names it ("Godot 4"): picks grammars
    checks: list[Check] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    def check(self, name: str, ok: bool, detail: str = "", *, warning: bool = False) -> bool:
        """Record a check and return whether it passed (a failed warning does not invalidate)."""
        self.checks.append(Check(name=name, ok=ok, detail=detail, severity="warning" if warning else "error"))
        return ok

    def passed(self, name: str, detail: str = "") -> bool:
        """Record a check that passed."""
        return self.check(name, True, detail)

    def fail(self, name: str, detail: str) -> bool:
        """Record a check that failed (always False, to return it)."""
        return self.check(name, False, detail)

    @property
    def errors(self) -> list[str]:
        """The details of every failed check that is not a warning."""
        return [c.detail for c in self.checks if not c.ok and c.severity == "error"]
