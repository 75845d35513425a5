"""Test files made on the spot: images with metadata, documents, broken files."""

import io
import zipfile
import zlib

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


def _zip_with_flags(entries: dict[str, bytes], *, compression: int, flag_bits: int = 0) -> bytes:
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", compression) as archive:
        for name, content in entries.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = compression
            archive.writestr(info, content)
    data = bytearray(output.getvalue())
    if flag_bits:  # in each local header and each central directory entry
        for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
            start = data.find(signature)
            while start >= 0:
                data[start + offset] |= flag_bits
                start = data.find(signature, start + 4)
    return bytes(data)


ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"


def odt_with_corrupt_mimetype() -> bytes:
    """An ODT whose deflated "mimetype" entry is garbled: unpacking it raises zlib.error."""
    data = bytearray(_zip_with_flags({"mimetype": ODT_MIMETYPE}, compression=zipfile.ZIP_DEFLATED))
    start = 30 + len("mimetype")  # the entry's compressed bytes follow its local header
    for index in range(start, start + 10):
        data[index] ^= 0xFF
    return bytes(data)


def encrypted_odt() -> bytes:
    """An ODT whose entries are marked encrypted (zipfile: RuntimeError, password required)."""
    return _zip_with_flags(
        {"mimetype": ODT_MIMETYPE, "content.xml": b"<office:document-content/>"},
        compression=zipfile.ZIP_STORED,
        flag_bits=0x01,
    )


def odt_with_unknown_compression() -> bytes:
    """An ODT whose "mimetype" entry claims compression method 99 (AES), which zipfile lacks."""
    data = bytearray(_zip_with_flags({"mimetype": ODT_MIMETYPE}, compression=zipfile.ZIP_STORED))
    data[8:10] = (99).to_bytes(2, "little")
    central = data.find(b"PK\x01\x02")
    data[central + 10 : central + 12] = (99).to_bytes(2, "little")
    return bytes(data)


def zip_bomb(unpacked_bytes: int) -> bytes:
    """A small ZIP whose "mimetype" entry unpacks to `unpacked_bytes` zeros."""
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("mimetype", "w", force_zip64=True) as entry:
            chunk = b"\x00" * (1 << 20)
            for _ in range(unpacked_bytes // len(chunk)):
                entry.write(chunk)
    return output.getvalue()


def webp_with_damaged_exif() -> bytes:
    """A WebP that opens and verifies, but whose EXIF block has a broken TIFF header: reading
    the EXIF (as metadata removal must, for the orientation) raises SyntaxError in Pillow."""
    exif = Image.Exif()
    exif[0x010F] = "Cam"  # Make
    output = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 200)).save(output, "WEBP", exif=exif)
    data = bytearray(output.getvalue())
    header = data.find(b"MM\x00*")
    data[header + 2] = 0xBB
    return bytes(data)


def png_header(width: int, height: int) -> bytes:
    """A PNG that says it is width x height (one bit a pixel) with next to no pixel data:
    enough to be opened and verified, cheaply, at any size."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([1, 0, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def png_of(width: int, height: int) -> bytes:
    """A real PNG, one bit a pixel, all black: many pixels in few bytes."""
    output = io.BytesIO()
    Image.new("1", (width, height)).save(output, "PNG")
    return output.getvalue()


def jpeg_turned(orientation: int) -> bytes:
    """A 64 x 48 JPEG, red on its left half, with this EXIF orientation."""
    image = Image.new("RGB", (64, 48), (255, 255, 255))
    image.paste((255, 0, 0), (0, 0, 32, 48))
    exif = Image.Exif()
    exif[0x0112] = orientation
    output = io.BytesIO()
    image.save(output, "JPEG", exif=exif, quality=95)
    return output.getvalue()


ANIMATION_DURATIONS = [100, 200, 300]


def animation(pillow_format: str, **options) -> bytes:
    """Three frames of 20 x 10, the middle one half transparent: a red band moving down."""
    frames = []
    for index in range(3):
        frame = Image.new("RGBA", (20, 10), (0, 0, 0, 0) if index == 1 else (255, 255, 255, 255))
        frame.paste((255, 0, 0, 255), (0, 3 * index, 20, 3 * index + 3))
        frames.append(frame)
    output = io.BytesIO()
    frames[0].save(
        output,
        pillow_format,
        save_all=True,
        append_images=frames[1:],
        duration=ANIMATION_DURATIONS,
        loop=0,
        **options,
    )
    return output.getvalue()


def palette_png_with_transparency() -> bytes:
    """A 4 x 4 palette PNG: index 0 fully transparent, index 1 half transparent red."""
    image = Image.new("P", (4, 4), 0)
    image.putpalette([0, 0, 0, 255, 0, 0])
    image.putpixel((1, 1), 1)
    output = io.BytesIO()
    image.save(output, "PNG", transparency=bytes([0, 128]))
    return output.getvalue()


def palette_gif_with_transparency() -> bytes:
    """A 4 x 4 GIF, transparent but for one red pixel."""
    image = Image.new("P", (4, 4), 0)
    image.putpalette([0, 0, 0, 255, 0, 0])
    image.putpixel((1, 1), 1)
    output = io.BytesIO()
    image.save(output, "GIF", transparency=0)
    return output.getvalue()


def animation_of(*, frames: int, size: tuple[int, int]) -> bytes:
    """A GIF of this many frames, black and white in turn (Pillow merges identical ones)."""
    black, white = Image.new("L", size, 0), Image.new("L", size, 255)
    rest = [white if index % 2 else black for index in range(1, frames)]
    output = io.BytesIO()
    black.save(output, "GIF", save_all=True, append_images=rest)
    return output.getvalue()


def _gif(frames: list[bytes], *, width: int = 4, height: int = 4) -> bytes:
    """A GIF of these raw blocks after its header and a two-colour table."""
    header = b"GIF89a" + width.to_bytes(2, "little") + height.to_bytes(2, "little") + bytes([0x80, 0, 0])
    return header + b"\x00\x00\x00\xff\xff\xff" + b"".join(frames) + b";"


def _gif_frame(left: int, top: int, width: int, height: int) -> bytes:
    """One white frame: its descriptor at this place, then the data Pillow writes for it."""
    image = Image.new("P", (width, height), 1)
    image.putpalette([0, 0, 0, 255, 255, 255])
    output = io.BytesIO()
    image.save(output, "GIF")
    data = output.getvalue()
    position = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)
    while data[position] == 0x21:  # extensions: label, then sub-blocks
        position += 2
        while data[position]:
            position += 1 + data[position]
        position += 1
    descriptor = b"," + b"".join(value.to_bytes(2, "little") for value in (left, top, width, height))
    return descriptor + data[position + 9 : -1]


def gif_with_frame_past_the_canvas() -> bytes:
    """A 4 x 4 GIF whose second frame reaches to 6 x 5: Pillow grows the picture to fit."""
    return _gif([_gif_frame(0, 0, 4, 4), _gif_frame(2, 1, 4, 4)])


def gif_of_tiny_blocks(blocks: int) -> bytes:
    """A GIF whose one frame's data comes in `blocks` sub-blocks of one byte each."""
    descriptor = b"," + bytes(4) + (1).to_bytes(2, "little") * 2 + b"\x00\x02"
    return _gif([descriptor + b"\x01\x00" * blocks + b"\x00"])
