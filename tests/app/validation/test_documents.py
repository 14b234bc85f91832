"""gateway/app/validation/documents.py: Markdown and text are UTF-8, XML is well-formed, a PDF is whole."""

import pytest

from gateway.app.validation import Limits, text
from tests.app.validation.helpers import failed, passed


def test_markdown_is_a_valid_document(check):
    report = check("README.md", "# Star Courier\n\nA platformer.\n")

    assert report.status == "valid"
    assert (report.format, report.mime_type, report.category) == ("markdown", "text/markdown", "document")
    assert report.info["line_count"] == 3


@pytest.mark.parametrize("data", [" ", " \n\t\n", "\ufeff\n", "\u3000\u00a0\r\n"])
@pytest.mark.parametrize("name", ["design.md", "notes.txt", "docs/design.md"])
def test_a_blank_document_is_invalid(check, name, data):
    report = check(name, data)

    assert report.status == "invalid"
    assert failed(report) == {"not_blank": "The file holds only whitespace: there is nothing in it."}
    assert report.errors == ["The file holds only whitespace: there is nothing in it."]


def test_an_empty_document_is_invalid(check):
    assert failed(check("design.md", b"")) == {"not_empty": "The file is empty (0 bytes)."}


def test_one_character_is_not_blank(check):
    assert check("design.md", "\n\n  x\n").status == "valid"


def test_markdown_that_is_not_utf8_is_invalid(check):
    report = check("README.md", "# Café\n".encode("cp1252"))
    assert "utf8" in failed(report)


@pytest.mark.parametrize(
    ("name", "fmt", "mime", "category"),
    [
        ("notes.txt", "text", "text/plain", "document"),
        ("enemies.csv", "csv", "text/csv", "asset"),
        ("config.yaml", "yaml", "application/yaml", "code"),
        ("settings.ini", "ini", "text/plain", "code"),
        ("icon.png.import", "ini", "text/plain", "code"),
        ("CHANGELOG", "text", "text/plain", "document"),
        ("intro.ink", "ink", "text/x-ink", "document"),
        ("Main.uss", "stylesheet", "text/css", "asset"),
    ],
)
def test_plain_text_under_many_names(check, name, fmt, mime, category):
    report = check(name, "key = value\nother, thing\n")

    assert report.status == "valid", report.errors
    assert (report.format, report.mime_type, report.category) == (fmt, mime, category)


def test_text_may_be_declared_as_code_or_asset(check):
    assert check("dialogue.csv", "id,line\n1,hello\n", category="asset").status == "valid"
    assert check("notes.txt", "hello\n", category="code").status == "valid"


def test_a_binary_file_named_txt_is_invalid(check):
    report = check("notes.txt", b"\x00\x01\x02\x03binary")
    assert "NUL byte" in failed(report)["utf8"]


def test_a_line_count_without_a_final_newline(check):
    assert check("a.txt", "one\ntwo").info["line_count"] == 2


# --- XML --------------------------------------------------------------------------------------------------


def test_well_formed_xml_and_its_family(check):
    xml = check("data.xml", '<?xml version="1.0"?>\n<items><item id="1"/></items>\n')
    svg = check("icon.svg", '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect/></svg>')
    tmx = check("level1.tmx", '<?xml version="1.0"?><map version="1.10"><layer/></map>')
    dae = check("ship.dae", '<COLLADA xmlns="http://www.collada.org/2005/11/COLLADASchema" version="1.4.1"/>')
    sniffed = check("data", '<?xml version="1.0"?><root/>')

    assert xml.status == "valid"
    assert xml.info["root_element"] == "items"
    assert (svg.status, svg.format, svg.mime_type, svg.category) == ("valid", "svg", "image/svg+xml", "asset")
    assert (tmx.status, tmx.format) == ("valid", "tiled_map")
    assert (dae.status, dae.format, dae.mime_type) == ("valid", "collada", "model/vnd.collada+xml")
    assert sniffed.format == "xml"


def test_malformed_xml_is_invalid(check):
    report = check("data.xml", "<items><item></items>")
    assert "Not well-formed XML at line 1" in failed(report)["xml"]


def test_xml_entity_declarations_are_refused(check):
    bomb = (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
        ' <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n]>\n<lolz>&lol2;</lolz>\n'
    )
    report = check("bomb.xml", bomb)
    assert "entity declarations are not accepted" in failed(report)["xml"]


def test_an_svg_whose_root_is_not_svg(check):
    report = check("icon.svg", "<html><body/></html>")
    assert "Root element <html>, expected <svg>" in failed(report)["xml_root"]


def test_a_long_xml_file_is_scanned_up_to_the_limit(check):
    report = check("data.xml", "<items>" + "<item/>" * 100, limits=Limits(max_scan_bytes=64))
    assert report.status == "valid"


# --- PDF --------------------------------------------------------------------------------------------------


def pdf_bytes(*, pages: int = 1, version: str = "1.4", encrypt: bool = False) -> bytes:
    kids = " ".join(f"{3 + i} 0 R" for i in range(pages))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode()]
    objects += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"] * pages
    out = f"%PDF-{version}\n%\xe2\xe3\xcf\xd3\n".encode("latin-1")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    extra = " /Encrypt 9 0 R" if encrypt else ""
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R{extra} >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def test_a_minimal_pdf_is_valid(check):
    report = check("design.pdf", pdf_bytes(pages=3))

    assert report.status == "valid", report.errors
    assert (report.format, report.mime_type, report.category) == ("pdf", "application/pdf", "document")
    assert report.info == {"pdf_version": "1.4", "encrypted": False, "pages_seen": 3}
    assert {"pdf_header", "pdf_eof", "pdf_xref"} <= passed(report)


def test_pages_are_counted_across_read_chunks(check, monkeypatch):
    monkeypatch.setattr(text, "CHUNK_BYTES", 5)
    report = check("design.pdf", pdf_bytes(pages=4, version="2.0", encrypt=True))

    assert report.info == {"pdf_version": "2.0", "encrypted": True, "pages_seen": 4}


def test_a_page_token_at_the_very_end_of_the_file_is_counted(check):
    report = check("design.pdf", pdf_bytes() + b"\n/Type /Page")
    assert report.info["pages_seen"] == 2


def test_a_truncated_pdf_is_invalid(check):
    data = pdf_bytes()
    report = check("design.pdf", data[: len(data) - 40])
    assert "truncated" in failed(report)["pdf_eof"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.replace(b"startxref\n", b"startxerf\n"), "No startxref"),
        (lambda d: d[: d.rindex(b"startxref")] + b"startxref\n99999999\n%%EOF\n", "past the end"),
        (lambda d: d[: d.rindex(b"startxref")] + b"startxref\n20\n%%EOF\n", "does not point at a cross-reference"),
    ],
)
def test_a_pdf_whose_cross_reference_is_wrong(check, mutate, message):
    report = check("design.pdf", mutate(pdf_bytes()))
    assert message in failed(report)["pdf_xref"]


def test_an_xref_stream_is_accepted(check):
    data = pdf_bytes()
    first_object = data.index(b"1 0 obj")
    data = data[: data.rindex(b"startxref")] + f"startxref\n{first_object}\n%%EOF\n".encode()
    assert check("design.pdf", data).status == "valid"


def test_a_file_named_pdf_that_is_not_a_pdf(check):
    report = check("design.pdf", "just some text\n")
    assert "does not start with %PDF" in failed(report)["pdf_header"]
