"""Pieces every resource uses: strict input models, pages and opaque cursors."""

import base64
import binascii
import json
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, Strict

from gateway.app.errors import InvalidInput

# The largest integer the databases store (signed 64 bits): ids, versions and counts above it cannot exist.
DB_INT_MAX = 2**63 - 1
# Numbers and booleans in a JSON body are taken as sent: "3" is no integer, 1 is no boolean (issue 11: values
# were coerced). Enums and timestamps arrive as strings, so the models themselves stay lax.
StrictInt = Annotated[int, Strict()]
StrictFloat = Annotated[float, Strict()]
StrictBool = Annotated[bool, Strict()]
DbId = Annotated[int, Strict(), Field(ge=1, le=DB_INT_MAX)]


class InputModel(BaseModel):
    """A request body: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OutputModel(BaseModel):
    """A response body, readable straight from a table row."""

    model_config = ConfigDict(from_attributes=True)


def not_null(value: Any) -> Any:
    """A field validator for patches: a field may be left out, but not set to null.

    Type such a field `X | SkipJsonSchema[None]`: the documented schema then says what is accepted (no null).
    """
    if value is None:
        raise ValueError("may be left out, but not set to null")
    return value


def encode_cursor(*values: Any) -> str:
    """An opaque cursor for the position after a row (the row's sort key)."""
    raw = json.dumps(list(values), separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *types: type | tuple[type, ...]) -> list[Any]:
    """The sort key inside a cursor, one value per expected type; any other cursor is a 422."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        values = None
    if (
        not isinstance(values, list)
        or len(values) != len(types)
        or not all(
            isinstance(value, kind) and not isinstance(value, bool) for value, kind in zip(values, types, strict=False)
        )
    ):
        raise InvalidInput(
            "The cursor is not one this API handed out.",
            errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor", "type": "cursor_invalid"}],
        )
    return values
