"""Audio: WAV (RIFF chunks, stdlib `wave` for PCM), Ogg Vorbis/Opus (every page and its CRC), MP3 and FLAC."""

import struct
import wave
import zlib
from typing import BinaryIO

from gateway.app.validation.registry import register
from gateway.app.validation.report import Subject

# --- WAV --------------------------------------------------------------------------------------------------

_WAVE_CODECS = {1: "pcm", 3: "ieee_float", 6: "alaw", 7: "mulaw", 0x11: "ima_adpcm", 0x55: "mp3", 0xFFFE: "extensible"}


def _riff_chunks(handle: BinaryIO, end: int) -> tuple[dict[bytes, tuple[int, int]], str | None]:
    """The chunks of a RIFF file (id → offset of data, declared size), and a problem when one overruns."""
    chunks: dict[bytes, tuple[int, int]] = {}
    offset = 12
    while offset + 8 <= end:
        handle.seek(offset)
        chunk_id, size = struct.unpack("<4sI", handle.read(8))
        chunks.setdefault(chunk_id, (offset + 8, size))
        if offset + 8 + size > end:
            return chunks, f"The {chunk_id.decode('latin-1')!r} chunk claims {size} bytes but the file ends first."
        offset += 8 + size + (size & 1)
    return chunks, None


@register(
    "wav",
    label="WAV audio",
    mime_type="audio/wav",
    category="asset",
    extensions=(".wav", ".wave"),
    magic=lambda head: head[:4] == b"RIFF" and head[8:12] == b"WAVE",
)
def validate_wav(subject: Subject) -> None:
    """WAV: RIFF/WAVE header, a sane `fmt ` chunk, a complete `data` chunk; PCM is read back with `wave`."""
    head = subject.head
    if not (head[:4] == b"RIFF" and head[8:12] == b"WAVE"):
        subject.fail("riff_header", "Not a WAV file: no RIFF/WAVE header.")
        return
    declared = struct.unpack_from("<I", head, 4)[0] + 8
    if declared > subject.size:
        subject.fail("riff_header", f"The RIFF header declares {declared} bytes but the file has {subject.size}.")
        return
    subject.passed("riff_header", "RIFF/WAVE")
    if declared < subject.size:
        subject.check("trailing_bytes", False, f"{subject.size - declared} bytes after the RIFF chunk.", warning=True)
    with subject.path.open("rb") as handle:
        chunks, overrun = _riff_chunks(handle, declared)
        if b"fmt " not in chunks:
            subject.fail("fmt_chunk", "No 'fmt ' chunk: the audio format is unknown.")
            return
        fmt_offset, fmt_size = chunks[b"fmt "]
        handle.seek(fmt_offset)
        if fmt_size < 16:
            subject.fail("fmt_chunk", f"The 'fmt ' chunk is {fmt_size} bytes; it needs at least 16.")
            return
        tag, channels, rate, byte_rate, block_align, bits = struct.unpack("<HHIIHH", handle.read(16))
    codec = _WAVE_CODECS.get(tag, f"0x{tag:04x}")
    subject.info.update(codec=codec, channels=channels, sample_rate=rate, bits_per_sample=bits)
    if not channels or not rate or not block_align or not byte_rate:
        subject.fail("fmt_chunk", f"Impossible format: {channels} channels at {rate} Hz, block {block_align}.")
        return
    if tag == 1 and block_align != channels * ((bits + 7) // 8):
        subject.fail("fmt_chunk", f"PCM block align {block_align} does not fit {channels} x {bits}-bit samples.")
        return
    subject.passed("fmt_chunk", f"{codec}, {channels} ch, {rate} Hz, {bits} bit")
    if b"data" not in chunks:
        subject.fail("data_chunk", overrun or "No 'data' chunk: there is no audio.")
        return
    data_offset, data_size = chunks[b"data"]
    if data_offset + data_size > declared:
        subject.fail("data_chunk", f"The data chunk claims {data_size} bytes but the file ends first: truncated.")
        return
    subject.info["duration_seconds"] = round(data_size / byte_rate, 3)
    subject.passed("data_chunk", f"{data_size} bytes of audio")
    if tag == 1:
        _read_back_pcm(subject, data_size // block_align)


def _read_back_pcm(subject: Subject, frames: int) -> None:
    try:
        with wave.open(str(subject.path), "rb") as reader:
            read = (reader.getnchannels(), reader.getframerate(), reader.getnframes())
    except (wave.Error, EOFError, struct.error) as exc:
        subject.fail("wave_module", f"Python's wave module cannot read it: {exc}.")
        return
    expected = (subject.info["channels"], subject.info["sample_rate"], frames)
    if read != expected:
        subject.fail("wave_module", f"The wave module reads {read}, the header says {expected}.")
        return
    subject.passed("wave_module", f"{frames} frames read back")


# --- Ogg --------------------------------------------------------------------------------------------------

_BIT_REVERSED = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))
_OGG_PAGE = struct.Struct("<4sBBqIIIB")
# Real pages hold about 4 to 8 KiB; a file of tiny pages stops being checked after this many (a warning).
MAX_OGG_PAGES = 50_000


def ogg_crc(page: bytes) -> int:
    """The Ogg page checksum (CRC-32, polynomial 0x04C11DB7, MSB first, no inversion), via zlib's C code."""
    # zlib computes the bit-reflected CRC; reversing input bits and output bits turns it into Ogg's.
    reflected = zlib.crc32(page.translate(_BIT_REVERSED), 0xFFFFFFFF) ^ 0xFFFFFFFF
    return int(f"{reflected:032b}"[::-1], 2)


def _identify_ogg_codec(subject: Subject, packet: bytes) -> bool:
    if packet.startswith(b"\x01vorbis") and len(packet) >= 30:
        version, channels, rate = struct.unpack_from("<IBI", packet, 7)
        if version != 0 or not channels or not rate or not packet[29] & 1:
            return subject.fail("ogg_codec", "The Vorbis identification header is invalid.")
        subject.info.update(codec="vorbis", channels=channels, sample_rate=rate)
        return subject.passed("ogg_codec", f"Vorbis, {channels} ch, {rate} Hz")
    if packet.startswith(b"OpusHead") and len(packet) >= 19:
        version, channels, pre_skip, rate = struct.unpack_from("<BBHI", packet, 8)
        if version >> 4 != 0 or not channels:
            return subject.fail("ogg_codec", "The Opus identification header is invalid.")
        subject.info.update(codec="opus", channels=channels, sample_rate=rate or 48000, pre_skip=pre_skip)
        return subject.passed("ogg_codec", f"Opus, {channels} ch")
    return subject.fail("ogg_codec", "The Ogg stream is not Vorbis or Opus audio.")


@register(
    "ogg",
    label="Ogg audio",
    mime_type="audio/ogg",
    category="asset",
    extensions=(".ogg", ".oga", ".opus"),
    magic=b"OggS",
)
def validate_ogg(subject: Subject) -> None:
    """Ogg: every page's capture pattern, CRC and sequence, a Vorbis or Opus identification header, end of stream."""
    limit = min(subject.size, subject.limits.max_scan_bytes)
    pages = 0
    serial = None
    expected_sequence = 0
    last_flags = 0
    last_granule = 0
    offset = 0
    with subject.path.open("rb") as handle:
        while offset < limit and pages < MAX_OGG_PAGES:
            header = handle.read(_OGG_PAGE.size)
            if len(header) < _OGG_PAGE.size or header[:4] != b"OggS":
                subject.fail("ogg_pages", f"No Ogg page at offset {offset}: the file is corrupt or truncated.")
                return
            _, version, flags, granule, page_serial, sequence, crc, segments = _OGG_PAGE.unpack(header)
            table = handle.read(segments)
            body = handle.read(sum(table))
            if version != 0 or len(table) < segments or len(body) < sum(table):
                subject.fail("ogg_pages", f"The page at offset {offset} is incomplete: the file is truncated.")
                return
            page = header[:22] + b"\0\0\0\0" + header[26:] + table + body
            if ogg_crc(page) != crc:
                subject.fail("ogg_pages", f"The page at offset {offset} fails its CRC check: the data is corrupt.")
                return
            if pages == 0:
                if not flags & 0x02:
                    subject.fail("ogg_pages", "The first page does not begin a stream.")
                    return
                serial = page_serial
                if not _identify_ogg_codec(subject, body[: table[0]] if table else b""):
                    return
            if page_serial == serial:
                if sequence != expected_sequence:
                    subject.fail(
                        "ogg_pages", f"Page {sequence} follows page {expected_sequence - 1}: pages are missing."
                    )
                    return
                expected_sequence += 1
                last_flags = flags
                if granule >= 0:  # -1 marks a page on which no packet ends
                    last_granule = granule
            pages += 1
            offset += len(page)
    subject.info["pages"] = pages
    subject.passed("ogg_pages", f"{pages} pages with valid CRCs")
    if offset < subject.size:
        subject.check("ogg_scan", True, "Only part of the file was scanned.", warning=True)
        return
    subject.check(
        "end_of_stream",
        bool(last_flags & 0x04),
        "End-of-stream page present" if last_flags & 0x04 else "No end-of-stream page: the stream may be cut short.",
        warning=True,
    )
    samples = last_granule - subject.info.get("pre_skip", 0)
    rate = 48000 if subject.info["codec"] == "opus" else subject.info["sample_rate"]
    subject.info["duration_seconds"] = round(max(samples, 0) / rate, 3)


# --- MP3 --------------------------------------------------------------------------------------------------

_MP3_BITRATES = {
    (1, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (1, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (1, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (2, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (2, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (2, 3): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MP3_RATES = {1: (44100, 48000, 32000), 2: (22050, 24000, 16000), 2.5: (11025, 12000, 8000)}
_MP3_VERSIONS = {0b11: 1, 0b10: 2, 0b00: 2.5}
MP3_SEARCH_BYTES = 64 * 1024


def mp3_frame(header: bytes) -> tuple[float, int, int, int, int] | None:
    """(version, layer, bitrate kbps, sample rate, frame length) of an MPEG audio frame header, or None."""
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    version = _MP3_VERSIONS.get((header[1] >> 3) & 0b11)
    layer = 4 - ((header[1] >> 1) & 0b11)
    bitrate_index, rate_index, padding = header[2] >> 4, (header[2] >> 2) & 0b11, (header[2] >> 1) & 1
    if version is None or layer == 4 or bitrate_index in {0, 15} or rate_index == 3:
        return None
    bitrate = _MP3_BITRATES[(1 if version == 1 else 2, layer)][bitrate_index]
    rate = _MP3_RATES[version][rate_index]
    if layer == 1:
        length = (12 * bitrate * 1000 // rate + padding) * 4
    else:
        length = (144 if layer == 2 or version == 1 else 72) * bitrate * 1000 // rate + padding
    return version, layer, bitrate, rate, length


def _two_frames(head: bytes) -> bool:
    # A frame sync alone is two bytes that other files start with too (a UTF-16 BOM does); two frames are not.
    first = mp3_frame(head[:4])
    return first is not None and mp3_frame(head[first[4] : first[4] + 4]) is not None


def _id3_size(head: bytes) -> int:
    if head[:3] != b"ID3" or len(head) < 10:
        return 0
    size = 0
    for byte in head[6:10]:
        size = (size << 7) | (byte & 0x7F)
    return 10 + size + (10 if head[5] & 0x10 else 0)


@register(
    "mp3",
    label="MP3 audio",
    mime_type="audio/mpeg",
    category="asset",
    extensions=(".mp3",),
    magic=lambda head: head[:3] == b"ID3" or _two_frames(head),
)
def validate_mp3(subject: Subject) -> None:
    """MP3: an ID3v2 tag or none, then three consecutive consistent MPEG audio frame headers."""
    start = _id3_size(subject.head)
    if start:
        subject.info["id3v2"] = True
    with subject.path.open("rb") as handle:
        handle.seek(start)
        window = handle.read(MP3_SEARCH_BYTES)
        for index in range(max(0, len(window) - 3)):
            first = mp3_frame(window[index : index + 4])
            if first is None:
                continue
            offset = start + index
            frames = [first]
            for _ in range(2):
                handle.seek(offset + sum(frame[4] for frame in frames))
                following = mp3_frame(handle.read(4))
                if following is None or following[:2] != first[:2] or following[3] != first[3]:
                    break
                frames.append(following)
            if len(frames) == 3:
                break
        else:
            subject.fail("mpeg_frames", "No run of MPEG audio frames found: not an MP3, or corrupt.")
            return
    version, layer, bitrate, rate, _ = first
    subject.info.update(mpeg_version=version, layer=layer, bitrate_kbps=bitrate, sample_rate=rate)
    subject.info["duration_estimate_seconds"] = round((subject.size - offset) * 8 / (bitrate * 1000), 1)
    subject.passed("mpeg_frames", f"MPEG-{version:g} layer {layer}, {bitrate} kbps, {rate} Hz")


# --- FLAC -------------------------------------------------------------------------------------------------

MAX_FLAC_BLOCKS = 1024  # real files have a handful; a file of empty blocks would otherwise be a slow loop


@register("flac", label="FLAC audio", mime_type="audio/flac", category="asset", extensions=(".flac",), magic=b"fLaC")
def validate_flac(subject: Subject) -> None:
    """FLAC: `fLaC`, a STREAMINFO block first, metadata blocks that fit, then a frame sync code."""
    if subject.head[:4] != b"fLaC":
        subject.fail("flac_header", "Not a FLAC file: no fLaC marker.")
        return
    offset = 4
    with subject.path.open("rb") as handle:
        for _ in range(MAX_FLAC_BLOCKS):
            handle.seek(offset)
            block = handle.read(4)
            if len(block) < 4:
                subject.fail("flac_metadata", "The metadata blocks run past the end of the file: truncated.")
                return
            kind, length = block[0] & 0x7F, int.from_bytes(block[1:4], "big")
            if offset == 4:
                if kind != 0 or length != 34:
                    subject.fail("flac_metadata", "The first metadata block is not a STREAMINFO block.")
                    return
                info = handle.read(34)
                if len(info) < 34:
                    subject.fail("flac_metadata", "The STREAMINFO block is truncated.")
                    return
                packed = int.from_bytes(info[10:18], "big")
                rate, channels = packed >> 44, ((packed >> 41) & 0b111) + 1
                bits, samples = ((packed >> 36) & 0b11111) + 1, packed & ((1 << 36) - 1)
                if not rate:
                    subject.fail("flac_metadata", "STREAMINFO gives a sample rate of 0.")
                    return
                subject.info.update(sample_rate=rate, channels=channels, bits_per_sample=bits, total_samples=samples)
                subject.info["duration_seconds"] = round(samples / rate, 3)
            offset += 4 + length
            if block[0] & 0x80:
                break
        else:
            subject.fail("flac_metadata", f"More than {MAX_FLAC_BLOCKS} metadata blocks: not a plausible FLAC file.")
            return
        handle.seek(offset)
        sync = handle.read(2)
    subject.passed("flac_metadata", "STREAMINFO and metadata blocks intact")
    if len(sync) < 2 or sync[0] != 0xFF or sync[1] & 0xFE != 0xF8:
        subject.fail("flac_frames", "No audio frame after the metadata: truncated or corrupt.")
        return
    subject.passed("flac_frames", "Audio frames start after the metadata")
