"""Office documents made on the spot: plain ones, and hostile ones (bombs, nested archives,
scripts, macros), built in memory in a few seconds at most."""

import io
import struct
import zipfile
import zlib

from tests import images

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/></Types>'
)
RELS = '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>'
SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'


def build_zip(entries: dict[str, str | bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", compression) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return output.getvalue()


def docx_parts() -> dict[str, str | bytes]:
    """The parts Word writes for a short document with a picture, an SVG icon and a font."""
    return {
        "[Content_Types].xml": CONTENT_TYPES,
        "_rels/.rels": RELS,
        "word/document.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<w:document xmlns:w="http://'
            'schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Hei</w:t>'
            "</w:r></w:p></w:body></w:document>"
        ),
        "word/_rels/document.xml.rels": RELS,
        "word/styles.xml": '<?xml version="1.0"?><w:styles/>',
        "word/theme/theme1.xml": '<?xml version="1.0"?><a:theme/>',
        "word/media/image1.png": images.plain_png(),
        "word/media/image2.svg": SVG,
        "word/fonts/font1.odttf": bytes(range(256)) * 4,
        "word/printerSettings/printerSettings1.bin": "Microsoft Print to PDF".encode("utf-16-le")
        + bytes(200),
        "docProps/core.xml": '<?xml version="1.0"?><cp:coreProperties/>',
        "docProps/app.xml": '<?xml version="1.0"?><Properties/>',
        "docProps/thumbnail.jpeg": images.jpeg_with_metadata(),
        "customXml/item1.xml": '<?xml version="1.0" encoding="UTF-16"?><root/>'.encode("utf-16"),
    }


def docx() -> bytes:
    return build_zip(docx_parts())


def docx_with(parts: dict[str, str | bytes]) -> bytes:
    return build_zip({**docx_parts(), **parts})


def xlsx() -> bytes:
    rows = "".join(f'<row r="{row}"><c r="A{row}"><v>{row * 7}</v></c></row>' for row in range(1, 2000))
    return build_zip(
        {
            "[Content_Types].xml": CONTENT_TYPES,
            "_rels/.rels": RELS,
            "xl/workbook.xml": '<?xml version="1.0"?><workbook><sheets><sheet name="A"/></sheets></workbook>',
            "xl/_rels/workbook.xml.rels": RELS,
            "xl/worksheets/sheet1.xml": f'<?xml version="1.0"?><worksheet><sheetData>{rows}</sheetData></worksheet>',
            "xl/sharedStrings.xml": '<?xml version="1.0"?><sst/>',
            "xl/styles.xml": '<?xml version="1.0"?><styleSheet/>',
            "xl/drawings/vmlDrawing1.vml": '<xml xmlns:v="urn:schemas-microsoft-com:vml"><v:shape/></xml>',
            "xl/printerSettings/printerSettings1.bin": bytes(220),
            "docProps/core.xml": '<?xml version="1.0"?><cp:coreProperties/>',
        }
    )


def pptx() -> bytes:
    return build_zip(
        {
            "[Content_Types].xml": CONTENT_TYPES,
            "_rels/.rels": RELS,
            "ppt/presentation.xml": '<?xml version="1.0"?><p:presentation/>',
            "ppt/slides/slide1.xml": '<?xml version="1.0"?><p:sld/>',
            "ppt/media/image1.gif": images.animation("GIF"),
            "ppt/fonts/font1.fntdata": bytes(100),
        }
    )


def odt_parts() -> dict[str, str | bytes]:
    """The parts LibreOffice writes for a short text (mimetype first, stored)."""
    return {
        "mimetype": images.ODT_MIMETYPE,
        "Configurations2/": b"",
        "Thumbnails/thumbnail.png": images.plain_png(),
        "content.xml": (
            '<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content xmlns:office="urn:oasis:'
            'names:tc:opendocument:xmlns:office:1.0" xmlns:xhtml="http://www.w3.org/1999/xhtml">'
            "<office:scripts/><office:body><office:text><text:p>Hei</text:p></office:text></office:body>"
            "</office:document-content>"
        ),
        "styles.xml": '<?xml version="1.0"?><office:document-styles/>',
        "meta.xml": '<?xml version="1.0"?><office:document-meta/>',
        "settings.xml": '<?xml version="1.0"?><office:document-settings/>',
        "manifest.rdf": '<?xml version="1.0"?><rdf:RDF/>',
        "layout-cache": b"\x01\x00\x02\x00" + bytes(60),
        "Pictures/1000000000000008.png": images.plain_png(),
        "ObjectReplacements/Object 1": b"VCLMTF" + bytes(100),
        "Object 1/content.xml": '<?xml version="1.0"?><office:document-content/>',
        "META-INF/manifest.xml": '<?xml version="1.0"?><manifest:manifest/>',
    }


def odt_with(parts: dict[str, str | bytes]) -> bytes:
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in {**odt_parts(), **parts}.items():
            if name == "mimetype":
                archive.writestr(name, content, compress_type=zipfile.ZIP_STORED)
            elif name.endswith("/"):
                archive.mkdir(name)
            else:
                archive.writestr(name, content)
    return output.getvalue()


def odt() -> bytes:
    return odt_with({})


def patched(data: bytes, name: str, **fields: int) -> bytes:
    """The ZIP with the named entry's fields (method, crc, compressed, size) overwritten in both
    its local header and its central directory entry: a header that says what the sender likes."""
    local = {"method": (8, "<H"), "crc": (14, "<I"), "compressed": (18, "<I"), "size": (22, "<I")}
    offsets = {"local": (b"PK\x03\x04", 26, 30, local)}
    offsets["central"] = (b"PK\x01\x02", 28, 46, {key: (at + 2, form) for key, (at, form) in local.items()})
    result = bytearray(data)
    encoded = name.encode()
    for signature, name_length_at, name_at, positions in offsets.values():
        start = result.find(signature)
        while start >= 0:
            (length,) = struct.unpack_from("<H", result, start + name_length_at)
            if bytes(result[start + name_at : start + name_at + length]) == encoded:
                for field, value in fields.items():
                    at, form = positions[field]
                    struct.pack_into(form, result, start + at, value)
            start = result.find(signature, start + 4)
    return bytes(result)


def deflated_zeros(size: int) -> tuple[bytes, int]:
    """A deflate stream of `size` zeros, made in about a second for 2 GiB, and its CRC-32.

    After a full flush the compressor starts afresh, so every mebibyte of zeros after the first
    packs to the same bytes: those are compressed once and repeated.
    """
    chunk = bytes(1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeated = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    assert compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH) == repeated
    chunks = size // len(chunk)
    stream = first + repeated * (chunks - 2) + compressor.flush(zlib.Z_FINISH)
    crc = 0
    for _ in range(chunks):
        crc = zlib.crc32(chunk, crc)
    return stream, crc


def docx_bomb(size: int = 2 << 30) -> bytes:
    """A Word document whose word/document.xml unpacks to `size` zeros (2 GiB in about 2 MB):
    the part is stored as the deflate stream, and its header then made to say what it is."""
    stream, crc = deflated_zeros(size)
    data = build_zip({**docx_parts(), "word/document.xml": stream}, compression=zipfile.ZIP_STORED)
    return patched(data, "word/document.xml", method=zipfile.ZIP_DEFLATED, crc=crc, size=size)


def docx_with_forged_size(size: int = 2 << 30) -> bytes:
    """A small Word document whose word/document.xml says it unpacks to `size` bytes."""
    return patched(docx(), "word/document.xml", size=size)


def docx_with_nested_bomb() -> bytes:
    return docx_with({"word/embeddings/package.zip": images.zip_bomb(32 << 20)})


def docx_with_zip_as_picture() -> bytes:
    return docx_with({"word/media/image3.png": images.zip_bomb(32 << 20)})


def docx_with_many_parts(count: int) -> bytes:
    return docx_with({f"customXml/item{number}.xml": "<a/>" for number in range(count)})
