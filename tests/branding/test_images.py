"""Logos and favicons: hostile files refused with a clear message and nothing stored; a good
one re-encoded so nothing of the upload but its pixels survives."""

import io
import struct
import zlib

import pytest
from PIL import Image, PngImagePlugin

from branding.errors import ImageRefused
from branding.images import clean_image
from branding.selectors import branding_get
from branding.services import branding_update
from tests.branding.conftest import png_bytes

SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def _bomb_png(width=20000, height=20000) -> bytes:
    """A few KB of PNG declaring 400 million pixels of zeros."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = zlib.compress(b"\x00" * (width + 1) * 16, 9)  # a first rows' worth; the header claims the rest
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", raw) + chunk(b"IEND", b""))


HOSTILE = {
    "svg with script": (SVG, "SVG"),
    "png with an appended script": (png_bytes() + b"\n<script>alert(document.cookie)</script>", "markup"),
    "png with appended bytes": (png_bytes() + b"PK\x03\x04 a zip archive follows", "after the end of the PNG"),
    "html renamed .png": (b"<!doctype html><html><body>hi</body></html>", "markup"),
    "text renamed .png": (b"just some text, not an image at all", "not a PNG, JPEG or WebP"),
    "gif": (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,"
            b"\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;", "upload a PNG, JPEG or WebP"),
    "oversized": (png_bytes() + b"\x00" * 1_100_000, "the most accepted is 1 MB"),
    "decompression bomb": (_bomb_png(), "pixels"),
    "truncated png": (png_bytes()[:60], "could not be read"),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_clean_image_refuses_hostile_files(name):
    data, words = HOSTILE[name]
    with pytest.raises(ImageRefused) as refused:
        clean_image(data, kind="logo")
    assert words in refused.value.detail, refused.value.detail
    assert refused.value.extra["field"] == "logo"


@pytest.mark.parametrize("name", ["svg with script", "png with an appended script", "decompression bomb"])
def test_branding_update_stores_nothing_for_a_hostile_image(workspace, owner, name):
    # given a workspace with a company name
    branding_update(workspace=workspace, actor=owner, company_name="Acme", primary_color="", secondary_color="",
                    accent_color="", welcome_message="", footer_text="", custom_css="")
    # when an update with a hostile logo and a new name is refused
    with pytest.raises(ImageRefused):
        branding_update(workspace=workspace, actor=owner, company_name="Changed", primary_color="",
                        secondary_color="", accent_color="", welcome_message="", footer_text="", custom_css="",
                        logo=HOSTILE[name][0])
    # then nothing of it was stored, not even the name
    row = branding_get(workspace=workspace)
    assert row.company_name == "Acme" and not row.logo and row.version == 1


def test_clean_image_reencodes_and_strips_metadata():
    # given a PNG with a text chunk and a JPEG with EXIF
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "payload: javascript:alert(1)")
    png = png_bytes(size=(300, 100), pnginfo=info)
    jpeg_out = io.BytesIO()
    exif = Image.Exif()
    exif[0x010E] = "secret description"  # ImageDescription
    Image.new("RGB", (64, 64), (10, 120, 200)).save(jpeg_out, format="JPEG", exif=exif)
    for data in (png, jpeg_out.getvalue()):
        # when
        cleaned = clean_image(data, kind="logo")
        # then a fresh PNG: other bytes, same picture, no metadata
        assert cleaned != data
        assert b"payload" not in cleaned and b"secret description" not in cleaned
        image = Image.open(io.BytesIO(cleaned))
        assert image.format == "PNG" and not image.text and "exif" not in image.info


def test_clean_image_shrinks_a_large_favicon():
    cleaned = clean_image(png_bytes(size=(1000, 500)), kind="favicon")
    assert Image.open(io.BytesIO(cleaned)).size == (128, 64)


def test_clean_image_accepts_webp():
    out = io.BytesIO()
    Image.new("RGB", (50, 50), (0, 0, 0)).save(out, format="WEBP")
    assert Image.open(io.BytesIO(clean_image(out.getvalue(), kind="logo"))).format == "PNG"
