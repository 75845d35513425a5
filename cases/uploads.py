"""What a reporter may upload, judged by content, not by name; and image metadata removal.

Checking a submission's files has two steps of very different cost. `check_files` reads the
files and judges them by their content and headers alone (count, sizes, kinds, the parts of an
office document, the pixels all images together would decode to); `decode_images` then decodes
the pictures and strips their metadata, the expensive part, and is only run on a submission that
is otherwise valid. `verify_uploads` is the service layer's cheap re-check of what a caller hands
it: it trusts no caller's `Upload.kind`.
"""

import io
import re
import struct
import warnings
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Protocol

import puremagic
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from PIL import ExifTags, Image, ImageSequence, UnidentifiedImageError

IMAGE_TYPES = {
    "image/jpeg": ("JPEG", "jpg"),
    "image/png": ("PNG", "png"),
    "image/gif": ("GIF", "gif"),
    "image/webp": ("WEBP", "webp"),
}
# Office containers are ZIP files; the part that makes each what it claims to be.
OFFICE_PARTS = {
    "word/document.xml": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
    "xl/workbook.xml": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "ppt/presentation.xml": (
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "pptx",
    ),
}
OPENDOCUMENT_TYPES = {
    b"application/vnd.oasis.opendocument.text": "odt",
    b"application/vnd.oasis.opendocument.spreadsheet": "ods",
    b"application/vnd.oasis.opendocument.presentation": "odp",
}
# The longest OpenDocument mimetype is 47 bytes; a "mimetype" entry much bigger is not one (and
# must not be unpacked to find out: a few hundred kilobytes of ZIP can hold gigabytes).
MIMETYPE_MAX_BYTES = 100
# An office document is judged by all its parts, from the ZIP's directory and the first bytes of
# each part: none is ever unpacked whole (a few megabytes of ZIP can hold gigabytes of zeros).
# The most parts a document may have: a 300-slide presentation has about 2,000. Counted in the
# raw bytes before zipfile reads the directory, which costs about 30 µs an entry.
MAX_OFFICE_PARTS = 5000
# What one part, and all parts together, may unpack to. A 20 MB workbook of plain numbers unpacks
# to about 200 MB of XML (real XML packs about 10:1, measured); past these bounds a document is
# more likely a bomb than a report, and would freeze the office program of whoever opens it.
MAX_OFFICE_PART_BYTES = 256 * 1024 * 1024
MAX_OFFICE_UNPACKED_BYTES = 512 * 1024 * 1024
# How tightly a part may be packed, for parts that unpack to more than a mebibyte (small parts
# say little by their ratio). Measured with zlib: a sheet of styled empty cells packs 12:1, a
# sheet of zeros 9:1, one paragraph copied 200,000 times 343:1; zeros pack 1029:1, the ceiling of
# deflate, where ZIP bombs sit. 200:1 leaves real documents a wide margin and bombs none.
MAX_OFFICE_COMPRESSION_RATIO = 200
OFFICE_RATIO_CHECKED_FROM_BYTES = 1024 * 1024
# How much of each part is read to tell what it is.
OFFICE_SNIFF_BYTES = 1024
# An SVG picture is read whole (up to this much) to look for scripts.
MAX_OFFICE_SVG_BYTES = 4 * 1024 * 1024
# The parts an office document is made of, by the end of their names: anything else (HTML, a
# script, a program, macros, an embedded document or archive) is refused.
OFFICE_XML_SUFFIXES = (".xml", ".rels", ".vml", ".rdf")
OFFICE_BINARY_SUFFIXES = (
    # pictures (wdp: HD Photo; svm: StarView metafile, in OpenDocument)
    ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".emf", ".wmf", ".wdp", ".svm",
    # fonts (odttf: Word's obfuscated TrueType; fntdata: PowerPoint's)
    ".ttf", ".otf", ".odttf", ".fntdata",
    # sound and video in presentations
    ".mp3", ".m4a", ".wav", ".mp4", ".m4v", ".mov", ".wmv", ".wma",
    # the empty origin part of a signed document
    ".sigs",
)  # fmt: skip
OFFICE_BINARY_NAMES = {"mimetype", "layout-cache"}  # OpenDocument's; layout-cache is LibreOffice's
# Printer settings (a Windows DEVMODE) are the one kind of .bin part accepted: vbaProject.bin
# holds macros, oleObject*.bin and activeX*.bin embedded programs or documents.
OFFICE_PRINTER_SETTINGS = re.compile(r"(^|/)printersettings\d*\.bin$")
# OpenDocument's pictures of embedded objects (charts), named without an extension.
OFFICE_BINARY_FOLDERS = ("objectreplacements/",)
OFFICE_MACRO_NAMES = re.compile(r"vbaproject|vbadata|(^|/)(basic|scripts)/|(^|/)activex/")
OFFICE_EMBEDDED_NAMES = re.compile(
    r"(^|/)embeddings/|\.(zip|jar|7z|rar|gz|tgz|bz2|xz|cab|bin|exe|dll|ole"
    r"|doc|docx|docm|dot|dotx|dotm|xls|xlsx|xlsm|xlsb|xlt|xltx|ppt|pptx|pptm|pot|potx|sldx|ppsx"
    r"|odt|ods|odp|odg|odf|ott|ots|otp)$"
)
# The first bytes of archives, compressed files, compound documents (.doc, .xls, OLE objects and
# macros) and programs: none of these belongs inside a document, whatever its part is called.
NESTED_MAGIC = (
    b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08",  # ZIP (and so every office document)
    b"Rar!\x1a\x07", b"7z\xbc\xaf\x27\x1c", b"\x1f\x8b", b"MSCF", b"BZh", b"\xfd7zXZ\x00",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",  # OLE compound file
)  # fmt: skip
PROGRAM_MAGIC = (
    b"MZ", b"\x7fELF", b"#!", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe",
)  # fmt: skip
# Markup that a browser would run, in a part that should be plain XML or a picture.
ACTIVE_MARKUP = re.compile(rb"<!doctype\s+html|<([a-z0-9_.-]+:)?(html|script|iframe)[\s>/]")
SVG_SCRIPT = re.compile(
    rb"<([a-z0-9_.-]+:)?(script|foreignobject|iframe|embed|object)[\s>/]|\son[a-z]+\s*=|javascript:"
)
# A 40-megapixel photo is bigger than any phone takes; decoding one needs about 160 MB. Larger
# pictures (and animations whose frames add up to more) are refused before their pixels are
# decoded: a PNG of a few hundred kilobytes can unpack to gigabytes.
MAX_IMAGE_PIXELS = 40_000_000
# Each frame costs memory and time beyond its pixels; a thousand is over a minute of animation.
MAX_ANIMATION_FRAMES = 1000
# What Pillow raises on a file it cannot read (a damaged file is the sender's to fix, not a
# server error).
UNREADABLE_IMAGE = (
    UnidentifiedImageError,
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,  # a GIF cut short inside a frame's header (Pillow 13 reads past the end)
)
# Formats that can carry an animation, and that Pillow can write back as one.
ANIMATED_FORMATS = {"GIF", "PNG", "WEBP"}
ALLOWED_DESCRIPTION = gettext_lazy(
    "JPEG, PNG, GIF, WebP, PDF, Word, Excel, PowerPoint, OpenDocument, plain text"
)


@dataclass(frozen=True)
class UploadKind:
    content_type: str
    extension: str

    @property
    def is_image(self) -> bool:
        return self.content_type in IMAGE_TYPES


@dataclass(frozen=True)
class Upload:
    name: str
    data: bytes
    kind: UploadKind
    # An image's pixels alone, made by `decode_images` once the rest of the submission is valid,
    # so that a picture that cannot be decoded is refused at its field; kept in place of `data`
    # if the reporter is anonymous.
    data_without_metadata: bytes | None = None
    metadata_removed: bool = False


class ReceivedFile(Protocol):
    """What `check_files` needs of an uploaded file (Django's UploadedFile has it)."""

    name: str | None
    size: int | None

    def read(self, *args, **kwargs) -> bytes: ...


def _refused() -> ValidationError:
    return ValidationError(
        _("This kind of file is not accepted. Accepted: %(types)s.") % {"types": ALLOWED_DESCRIPTION},
        code="file_type",
    )


def _damaged() -> ValidationError:
    return ValidationError(_("This file is damaged and could not be read."), code="broken")


def _declared_mimetype(archive: zipfile.ZipFile) -> bytes:
    """The OpenDocument "mimetype" entry, if it is small enough to be one; b"" otherwise.

    Read only up to MIMETYPE_MAX_BYTES whatever the header claims; only stored and deflated
    entries are read, as other methods cannot bound how much they unpack from one chunk.
    """
    try:
        entry = archive.getinfo("mimetype")
    except KeyError:
        return b""
    if entry.file_size > MIMETYPE_MAX_BYTES or entry.compress_type not in {
        zipfile.ZIP_STORED,
        zipfile.ZIP_DEFLATED,
    }:
        return b""
    with archive.open(entry) as stream:
        return stream.read(MIMETYPE_MAX_BYTES + 1).strip()


def _zip_kind(data: bytes) -> UploadKind:
    """The kind of an office document (OOXML or OpenDocument), judged by its name-giving part and
    then by all its parts; raises ValidationError for any other ZIP."""
    if _office_directory_too_large(data):
        raise ValidationError(
            _("This document has too many parts; the limit is %(limit)s.") % {"limit": MAX_OFFICE_PARTS},
            code="too_large",
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            kind = _office_kind(archive)
            if kind is None:
                raise _refused()
            _check_office_parts(archive)
            return kind
    # A corrupt entry (zlib.error, or BadZipFile on a wrong checksum), an encrypted one
    # (RuntimeError), an unknown compression method (NotImplementedError), a name that is not
    # valid UTF-8 (ValueError), a directory cut short (EOFError, OSError).
    except (zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError, ValueError, EOFError, OSError):
        raise _damaged() from None


def _office_kind(archive: zipfile.ZipFile) -> UploadKind | None:
    declared = _declared_mimetype(archive)
    if declared in OPENDOCUMENT_TYPES:
        return UploadKind(declared.decode(), OPENDOCUMENT_TYPES[declared])
    names = set(archive.namelist())
    for part, (content_type, extension) in OFFICE_PARTS.items():
        if part in names and "[Content_Types].xml" in names:
            return UploadKind(content_type, extension)
    return None


def _part_error(message: str, code: str, part: str) -> ValidationError:
    # A part's name is the sender's to choose: shown cut short, as they wrote it.
    return ValidationError(message % {"part": part[:100]}, code=code)


def _part_kind(name: str) -> str:
    """What the part's name says it is: "xml", "svg" or "binary"; raises ValidationError if it is
    macros, an embedded document or archive, or of any kind not expected in an office document."""
    lowered = name.lower()
    if OFFICE_MACRO_NAMES.search(lowered):
        raise _part_error(_("This document contains macros (%(part)s)."), "macros", name)
    if OFFICE_PRINTER_SETTINGS.search(lowered):
        return "binary"
    if OFFICE_EMBEDDED_NAMES.search(lowered):
        raise _part_error(
            _("This document contains an embedded document or archive (%(part)s)."), "nested_archive", name
        )
    if lowered.endswith(OFFICE_XML_SUFFIXES):
        return "xml"
    if lowered.endswith(".svg"):
        return "svg"
    if lowered.endswith(OFFICE_BINARY_SUFFIXES) or lowered in OFFICE_BINARY_NAMES:
        return "binary"
    if lowered.startswith(OFFICE_BINARY_FOLDERS) and "." not in lowered.rsplit("/", 1)[-1]:
        return "binary"
    raise _part_error(
        _("This document contains a part of a kind not accepted (%(part)s)."), "part_type", name
    )


def _check_part_sizes(entries: list[zipfile.ZipInfo]) -> None:
    """Bounds on what the parts unpack to, from the ZIP's directory alone (nothing is unpacked)."""
    unpacked = 0
    for entry in entries:
        if entry.file_size > MAX_OFFICE_PART_BYTES or (
            entry.file_size > OFFICE_RATIO_CHECKED_FROM_BYTES
            and entry.file_size > MAX_OFFICE_COMPRESSION_RATIO * max(entry.compress_size, 1)
        ):
            raise _part_error(
                _("This document unpacks to far more than a real document would (%(part)s)."),
                "too_large",
                entry.filename,
            )
        unpacked += entry.file_size
    if unpacked > MAX_OFFICE_UNPACKED_BYTES:
        raise ValidationError(
            _("This document unpacks to more than %(limit)s.")
            % {"limit": filesizeformat(MAX_OFFICE_UNPACKED_BYTES)},
            code="too_large",
        )


def _first_bytes(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, size: int) -> bytes:
    """At most `size` bytes from the start of a part: zipfile unpacks no more than it is asked."""
    with archive.open(entry) as stream:
        return stream.read(size)


def _as_markup(head: bytes) -> bytes:
    """The start of a text part, lower case, as bytes to match (UTF-16 turned to UTF-8)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = head.decode("utf-16", errors="ignore").encode()
    return head.removeprefix(b"\xef\xbb\xbf").lstrip().lower()


def _check_part_content(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, kind: str) -> None:
    """The part is what its name says, judged by its first bytes (an SVG picture: all of it)."""
    if kind == "svg":
        if entry.file_size > MAX_OFFICE_SVG_BYTES:
            raise _part_error(
                _("This document unpacks to far more than a real document would (%(part)s)."),
                "too_large",
                entry.filename,
            )
        head = _first_bytes(archive, entry, MAX_OFFICE_SVG_BYTES)
    else:
        head = _first_bytes(archive, entry, OFFICE_SNIFF_BYTES)
    if head.startswith(NESTED_MAGIC):
        raise _part_error(
            _("This document contains an embedded document or archive (%(part)s)."),
            "nested_archive",
            entry.filename,
        )
    markup = _as_markup(head)
    if (
        head.startswith(PROGRAM_MAGIC)
        or (kind == "xml" and (not markup.startswith(b"<") or ACTIVE_MARKUP.search(markup)))
        or (kind == "svg" and (not markup.startswith(b"<") or SVG_SCRIPT.search(markup)))
        # A picture, font or sound that is really a web page.
        or (kind == "binary" and markup.startswith(b"<") and ACTIVE_MARKUP.search(markup))
    ):
        raise _part_error(
            _("This document contains a part of a kind not accepted (%(part)s)."), "part_type", entry.filename
        )


def _check_office_parts(archive: zipfile.ZipFile) -> None:
    """Every part of an office document is of a kind documents are made of, and none unpacks to
    more than a real document would; raises ValidationError otherwise. Reads the directory and
    at most the first kilobyte of each part (an SVG picture whole, up to a few megabytes)."""
    entries = archive.infolist()
    if len({entry.filename for entry in entries}) != len(entries) or len(
        {entry.header_offset for entry in entries}
    ) != len(entries):
        raise _damaged()  # two parts of one name, or two names for one part: readers disagree
    _check_part_sizes(entries)
    kinds = []
    for entry in entries:
        if entry.is_dir():
            continue
        if entry.flag_bits & 0x1:
            raise _damaged()  # encrypted: it cannot be read (nor judged)
        if entry.compress_type not in {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}:
            raise _part_error(
                _("This document contains a part of a kind not accepted (%(part)s)."),
                "part_type",
                entry.filename,
            )
        kinds.append((entry, _part_kind(entry.filename)))
    for entry, kind in kinds:
        if entry.file_size:
            _check_part_content(archive, entry, kind)


def _office_directory_too_large(data: bytes) -> bool:
    # Each entry of a ZIP's central directory starts with this signature; counting them in the
    # raw bytes is cheap, and could only count too many (a part's packed bytes may hold one).
    return data.count(b"PK\x01\x02") > MAX_OFFICE_PARTS


def _too_large_image() -> ValidationError:
    return ValidationError(
        _(
            "This image is too large: the limit is %(pixels)s megapixels (for an animation, all its "
            "frames together, and at most %(frames)s frames)."
        )
        % {"pixels": MAX_IMAGE_PIXELS // 1_000_000, "frames": MAX_ANIMATION_FRAMES},
        code="too_large",
    )


def _damaged_image() -> ValidationError:
    return ValidationError(_("This image is damaged and could not be read."), code="broken")


@contextmanager
def _opened_image(data: bytes, pillow_format: str) -> Iterator[Image.Image]:
    """The image, opened (not decoded) as the one format its content showed, if not too large."""
    # Pillow only warns about a picture between its limit and twice that (when opened, or when a
    # GIF frame grows it); here that is an error. catch_warnings() changes the process's warning
    # filters while it lasts: harmless, as gunicorn's workers serve one request at a time, and
    # as MAX_IMAGE_PIXELS is below Pillow's limit, so the checks below refuse such images anyway.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=[pillow_format]) as image:
                if image.width * image.height > MAX_IMAGE_PIXELS:
                    raise _too_large_image()
                yield image
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_large_image() from None


def identify_upload(data: bytes) -> UploadKind:
    """The kind of an uploaded file from its bytes; raises ValidationError for anything else."""
    if not data:
        raise ValidationError(_("This file is empty."), code="empty")
    if data.startswith(b"PK\x03\x04"):
        return _zip_kind(data)
    try:
        content_type = puremagic.from_string(data, mime=True)
    except puremagic.PureError:
        content_type = ""
    if content_type in IMAGE_TYPES:
        pillow_format, extension = IMAGE_TYPES[content_type]
        # verify() reads the structure, not the pixels: strip_image_metadata decodes those, and
        # decode_images calls it on every image, so a picture cut short is refused there.
        try:
            with _opened_image(data, pillow_format) as image:
                image.verify()
        except UNREADABLE_IMAGE:
            raise _damaged_image() from None
        return UploadKind(content_type, extension)
    if content_type == "application/pdf" or data.startswith(b"%PDF-"):
        return UploadKind("application/pdf", "pdf")
    if b"\x00" not in data:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise _refused() from None
        return UploadKind("text/plain", "txt")
    raise _refused()


TRANSPOSE_FOR_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _pixels_only(frame: Image.Image, transpose: Image.Transpose | None, *, mode: str | None) -> Image.Image:
    """A new image with the frame's pixels (and palette) and none of its metadata."""
    picture = frame.convert(mode) if mode else frame.copy()
    if transpose is not None:
        picture = picture.transpose(transpose)
    picture.info = {}
    return picture


def strip_image_metadata(data: bytes, kind: UploadKind) -> bytes:
    """The picture alone: EXIF (with GPS), XMP, IPTC, ICC and comments are left behind.

    The pixels are copied into a new image, so nothing the original carried can follow; the
    EXIF orientation is applied first so that the picture still stands the right way up.
    Transparency and the frames of an animation (GIF, PNG, WebP) are kept. This is where an
    image's pixels are decoded: raises ValidationError if they cannot be, or are too many.
    """
    pillow_format, _extension = IMAGE_TYPES[kind.content_type]
    try:
        with _opened_image(data, pillow_format) as original:
            orientation = original.getexif().get(ExifTags.Base.Orientation, 1)
            transpose = TRANSPOSE_FOR_ORIENTATION.get(orientation)
            animated = pillow_format in ANIMATED_FORMATS and getattr(original, "n_frames", 1) > 1
            if not animated:
                clean = _pixels_only(original, transpose, mode=None)
                frames, options = [clean], {}
                if "transparency" in original.info:
                    options["transparency"] = original.info["transparency"]
            else:
                frames, durations, pixels = [], [], 0
                for frame in ImageSequence.Iterator(original):
                    pixels += frame.width * frame.height  # a GIF's frame may grow the picture
                    if pixels > MAX_IMAGE_PIXELS or len(frames) == MAX_ANIMATION_FRAMES:
                        raise _too_large_image()
                    # Each frame as Pillow composes it, in RGBA: whole pictures with their own
                    # transparency, which need none of the original's disposal or blending.
                    frames.append(_pixels_only(frame, transpose, mode="RGBA"))
                    durations.append(frame.info.get("duration", 0))
                options = {"save_all": True, "append_images": frames[1:], "duration": durations}
                if "loop" in original.info:
                    options["loop"] = original.info["loop"]
                if pillow_format == "GIF":
                    options["disposal"] = 2  # clear each frame: its transparent pixels show through
            if pillow_format in {"JPEG", "WEBP"}:
                options["quality"] = 90
            output = io.BytesIO()
            frames[0].save(output, format=pillow_format, **options)
    except UNREADABLE_IMAGE:
        raise _damaged_image() from None
    return output.getvalue()


def _gif_frames(data: bytes) -> tuple[int, int, int]:
    """(frames, width, height) of a GIF, from its block structure: no pixel is decoded.

    Pillow's n_frames walks every frame, however many (200,000 one-pixel frames, 4.6 MB, take it
    1.4 s); this stops past MAX_ANIMATION_FRAMES. The canvas is as large as the frames reach, as
    Pillow grows it. Data sub-blocks are at most 255 bytes and encoders write them full, so a
    file of far more, smaller ones is built to make this walk slow, and is refused.
    """
    if not data.startswith(b"GIF8") or len(data) < 13:
        raise _damaged_image()
    width, height, flags = struct.unpack_from("<HHB", data, 6)
    position = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    frames, sub_blocks, most_sub_blocks = 0, 0, len(data) // 64 + 10_000
    try:
        while frames <= MAX_ANIMATION_FRAMES:
            introducer = data[position]
            if introducer == 0x21:  # an extension: its label, then its sub-blocks
                position += 2
            elif introducer == 0x2C:  # a frame: its descriptor, colour table, LZW code size
                left, top, frame_width, frame_height, frame_flags = struct.unpack_from(
                    "<HHHHB", data, position + 1
                )
                frames += 1
                width, height = max(width, left + frame_width), max(height, top + frame_height)
                position += 11 + (3 << ((frame_flags & 7) + 1) if frame_flags & 0x80 else 0)
            else:  # the trailer, or something Pillow stops at too
                break
            while (size := data[position]) != 0:
                position += 1 + size
                sub_blocks += 1
                if sub_blocks > most_sub_blocks:
                    raise _damaged_image()
            position += 1
    except (IndexError, struct.error):
        pass  # cut short: Pillow shows the frames before the cut
    return max(frames, 1), width, height


def image_pixels(data: bytes, kind: UploadKind) -> int:
    """How many pixels decoding this image makes (for an animation, all its frames), read from
    its headers without decoding any; raises ValidationError if that is too many for one image."""
    pillow_format, _extension = IMAGE_TYPES[kind.content_type]
    try:
        if pillow_format == "GIF":
            frames, width, height = _gif_frames(data)
        else:
            # PNG (APNG) and WebP give their number of frames in their headers.
            with _opened_image(data, pillow_format) as image:
                frames = getattr(image, "n_frames", 1) if pillow_format in ANIMATED_FORMATS else 1
                width, height = image.size
    except UNREADABLE_IMAGE:
        raise _damaged_image() from None
    pixels = frames * width * height
    if frames > MAX_ANIMATION_FRAMES or pixels > MAX_IMAGE_PIXELS:
        raise _too_large_image()
    return pixels


def _named(name: str, error: ValidationError) -> ValidationError:
    return ValidationError(f"{name}: {' '.join(error.messages)}", code=getattr(error, "code", None))


def _too_many_files(count: int) -> ValidationError:
    limit = settings.TRUSTCENTER_MAX_FILES_PER_SUBMISSION
    return ValidationError(
        ngettext(
            "Too many files (%(count)s): at most %(limit)s file can be sent with one message.",
            "Too many files (%(count)s): at most %(limit)s files can be sent with one message.",
            limit,
        )
        % {"count": count, "limit": limit},
        code="too_many_files",
    )


def _too_large_file(name: str, size: int) -> ValidationError:
    return ValidationError(
        _("%(name)s is too large (%(size)s); the limit is %(limit)s a file.")
        % {
            "name": name,
            "size": filesizeformat(size),
            "limit": filesizeformat(settings.TRUSTCENTER_MAX_FILE_BYTES),
        },
        code="too_large",
    )


def _too_large_together() -> ValidationError:
    return ValidationError(
        _("Together the files are too large; the limit is %(limit)s.")
        % {"limit": filesizeformat(settings.TRUSTCENTER_MAX_SUBMISSION_BYTES)},
        code="too_large_together",
    )


def _too_many_pixels(pixels: int) -> ValidationError:
    return ValidationError(
        _(
            "Together the pictures are too large: %(pixels)s megapixels, and the limit is %(limit)s "
            "megapixels for one message. Send fewer or smaller pictures."
        )
        % {
            "pixels": -(-pixels // 1_000_000),  # rounded up, so never equal to the limit
            "limit": settings.TRUSTCENTER_MAX_SUBMISSION_MEGAPIXELS,
        },
        code="too_many_pixels",
    )


def _over_pixel_budget(pixels: int) -> bool:
    return pixels > settings.TRUSTCENTER_MAX_SUBMISSION_MEGAPIXELS * 1_000_000


def check_files(files: Sequence[ReceivedFile]) -> list[Upload]:
    """The files of one submission, read and judged by content and headers; nothing is decoded.

    Refuses too many files before reading any; then each file over its size limit, the files
    past the limit for all together (without reading them), each file of a kind not accepted
    (an office document by all its parts), and images that together would decode to more pixels
    than one submission may. Raises ValidationError with one message per fault, each naming its
    file. `decode_images` does the expensive part, once the rest of the submission is valid.
    """
    if len(files) > settings.TRUSTCENTER_MAX_FILES_PER_SUBMISSION:
        raise _too_many_files(len(files))
    uploads, errors, total, pixels = [], [], 0, 0
    for uploaded in files:
        name, size = uploaded.name or "", uploaded.size or 0
        if size > settings.TRUSTCENTER_MAX_FILE_BYTES:
            errors.append(_too_large_file(name, size))
            continue
        total += size
        if total > settings.TRUSTCENTER_MAX_SUBMISSION_BYTES:
            continue  # reported once below; no need to read what cannot be accepted
        data = uploaded.read()
        try:
            kind = identify_upload(data)
            if kind.is_image:
                pixels += image_pixels(data, kind)
        except ValidationError as error:
            errors.append(_named(name, error))
            continue
        uploads.append(Upload(name=name[:255], data=data, kind=kind))
    if total > settings.TRUSTCENTER_MAX_SUBMISSION_BYTES:
        errors.append(_too_large_together())
    if _over_pixel_budget(pixels):
        errors.append(_too_many_pixels(pixels))
    if errors:
        raise ValidationError(errors)
    return uploads


def decode_images(uploads: Sequence[Upload]) -> list[Upload]:
    """The uploads, each image with `data_without_metadata` made (`strip_image_metadata`): the
    step that decodes pixels, for a submission `check_files` accepted and that is otherwise valid.

    The pixel budget is checked again from the headers first, so that no caller can make this
    decode more than one submission may. Images already stripped are left as they are. Raises
    ValidationError with one message for each image that is damaged or too large.
    """
    pixels = sum(image_pixels(upload.data, upload.kind) for upload in uploads if upload.kind.is_image)
    if _over_pixel_budget(pixels):
        raise _too_many_pixels(pixels)
    decoded, errors = [], []
    for upload in uploads:
        if not upload.kind.is_image or upload.data_without_metadata is not None:
            decoded.append(upload)
            continue
        try:
            without_metadata = strip_image_metadata(upload.data, upload.kind)
        except ValidationError as error:
            errors.append(_named(upload.name, error))
            continue
        decoded.append(replace(upload, data_without_metadata=without_metadata))
    if errors:
        raise ValidationError(errors)
    return decoded


def verify_uploads(uploads: Sequence[Upload]) -> None:
    """What `check_files` checks, checked again on uploads a caller hands to a service: the count,
    the sizes, each file's kind identified anew from its bytes (a caller's `kind` is not
    trusted), the pixel budget. Decodes nothing. Raises ValidationError if anything does not hold.
    """
    if len(uploads) > settings.TRUSTCENTER_MAX_FILES_PER_SUBMISSION:
        raise _too_many_files(len(uploads))
    errors, total, pixels = [], 0, 0
    for upload in uploads:
        size = len(upload.data)
        if size > settings.TRUSTCENTER_MAX_FILE_BYTES:
            errors.append(_too_large_file(upload.name, size))
            continue
        total += size
        try:
            kind = identify_upload(upload.data)
            if kind != upload.kind:
                raise ValidationError(
                    _("This file is not what it was said to be (%(claimed)s; it is %(found)s).")
                    % {"claimed": upload.kind.content_type, "found": kind.content_type},
                    code="wrong_kind",
                )
            if kind.is_image:
                pixels += image_pixels(upload.data, kind)
            if upload.data_without_metadata is not None and (
                not kind.is_image or identify_upload(upload.data_without_metadata) != kind
            ):
                raise ValidationError(
                    _("This file's copy without metadata is not the same kind of picture."), code="wrong_kind"
                )
        except ValidationError as error:
            errors.append(_named(upload.name, error))
    if total > settings.TRUSTCENTER_MAX_SUBMISSION_BYTES:
        errors.append(_too_large_together())
    if _over_pixel_budget(pixels):
        errors.append(_too_many_pixels(pixels))
    if errors:
        raise ValidationError(errors)
