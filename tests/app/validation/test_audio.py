"""gateway/app/validation/audio.py: WAV, Ogg, MP3 and FLAC headers and structure, from real or hand-built files."""

import io
import struct
import wave

import pytest

from gateway.app.validation import Limits
from gateway.app.validation.audio import mp3_frame, ogg_crc
from tests.app.validation.helpers import failed, passed, warnings

# --- WAV --------------------------------------------------------------------------------------------------


def wav_bytes(*, seconds: float = 0.5, rate: int = 22050, channels: int = 2, width: int = 2) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(width)
        writer.setframerate(rate)
        writer.writeframes(b"\x01\x02" * int(rate * seconds * channels * width / 2))
    return buffer.getvalue()


def riff(*chunks: tuple[bytes, bytes], declared: int | None = None) -> bytes:
    body = b"WAVE" + b"".join(
        cid + struct.pack("<I", len(data)) + data + b"\0" * (len(data) & 1) for cid, data in chunks
    )
    return b"RIFF" + struct.pack("<I", len(body) if declared is None else declared) + body


def fmt(tag=1, channels=1, rate=8000, bits=16, block=None, byte_rate=None) -> bytes:
    block = block if block is not None else channels * bits // 8
    return struct.pack(
        "<HHIIHH", tag, channels, rate, byte_rate if byte_rate is not None else rate * block, block, bits
    )


def test_a_pcm_wav_is_valid_with_its_facts(check):
    report = check("jump.wav", wav_bytes())

    assert report.status == "valid", report.errors
    assert (report.format, report.mime_type, report.category) == ("wav", "audio/wav", "asset")
    assert report.info == report.info | {"codec": "pcm", "channels": 2, "sample_rate": 22050, "bits_per_sample": 16}
    assert report.info["duration_seconds"] == pytest.approx(0.5)
    assert {"riff_header", "fmt_chunk", "data_chunk", "wave_module"} <= passed(report)


def test_a_float_wav_is_checked_by_its_headers(check):
    report = check("pad.wav", riff((b"LIST", b"odd"), (b"fmt ", fmt(tag=3, bits=32)), (b"data", b"\0" * 800)))

    assert report.status == "valid", report.errors
    assert report.info["codec"] == "ieee_float"
    assert report.info["duration_seconds"] == 0.025
    assert "wave_module" not in passed(report)


def test_a_truncated_wav_is_invalid(check):
    data = wav_bytes()
    report = check("cut.wav", data[: len(data) // 2])
    assert "declares" in failed(report)["riff_header"]


@pytest.mark.parametrize(
    ("data", "check_name", "message"),
    [
        (b"not a wav file at all", "riff_header", "no RIFF/WAVE"),
        (riff((b"data", b"\0" * 10)), "fmt_chunk", "No 'fmt ' chunk"),
        (riff((b"fmt ", b"\0" * 8), (b"data", b"\0" * 10)), "fmt_chunk", "at least 16"),
        (riff((b"fmt ", fmt(channels=0)), (b"data", b"\0" * 10)), "fmt_chunk", "Impossible"),
        (riff((b"fmt ", fmt(block=3)), (b"data", b"\0" * 10)), "fmt_chunk", "block align"),
        (riff((b"fmt ", fmt())), "data_chunk", "No 'data' chunk"),
    ],
)
def test_broken_wavs(check, data, check_name, message):
    report = check("x.wav", data)
    assert message in failed(report)[check_name]


def test_a_data_chunk_that_claims_more_than_the_file_holds(check):
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt() + b"data" + struct.pack("<I", 1000) + b"\0" * 10
    report = check("x.wav", b"RIFF" + struct.pack("<I", len(body)) + body)
    assert "claims 1000 bytes" in failed(report)["data_chunk"]


def test_trailing_bytes_after_the_riff_chunk_are_a_warning(check):
    report = check("x.wav", wav_bytes() + b"junk")
    assert report.status == "valid"
    assert "4 bytes after" in warnings(report)["trailing_bytes"]


def test_a_wav_the_wave_module_reads_differently(check):
    # The header's frame count disagrees with the 'fmt ' chunk the wave module trusts.
    report = check("x.wav", riff((b"fmt ", fmt()), (b"data", b"\0" * 11)))
    assert report.status == "valid"  # 11 bytes → 5 whole frames, which is what wave reads too
    extended = riff((b"fmt ", fmt() + b"\0\0"), (b"data", b"\0" * 10))
    assert check("y.wav", extended).status == "valid"


def test_a_pcm_wav_that_the_wave_module_refuses(check, monkeypatch):
    data = wav_bytes()

    def refuse(*args, **kwargs):
        raise wave.Error("unknown format: 1")

    monkeypatch.setattr(wave, "open", refuse)
    report = check("x.wav", data)
    assert "wave module cannot read it" in failed(report)["wave_module"]


def test_a_pcm_wav_that_the_wave_module_reads_differently(check, monkeypatch):
    data = wav_bytes()
    real_open = wave.open

    class Lying:
        def __init__(self, reader):
            self.reader = reader

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.reader.close()

        def getnchannels(self):
            return 6

        def getframerate(self):
            return self.reader.getframerate()

        def getnframes(self):
            return self.reader.getnframes()

    monkeypatch.setattr(wave, "open", lambda *a, **k: Lying(real_open(*a, **k)))
    assert "reads" in failed(check("x.wav", data))["wave_module"]


# --- Ogg --------------------------------------------------------------------------------------------------


def reference_ogg_crc(data: bytes) -> int:
    """Straight from the Ogg specification: CRC-32, polynomial 0x04C11DB7, initial 0, no final XOR, MSB first."""
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def ogg_page(packet: bytes, *, sequence: int, flags: int = 0, granule: int = 0, serial: int = 0x1234) -> bytes:
    segments = [255] * (len(packet) // 255) + [len(packet) % 255]
    header = struct.pack("<4sBBqIIIB", b"OggS", 0, flags, granule, serial, sequence, 0, len(segments))
    page = header + bytes(segments) + packet
    crc = reference_ogg_crc(page)
    return page[:22] + struct.pack("<I", crc) + page[26:]


def vorbis_id(channels: int = 2, rate: int = 44100, framing: int = 1) -> bytes:
    return b"\x01vorbis" + struct.pack("<IBIiiiBB", 0, channels, rate, 0, 128000, 0, 0xB8, framing)


def ogg_file(first_packet: bytes, *, end: bool = True, granule: int = 88200, pages: int = 3) -> bytes:
    data = ogg_page(first_packet, sequence=0, flags=0x02)
    data += ogg_page(b"\x03vorbis" + b"\0" * 20, sequence=1)
    for sequence in range(2, pages):
        last = sequence == pages - 1
        data += ogg_page(b"\x55" * 700, sequence=sequence, flags=0x04 if last and end else 0, granule=granule)
    return data


def test_the_ogg_crc_matches_the_specification():
    for sample in (b"", b"OggS", bytes(range(256)) * 5):
        assert ogg_crc(sample) == reference_ogg_crc(sample)


def test_a_hand_built_ogg_vorbis_file_is_valid(check):
    report = check("theme.ogg", ogg_file(vorbis_id()))

    assert report.status == "valid", report.errors
    assert (report.format, report.mime_type) == ("ogg", "audio/ogg")
    assert report.info == report.info | {"codec": "vorbis", "channels": 2, "sample_rate": 44100, "pages": 3}
    assert report.info["duration_seconds"] == 2.0
    assert not warnings(report)


def test_an_ogg_opus_file_is_valid(check):
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 2, 312, 48000, 0, 0)
    report = check("voice.opus", ogg_file(head, granule=48312))

    assert report.status == "valid", report.errors
    assert report.info["codec"] == "opus"
    assert report.info["duration_seconds"] == 1.0


def test_an_ogg_file_is_recognised_by_its_capture_pattern(check):
    assert check("theme.bin", ogg_file(vorbis_id())).format == "ogg"


@pytest.mark.parametrize(
    ("data", "check_name", "message"),
    [
        (b"OggS" + b"\0" * 10, "ogg_pages", "No Ogg page"),
        (ogg_file(vorbis_id())[:-100], "ogg_pages", "incomplete"),
        (ogg_file(b"\x80theora" + b"\0" * 40), "ogg_codec", "not Vorbis or Opus"),
        (ogg_file(vorbis_id(channels=0)), "ogg_codec", "Vorbis identification header is invalid"),
        (ogg_file(vorbis_id(framing=0)), "ogg_codec", "Vorbis identification header is invalid"),
        (ogg_file(b"OpusHead" + struct.pack("<BBHIhB", 0x10, 2, 0, 0, 0, 0)), "ogg_codec", "Opus"),
        (ogg_page(vorbis_id(), sequence=0), "ogg_pages", "does not begin a stream"),
        (ogg_page(vorbis_id(), sequence=0, flags=2) + ogg_page(b"x", sequence=2), "ogg_pages", "missing"),
        (ogg_page(vorbis_id(), sequence=0, flags=2) + b"junk that is not a page", "ogg_pages", "No Ogg page"),
    ],
)
def test_broken_ogg_files(check, data, check_name, message):
    report = check("x.ogg", data)
    assert message in failed(report)[check_name]


def test_a_corrupted_ogg_page_fails_its_crc(check):
    data = bytearray(ogg_file(vorbis_id()))
    data[-10] ^= 0x01
    assert "fails its CRC" in failed(check("x.ogg", bytes(data)))["ogg_pages"]


def test_an_ogg_file_without_an_end_of_stream_page_is_a_warning(check):
    report = check("x.ogg", ogg_file(vorbis_id(), end=False))
    assert report.status == "valid"
    assert "end_of_stream" in warnings(report)


def test_other_logical_streams_are_skipped(check):
    data = ogg_page(vorbis_id(), sequence=0, flags=2)
    data += ogg_page(b"other stream", sequence=7, serial=99)
    data += ogg_page(b"\x55" * 10, sequence=1, flags=4, granule=-1)
    report = check("x.ogg", data)
    assert report.status == "valid", report.errors
    assert report.info["pages"] == 3


def test_a_long_ogg_is_scanned_up_to_the_limit(check):
    report = check("x.ogg", ogg_file(vorbis_id(), pages=10), limits=Limits(max_scan_bytes=1000))
    assert report.status == "valid"
    assert any(c.name == "ogg_scan" for c in report.checks)


# --- MP3 --------------------------------------------------------------------------------------------------

FRAME = b"\xff\xfb\x90\x00" + b"\0" * 413  # MPEG-1 layer III, 128 kbps, 44.1 kHz: 417 bytes


def id3(size: int = 20) -> bytes:
    return b"ID3\x04\x00\x00" + bytes([0, 0, 0, size]) + b"\0" * size


def test_an_mp3_with_an_id3_tag_is_valid(check):
    report = check("music.mp3", id3() + FRAME * 10)

    assert report.status == "valid", report.errors
    assert (report.format, report.mime_type) == ("mp3", "audio/mpeg")
    assert report.info == report.info | {"mpeg_version": 1, "layer": 3, "bitrate_kbps": 128, "sample_rate": 44100}
    assert report.info["id3v2"] is True
    assert report.info["duration_estimate_seconds"] == pytest.approx(0.3, abs=0.05)


def test_a_bare_mp3_is_recognised_by_its_frames(check):
    report = check("music.bin", FRAME * 5)
    assert report.format == "mp3"
    assert report.status == "valid"


@pytest.mark.parametrize(
    "header",
    [
        b"\xff\xf3\x48\x00",  # MPEG-2 layer III
        b"\xff\xfd\x90\x00",  # MPEG-1 layer II
        b"\xff\xff\x90\x00",  # MPEG-1 layer I
        b"\xff\xe3\x90\x00",  # MPEG-2.5 layer III
    ],
)
def test_other_mpeg_versions_and_layers(check, header):
    length = mp3_frame(header)[4]
    data = (header + b"\0" * (length - 4)) * 4
    report = check("x.mp3", data)
    assert report.status == "valid", report.errors


@pytest.mark.parametrize(
    "header",
    [
        b"\xff\xfb\xf0\x00",  # bitrate index 15
        b"\xff\xfb\x00\x00",  # free format (bitrate index 0)
        b"\xff\xfb\x9c\x00",  # sample rate index 3
        b"\xff\xf9\x90\x00",  # layer 0 (reserved)
        b"\xff\xeb\x90\x00",  # version 01 (reserved)
        b"\xff\x1b\x90\x00",  # no frame sync
        b"\xff\xfb",  # too short
    ],
)
def test_impossible_frame_headers(header):
    assert mp3_frame(header) is None


def test_random_bytes_named_mp3_are_invalid(check):
    report = check("music.mp3", b"\x12\x34" * 5000)
    assert "No run of MPEG audio frames" in failed(report)["mpeg_frames"]


def test_a_lone_frame_header_is_not_enough(check):
    report = check("music.mp3", id3() + FRAME + b"\x00" * 2000)
    assert report.status == "invalid"


def test_a_utf16_text_file_is_not_taken_for_mp3(check):
    assert check("notes", "hello".encode("utf-16")).format != "mp3"


# --- FLAC -------------------------------------------------------------------------------------------------


def streaminfo(rate: int = 44100, channels: int = 2, bits: int = 16, samples: int = 88200, last: bool = True) -> bytes:
    packed = (rate << 44) | ((channels - 1) << 41) | ((bits - 1) << 36) | samples
    body = struct.pack(">HH", 4096, 4096) + b"\0\0\0\0\0\0" + packed.to_bytes(8, "big") + b"\0" * 16
    return bytes([0x80 if last else 0x00]) + len(body).to_bytes(3, "big") + body


def test_a_flac_file_is_valid(check):
    padding = b"\x81" + (8).to_bytes(3, "big") + b"\0" * 8
    report = check("music.flac", b"fLaC" + streaminfo(last=False) + padding + b"\xff\xf8\x69\x08" + b"\0" * 20)

    assert report.status == "valid", report.errors
    assert report.info == report.info | {"sample_rate": 44100, "channels": 2, "bits_per_sample": 16}
    assert report.info["duration_seconds"] == 2.0


@pytest.mark.parametrize(
    ("data", "check_name", "message"),
    [
        (b"not flac" * 10, "flac_header", "no fLaC"),
        (b"fLaC" + b"\x84" + (34).to_bytes(3, "big") + b"\0" * 34, "flac_metadata", "not a STREAMINFO"),
        (b"fLaC" + streaminfo()[:20], "flac_metadata", "truncated"),
        (b"fLaC" + streaminfo(rate=0) + b"\xff\xf8", "flac_metadata", "sample rate of 0"),
        (b"fLaC" + streaminfo(last=False), "flac_metadata", "past the end"),
        (b"fLaC" + streaminfo() + b"\x00\x00", "flac_frames", "No audio frame"),
    ],
)
def test_broken_flac_files(check, data, check_name, message):
    report = check("x.flac", data)
    assert message in failed(report)[check_name]


def test_a_flac_file_of_endless_empty_blocks_is_refused(check):
    empty_blocks = (b"\x01" + (0).to_bytes(3, "big")) * 2000
    report = check("x.flac", b"fLaC" + streaminfo(last=False) + empty_blocks)
    assert "More than 1024 metadata blocks" in failed(report)["flac_metadata"]


def test_an_ogg_file_of_many_pages_is_checked_up_to_a_page_count(check, monkeypatch):
    from gateway.app.validation import audio

    monkeypatch.setattr(audio, "MAX_OGG_PAGES", 4)
    report = check("x.ogg", ogg_file(vorbis_id(), pages=10))
    assert report.status == "valid"
    assert report.info["pages"] == 4
    assert any(c.name == "ogg_scan" for c in report.checks)
