"""gateway/app/validation/images.py: images decode in full, with sane dimensions; screenshots look like screens."""

import io
import os
import struct
import threading
import zlib

import pytest
from PIL import Image

from gateway.app.validation import Limits, images
from tests.app.validation.helpers import failed, passed


def image_bytes(fmt: str, size=(64, 48), mode="RGB", noise: bool = False, **options) -> bytes:
    if noise:
        image = Image.frombytes(mode, size, os.urandom(size[0] * size[1] * len(mode)))
    else:
        image = Image.new(mode, size, (200, 30, 90) if mode == "RGB" else None)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims the given size, with a tiny (and wrong) image stream: a decompression bomb shape."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("name", "fmt", "expected", "mime"),
    [
        ("sprite.png", "PNG", "png", "image/png"),
        ("photo.jpg", "JPEG", "jpeg", "image/jpeg"),
        ("anim.gif", "GIF", "gif", "image/gif"),
        ("tile.webp", "WEBP", "webp", "image/webp"),
        ("icon.bmp", "BMP", "bmp", "image/bmp"),
        ("texture.tga", "TGA", "tga", "image/x-tga"),
    ],
)
def test_real_images_are_valid_assets(check, name, fmt, expected, mime):
    report = check(name, image_bytes(fmt, noise=True))

    assert report.status == "valid", report.errors
    assert (report.format, report.mime_type, report.category) == (expected, mime, "asset")
    assert report.info["width"] == 64
    assert report.info["height"] == 48
    assert report.info["mode"] in {"RGB", "P"}  # GIF is palette-based
    assert {"dimensions", "decode"} <= passed(report)


def test_an_animated_gif_is_reported_as_animated(check):
    frames = [Image.new("RGB", (16, 16), color) for color in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])

    report = check("walk.gif", buffer.getvalue())

    assert report.status == "valid"
    assert report.info["animated"] is True


def test_a_truncated_png_fails_to_decode(check):
    data = image_bytes("PNG", size=(256, 256), noise=True)

    report = check("cut.png", data[: len(data) // 2])

    assert report.status == "invalid"
    assert "decode" in failed(report)
    assert report.errors


def test_a_truncated_jpeg_fails_to_decode(check):
    data = image_bytes("JPEG", size=(256, 256), noise=True)
    report = check("cut.jpg", data[: len(data) // 2])
    assert "decode" in failed(report)


def test_a_png_with_a_bad_checksum_fails(check):
    data = bytearray(image_bytes("PNG", size=(64, 64), noise=True))
    data[-20] ^= 0xFF  # inside the last IDAT: its CRC no longer matches
    report = check("flipped.png", bytes(data))
    assert report.status == "invalid"


def test_a_file_named_png_that_is_not_a_png(check):
    report = check("player.png", b"this is a text file pretending to be an image\n")

    assert report.status == "invalid"
    assert report.format == "png"
    assert "signature" in failed(report)
    assert "does not start with the PNG image signature" in report.errors[0]


def test_a_jpeg_named_png_is_flagged(check):
    report = check("player.png", image_bytes("JPEG"))

    assert report.status == "invalid"
    assert report.format == "jpeg"  # the content decides
    assert "says PNG image, but the content is a JPEG image" in failed(report)["format"]


def test_a_decompression_bomb_is_refused_before_decoding(check):
    report = check("bomb.png", png_header_only(100_000, 100_000))

    assert report.status == "invalid"
    assert "100000x100000 exceeds 16384 px" in failed(report)["dimensions"]
    assert "decode" not in passed(report)


def real_bomb_png(width: int, height: int) -> bytes:
    """A complete, well-formed 1-bit PNG of the given size, all black: a few KB on disk per 100 MP decoded."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte 0, then the packed pixels
    deflate = zlib.compressobj(9)
    stream = b"".join(deflate.compress(row) for _ in range(height)) + deflate.flush()
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", stream) + png_chunk(b"IEND", b"")


def test_a_bomb_below_pillows_own_guard_is_not_decoded_by_default(check, monkeypatch):
    # 9000 x 9000 = 81 MP: under Pillow's warning (89 MP) and the old limit (100 MP), so it used to be decoded
    # in full (4 bytes a pixel in the worst modes); the default now stops at an 8K texture.
    bomb = real_bomb_png(9000, 9000)
    assert len(bomb) < 64 * 1024
    decoded = []
    monkeypatch.setattr(images.Image.Image, "load", lambda self: decoded.append(self.size))

    report = check("bomb.png", bomb)

    assert report.status == "invalid"
    assert "9000x9000 is 81000000 pixels, more than 67108864" in failed(report)["dimensions"]
    assert decoded == []


def png_from_rows(width: int, height: int, raw: bytes, *, interlace: int = 0, cut: int = 0) -> bytes:
    """A 1-bit greyscale PNG whose image data is `raw` (filter bytes included), zlib-compressed, `cut` bytes short."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, interlace)
    stream = zlib.compress(raw)
    stream = stream[: len(stream) - cut]
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", stream) + png_chunk(b"IEND", b"")


def adam7_rows(width: int, height: int) -> list[int]:
    """Bytes per row (filter byte included) of a 1-bit interlaced image, pass by pass (an independent count)."""
    rows = []
    for x0, y0, dx, dy in (
        (0, 0, 8, 8),
        (4, 0, 8, 8),
        (0, 4, 4, 8),
        (2, 0, 4, 4),
        (0, 2, 2, 4),
        (1, 0, 2, 2),
        (0, 1, 1, 2),
    ):
        columns = len(range(x0, width, dx))
        if columns:
            rows += [1 + (columns + 7) // 8] * len(range(y0, height, dy))
    return rows


ROW = b"\x00" * (1 + 4096 // 8)
BIG = 4096, 2048  # 8.4 MP: past PNG_STREAM_PIXELS


def test_a_large_png_is_checked_as_a_stream_without_a_pixel_buffer(check, monkeypatch):
    decoded = []
    monkeypatch.setattr(images.Image.Image, "load", lambda self: decoded.append(self.size))
    monkeypatch.setattr(images.DECODES, "slot", lambda limit: pytest.fail("a streamed check took a decode slot"))

    report = check("wide.png", png_from_rows(*BIG, ROW * BIG[1]))

    assert report.status == "valid", report.errors
    assert (report.info["mode"], report.info["decoded"]) == ("1", "streamed")
    assert decoded == []


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "P", "I;16"])
def test_large_pngs_as_pillow_writes_them_pass_the_streamed_check(check, mode):
    gradient = Image.linear_gradient("L").resize((2100, 2000))
    image = gradient.convert("I").convert("I;16") if mode == "I;16" else gradient.convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")

    report = check("gradient.png", buffer.getvalue())

    assert report.status == "valid", report.errors
    assert report.info["decoded"] == "streamed"


@pytest.mark.parametrize(
    ("raw", "cut", "message"),
    [
        (ROW * (BIG[1] - 1), 0, "holds 2047 of the 2048 rows"),
        (ROW * (BIG[1] + 1), 0, "more image data than the header"),
        (ROW * 100 + b"\x09" + ROW[1:] + ROW * (BIG[1] - 101), 0, "row 101 has an unknown filter type 9"),
        (ROW * BIG[1], 20, "ends early"),
    ],
)
def test_a_large_png_with_broken_image_data_does_not_decode(check, raw, cut, message):
    report = check("wide.png", png_from_rows(*BIG, raw, cut=cut))

    assert report.status == "invalid"
    assert message in failed(report)["decode"]


@pytest.mark.parametrize("size", [(33, 17), (1, 9), (8, 1), (64, 64)])
def test_the_streamed_check_counts_interlaced_rows_as_pillow_does(tmp_path, size):
    from gateway.app.validation.report import Limits as Bounds
    from gateway.app.validation.report import Subject

    rows = adam7_rows(*size)
    whole = png_from_rows(*size, b"".join(b"\x00" * n for n in rows), interlace=1)
    short = png_from_rows(*size, b"".join(b"\x00" * n for n in rows[:-1]), interlace=1)
    for name, data in (("whole.png", whole), ("short.png", short)):
        (tmp_path / name).write_bytes(data)
    subject = lambda name: Subject(tmp_path / name, name, 0, b"", "asset", Bounds())

    with Image.open(tmp_path / "whole.png") as image:
        image.load()  # Pillow agrees the whole one is whole
    images._png_stream_check(subject("whole.png"))
    with pytest.raises(ValueError, match="rows its header implies"):
        images._png_stream_check(subject("short.png"))


def test_at_most_the_configured_number_of_images_decode_at_once(check, tmp_path, monkeypatch):
    from gateway.app.validation import validate

    inside, release = threading.Event(), threading.Event()
    real_load = images.Image.Image.load
    active: list[int] = []

    def held_load(self):
        active.append(images.DECODES.active)
        inside.set()
        assert release.wait(10), "the test never released the first decode"
        return real_load(self)

    paths = []
    for index in range(2):
        paths.append(tmp_path / f"image{index}.png")
        paths[-1].write_bytes(image_bytes("PNG"))
    images.Image.init()  # loading Pillow's plugins decodes images of their own
    monkeypatch.setattr(images.Image.Image, "load", held_load)
    one_at_a_time = Limits(max_concurrent_decodes=1)
    reports: list = []

    def run(path):
        reports.append(validate(path, name=path.name, limits=one_at_a_time))

    first = threading.Thread(target=run, args=(paths[0],))
    first.start()
    assert inside.wait(10)
    second = threading.Thread(target=run, args=(paths[1],))
    second.start()
    with images.DECODES._turn:  # the second waits at the gate, not inside a decode
        assert images.DECODES._turn.wait_for(lambda: images.DECODES.waiting == 1, timeout=10)
    assert active == [1]
    release.set()
    first.join(10)
    second.join(10)

    assert [r.status for r in reports] == ["valid", "valid"]
    assert set(active) == {1}  # never two decodes at once
    assert (images.DECODES.active, images.DECODES.waiting) == (0, 0)


def test_a_large_jpeg_is_decoded_at_a_reduced_scale_and_still_checked_whole(check):
    data = image_bytes("JPEG", size=(2400, 2000))

    whole = check("big.jpg", data)
    truncated = check("big.jpg", data[: len(data) * 2 // 3])

    assert whole.status == "valid", whole.errors
    assert (whole.info["width"], whole.info["height"], whole.info["decoded_scale"]) == (2400, 2000, "300x250")
    assert truncated.status == "invalid"
    assert "does not decode" in failed(truncated)["decode"]


def test_pillow_still_guards_when_the_limits_are_raised_past_its_own(check):
    lax = Limits(max_image_side=1_000_000, max_image_pixels=10**12)

    report = check("bomb.png", png_header_only(100_000, 100_000), limits=lax)

    assert "decompression bomb" in failed(report)["decompression_bomb"]


@pytest.mark.parametrize(
    ("size", "limits", "message"),
    [
        ((20_000, 10), Limits(), "exceeds 16384 px"),
        ((12_000, 12_000), Limits(), "more than 67108864"),
        ((64, 64), Limits(min_image_side=128), "smaller than 128 px"),
    ],
)
def test_dimensions_are_checked_from_the_header(check, size, limits, message):
    report = check("big.png", png_header_only(*size), limits=limits)

    assert report.status == "invalid"
    assert message in failed(report)["dimensions"]
    assert "decode" not in passed(report)  # refused before any pixel was decoded


def test_screenshots_are_recognised_by_name_and_need_screen_like_dimensions(check):
    good = check("Screenshot 2026-11-25 at 10.00.png", image_bytes("PNG", size=(1280, 720)))
    spanish = check("Captura de pantalla.png", image_bytes("PNG", size=(800, 600)))
    tiny = check("screen_shot.png", image_bytes("PNG", size=(32, 32)))
    strip = check("level.png", image_bytes("PNG", size=(1000, 100)), category="screenshot")

    assert good.status == "valid"
    assert good.category == "screenshot"
    assert spanish.category == "screenshot"
    assert "under 64 px" in failed(tiny)["screenshot"]
    assert "aspect ratio over 4:1" in failed(strip)["screenshot"]


def test_a_declared_asset_named_like_a_screenshot_stays_an_asset(check):
    report = check("screenshot.png", image_bytes("PNG", size=(16, 16)), category="asset")
    assert report.status == "valid"
    assert report.category == "asset"


def test_code_declared_for_a_png_contradicts_the_content(check):
    report = check("sprite.png", image_bytes("PNG"), category="code")

    assert report.status == "invalid"
    assert "Declared 'code'; a PNG image can be: asset, screenshot." in report.errors


def test_garbage_after_a_valid_signature_does_not_decode(check):
    descriptor = b",\x00\x00\x00\x00\x10\x00\x10\x00\x00\x02"  # a 16x16 image, LZW code size 2
    gif = b"GIF89a" + struct.pack("<HH", 16, 16) + b"\x00\x00\x00" + descriptor
    broken = check("broken.gif", gif + b"\x05\xff\xff\xff\xff\xff\x00;")
    truncated = check("cut.gif", gif + b"\x05\x84\x8f\xa9\xcb")

    assert "broken data stream" in failed(broken)["decode"]
    assert "truncated" in failed(truncated)["decode"]


def test_a_tga_that_pillow_does_not_recognise(check):
    report = check("broken.tga", b"\x00\x09\x09" + os.urandom(100))
    assert report.status == "invalid"
    assert "decode" in failed(report)


def aseprite(frames: int = 1, width: int = 32, height: int = 32, depth: int = 32, size_delta: int = 0) -> bytes:
    frame = struct.pack("<IHHH2xI", 16, 0xF1FA, 0, 100, 0)
    size = 128 + 16 * frames
    header = struct.pack("<IHHHHH", size + size_delta, 0xA5E0, frames, width, height, depth).ljust(128, b"\0")
    return header + frame * frames


def test_an_aseprite_file_has_its_header_and_frames_checked(check):
    report = check("hero.aseprite", aseprite(frames=3))

    assert report.status == "valid", report.errors
    assert report.format == "aseprite"
    assert report.info["frames"] == 3
    assert report.info["width"] == 32


@pytest.mark.parametrize(
    ("data", "check_name"),
    [
        (b"not an aseprite file at all" * 10, "signature"),
        (aseprite(size_delta=10), "file_size"),
        (aseprite(depth=24), "color_depth"),
        (aseprite(width=0), "dimensions"),
        (aseprite(frames=2)[:-16] + b"\0" * 16, "frames"),
    ],
)
def test_broken_aseprite_files(check, data, check_name):
    report = check("hero.ase", data)
    assert check_name in failed(report)


def test_aseprite_frame_table_problems(check):
    missing_frame = bytearray(aseprite(frames=2))
    missing_frame[6:8] = struct.pack("<H", 3)  # claims 3 frames, has 2
    short = bytearray(aseprite(frames=1))
    short[128:132] = struct.pack("<I", 8)  # a frame shorter than its own header

    assert "missing" in failed(check("a.ase", bytes(missing_frame)))["frames"]
    assert "no valid frame header" in failed(check("b.ase", bytes(short)))["frames"]
    extra = aseprite(frames=1) + b"\0" * 4
    patched = struct.pack("<I", len(extra)) + extra[4:]
    assert "cover" in failed(check("c.ase", patched))["frames"]
