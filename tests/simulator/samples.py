"""Small, valid test images (made once with Pillow, cached)."""

from __future__ import annotations

import base64
from functools import cache
import io

from PIL import Image


@cache
def image_bytes(width: int = 64, height: int = 48, image_format: str = "PNG") -> bytes:
    """A solid-colour image of the given size and format (PNG, JPEG, WEBP, GIF)."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(buffer, image_format)
    return buffer.getvalue()


def image_base64(width: int = 64, height: int = 48, image_format: str = "PNG") -> str:
    """The same image, base64-encoded as the wire protocols carry it."""
    return base64.b64encode(image_bytes(width, height, image_format)).decode("ascii")
