"""What a reporter may upload, judged by content, not by name; and image metadata removal."""

import io
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import puremagic
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
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
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            declared = _declared_mimetype(archive)
            if declared in OPENDOCUMENT_TYPES:
                return UploadKind(declared.decode(), OPENDOCUMENT_TYPES[declared])
            names = set(archive.namelist())
            for part, (content_type, extension) in OFFICE_PARTS.items():
                if part in names and "[Content_Types].xml" in names:
                    return UploadKind(content_type, extension)
    # A corrupt entry (zlib.error, or BadZipFile on a wrong checksum), an encrypted one
    # (RuntimeError), an unknown compression method (NotImplementedError), a name that is not
    # valid UTF-8 (ValueError), a directory cut short (EOFError, OSError).
    except (zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError, ValueError, EOFError, OSError):
        raise _damaged() from None
    raise _refused()


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
        # AttachmentsField calls it on every image, so a picture cut short is refused there.
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
