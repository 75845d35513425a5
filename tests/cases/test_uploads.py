import io
import tracemalloc

import pytest
from django.core.exceptions import ValidationError
from PIL import Image, ImageFile, ImageSequence

from cases import uploads
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
    assert raised.value.code == "too_large"


@pytest.mark.parametrize(
    "data",
    [images.odt_with_corrupt_mimetype(), images.encrypted_odt()],
    ids=["corrupt deflate stream", "encrypted"],
)
def test_a_zip_whose_parts_cannot_be_unpacked_is_damaged(data):
    """zipfile raises zlib.error and RuntimeError here, which once became server errors."""
    with pytest.raises(ValidationError) as raised:
        identify_upload(data)
    assert raised.value.code == "broken"


def test_a_mimetype_entry_compressed_in_an_unknown_way_is_no_opendocument():
    with pytest.raises(ValidationError) as raised:
        identify_upload(images.odt_with_unknown_compression())  # zipfile: NotImplementedError
    assert raised.value.code == "file_type"


def test_a_zip_bomb_is_not_unpacked():
    bomb = images.zip_bomb(32 << 20)  # 32 MB of zeros in about 32 KB
    tracemalloc.start()
    try:
        with pytest.raises(ValidationError) as raised:
            identify_upload(bomb)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert raised.value.code == "file_type"
    assert peak < 4 << 20


def test_an_image_whose_exif_is_damaged_is_refused_when_its_metadata_is_removed():
    """Pillow opens and verifies it; reading its EXIF (for the orientation) raises SyntaxError."""
    data = images.webp_with_damaged_exif()
    kind = identify_upload(data)
    with pytest.raises(ValidationError) as raised:
        strip_image_metadata(data, kind)
    assert raised.value.code == "broken"


def test_an_image_cut_short_is_refused_when_its_pixels_are_decoded():
    whole = images.jpeg_with_metadata()
    cut = whole[: len(whole) * 2 // 3]
    with pytest.raises(ValidationError) as raised:
        strip_image_metadata(cut, identify_upload(cut))
    assert raised.value.code == "broken"


@pytest.fixture
def no_decoding(monkeypatch):
    def refuse(image):
        raise AssertionError("the pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


@pytest.mark.parametrize(
    ("width", "height"),
    [(12000, 12000), (8000, 5001)],
    ids=["144 MP: Pillow only warns", "40 MP and a row: Pillow says nothing"],
)
def test_images_over_the_pixel_limit_are_refused_before_they_are_decoded(width, height, no_decoding, recwarn):
    data = images.png_header(width, height)
    with pytest.raises(ValidationError) as raised:
        identify_upload(data)
    assert raised.value.code == "too_large"
    with pytest.raises(ValidationError) as raised:
        strip_image_metadata(data, uploads.UploadKind("image/png", "png"))
    assert raised.value.code == "too_large"
    assert "40 megapixels" in raised.value.messages[0]
    assert not [warning for warning in recwarn if warning.category is Image.DecompressionBombWarning]


def test_an_image_at_the_pixel_limit_is_taken():
    data = images.png_of(8000, 5000)
    cleaned = strip_image_metadata(data, identify_upload(data))
    with Image.open(io.BytesIO(cleaned)) as image:
        assert image.size == (8000, 5000)


def test_an_animation_whose_frames_add_up_to_too_many_pixels_is_refused(monkeypatch):
    monkeypatch.setattr(uploads, "MAX_IMAGE_PIXELS", 1000)
    data = images.animation_of(frames=3, size=(20, 20))  # each frame within the limit, not all three
    with pytest.raises(ValidationError) as raised:
        strip_image_metadata(data, identify_upload(data))
    assert raised.value.code == "too_large"


def test_an_animation_of_too_many_frames_is_refused():
    data = images.animation_of(frames=uploads.MAX_ANIMATION_FRAMES + 1, size=(2, 2))
    with pytest.raises(ValidationError) as raised:
        strip_image_metadata(data, identify_upload(data))
    assert raised.value.code == "too_large"


def _frames(data: bytes) -> list[tuple[bytes, int]]:
    """Each frame's pixels as Pillow composes them (RGBA), and how long it shows."""
    with Image.open(io.BytesIO(data)) as image:
        return [
            (frame.convert("RGBA").tobytes(), frame.info.get("duration"))
            for frame in ImageSequence.Iterator(image)
        ]


@pytest.mark.parametrize("pillow_format", ["GIF", "PNG"])
def test_animations_keep_every_frame_its_timing_and_transparency(pillow_format):
    original = images.animation(pillow_format)
    cleaned = strip_image_metadata(original, identify_upload(original))
    assert _frames(cleaned) == _frames(original)
    assert [duration for _pixels, duration in _frames(cleaned)] == images.ANIMATION_DURATIONS
    with Image.open(io.BytesIO(cleaned)) as image:
        assert image.info.get("loop") == 0  # still plays for ever


def test_webp_animations_keep_every_frame_its_timing_and_transparency():
    original = images.animation("WEBP", lossless=True)
    cleaned = strip_image_metadata(original, identify_upload(original))
    frames = _frames(cleaned)
    assert [duration for _pixels, duration in frames] == images.ANIMATION_DURATIONS
    with Image.open(io.BytesIO(cleaned)) as image:
        image.seek(1)
        middle = image.convert("RGBA")
        assert middle.getpixel((10, 0))[3] == 0  # transparent where the original is
        assert middle.getpixel((10, 4))[3] == 255


@pytest.mark.parametrize(
    "original",
    [images.palette_png_with_transparency(), images.palette_gif_with_transparency()],
    ids=["palette PNG", "palette GIF"],
)
def test_palette_transparency_is_kept(original):
    cleaned = strip_image_metadata(original, identify_upload(original))
    assert _frames(cleaned) == _frames(original)


@pytest.mark.parametrize(
    ("orientation", "size", "red_at"),
    [(1, (64, 48), (5, 24)), (6, (48, 64), (24, 5)), (3, (64, 48), (58, 24))],
)
def test_the_picture_is_turned_upright_before_its_exif_goes(orientation, size, red_at):
    original = images.jpeg_turned(orientation)
    cleaned = strip_image_metadata(original, identify_upload(original))
    with Image.open(io.BytesIO(cleaned)) as image:
        assert image.size == size
        assert not image.getexif()
        red, green, blue = image.getpixel(red_at)
        assert red > 200 and green < 60 and blue < 60
