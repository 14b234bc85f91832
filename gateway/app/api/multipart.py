"""Stream the one file of a multipart/form-data request body, chunk by chunk, without spooling it anywhere."""

from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from python_multipart import MultipartParser
from python_multipart.multipart import MAX_BOUNDARY_LENGTH, MultipartState, parse_options_header

from gateway.app.errors import InvalidInput

_FIELD = "file"


def _error(message: str) -> InvalidInput:
    return InvalidInput(message, errors=[{"loc": ["body", _FIELD], "msg": message, "type": "multipart"}])


class MultipartFile:
    """The `file` part of a multipart body: `chunks()` yields its bytes as they arrive; `filename` is then known."""

    def __init__(self, request: Request) -> None:
        content_type, options = parse_options_header(request.headers.get("content-type", ""))
        if content_type != b"multipart/form-data" or not options.get(b"boundary"):
            raise _error("Send the file as multipart/form-data, in a part named 'file'.")
        if len(options[b"boundary"]) > MAX_BOUNDARY_LENGTH:  # RFC 2046 says 70; the parser raises past 256
            raise _error(f"The multipart boundary is longer than {MAX_BOUNDARY_LENGTH} characters (RFC 2046: 1 to 70).")
        self._request = request
        self._boundary = options[b"boundary"]
        self.filename: str | None = None
        self.content_type: str | None = None

    async def chunks(self) -> AsyncIterator[bytes]:
        """The file's bytes, as the client sends them."""
        pending: list[bytes] = []
        state: dict[str, Any] = {"headers": {}, "field": b"", "value": b"", "in_file": False, "files": 0}

        def on_part_begin() -> None:
            state["headers"] = {}
            state["in_file"] = False

        def on_header_field(data: bytes, start: int, end: int) -> None:
            state["field"] += data[start:end]

        def on_header_value(data: bytes, start: int, end: int) -> None:
            state["value"] += data[start:end]

        def on_header_end() -> None:
            state["headers"][state["field"].lower()] = state["value"]
            state["field"], state["value"] = b"", b""

        def on_headers_finished() -> None:
            _, disposition = parse_options_header(state["headers"].get(b"content-disposition", b""))
            if disposition.get(b"name") == _FIELD.encode() or b"filename" in disposition:
                state["files"] += 1
                if state["files"] > 1:
                    raise _error("Send one file per request.")
                state["in_file"] = True
                self.filename = disposition.get(b"filename", b"").decode("utf-8", "replace") or None
                self.content_type = state["headers"].get(b"content-type", b"").decode("latin-1") or None

        def on_part_data(data: bytes, start: int, end: int) -> None:
            if state["in_file"]:
                pending.append(bytes(data[start:end]))

        parser = MultipartParser(
            self._boundary,
            {
                "on_part_begin": on_part_begin,
                "on_header_field": on_header_field,
                "on_header_value": on_header_value,
                "on_header_end": on_header_end,
                "on_headers_finished": on_headers_finished,
                "on_part_data": on_part_data,
            },
        )
        async for chunk in self._request.stream():
            try:
                parser.write(chunk)
            except InvalidInput:
                raise
            except Exception as exc:  # the parser's own errors: a body that is not valid multipart
                raise _error(f"The multipart body is malformed: {exc}") from None
            while pending:
                yield pending.pop(0)
        parser.finalize()
        if parser.state != MultipartState.END:
            raise _error("The multipart body ended before its closing boundary: the upload was cut short.")
        while pending:
            yield pending.pop(0)
        if state["files"] == 0:
            raise _error("The multipart body has no part named 'file'.")
