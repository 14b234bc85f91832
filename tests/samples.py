"""Real files of each kind, made on the spot, for tests that hand artifacts in."""

import io
import struct
import wave

from PIL import Image


def png(width: int = 96, height: int = 64, color: tuple[int, int, int] = (40, 120, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()


def wav(seconds: float = 0.1, rate: int = 8000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(struct.pack("<h", 0) * int(seconds * rate))
    return buffer.getvalue()


def file_for(category: str, stem: str) -> tuple[str, bytes]:
    """A valid file of an artifact category: what an agent would hand in for such a deliverable."""
    if category == "code":
        return f"{stem}.ts", f"export const {stem.replace('-', '_')} = 1;\n".encode()
    if category == "document":
        return f"{stem}.md", f"# {stem}\n\nWritten by an agent.\n".encode()
    if category == "screenshot":
        return f"{stem}.png", png(160, 90)
    return f"{stem}.png", png()
