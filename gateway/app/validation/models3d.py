"""3D models: glTF (JSON and binary, with its references checked), OBJ (every line), STL, FBX and Blender headers."""

import re
import struct
from typing import Any
from urllib.parse import urlsplit

from gateway.app.validation.code import parse_json
from gateway.app.validation.registry import register
from gateway.app.validation.report import Subject
from gateway.app.validation.text import check_utf8, iter_chunks, utf8_text

# --- glTF -------------------------------------------------------------------------------------------------

# Top-level arrays, and the name their count goes by in the report's info.
_GLTF_ARRAYS = {
    "scenes": "scene",
    "nodes": "node",
    "meshes": "mesh",
    "materials": "material",
    "accessors": "accessor",
    "bufferViews": "buffer_view",
    "buffers": "buffer",
    "images": "image",
    "textures": "texture",
    "samplers": "sampler",
    "skins": "skin",
    "animations": "animation",
    "cameras": "camera",
}
# (array, property, target array): an index in the first array's items that must point into the target.
_GLTF_REFERENCES = (
    ("nodes", "mesh", "meshes"),
    ("nodes", "skin", "skins"),
    ("nodes", "camera", "cameras"),
    ("accessors", "bufferView", "bufferViews"),
    ("bufferViews", "buffer", "buffers"),
    ("textures", "source", "images"),
    ("textures", "sampler", "samplers"),
    ("images", "bufferView", "bufferViews"),
)
_GLTF_LIST_REFERENCES = (("scenes", "nodes", "nodes"), ("nodes", "children", "nodes"), ("skins", "joints", "nodes"))


def _index_problem(value: Any, count: int, where: str, target: str) -> str | None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < count:
        return f"{where} = {value!r}, but there are {count} {target}."
    return None


def _gltf_reference_problem(document: dict[str, Any]) -> str | None:
    counts = {key: len(document.get(key, [])) for key in _GLTF_ARRAYS}
    if "scene" in document and (problem := _index_problem(document["scene"], counts["scenes"], "scene", "scenes")):
        return problem
    for array, key, target in _GLTF_REFERENCES:
        for index, item in enumerate(document.get(array, [])):
            if key in item and (
                problem := _index_problem(item[key], counts[target], f"{array}[{index}].{key}", target)
            ):
                return problem
    for array, key, target in _GLTF_LIST_REFERENCES:
        for index, item in enumerate(document.get(array, [])):
            for value in item.get(key, []):
                if problem := _index_problem(value, counts[target], f"{array}[{index}].{key}[]", target):
                    return problem
    for index, mesh in enumerate(document.get("meshes", [])):
        primitives = mesh.get("primitives")
        if not isinstance(primitives, list) or not primitives:
            return f"meshes[{index}] has no primitives."
        for number, primitive in enumerate(primitives):
            where = f"meshes[{index}].primitives[{number}]"
            if not isinstance(primitive, dict) or not isinstance(primitive.get("attributes"), dict):
                return f"{where} has no attributes."
            for name, value in primitive["attributes"].items():
                if problem := _index_problem(value, counts["accessors"], f"{where}.attributes.{name}", "accessors"):
                    return problem
            for key, target in (("indices", "accessors"), ("material", "materials")):
                if key in primitive and (
                    problem := _index_problem(primitive[key], counts[target], f"{where}.{key}", target)
                ):
                    return problem
    return None


def check_gltf_document(subject: Subject, document: Any) -> bool:
    """The glTF 2.0 JSON structure: `asset.version`, arrays of objects, every index pointing at something."""
    if not isinstance(document, dict):
        return subject.fail("gltf_asset", "The glTF JSON is not an object.")
    asset = document.get("asset")
    version = asset.get("version") if isinstance(asset, dict) else None
    if not isinstance(version, str):
        return subject.fail("gltf_asset", "The required asset.version is missing.")
    subject.info["gltf_version"] = version
    if isinstance(asset, dict) and isinstance(asset.get("generator"), str):
        subject.info["generator"] = asset["generator"][:200]
    if not re.fullmatch(r"2\.\d+", version):
        return subject.fail("gltf_asset", f"glTF version {version!r}: only glTF 2.x is supported.")
    subject.passed("gltf_asset", f"glTF {version}")
    for key, singular in _GLTF_ARRAYS.items():
        value = document.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            return subject.fail("gltf_structure", f"{key} must be an array of objects.")
        if value:
            subject.info[f"{singular}_count"] = len(value)
    subject.info.setdefault("node_count", 0)
    if problem := _gltf_reference_problem(document):
        return subject.fail("gltf_references", problem)
    subject.passed("gltf_references", "Every index points at an existing item")
    _check_buffers(subject, document)
    return True


def _check_buffers(subject: Subject, document: dict[str, Any]) -> None:
    external = []
    for index, buffer in enumerate(document.get("buffers", []) + document.get("images", [])):
        uri = buffer.get("uri")
        if isinstance(uri, str) and not uri.startswith("data:"):
            parts = urlsplit(uri)
            if parts.scheme or uri.startswith("/") or ".." in uri.split("/"):
                subject.fail("gltf_uris", f"Resource {index} points outside the model: {uri[:100]!r}.")
                return
            external.append(uri)
    if external:
        subject.info["external_files"] = external[:50]
    subject.check(
        "gltf_uris",
        not external,
        f"Refers to {len(external)} files next to it, which must be handed in too." if external else "Self-contained",
        warning=True,
    )


@register(
    "gltf", label="glTF model", mime_type="model/gltf+json", category="asset", also=("code",), extensions=(".gltf",)
)
def validate_gltf(subject: Subject) -> None:
    """glTF JSON: parses, `asset.version` 2.x, arrays of objects and every index in range."""
    text = utf8_text(subject, check="json_syntax")
    if text is None:
        return
    document = parse_json(subject, text)
    if document is not None:
        check_gltf_document(subject, document)


_GLB_HEADER = struct.Struct("<4sII")
_GLB_CHUNK = struct.Struct("<II")
_JSON_CHUNK, _BIN_CHUNK = 0x4E4F534A, 0x004E4942
MAX_GLB_CHUNKS = 64  # the format has a JSON chunk and at most one BIN chunk; extensions may add a few


@register(
    "glb",
    label="binary glTF model",
    mime_type="model/gltf-binary",
    category="asset",
    extensions=(".glb",),
    magic=b"glTF",
)
def validate_glb(subject: Subject) -> None:
    """GLB: magic, version 2, the total length equal to the file size, chunks that fit, and its glTF JSON."""
    if subject.size < _GLB_HEADER.size + _GLB_CHUNK.size or subject.head[:4] != b"glTF":
        subject.fail("glb_header", "Not a binary glTF: no glTF magic and header.")
        return
    _, version, length = _GLB_HEADER.unpack_from(subject.head)
    if version != 2:
        subject.fail("glb_header", f"GLB container version {version}: only version 2 is supported.")
        return
    if length != subject.size:
        subject.fail("glb_header", f"The header gives a length of {length} bytes but the file has {subject.size}.")
        return
    subject.passed("glb_header", "GLB version 2, length matches the file")
    chunks: list[tuple[int, int, int]] = []  # (type, offset of data, length)
    offset = _GLB_HEADER.size
    with subject.path.open("rb") as handle:
        while offset < length:
            if len(chunks) == MAX_GLB_CHUNKS:
                subject.fail("glb_chunks", f"More than {MAX_GLB_CHUNKS} chunks: not a plausible GLB file.")
                return
            handle.seek(offset)
            header = handle.read(_GLB_CHUNK.size)
            if len(header) < _GLB_CHUNK.size:
                subject.fail("glb_chunks", f"A chunk header at offset {offset} is cut off.")
                return
            chunk_length, chunk_type = _GLB_CHUNK.unpack(header)
            if offset + _GLB_CHUNK.size + chunk_length > length:
                subject.fail("glb_chunks", f"The chunk at offset {offset} claims {chunk_length} bytes past the end.")
                return
            chunks.append((chunk_type, offset + _GLB_CHUNK.size, chunk_length))
            offset += _GLB_CHUNK.size + chunk_length
        if chunks[0][0] != _JSON_CHUNK:
            subject.fail("glb_chunks", "The first chunk is not the JSON chunk.")
            return
        subject.passed("glb_chunks", f"{len(chunks)} chunks fill the file exactly")
        _, json_offset, json_length = chunks[0]
        if json_length > subject.limits.max_parse_bytes:
            subject.fail("json_syntax", f"Too large to parse: a JSON chunk of {json_length} bytes.")
            return
        handle.seek(json_offset)
        raw = handle.read(json_length)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        subject.fail("json_syntax", "The JSON chunk is not UTF-8.")
        return
    document = parse_json(subject, text.rstrip(" \x00"))
    if document is None or not check_gltf_document(subject, document):
        return
    binary = [chunk for chunk in chunks[1:] if chunk[0] == _BIN_CHUNK]
    buffers = document.get("buffers", [])
    if buffers and "uri" not in buffers[0]:
        needed = buffers[0].get("byteLength", 0)
        available = binary[0][2] if binary else 0
        subject.check(
            "glb_binary",
            isinstance(needed, int) and available >= needed,
            f"buffers[0] needs {needed} bytes; the BIN chunk has {available}.",
        )


# --- OBJ --------------------------------------------------------------------------------------------------

_OBJ_KEYWORDS = {
    *("v", "vt", "vn", "vp", "f", "l", "p", "o", "g", "s", "mtllib", "usemtl", "usemap", "maplib", "lod", "mg"),
    *("cstype", "deg", "bmat", "step", "curv", "curv2", "surf", "parm", "trim", "hole", "scrv", "sp", "end", "con"),
    *("shadow_obj", "trace_obj", "ctech", "stech", "bevel", "c_interp", "d_interp"),
}


def _obj_face_problem(fields: list[str], counts: dict[str, int], number: int) -> str | None:
    if len(fields) < 3:
        return f"Line {number}: a face needs at least 3 vertices."
    for field in fields:
        for reference, kind in zip(field.split("/"), ("v", "vt", "vn"), strict=False):
            if not reference and kind != "v":
                continue
            try:
                index = int(reference)
            except ValueError:
                return f"Line {number}: {field!r} is not a vertex reference."
            if index == 0 or abs(index) > counts[kind]:
                return f"Line {number}: {field!r} refers to {kind} {index}, but only {counts[kind]} are defined."
    return None


@register(
    "obj",
    label="Wavefront OBJ model",
    mime_type="model/obj",
    category="asset",
    extensions=(".obj",),
)
def validate_obj(subject: Subject) -> None:
    """OBJ: text, known statements, numeric vertices, and faces that refer to vertices defined before them."""
    if not check_utf8(subject):
        return
    counts = {"v": 0, "vt": 0, "vn": 0, "f": 0, "o": 0, "g": 0}
    unknown: set[str] = set()
    number = 0
    tail = b""
    for chunk in iter_chunks(subject.path, limit=subject.limits.max_scan_bytes):
        lines = (tail + chunk).split(b"\n")
        tail = lines.pop()
        for raw in lines:
            number += 1
            if problem := _obj_line(raw, counts, unknown, number):
                subject.fail("obj_geometry", problem)
                return
    if tail and (problem := _obj_line(tail, counts, unknown, number + 1)):
        subject.fail("obj_geometry", problem)
        return
    subject.info.update(vertices=counts["v"], faces=counts["f"], normals=counts["vn"], texcoords=counts["vt"])
    if not counts["v"]:
        subject.fail("obj_geometry", "The OBJ defines no vertices.")
        return
    subject.passed("obj_geometry", f"{counts['v']} vertices, {counts['f']} faces, every reference in range")
    subject.check(
        "obj_statements",
        not unknown,
        f"Unknown statements: {', '.join(sorted(unknown)[:10])}." if unknown else "Known statements only",
        warning=True,
    )


def _obj_line(raw: bytes, counts: dict[str, int], unknown: set[str], number: int) -> str | None:
    fields = raw.split(b"#", 1)[0].decode("utf-8", "replace").split()
    if not fields:
        return None
    keyword, values = fields[0], fields[1:]
    if keyword not in _OBJ_KEYWORDS:
        unknown.add(keyword[:20])
        return None
    if keyword in {"v", "vt", "vn"}:
        try:
            [float(value) for value in values]
        except ValueError:
            return f"Line {number}: {keyword} has a value that is not a number."
        if len(values) < (1 if keyword == "vt" else 3):
            return f"Line {number}: {keyword} needs {'a coordinate' if keyword == 'vt' else '3 coordinates'}."
    elif keyword == "f" and (problem := _obj_face_problem(values, counts, number)):
        return problem
    if keyword in counts:
        counts[keyword] += 1
    return None


# --- STL --------------------------------------------------------------------------------------------------


@register("stl", label="STL model", mime_type="model/stl", category="asset", extensions=(".stl",))
def validate_stl(subject: Subject) -> None:
    """STL: binary (80-byte header, a triangle count that gives the exact size) or ASCII (solid … endsolid)."""
    if subject.size >= 84:
        triangles = struct.unpack_from("<I", subject.head, 80)[0]
        if subject.size == 84 + 50 * triangles:
            subject.info.update(encoding="binary", triangles=triangles)
            subject.passed("stl_structure", f"Binary STL with {triangles} triangles")
            return
    if not subject.head.lstrip().startswith(b"solid"):
        subject.fail("stl_structure", "Neither a binary STL (size does not fit the triangle count) nor ASCII STL.")
        return
    if not check_utf8(subject):
        return
    facets = 0
    ended = False
    for chunk in iter_chunks(subject.path, limit=subject.limits.max_scan_bytes):
        facets += chunk.count(b"endfacet")
        ended = b"endsolid" in chunk[-4096:] or (ended and not chunk.strip())
    subject.info.update(encoding="ascii", triangles=facets)
    if not ended:
        subject.fail("stl_structure", "ASCII STL without `endsolid` at the end: truncated.")
        return
    subject.passed("stl_structure", f"ASCII STL with {facets} facets")


# --- header-only formats ----------------------------------------------------------------------------------

HEADER_ONLY = "Header checked only: the content itself is not decoded."
_FBX_BINARY = b"Kaydara FBX Binary  \x00\x1a\x00"


@register(
    "fbx",
    label="FBX model",
    mime_type="application/octet-stream",
    category="asset",
    extensions=(".fbx",),
    magic=b"Kaydara FBX Binary",
)
def validate_fbx(subject: Subject) -> None:
    """FBX: the binary signature and version, or the ASCII header comment."""
    if subject.head.startswith(_FBX_BINARY) and len(subject.head) >= 27:
        version = struct.unpack_from("<I", subject.head, 23)[0]
        subject.info.update(encoding="binary", fbx_version=version)
        subject.passed("signature", f"Binary FBX {version}")
    elif ascii_header := re.match(rb"; FBX (\d+(?:\.\d+)*)", subject.head):
        subject.info.update(encoding="ascii", fbx_version=ascii_header.group(1).decode())
        subject.passed("signature", f"ASCII FBX {ascii_header.group(1).decode()}")
    else:
        subject.fail("signature", "Not an FBX file: no binary signature or ASCII header.")
        return
    subject.passed("content", HEADER_ONLY)


_BLEND_HEADER = re.compile(rb"^BLENDER(?:([_-])([vV])(\d{3})|\d\d-\d\d([vV])(\d{4}))")


@register(
    "blend",
    label="Blender file",
    mime_type="application/x-blender",
    category="asset",
    extensions=(".blend",),
    magic=b"BLENDER",
)
def validate_blend(subject: Subject) -> None:
    """Blender: the BLENDER header with pointer size, endianness and version (or a compressed .blend)."""
    if subject.head[:4] == b"\x28\xb5\x2f\xfd" or subject.head[:2] == b"\x1f\x8b":
        subject.info["compressed"] = True
        subject.passed("signature", "Compressed .blend (zstd or gzip)")
    elif header := _BLEND_HEADER.match(subject.head):
        digits = (header.group(3) or header.group(5)).decode()
        subject.info["blender_version"] = f"{int(digits[:-2])}.{int(digits[-2:])}"
        subject.passed("signature", f"Blender {subject.info['blender_version']} file")
    else:
        subject.fail("signature", "Not a Blender file: no BLENDER header.")
        return
    subject.passed("content", HEADER_ONLY)
