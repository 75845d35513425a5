import io

import pytest
from django.core.exceptions import ValidationError
from PIL import Image

from cases.uploads import identify_upload, strip_image_metadata
from tests import images


@pytest.mark.parametrize(
    ("data", "content_type", "extension"),
    [
        (images.jpeg_with_metadata(), "image/jpeg", "jpg"),
        (images.png_with_metadata(), "image/png", "png"),
        (images.PDF, "application/pdf", "pdf"),
        (images.docx(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
        (images.odt(), "application/vnd.oasis.opendocument.text", "odt"),
        ("Hei på deg\n".encode(), "text/plain", "txt"),
    ],
)
def test_it_knows_accepted_files_by_their_content(data, content_type, extension):
    kind = identify_upload(data)
    assert (kind.content_type, kind.extension) == (content_type, extension)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (images.WINDOWS_PROGRAM, "file_type"),
        (images.zip_with_program(), "file_type"),
        (images.BROKEN_JPEG, "broken"),
        (b"", "empty"),
        (b"\x00\x01\x02\x03binary", "file_type"),
    ],
)
def test_it_refuses_other_and_broken_files(data, code):
    with pytest.raises(ValidationError) as raised:
        identify_upload(data)
    assert raised.value.code == code


def _metadata_left(data: bytes) -> dict:
    with Image.open(io.BytesIO(data)) as image:
        return {
            "exif": dict(image.getexif()),
            "gps": dict(image.getexif().get_ifd(images.GPS_IFD)),
            "info": {
                key: value
                for key, value in image.info.items()
                if key not in {"jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi"}
            },
        }


def test_it_strips_exif_gps_xmp_and_comments_from_jpeg():
    original = images.jpeg_with_metadata()
    before = _metadata_left(original)
    assert before["gps"] and before["exif"] and "comment" in before["info"]  # the test image carries them
    cleaned = strip_image_metadata(original, identify_upload(original))
    assert _metadata_left(cleaned) == {"exif": {}, "gps": {}, "info": {}}
    for secret in (b"Kari Nordmann", b"SecretCam", b"xmpmeta"):
        assert secret not in cleaned
    with Image.open(io.BytesIO(cleaned)) as image:
        assert image.size == (64, 48)


def test_it_strips_text_and_exif_from_png():
    original = images.png_with_metadata()
    assert b"Kari Nordmann" in original
    cleaned = strip_image_metadata(original, identify_upload(original))
    assert b"Kari Nordmann" not in cleaned
    assert _metadata_left(cleaned)["exif"] == {}


def test_a_decompression_bomb_is_refused_not_opened():
    output = io.BytesIO()
    Image.new("1", (20000, 10000)).save(output, "PNG")  # 200 megapixels in a few kilobytes
    with pytest.raises(ValidationError) as raised:
        identify_upload(output.getvalue())
    assert raised.value.code == "broken"
