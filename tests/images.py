"""Test files made on the spot: images with metadata, documents, broken files."""

import io
import zipfile

from PIL import Image, PngImagePlugin

GPS_IFD = 0x8825
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description creator="Kari Nordmann"/></x:xmpmeta>'


def jpeg_with_metadata() -> bytes:
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0110] = "Model Z"  # Model
    exif[0x013B] = "Kari Nordmann"  # Artist
    exif[0x0112] = 1  # Orientation
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (59.0, 54.0, 43.0), 3: "E", 4: (10.0, 45.0, 9.0)})
    output = io.BytesIO()
    image.save(output, "JPEG", exif=exif, comment=b"taken by Kari Nordmann", xmp=XMP)
    return output.getvalue()


def png_with_metadata() -> bytes:
    image = Image.new("RGBA", (32, 32), (0, 128, 0, 255))
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Kari Nordmann")
    info.add_text("XML:com.adobe.xmp", XMP.decode())
    exif = Image.Exif()
    exif[0x013B] = "Kari Nordmann"
    output = io.BytesIO()
    image.save(output, "PNG", pnginfo=info, exif=exif)
    return output.getvalue()


def plain_png() -> bytes:
    output = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(output, "PNG")
    return output.getvalue()


def _zip(entries: dict[str, str | bytes]) -> bytes:
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return output.getvalue()


def docx() -> bytes:
    return _zip(
        {
            "[Content_Types].xml": "<Types/>",
            "word/document.xml": "<w:document/>",
            "docProps/core.xml": "<dc:creator>Kari Nordmann</dc:creator>",
        }
    )


def odt() -> bytes:
    return _zip(
        {"mimetype": "application/vnd.oasis.opendocument.text", "content.xml": "<office:document-content/>"}
    )


def zip_with_program() -> bytes:
    return _zip({"[Content_Types].xml": "<Types/>", "setup.exe": b"MZ\x90\x00"})


PDF = b"%PDF-1.4\n1 0 obj << /Author (Kari Nordmann) >> endobj\ntrailer << >>\n%%EOF\n"
WINDOWS_PROGRAM = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200
BROKEN_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + b"\x00garbage" * 20
