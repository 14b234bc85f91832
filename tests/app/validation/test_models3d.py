"""gateway/app/validation/models3d.py: glTF/GLB structure and references, OBJ lines, STL sizes, FBX/Blender headers."""

import copy
import json
import struct

import pytest

from gateway.app.validation import Limits
from tests.app.validation.helpers import failed, passed, warnings

TRIANGLE = {
    "asset": {"version": "2.0", "generator": "hand"},
    "scene": 0,
    "scenes": [{"nodes": [0]}],
    "nodes": [{"mesh": 0, "children": [1]}, {"name": "child"}],
    "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "indices": 1, "material": 0}]}],
    "materials": [{"name": "red"}],
    "accessors": [
        {"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3"},
        {"bufferView": 1, "componentType": 5123, "count": 3, "type": "SCALAR"},
    ],
    "bufferViews": [{"buffer": 0, "byteLength": 36}, {"buffer": 0, "byteOffset": 36, "byteLength": 6}],
    "buffers": [{"byteLength": 44, "uri": "data:application/octet-stream;base64," + "A" * 60}],
}


def gltf(**changes) -> dict:
    document = copy.deepcopy(TRIANGLE)
    for key, value in changes.items():
        if value is None:
            document.pop(key)
        else:
            document[key] = value
    return document


def test_a_gltf_with_consistent_references_is_valid(check):
    report = check("ship.gltf", json.dumps(TRIANGLE))

    assert report.status == "valid", report.errors
    assert (report.format, report.mime_type, report.category) == ("gltf", "model/gltf+json", "asset")
    assert report.info == report.info | {"gltf_version": "2.0", "generator": "hand", "node_count": 2, "mesh_count": 1}
    assert {"json_syntax", "gltf_asset", "gltf_references"} <= passed(report)


def test_a_minimal_gltf_has_a_node_count_of_zero(check):
    report = check("empty.gltf", '{"asset": {"version": "2.0"}}')
    assert report.status == "valid"
    assert report.info["node_count"] == 0


@pytest.mark.parametrize(
    ("document", "check_name", "message"),
    [
        ("[1, 2]", "gltf_asset", "not an object"),
        (json.dumps(gltf(asset=None)), "gltf_asset", "asset.version is missing"),
        (json.dumps(gltf(asset={"version": 2})), "gltf_asset", "asset.version is missing"),
        (json.dumps(gltf(asset={"version": "1.0"})), "gltf_asset", "only glTF 2.x"),
        (json.dumps(gltf(nodes={"0": {}})), "gltf_structure", "nodes must be an array of objects"),
        (json.dumps(gltf(scene=3)), "gltf_references", "scene = 3, but there are 1 scenes"),
        (json.dumps(gltf(nodes=[{"mesh": 5}])), "gltf_references", "nodes[0].mesh = 5"),
        (json.dumps(gltf(nodes=[{"children": [0, 9]}])), "gltf_references", "nodes[0].children[] = 9"),
        (json.dumps(gltf(nodes=[{"mesh": True}])), "gltf_references", "nodes[0].mesh = True"),
        (json.dumps(gltf(meshes=[{"primitives": []}])), "gltf_references", "meshes[0] has no primitives"),
        (json.dumps(gltf(meshes=[{"primitives": [{}]}])), "gltf_references", "has no attributes"),
        (
            json.dumps(gltf(meshes=[{"primitives": [{"attributes": {"POSITION": 7}}]}])),
            "gltf_references",
            "attributes.POSITION = 7",
        ),
        (
            json.dumps(gltf(meshes=[{"primitives": [{"attributes": {}, "material": 4}]}])),
            "gltf_references",
            "primitives[0].material = 4",
        ),
        (json.dumps(gltf(buffers=[{"byteLength": 4, "uri": "../../etc/passwd"}])), "gltf_uris", "outside"),
        (json.dumps(gltf(buffers=[{"byteLength": 4, "uri": "https://x.test/a.bin"}])), "gltf_uris", "outside"),
        ('{"asset": {"version": "2.0"},}', "json_syntax", "Invalid JSON"),
    ],
)
def test_broken_gltf(check, document, check_name, message):
    report = check("ship.gltf", document)

    assert report.status == "invalid"
    assert message in failed(report)[check_name]


def test_external_gltf_files_are_a_warning(check):
    report = check("ship.gltf", json.dumps(gltf(buffers=[{"byteLength": 44, "uri": "ship.bin"}])))

    assert report.status == "valid"
    assert report.info["external_files"] == ["ship.bin"]
    assert "handed in too" in warnings(report)["gltf_uris"]


def glb(document: dict | bytes, binary: bytes | None = None, *, version: int = 2, length_delta: int = 0) -> bytes:
    raw = document if isinstance(document, bytes) else json.dumps(document).encode()
    raw += b" " * (-len(raw) % 4)
    chunks = struct.pack("<II", len(raw), 0x4E4F534A) + raw
    if binary is not None:
        chunks += struct.pack("<II", len(binary), 0x004E4942) + binary
    total = 12 + len(chunks)
    return struct.pack("<4sII", b"glTF", version, total + length_delta) + chunks


GLB_DOCUMENT = gltf(buffers=[{"byteLength": 44}])


def test_a_glb_is_valid(check):
    report = check("ship.glb", glb(GLB_DOCUMENT, b"\0" * 44))

    assert report.status == "valid", report.errors
    assert (report.format, report.mime_type) == ("glb", "model/gltf-binary")
    assert {"glb_header", "glb_chunks", "gltf_references", "glb_binary"} <= passed(report)


@pytest.mark.parametrize(
    ("data", "check_name", "message"),
    [
        (b"glTF\x02\x00\x00\x00", "glb_header", "no glTF magic"),
        (glb(GLB_DOCUMENT, b"\0" * 44, version=1), "glb_header", "only version 2"),
        (glb(GLB_DOCUMENT, b"\0" * 44, length_delta=8), "glb_header", "length of"),
        (glb(GLB_DOCUMENT, b"\0" * 44)[:-4], "glb_header", "length of"),
        (glb(GLB_DOCUMENT, b"\0" * 8), "glb_binary", "needs 44 bytes; the BIN chunk has 8"),
        (glb(GLB_DOCUMENT), "glb_binary", "the BIN chunk has 0"),
        (glb(b'{"asset": {"version": "2.0"}'), "json_syntax", "Invalid JSON"),
        (glb(b'{"asset": "\xff"}'), "json_syntax", "not UTF-8"),
        (glb(gltf(asset={"version": "1.0"}), b""), "gltf_asset", "only glTF 2.x"),
    ],
)
def test_broken_glb(check, data, check_name, message):
    report = check("ship.glb", data)

    assert report.status == "invalid"
    assert message in failed(report)[check_name]


def test_glb_chunks_that_do_not_fit(check):
    body = struct.pack("<II", 100, 0x4E4F534A) + b"{}  "
    overrun = struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body
    bin_first = struct.pack("<II", 4, 0x004E4942) + b"\0\0\0\0"
    wrong_order = struct.pack("<4sII", b"glTF", 2, 12 + len(bin_first)) + bin_first
    cut_header = struct.pack("<4sII", b"glTF", 2, 12 + 12) + struct.pack("<II", 0, 0x4E4F534A) + b"\0\0\0\0"

    assert "past the end" in failed(check("a.glb", overrun))["glb_chunks"]
    assert "not the JSON chunk" in failed(check("b.glb", wrong_order))["glb_chunks"]
    assert "cut off" in failed(check("c.glb", cut_header))["glb_chunks"]


def test_a_glb_json_chunk_too_large_to_parse(check):
    report = check("ship.glb", glb(GLB_DOCUMENT, b"\0" * 44), limits=Limits(max_parse_bytes=100))
    assert "Too large to parse" in failed(report)["json_syntax"]


def test_a_glb_named_gltf_is_flagged(check):
    report = check("ship.gltf", glb(GLB_DOCUMENT, b"\0" * 44))
    assert report.format == "glb"
    assert "says glTF model" in failed(report)["format"]


CUBE = """# a cube
mtllib cube.mtl
o Cube
v -1 -1 -1
v 1 -1 -1
v 1 1 -1
v -1 1 -1
vt 0 0
vt 1
vn 0 0 -1
usemtl red
s off
f 1/1/1 2/2/1 3/1/1
f 1//1 3//1 4//1
f -4 -3 -2
l 1 2"""


def test_an_obj_with_faces_in_range_is_valid(check):
    report = check("cube.obj", CUBE)

    assert report.status == "valid", report.errors
    assert (report.format, report.mime_type) == ("obj", "model/obj")
    assert report.info == report.info | {"vertices": 4, "faces": 3, "normals": 1, "texcoords": 2}
    assert not warnings(report)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("v 0 0 0\nf 1 2 3\n", "Line 2: '2' refers to v 2, but only 1 are defined."),
        ("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1/4 2 3\n", "refers to vt 4"),
        ("v 0 0 zero\n", "Line 1: v has a value that is not a number."),
        ("v 0 0\n", "needs 3 coordinates"),
        ("vt\n", "needs a coordinate"),
        ("v 0 0 0\nf 1 1\n", "at least 3 vertices"),
        ("v 0 0 0\nf 1 a 1\n", "not a vertex reference"),
        ("v 0 0 0\nf 0 1 1\n", "refers to v 0"),
        ("# only a comment\n", "no vertices"),
        ("v 0 0 0\nf 1 1 9", "Line 2"),
    ],
)
def test_broken_obj(check, text, message):
    report = check("model.obj", text)

    assert report.status == "invalid"
    assert message in failed(report)["obj_geometry"]


def test_unknown_obj_statements_are_a_warning(check):
    report = check("model.obj", "v 0 0 0\nweird 1 2\n")
    assert report.status == "valid"
    assert "weird" in warnings(report)["obj_statements"]


def test_a_binary_obj_is_invalid(check):
    assert "utf8" in failed(check("model.obj", b"\x00\x01\x02"))


def test_obj_lines_across_read_chunks(check, monkeypatch):
    from gateway.app.validation import text

    monkeypatch.setattr(text, "CHUNK_BYTES", 7)
    report = check("cube.obj", CUBE)
    assert report.status == "valid", report.errors
    assert report.info["faces"] == 3


def binary_stl(triangles: int, extra: int = 0) -> bytes:
    return b"\0" * 80 + struct.pack("<I", triangles) + b"\0" * (50 * triangles + extra)


def test_stl_binary_and_ascii(check):
    ascii_stl = "solid cube\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nendloop\nendfacet\nendsolid cube\n"

    binary = check("part.stl", binary_stl(12))
    text = check("part.stl", ascii_stl)
    cut_text = check("part.stl", ascii_stl.replace("endsolid cube\n", ""))
    wrong_size = check("part.stl", binary_stl(12, extra=7))
    binary_text = check("part.stl", b"solid " + b"\xff" * 200)

    assert binary.status == "valid"
    assert binary.info == {"encoding": "binary", "triangles": 12}
    assert text.status == "valid"
    assert text.info["triangles"] == 1
    assert "endsolid" in failed(cut_text)["stl_structure"]
    assert "Neither a binary STL" in failed(wrong_size)["stl_structure"]
    assert "utf8" in failed(binary_text)


def test_fbx_headers_only(check):
    binary = check("ship.fbx", b"Kaydara FBX Binary  \x00\x1a\x00" + struct.pack("<I", 7400) + b"\0" * 100)
    ascii_fbx = check("ship.fbx", "; FBX 7.4.0 project file\n; ----\n")
    bad = check("ship.fbx", b"\x00\x01 not fbx")

    assert binary.status == "valid"
    assert binary.info == {"encoding": "binary", "fbx_version": 7400}
    assert "Header checked only" in next(c.detail for c in binary.checks if c.name == "content")
    assert ascii_fbx.status == "valid"
    assert ascii_fbx.info["fbx_version"] == "7.4.0"
    assert "Not an FBX" in failed(bad)["signature"]


@pytest.mark.parametrize(
    ("data", "version"),
    [
        (b"BLENDER-v402REND" + b"\0" * 64, "4.2"),
        (b"BLENDER_V279" + b"\0" * 64, "2.79"),
        (b"BLENDER17-01v0500" + b"\0" * 64, "5.0"),
    ],
)
def test_blender_headers(check, data, version):
    report = check("ship.blend", data)
    assert report.status == "valid"
    assert report.info["blender_version"] == version


def test_compressed_and_broken_blender_files(check):
    zstd = check("ship.blend", b"\x28\xb5\x2f\xfd" + b"\0" * 64)
    bad = check("ship.blend", b"BLENDER?" + b"\0" * 64)
    assert zstd.status == "valid"
    assert zstd.info["compressed"] is True
    assert "Not a Blender file" in failed(bad)["signature"]


def test_a_3d_format_declared_as_code_is_invalid(check):
    report = check("ship.fbx", "; FBX 7.4.0 project file\n", category="code")
    assert "Declared 'code'; a FBX model can be: asset." in report.errors


def test_a_glb_of_endless_empty_chunks_is_refused(check):
    raw = json.dumps(GLB_DOCUMENT).encode()
    raw += b" " * (-len(raw) % 4)
    body = struct.pack("<II", len(raw), 0x4E4F534A) + raw + struct.pack("<II", 0, 0x12345678) * 100
    report = check("ship.glb", struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body)
    assert "More than 64 chunks" in failed(report)["glb_chunks"]
