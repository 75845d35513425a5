import io
import os
import tracemalloc
import warnings
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageFile, ImageSequence

from cases import uploads
from cases.forms import attachments_field
from cases.uploads import identify_upload, strip_image_metadata
from tests import images, office_files


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


def _frames(data: bytes) -> list[tuple[bytes, int | None]]:
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


# Checking a submission's files (check_files), decoding its images (decode_images), and the
# services' re-check (verify_uploads).


class Received:
    """An uploaded file as the form gets it, which may refuse to be read."""

    def __init__(self, name: str, data: bytes, *, readable: bool = True):
        self.name, self.size, self._data, self._readable = name, len(data), data, readable

    def read(self, *args) -> bytes:
        if not self._readable:
            raise AssertionError(f"{self.name} was read")
        return self._data


def _codes(raised) -> list:
    return [error.code for error in raised.value.error_list]


def test_it_refuses_too_many_files_before_reading_any(settings):
    settings.TRUSTCENTER_MAX_FILES_PER_SUBMISSION = 3
    files = [Received(f"note{number}.txt", b"hei", readable=False) for number in range(4)]
    with pytest.raises(ValidationError) as raised:
        uploads.check_files(files)
    assert _codes(raised) == ["too_many_files"]
    assert raised.value.messages == ["Too many files (4): at most 3 files can be sent with one message."]
    assert len(uploads.check_files([Received(f"note{number}.txt", b"hei") for number in range(3)])) == 3


def test_it_reads_kinds_and_sizes_and_names_each_file_it_refuses(settings):
    settings.TRUSTCENTER_MAX_FILE_BYTES = 1000
    settings.TRUSTCENTER_MAX_SUBMISSION_BYTES = 1500
    files = [
        Received("notes.txt", b"Hei"),
        Received("program.exe", images.WINDOWS_PROGRAM),
        Received("big.txt", b"a" * 1001, readable=False),
        Received("first.txt", b"a" * 900),
        Received("second.txt", b"a" * 900, readable=False),  # past the limit for all together
    ]
    with pytest.raises(ValidationError) as raised:
        uploads.check_files(files)
    assert _codes(raised) == ["file_type", "too_large", "too_large_together"]
    assert raised.value.messages[0].startswith("program.exe: This kind of file is not accepted.")
    assert raised.value.messages[1].startswith("big.txt is too large")
    accepted = uploads.check_files([Received("notes.txt", b"Hei"), Received("photo.png", images.plain_png())])
    assert [(upload.name, upload.kind.extension, upload.data_without_metadata) for upload in accepted] == [
        ("notes.txt", "txt", None),
        ("photo.png", "png", None),
    ]


def test_the_attack_of_45_large_pictures_is_refused_without_decoding_any(settings, decodes, huge_png):
    """45 PNGs of 6300 x 6300 once held a worker for 31 s while an invalid report was checked."""
    files = [Received(f"picture{number}.png", huge_png) for number in range(45)]
    with pytest.raises(ValidationError) as raised:
        uploads.check_files(files)
    assert _codes(raised) == ["too_many_files"]  # by the default limit, before anything is read
    settings.TRUSTCENTER_MAX_FILES_PER_SUBMISSION = 50
    with pytest.raises(ValidationError) as raised:
        uploads.check_files(files)
    assert _codes(raised) == ["too_many_pixels"]
    assert raised.value.messages == [
        "Together the pictures are too large: 1787 megapixels, and the limit is 125 megapixels for "
        "one message. Send fewer or smaller pictures."
    ]
    assert decodes == {"load": 0, "strip": 0}


def test_pictures_within_the_pixel_budget_are_decoded_only_by_decode_images(settings, decodes):
    settings.TRUSTCENTER_MAX_SUBMISSION_MEGAPIXELS = 1
    picture = images.png_of(700, 700)  # 0.49 megapixels
    checked = uploads.check_files(
        [Received("a.png", picture), Received("b.png", picture), Received("c.txt", b"c")]
    )
    assert decodes == {"load": 0, "strip": 0}
    decoded = uploads.decode_images(checked)
    assert decodes["strip"] == 2 and decodes["load"] >= 2
    assert [upload.data_without_metadata is not None for upload in decoded] == [True, True, False]
    assert uploads.decode_images(decoded) == decoded  # done once
    assert decodes["strip"] == 2
    with pytest.raises(ValidationError) as raised:
        uploads.check_files([Received(f"{name}.png", picture) for name in "abc"])
    assert _codes(raised) == ["too_many_pixels"]
    assert decodes["strip"] == 2


def test_decode_images_checks_the_pixel_budget_before_decoding(settings, decodes):
    picture = images.png_of(700, 700)
    checked = uploads.check_files([Received(f"{name}.png", picture) for name in "abc"])
    settings.TRUSTCENTER_MAX_SUBMISSION_MEGAPIXELS = 1
    with pytest.raises(ValidationError) as raised:
        uploads.decode_images(checked)
    assert raised.value.code == "too_many_pixels"
    assert decodes == {"load": 0, "strip": 0}


def test_decode_images_names_each_picture_it_cannot_decode():
    broken = images.png_header(100, 100)  # whole headers, too few pixels: check_files takes it
    checked = uploads.check_files(
        [Received("broken.png", broken), Received("whole.jpg", images.jpeg_with_metadata())]
    )
    with pytest.raises(ValidationError) as raised:
        uploads.decode_images(checked)
    assert raised.value.messages == ["broken.png: This image is damaged and could not be read."]
    assert _codes(raised) == ["broken"]


def test_animations_count_all_their_frames_from_their_headers(decodes):
    for pillow_format in ("GIF", "PNG", "WEBP"):
        data = images.animation(pillow_format)
        assert uploads.image_pixels(data, identify_upload(data)) == 3 * 20 * 10, pillow_format
    assert decodes["load"] == 0


@pytest.mark.parametrize(
    "data",
    [
        images.animation("GIF"),
        images.animation_of(frames=7, size=(3, 5)),
        images.palette_gif_with_transparency(),
        images.gif_with_frame_past_the_canvas(),
    ],
    ids=["animation", "seven frames", "one frame", "frame past the canvas"],
)
def test_gif_frames_are_counted_as_pillow_counts_them(data):
    with Image.open(io.BytesIO(data)) as image:
        frames = image.n_frames
        for frame in ImageSequence.Iterator(image):
            frame.load()
        size = image.size
    assert uploads._gif_frames(data) == (frames, *size)


def test_an_animation_of_too_many_frames_is_refused_before_it_is_decoded(decodes):
    data = images.animation_of(frames=uploads.MAX_ANIMATION_FRAMES + 1, size=(2, 2))
    with pytest.raises(ValidationError) as raised:
        uploads.check_files([Received("long.gif", data)])
    assert _codes(raised) == ["too_large"]
    assert raised.value.messages[0].startswith("long.gif: This image is too large")
    assert decodes == {"load": 0, "strip": 0}


def test_a_gif_of_tiny_data_blocks_is_refused_without_walking_them_all():
    data = images.gif_of_tiny_blocks(2_000_000)
    with pytest.raises(ValidationError) as raised:
        uploads.image_pixels(data, uploads.UploadKind("image/gif", "gif"))
    assert raised.value.code == "broken"


def test_verify_uploads_trusts_no_callers_kind():
    png = uploads.UploadKind("image/png", "png")
    with pytest.raises(ValidationError) as raised:
        uploads.verify_uploads([uploads.Upload(name="x.png", data=images.PDF, kind=png)])
    assert raised.value.messages == [
        "x.png: This file is not what it was said to be (image/png; it is application/pdf)."
    ]
    photo = images.png_with_metadata()
    with pytest.raises(ValidationError) as raised:
        uploads.verify_uploads(
            [
                uploads.Upload(
                    name="p.png", data=photo, kind=png, data_without_metadata=images.jpeg_with_metadata()
                )
            ]
        )
    assert _codes(raised) == ["wrong_kind"]
    with pytest.raises(ValidationError) as raised:
        uploads.verify_uploads([uploads.Upload(name="p.exe", data=images.WINDOWS_PROGRAM, kind=png)])
    assert _codes(raised) == ["file_type"]
    checked = uploads.decode_images(uploads.check_files([Received("p.png", photo), Received("n.txt", b"n")]))
    uploads.verify_uploads(checked)


def test_verify_uploads_checks_count_sizes_and_pixels_again(settings, huge_png):
    text = uploads.Upload(name="n.txt", data=b"n" * 600, kind=uploads.UploadKind("text/plain", "txt"))
    png = uploads.UploadKind("image/png", "png")
    settings.TRUSTCENTER_MAX_FILES_PER_SUBMISSION = 2
    with pytest.raises(ValidationError) as raised:
        uploads.verify_uploads([text] * 3)
    assert raised.value.code == "too_many_files"
    settings.TRUSTCENTER_MAX_FILES_PER_SUBMISSION = 10
    with pytest.raises(ValidationError) as raised:
        uploads.verify_uploads([uploads.Upload(name=f"{n}.png", data=huge_png, kind=png) for n in range(4)])
    assert _codes(raised) == ["too_many_pixels"]
    settings.TRUSTCENTER_MAX_FILE_BYTES = 1000
    settings.TRUSTCENTER_MAX_SUBMISSION_BYTES = 1000
    with pytest.raises(ValidationError) as raised:
        uploads.verify_uploads([text, text])
    assert _codes(raised) == ["too_large_together"]


# Office documents, judged by all their parts.


@pytest.fixture(scope="session")
def docx_bomb() -> bytes:
    return office_files.docx_bomb()


@pytest.mark.parametrize(
    ("build", "extension"),
    [
        (office_files.docx, "docx"),
        (office_files.xlsx, "xlsx"),
        (office_files.pptx, "pptx"),
        (office_files.odt, "odt"),
        (lambda: office_files.odt_with({"Pictures/icon.svg": office_files.SVG}), "odt"),
    ],
    ids=["docx", "xlsx", "pptx", "odt", "odt with an SVG picture"],
)
def test_real_office_documents_are_accepted(build, extension):
    assert identify_upload(build()).extension == extension


def test_the_bomb_builder_makes_a_real_bomb(docx_bomb):
    """2 GiB of zeros that zipfile unpacks as it would any part, in about 2 MB."""
    assert len(docx_bomb) < 3 << 20
    with zipfile.ZipFile(io.BytesIO(docx_bomb)) as archive:
        entry = archive.getinfo("word/document.xml")
        assert entry.file_size == 2 << 30
        with archive.open(entry) as stream:
            assert stream.read(8 << 20) == bytes(8 << 20)


def test_a_docx_of_2_gib_of_zeros_is_refused_unopened(docx_bomb):
    tracemalloc.start()
    try:
        with pytest.raises(ValidationError) as raised:
            uploads.check_files([Received("report.docx", docx_bomb)])
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert raised.value.messages == [
        "report.docx: This document unpacks to far more than a real document would (word/document.xml)."
    ]
    assert _codes(raised) == ["too_large"]
    assert peak < len(docx_bomb) * 3


@pytest.mark.parametrize(
    "data",
    [
        office_files.docx_bomb(200 << 20),  # within the size for one part, but packed as only zeros are
        office_files.docx_with_forged_size(),  # says 2 GiB
    ],
    ids=["packed too tightly", "forged size"],
)
def test_parts_that_unpack_to_too_much_are_refused(data):
    with pytest.raises(ValidationError) as raised:
        identify_upload(data)
    assert raised.value.code == "too_large"
    assert "(word/document.xml)" in raised.value.messages[0]


def test_parts_that_together_unpack_to_too_much_are_refused():
    """Three parts that each say 200 MiB, packed 180:1, as some very repetitive XML is."""
    parts = {f"word/part{number}.xml": os.urandom(1_165_000) for number in range(3)}
    data = office_files.build_zip({**office_files.docx_parts(), **parts}, compression=zipfile.ZIP_STORED)
    for name in parts:
        data = office_files.patched(data, name, size=200 << 20)
    with pytest.raises(ValidationError) as raised:
        identify_upload(data)
    assert raised.value.messages == ["This document unpacks to more than 512.0\xa0MB."]


@pytest.mark.parametrize(
    ("data", "code", "part"),
    [
        (office_files.docx_with_nested_bomb(), "nested_archive", "word/embeddings/package.zip"),
        (office_files.docx_with_zip_as_picture(), "nested_archive", "word/media/image3.png"),
        (office_files.docx_with({"word/embeddings/sheet.xlsx": office_files.xlsx()}), "nested_archive", None),
        (
            office_files.docx_with({"word/media/image4.emf": b"\x1f\x8b\x08" + bytes(50)}),
            "nested_archive",
            None,
        ),
        (office_files.docx_with({"word/media/image4.png": b"Rar!\x1a\x07\x00"}), "nested_archive", None),
        (office_files.docx_with({"word/oleObject1.bin": b"\xd0\xcf\x11\xe0"}), "nested_archive", None),
        (
            office_files.docx_with({"word/evil.html": "<html><script>alert(1)</script></html>"}),
            "part_type",
            None,
        ),
        (
            office_files.docx_with({"word/evil.xml": "<!DOCTYPE html><html><script>1</script>"}),
            "part_type",
            None,
        ),
        (
            office_files.docx_with({"word/page.xml": '<html xmlns="http://www.w3.org/1999/xhtml">'}),
            "part_type",
            None,
        ),
        (office_files.docx_with({"word/run.js": "alert(1)"}), "part_type", None),
        (office_files.docx_with({"word/run.vbs": "MsgBox 1"}), "part_type", None),
        (office_files.docx_with({"word/media/image5.png": images.WINDOWS_PROGRAM}), "part_type", None),
        (office_files.docx_with({"word/fonts/font2.ttf": b"\x7fELF\x02\x01"}), "part_type", None),
        (office_files.docx_with({"word/media/image6.jpeg": b"#!/bin/sh\nrm -rf /\n"}), "part_type", None),
        (office_files.docx_with({"word/media/image7.gif": b"<html><script>1</script>"}), "part_type", None),
        (
            office_files.docx_with({"word/media/icon.svg": "<svg><script>alert(1)</script></svg>"}),
            "part_type",
            None,
        ),
        (office_files.docx_with({"word/vbaProject.bin": b"\xd0\xcf\x11\xe0"}), "macros", None),
        (office_files.odt_with({"Scripts/javascript/Library/run.js": "alert(1)"}), "macros", None),
        (office_files.odt_with({"Basic/Standard/Module1.xml": "<script:module/>"}), "macros", None),
        (office_files.odt_with({"Pictures/icon.svg": '<svg onload="alert(1)"/>'}), "part_type", None),
        (office_files.odt_with({"content.xml": "<html><body><script>1</script>"}), "part_type", None),
        (office_files.docx_with_many_parts(uploads.MAX_OFFICE_PARTS), "too_large", None),
    ],
)
def test_office_documents_with_parts_of_other_kinds_are_refused(data, code, part):
    with pytest.raises(ValidationError) as raised:
        identify_upload(data)
    assert raised.value.code == code
    if part:
        assert f"({part})" in raised.value.messages[0]


def test_the_refusal_names_the_file_and_the_part():
    data = office_files.docx_with({"word/evil.html": "<html><script>alert(1)</script></html>"})
    with pytest.raises(ValidationError) as raised:
        uploads.check_files([Received("report.docx", data)])
    assert raised.value.messages == [
        "report.docx: This document contains a part of a kind not accepted (word/evil.html)."
    ]


def test_a_document_with_two_parts_of_one_name_is_damaged():
    output = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(output, "w") as archive:
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate name
        for name, content in office_files.docx_parts().items():
            archive.writestr(name, content)
        archive.writestr("word/document.xml", "<html/>")
    with pytest.raises(ValidationError) as raised:
        identify_upload(output.getvalue())
    assert raised.value.code == "broken"


def test_the_attachments_field_checks_without_decoding(decodes):
    field = attachments_field()
    assert "Up to 10 files" in str(field.help_text)
    cleaned = field.clean([SimpleUploadedFile("photo.jpg", images.jpeg_with_metadata())])
    assert [(upload.name, upload.data_without_metadata) for upload in cleaned] == [("photo.jpg", None)]
    assert decodes == {"load": 0, "strip": 0}
