"""What a reporter may upload, judged by content, not by name; and image metadata removal."""

import io
import zipfile
from dataclasses import dataclass

import puremagic
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from PIL import Image, ImageOps, UnidentifiedImageError

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


def _zip_kind(data: bytes) -> UploadKind:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                declared = archive.read("mimetype").strip()
                if declared in OPENDOCUMENT_TYPES:
                    return UploadKind(declared.decode(), OPENDOCUMENT_TYPES[declared])
            for part, (content_type, extension) in OFFICE_PARTS.items():
                if part in names and "[Content_Types].xml" in names:
                    return UploadKind(content_type, extension)
    except (zipfile.BadZipFile, KeyError, OSError):
        raise ValidationError(_("This file is damaged and could not be read."), code="broken") from None
    raise _refused()


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
        try:
            with Image.open(io.BytesIO(data)) as image:
                image.verify()
            # verify() reads the structure, not the pixels: decode them too, so that a picture
            # cut short is refused here and not when its metadata is removed.
            with Image.open(io.BytesIO(data)) as image:
                image.load()
        except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError):
            raise ValidationError(_("This image is damaged and could not be read."), code="broken") from None
        return UploadKind(content_type, IMAGE_TYPES[content_type][1])
    if content_type == "application/pdf" or data.startswith(b"%PDF-"):
        return UploadKind("application/pdf", "pdf")
    if b"\x00" not in data:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise _refused() from None
        return UploadKind("text/plain", "txt")
    raise _refused()


def strip_image_metadata(data: bytes, kind: UploadKind) -> bytes:
    """The picture alone: EXIF (with GPS), XMP, IPTC, ICC and comments are left behind.

    The pixels are copied into a new image, so nothing the original carried can follow; the
    EXIF orientation is applied first so that the picture still stands the right way up.
    """
    pillow_format, _extension = IMAGE_TYPES[kind.content_type]
    with Image.open(io.BytesIO(data)) as original:
        original.seek(0)
        upright = ImageOps.exif_transpose(original)
        clean = Image.frombytes(upright.mode, upright.size, upright.tobytes())
        if upright.mode == "P":
            clean.putpalette(upright.getpalette())
    output = io.BytesIO()
    options = {"quality": 90} if pillow_format in {"JPEG", "WEBP"} else {}
    clean.save(output, format=pillow_format, **options)
    return output.getvalue()
