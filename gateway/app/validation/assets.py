"""Other asset formats a game uses that the gateway recognises by their signature only (fonts, textures, …)."""

from gateway.app.validation.models3d import HEADER_ONLY
from gateway.app.validation.registry import Sniffer, Validator, prefix, register
from gateway.app.validation.report import Subject


def _header_only(label: str, magic: Sniffer) -> Validator:
    def validate(subject: Subject) -> None:
        if not magic(subject.head):
            subject.fail("signature", f"Not a {label}: the file does not start with its signature.")
            return
        subject.passed("signature", f"{label} signature")
        subject.passed("content", HEADER_ONLY)

    validate.__doc__ = f"{label}: its signature only."
    return validate


# (format, label, MIME type, extensions, signature, strong: whether the signature alone identifies the format)
_HEADER_ONLY_ASSETS: list[tuple[str, str, str, tuple[str, ...], Sniffer, bool]] = [
    ("psd", "Photoshop document", "image/vnd.adobe.photoshop", (".psd", ".psb"), prefix(b"8BPS"), True),
    ("xcf", "GIMP image", "image/x-xcf", (".xcf",), prefix(b"gimp xcf "), True),
    ("krita", "Krita document", "application/x-krita", (".kra",), prefix(b"PK\x03\x04"), False),
    ("exr", "OpenEXR image", "image/x-exr", (".exr",), prefix(b"\x76\x2f\x31\x01"), True),
    ("hdr", "Radiance HDR image", "image/vnd.radiance", (".hdr",), prefix(b"#?RADIANCE", b"#?RGBE"), True),
    ("dds", "DirectDraw Surface texture", "image/vnd-ms.dds", (".dds",), prefix(b"DDS "), True),
    ("ktx", "KTX texture", "image/ktx", (".ktx",), prefix(b"\xabKTX 11\xbb\r\n\x1a\n"), True),
    ("ktx2", "KTX2 texture", "image/ktx2", (".ktx2",), prefix(b"\xabKTX 20\xbb\r\n\x1a\n"), True),
    ("ttf", "TrueType font", "font/ttf", (".ttf", ".ttc"), prefix(b"\x00\x01\x00\x00", b"true", b"ttcf"), False),
    ("otf", "OpenType font", "font/otf", (".otf",), prefix(b"OTTO"), True),
    ("woff", "WOFF font", "font/woff", (".woff",), prefix(b"wOFF"), True),
    ("woff2", "WOFF2 font", "font/woff2", (".woff2",), prefix(b"wOF2"), True),
    ("midi", "MIDI music", "audio/midi", (".mid", ".midi"), prefix(b"MThd"), True),
    ("mp4", "MPEG-4 video", "video/mp4", (".mp4", ".m4v", ".mov"), lambda head: head[4:8] == b"ftyp", True),
    ("webm", "WebM/Matroska video", "video/webm", (".webm", ".mkv"), prefix(b"\x1a\x45\xdf\xa3"), True),
    ("maya_binary", "Maya binary scene", "application/x-maya", (".mb",), prefix(b"FOR4", b"FOR8"), False),
    ("max3ds", "3DS model", "application/x-3ds", (".3ds",), prefix(b"\x4d\x4d"), False),
    ("unitypackage", "Unity package", "application/gzip", (".unitypackage",), prefix(b"\x1f\x8b"), False),
]

for _format, _label, _mime, _extensions, _magic, _strong in _HEADER_ONLY_ASSETS:
    register(
        _format,
        label=_label,
        mime_type=_mime,
        category="asset",
        extensions=_extensions,
        # A weak signature (a zip, a gzip, two bytes) is checked, but never decides the format on its own.
        magic=_magic if _strong else None,
    )(_header_only(_label, _magic))
