"""Artifact metadata resources."""

from datetime import datetime
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, Strict, field_validator
from pydantic.json_schema import SkipJsonSchema

from gateway.app.jsondoc import JSON_INTEGER
from gateway.app.schemas.common import API_INT_MAX, DbId, InputModel, OutputModel, not_null

Category = Literal["code", "asset", "document", "screenshot"]
ValidationStatus = Literal["pending", "valid", "invalid"]
MimeType = Annotated[str, Field(pattern=r"^[\w.+-]+/[\w.+-]+$", max_length=127)]

_EXAMPLE_READ = {
    "id": 7,
    "project_id": "star-courier",
    "task_id": 12,
    "name": "player.gd",
    "path": "scripts/player.gd",
    "mime_type": "text/x-gdscript",
    "category": "code",
    "validation_status": "pending",
    "size_bytes": 2048,
    "sha256": "9b1f3c8e2d4a5b6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4",
    "source": "upload",
    "validation_report": {
        "status": "valid",
        "category": "code",
        "format": "gdscript",
        "checks": [{"name": "utf-8", "ok": True, "detail": "", "severity": "error"}],
        "errors": [],
    },
    "validated_at": "2026-11-25T10:00:01Z",
    "created_at": "2026-11-25T10:00:00Z",
}


def _check_name(value: str | None) -> str | None:
    if value is not None and (value in {".", ".."} or "/" in value or "\\" in value or "\x00" in value):
        raise ValueError("a file name, without any directory part")
    return value


def check_relative_path(value: str) -> str:
    if "\\" in value or "\x00" in value:
        raise ValueError("use forward slashes and no NUL characters")
    path = PurePosixPath(value)
    if path.is_absolute() or ".." in path.parts or not path.parts or path.parts == (".",):
        raise ValueError("a relative path inside the project, without '..'")
    return str(path)


class ArtifactCreate(InputModel):
    """Metadata of a file that belongs to the project (and optionally to one of its tasks)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {k: _EXAMPLE_READ[k] for k in ("name", "path", "mime_type", "category", "task_id", "size_bytes")}
            ]
        }
    )

    name: Annotated[str, Field(min_length=1, max_length=255)]
    path: Annotated[str, Field(min_length=1, max_length=1024, description="Relative to the project's workspace")]
    mime_type: MimeType | None = None
    category: Category | None = None
    task_id: DbId | None = None
    size_bytes: Annotated[int, Strict(), Field(ge=0, le=API_INT_MAX), JSON_INTEGER] | None = None

    _name = field_validator("name")(_check_name)
    _path = field_validator("path")(check_relative_path)


class ArtifactUpdate(InputModel):
    """Fields to change; those left out keep their value."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"category": "asset"}]})

    name: Annotated[str, Field(min_length=1, max_length=255)] | SkipJsonSchema[None] = None
    mime_type: MimeType | None = None
    category: Category | None = None

    _name = field_validator("name")(_check_name)
    _not_null = field_validator("name")(not_null)


class WorkspaceFile(InputModel):
    """A file in the project's workspace to record as an artifact (its bytes are copied in)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"path": "scripts/player.gd", "task_id": 12, "category": "code"}]}
    )

    path: Annotated[str, Field(min_length=1, max_length=1024, description="Relative to the project's workspace")]
    task_id: DbId | None = None
    category: Category | None = None

    _path = field_validator("path")(check_relative_path)


class ArtifactRead(OutputModel):
    """An artifact's metadata as the API shows it."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE_READ]})

    id: int
    project_id: str
    task_id: int | None
    name: str
    path: str
    mime_type: str | None
    category: str | None
    validation_status: str
    size_bytes: int | None
    sha256: str | None = None
    source: str | None = Field(default=None, description="upload, workspace or metadata")
    validation_report: dict[str, Any] | None = Field(default=None, description="What the last validation checked")
    validated_at: datetime | None = None
    created_at: datetime


class ArtifactPage(OutputModel):
    """One page of artifacts, in creation order."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_EXAMPLE_READ], "next_cursor": None}]})

    items: list[ArtifactRead]
    next_cursor: str | None = None
