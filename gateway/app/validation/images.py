"""Images and screenshots: decoded in full by Pillow, with dimensions checked before any pixel is decoded.

Memory is bounded twice: an image whose header claims more than `Limits.max_image_pixels` is never decoded,
and at most `Limits.max_concurrent_decodes` images decode at once in the process (`DECODES`), so the worst
case is about that many times 4 bytes per pixel. Large images avoid even that: a large PNG's image data is
inflated as a stream and its rows checked (no pixel buffer), a large JPEG decodes at a reduced scale
(`draft`); either way every byte of the image data is still read and checked.
"""

import struct
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from PIL import Image

from gateway.app.validation.registry import Sniffer, prefix, register
from gateway.app.validation.report import Category, Subject

IMAGE_ALSO: tuple[Category, ...] = ("screenshot",)


def check_dimensions(subject: Subject, width: int, height: int) -> bool:
    """Sane dimensions (checked from the header, before decoding); screenshots also need size and aspect."""
    limits = subject.limits
    subject.info.update(width=width, height=height)
    if min(width, height) < limits.min_image_side:
        return subject.fail("dimensions", f"{width}x{height} is smaller than {limits.min_image_side} px on a side.")
    if max(width, height) > limits.max_image_side:
        return subject.fail("dimensions", f"{width}x{height} exceeds {limits.max_image_side} px on a side.")
    if width * height > limits.max_image_pixels:
        return subject.fail(
            "dimensions", f"{width}x{height} is {width * height} pixels, more than {limits.max_image_pixels}."
        )
    subject.passed("dimensions", f"{width}x{height} within limits")
    if subject.category != "screenshot":
        return True
    aspect = max(width, height) / min(width, height)
    if min(width, height) < limits.min_screenshot_side:
        return subject.fail(
            "screenshot", f"A screenshot of {width}x{height} is under {limits.min_screenshot_side} px on a side."
        )
    if aspect > limits.max_screenshot_aspect:
        return subject.fail(
            "screenshot",
            f"A screenshot of {width}x{height} has an aspect ratio over {limits.max_screenshot_aspect:g}:1.",
        )
    return subject.passed("screenshot", f"{width}x{height}, aspect {aspect:.2f}:1")


class DecodeGate:
    """At most `limit` image decodes at once in this process; the others wait their turn (in their thread)."""

    def __init__(self) -> None:
        self._turn = threading.Condition()
        self.active = 0
        self.waiting = 0

    @contextmanager
    def slot(self, limit: int) -> Iterator[None]:
        """Hold one of `limit` decode slots for the duration of the block."""
        with self._turn:
            self.waiting += 1
            self._turn.notify_all()  # whoever watches the queue (a test, a probe) sees it grow
            try:
                self._turn.wait_for(lambda: self.active < limit)
            finally:
                self.waiting -= 1
            self.active += 1
        try:
            yield
        finally:
            with self._turn:
                self.active -= 1
                self._turn.notify_all()


DECODES = DecodeGate()
# Above this many pixels a JPEG decodes at 1/8 scale: the whole stream is still read (a truncated or corrupt
# file fails the same way), the pixel buffer is 64 times smaller.
JPEG_DRAFT_PIXELS = 4_000_000


# Above this many pixels a PNG's image data is inflated as a stream and its rows checked, instead of decoded
# into a pixel buffer: every byte is still read, the memory stays at a few rows whatever the size.
PNG_STREAM_PIXELS = 4_000_000
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
_INFLATE_BYTES = 1 << 20


def _png_rows(width: int, height: int, bits_per_pixel: int, interlaced: bool) -> list[tuple[int, int]]:
    """(rows, bytes per row without the filter byte) of each pass of the image data (one pass, or Adam7's seven)."""
    if not interlaced:
        return [(height, (width * bits_per_pixel + 7) // 8)]
    passes = []
    for x0, y0, dx, dy in _ADAM7:
        pass_width, pass_height = (width - x0 + dx - 1) // dx, (height - y0 + dy - 1) // dy
        if pass_width > 0 and pass_height > 0:
            passes.append((pass_height, (pass_width * bits_per_pixel + 7) // 8))
    return passes


def _png_stream_check(subject: Subject) -> None:
    """Inflate a PNG's image data as a stream: complete, no byte more or less than its header implies, every row
    with a known filter (0-4). Raises ValueError on the first problem; memory stays bounded by one inflate step."""
    with subject.path.open("rb") as handle:
        handle.seek(8)
        length, kind = struct.unpack(">I4s", handle.read(8))
        if kind != b"IHDR" or length != 13:
            raise ValueError("the first chunk is not a 13-byte IHDR")
        width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", handle.read(13))
        if colour not in _PNG_CHANNELS:
            raise ValueError(f"colour type {colour} is not a PNG colour type")
        handle.seek(4, 1)  # the IHDR's CRC (checked by verify)
        passes = _png_rows(width, height, _PNG_CHANNELS[colour] * depth, interlace == 1)
        total = sum(count for count, _ in passes)
        # Each row's bytes, lazily: never a list of rows (a 1 x 67M-pixel image would make one of 67M entries).
        widths = (row_bytes for count, row_bytes in passes for _ in range(count))
        inflate = zlib.decompressobj()
        # The row being read, how far into it (0: its filter byte comes next), and its bytes (None: past the last).
        row, at, width_bytes = 0, 0, next(widths, None)

        def consume(data: bytes) -> None:
            nonlocal row, at, width_bytes
            offset = 0
            while offset < len(data):
                if width_bytes is None:
                    raise ValueError("there is more image data than the header's size implies")
                if at == 0 and data[offset] > 4:
                    raise ValueError(f"row {row + 1} has an unknown filter type {data[offset]}")
                step = min(width_bytes + 1 - at, len(data) - offset)
                offset += step
                at += step
                if at == width_bytes + 1:
                    row, at, width_bytes = row + 1, 0, next(widths, None)

        while not inflate.eof:
            header = handle.read(8)
            if len(header) < 8:
                raise ValueError("the image data ends early (truncated file)")
            length, kind = struct.unpack(">I4s", header)
            if kind == b"IEND":
                raise ValueError("the image data ends early (its zlib stream is incomplete)")
            remaining = length
            while remaining:
                chunk = handle.read(min(remaining, _INFLATE_BYTES))
                if not chunk:
                    raise ValueError("the file ends inside a chunk (truncated file)")
                remaining -= len(chunk)
                if kind != b"IDAT":
                    continue
                data = chunk
                while data and not inflate.eof:
                    consume(inflate.decompress(data, _INFLATE_BYTES))
                    data = inflate.unconsumed_tail
            handle.seek(4, 1)  # CRC
        if row != total:
            raise ValueError(f"the image data holds {row} of the {total} rows its header implies")


def _header_size(subject: Subject, pil_format: str) -> tuple[int, int]:
    """The size an image's header claims, read by Pillow's plugin without decoding (nor Pillow's own bomb check)."""
    Image.init()
    factory, _ = Image.OPEN[pil_format]
    with subject.path.open("rb") as handle:
        return factory(handle, subject.name).size  # the plugin refuses a file that is not its format


def _decode(subject: Subject, pil_format: str, label: str) -> None:
    # Any exception here comes from a hostile or broken file (Pillow raises many kinds): it is the finding.
    try:
        # Our limits first, from the header alone; Pillow's guard (a warning past ~89 MP) stays as a second one.
        if not check_dimensions(subject, *_header_size(subject, pil_format)):
            return
        with Image.open(subject.path, formats=[pil_format]) as image:
            subject.info["mode"] = image.mode
            subject.info["animated"] = bool(getattr(image, "is_animated", False))
            width, height = image.size
            image.verify()  # structure and checksums (PNG CRCs)
        if pil_format == "PNG" and width * height > PNG_STREAM_PIXELS:
            _png_stream_check(subject)  # every byte of the image data, without a pixel buffer: no decode slot
            subject.info["decoded"] = "streamed"
        else:
            with (
                DECODES.slot(subject.limits.max_concurrent_decodes),
                Image.open(subject.path, formats=[pil_format]) as image,
            ):
                if pil_format == "JPEG" and width * height > JPEG_DRAFT_PIXELS:
                    image.draft(image.mode, (max(1, width // 8), max(1, height // 8)))
                    subject.info["decoded_scale"] = f"{image.size[0]}x{image.size[1]}"
                image.load()  # every pixel of the first frame: a truncated file fails here
    except Image.DecompressionBombError as exc:
        subject.fail("decompression_bomb", f"Refused as a decompression bomb: {exc}")
        return
    except Exception as exc:
        subject.fail("decode", f"The {label} does not decode: {exc}.")
        return
    subject.passed("decode", f"Decoded {subject.info['width']}x{subject.info['height']} {subject.info['mode']}")


def _image(
    format: str, *, label: str, pil_format: str, mime_type: str, extensions: tuple[str, ...], magic: Sniffer | None
) -> None:
    def validate(subject: Subject) -> None:
        if magic is not None:
            if not magic(subject.head):
                subject.fail("signature", f"Not a {label}: the file does not start with the {label} signature.")
                return
            subject.passed("signature", f"{label} signature")
        _decode(subject, pil_format, label)

    validate.__doc__ = f"{label}: signature, dimensions from the header, then a full decode (verify + load)."
    register(
        format, label=label, mime_type=mime_type, category="asset", also=IMAGE_ALSO, extensions=extensions, magic=magic
    )(validate)


def _bmp(head: bytes) -> bool:
    # "BM" alone is too weak; the DIB header size that follows is one of a few known values.
    return (
        head[:2] == b"BM"
        and len(head) >= 18
        and struct.unpack_from("<I", head, 14)[0] in {12, 40, 52, 56, 64, 108, 124}
    )


_image(
    "png",
    label="PNG image",
    pil_format="PNG",
    mime_type="image/png",
    extensions=(".png",),
    magic=prefix(b"\x89PNG\r\n\x1a\n"),
)
_image(
    "jpeg",
    label="JPEG image",
    pil_format="JPEG",
    mime_type="image/jpeg",
    extensions=(".jpg", ".jpeg", ".jpe", ".jfif"),
    magic=prefix(b"\xff\xd8\xff"),
)
_image(
    "gif",
    label="GIF image",
    pil_format="GIF",
    mime_type="image/gif",
    extensions=(".gif",),
    magic=prefix(b"GIF87a", b"GIF89a"),
)
_image(
    "webp",
    label="WebP image",
    pil_format="WEBP",
    mime_type="image/webp",
    extensions=(".webp",),
    magic=lambda head: head[:4] == b"RIFF" and head[8:12] == b"WEBP",
)
_image("bmp", label="BMP image", pil_format="BMP", mime_type="image/bmp", extensions=(".bmp", ".dib"), magic=_bmp)
_image(
    "tga",
    label="TGA image",
    pil_format="TGA",
    mime_type="image/x-tga",
    extensions=(".tga", ".icb", ".vda", ".vst"),
    magic=None,
)


# --- Aseprite: not decodable by Pillow; its header and frame table are checked --------------------------

_ASE_HEADER = struct.Struct("<IHHHHH")
_ASE_FRAME = struct.Struct("<IH")
ASE_HEADER_BYTES = 128


@register(
    "aseprite",
    label="Aseprite sprite",
    mime_type="image/x-aseprite",
    category="asset",
    extensions=(".ase", ".aseprite"),
)
def validate_aseprite(subject: Subject) -> None:
    """Aseprite: magic 0xA5E0, the file size it records, sane dimensions and depth, and every frame's header."""
    if subject.size < ASE_HEADER_BYTES or subject.head[4:6] != b"\xe0\xa5":
        subject.fail("signature", "Not an Aseprite file: no 0xA5E0 magic in a 128-byte header.")
        return
    recorded, _, frames, width, height, depth = _ASE_HEADER.unpack_from(subject.head)
    subject.passed("signature", "Aseprite magic 0xA5E0")
    subject.info.update(frames=frames, color_depth=depth)
    if recorded != subject.size:
        subject.fail("file_size", f"The header records {recorded} bytes but the file has {subject.size}: truncated?")
        return
    if depth not in {8, 16, 32}:
        subject.fail("color_depth", f"Colour depth {depth} is not 8, 16 or 32 bits.")
        return
    if not check_dimensions(subject, width, height):
        return
    offset = ASE_HEADER_BYTES
    with subject.path.open("rb") as handle:
        for index in range(frames):
            handle.seek(offset)
            header = handle.read(_ASE_FRAME.size)
            if len(header) < _ASE_FRAME.size:
                subject.fail("frames", f"Frame {index + 1} of {frames} is missing: the file is truncated.")
                return
            length, magic = _ASE_FRAME.unpack(header)
            if magic != 0xF1FA or length < 16:
                subject.fail("frames", f"Frame {index + 1} has no valid frame header (magic 0xF1FA).")
                return
            offset += length
    if offset != subject.size:
        subject.fail("frames", f"The frames cover {offset} bytes of {subject.size}.")
        return
    subject.passed("frames", f"{frames} frames, headers intact")
