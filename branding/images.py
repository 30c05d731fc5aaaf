"""Logos and favicons: PNG, JPEG or WebP, at most 1 MB, decoded and re-encoded as a fresh PNG.

An upload is refused, never "fixed", when it is not plainly an image: SVG (it can carry
script), anything Pillow does not read as one of the three formats, more pixels than
MAX_PIXELS (a decompression bomb: a few KB that decode to gigabytes), bytes after the
image's end (a polyglot: a PNG that is also an HTML page or a script), or markup anywhere
in the file. What is kept is only the decoded pixels, written out again as PNG: no chunk,
comment, EXIF or ICC profile of the upload survives.
"""

import io
import re
import struct
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from branding.errors import ImageRefused

MAX_BYTES = 1_048_576  # 1 MB
MAX_PIXELS = 4096 * 4096
FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "WEBP": "WebP"}
# Longest side kept: a logo is shown at most a few hundred pixels wide, a favicon at 32.
MAX_SIDE = {"logo": 1024, "favicon": 128}
_MARKUP = re.compile(rb"<\s*(?:script|html|svg|iframe|body|object|embed|\?php|\?xml|!doctype)", re.IGNORECASE)
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_end(data: bytes) -> int:
    """Where the PNG's IEND chunk ends (chunks walked by their lengths)."""
    offset = len(_PNG_SIGNATURE)
    while offset + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        offset += 12 + length
        if kind == b"IEND":
            return offset
    return len(data)


def _image_end(data: bytes, fmt: str) -> int:
    if fmt == "PNG":
        return _png_end(data)
    if fmt == "WEBP":  # RIFF: 8 header bytes, then the size the header declares, padded to even
        size = struct.unpack("<I", data[4:8])[0]
        return 8 + size + (size & 1)
    # JPEG: the last End Of Image marker (a thumbnail inside EXIF has its own, earlier)
    end = data.rfind(b"\xff\xd9")
    return end + 2 if end >= 0 else len(data)


def clean_image(data: bytes, *, kind: str) -> bytes:
    """The upload's pixels as a new PNG (at most MAX_SIDE[kind] on its longest side).

    Raises ImageRefused, saying why, for anything else.
    """
    field = kind
    what = "The logo" if kind == "logo" else "The favicon"
    if not data:
        raise ImageRefused(f"{what} file is empty.", field=field)
    if len(data) > MAX_BYTES:
        raise ImageRefused(f"{what} is {len(data) / 1_048_576:.1f} MB; the most accepted is 1 MB.", field=field)
    head = data[:512].lstrip().lower()
    if head.startswith((b"<svg", b"<?xml")) or b"<svg" in head:
        raise ImageRefused(f"{what} is an SVG, which can carry script: upload a PNG, JPEG or WebP.", field=field)
    if _MARKUP.search(data):
        raise ImageRefused(f"{what} contains markup (HTML or script) inside the image: upload a plain "
                           "PNG, JPEG or WebP.", field=field)
    with warnings.catch_warnings():
        # Pillow warns past its own pixel limit and raises at twice it; any warning is a refusal here.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
            fmt = image.format or ""
            if fmt not in FORMATS:
                raise ImageRefused(f"{what} is a {fmt or 'file of an unknown kind'}; upload a PNG, JPEG or WebP.",
                                   field=field)
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise ImageRefused(f"{what} is {width}x{height} pixels, more than the {MAX_PIXELS:,} accepted "
                                   "(it would take too much memory to decode).", field=field)
            if _image_end(data, fmt) < len(data):
                raise ImageRefused(f"{what} has {len(data) - _image_end(data, fmt)} bytes after the end of the "
                                   f"{FORMATS[fmt]} image (a file that is also something else): upload a "
                                   "plain image.", field=field)
            image.load()
            pixels = ImageOps.exif_transpose(image).convert("RGBA")
            pixels.thumbnail((MAX_SIDE[kind], MAX_SIDE[kind]))
        except ImageRefused:
            raise
        except UnidentifiedImageError as exc:
            raise ImageRefused(f"{what} is not a PNG, JPEG or WebP image.", field=field) from exc
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageRefused(f"{what} has too many pixels to decode safely.", field=field) from exc
        except Exception as exc:  # noqa: BLE001 - untrusted bytes: whatever the decoder trips on is a refusal
            raise ImageRefused(f"{what} could not be read as an image (it is damaged or truncated).",
                               field=field) from exc
    # A new image from the pixels alone: nothing of the upload's metadata comes along.
    fresh = Image.frombytes("RGBA", pixels.size, pixels.tobytes())
    out = io.BytesIO()
    fresh.save(out, format="PNG", optimize=True)
    return out.getvalue()
