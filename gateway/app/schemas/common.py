"""Pieces every resource uses: strict input models, pages and opaque cursors."""

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, Strict

from gateway.app.errors import InvalidInput
from gateway.app.jsondoc import API_INT_MAX, JSON_INTEGER

DbId = Annotated[int, Strict(), Field(ge=1, le=API_INT_MAX), JSON_INTEGER]


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


# Cursors name the position after the last row of a page in plain text, so that the documented pattern is the
# whole rule (issue 11: a schema-valid cursor was refused): every cursor that matches it is a position — the page
# after it may be empty — and anything else is a 422. A sort key, then the row's id as a tie-break, joined by "~".
ID_CURSOR = r"^[0-9]{1,19}$"
_TIEBREAK = r"~[^~\x00-\x1f]{1,128}$"
TIME_CURSOR = r"^[0-9]{1,17}" + _TIEBREAK  # microseconds since 1970, then an id
KEY_CURSOR = r"^[0-9]{1,17}(\.[0-9]{1,17})?" + _TIEBREAK  # a sortable number, then an id
_PATTERNS = {ID_CURSOR: re.compile(ID_CURSOR), TIME_CURSOR: re.compile(TIME_CURSOR), KEY_CURSOR: re.compile(KEY_CURSOR)}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LAST_MICROSECOND = int((datetime.max.replace(tzinfo=UTC) - _EPOCH) / timedelta(microseconds=1))


def encode_cursor(*values: int | float | str | datetime) -> str:
    """The cursor of the position after a row, from its sort key (numbers, a timestamp) and its id."""
    parts = []
    for value in values:
        if isinstance(value, datetime):
            aware = value if value.tzinfo else value.replace(tzinfo=UTC)
            parts.append(str((aware - _EPOCH) // timedelta(microseconds=1)))
        else:
            parts.append(repr(value) if isinstance(value, float) else str(value))
    return "~".join(parts)


def decode_cursor(cursor: str, pattern: str, *kinds: type) -> list[Any]:
    """The sort key a cursor of that pattern names, one value per kind (int, float, str, datetime)."""
    if not _PATTERNS[pattern].match(cursor):
        raise InvalidInput(
            "The cursor is not one this API handed out.",
            errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor", "type": "cursor_invalid"}],
        )
    values: list[Any] = []
    for part, kind in zip(cursor.split("~", len(kinds) - 1), kinds, strict=True):
        if kind is int:
            values.append(min(int(part), API_INT_MAX))  # past the largest id: the (empty) page after it
        elif kind is float:
            values.append(float(part))
        elif kind is datetime:
            values.append(_EPOCH + timedelta(microseconds=min(int(part), _LAST_MICROSECOND)))
        else:
            values.append(part)
    return values
