"""Fit request images to a provider's limits: downscale and re-encode with Pillow, off the event loop.

An image that already fits (bytes, longest side, an accepted format) is sent untouched. Otherwise it is
scaled to the longest side allowed and re-encoded as JPEG, stepping the quality and then the size down
until it fits. When the provider limits the whole request, images that each fit but together do not are
shrunk to share the budget: one smaller than an even share keeps its size, the others split the rest.
An image that cannot be read, or cannot be made to fit, is the caller's fault:
`InvalidInputError`, so the router does not try other providers with it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from io import BytesIO
import struct
from typing import TYPE_CHECKING, Final

from PIL import Image, ImageOps, UnidentifiedImageError

from ..router.errors import InvalidInputError
from ..router.models import ImageInput

if TYPE_CHECKING:
    from collections.abc import Sequence

_JPEG_QUALITIES: Final = (85, 70, 55, 40)
# Below this longest side a picture stops being useful to a vision model; give up instead.
MIN_DIMENSION: Final = 256
_SHRINK_STEP: Final = 0.75
_MIME_BY_FORMAT: Final = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",  # multi-picture JPEG from phones; its first frame is a plain JPEG
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
    "HEIF": "image/heif",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
}


class ImageTooLargeError(ValueError):
    """An image still exceeds the limits at the smallest size we accept."""


async def fit_images(
    images: Sequence[ImageInput],
    *,
    max_bytes: int,
    max_dimension: int,
    accepted_types: frozenset[str],
    provider: str,
    max_total_encoded_bytes: int | None = None,
) -> tuple[ImageInput, ...]:
    """Return `images` fitted to the limits, each in an accepted format; Pillow runs in the executor.

    `max_total_encoded_bytes` bounds all images together in their base64 form, as they travel in JSON.
    """
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(
        None,
        _fit_all,
        tuple(images),
        _Limits(max_bytes, max_dimension, accepted_types, provider),
        max_total_encoded_bytes,
    )


@dataclass(frozen=True, slots=True)
class _Limits:
    max_bytes: int
    max_dimension: int
    accepted_types: frozenset[str]
    provider: str


def encoded_size(raw_bytes: int) -> int:
    """Length of `raw_bytes` bytes in base64."""
    return 4 * ((raw_bytes + 2) // 3)


def _fit_all(
    images: tuple[ImageInput, ...], limits: _Limits, max_total: int | None
) -> tuple[ImageInput, ...]:
    fitted = [
        _fit_checked(index, image, limits.max_bytes, limits)
        for index, image in enumerate(images, start=1)
    ]
    sizes = [encoded_size(len(image.data)) for image in fitted]
    if max_total is None or sum(sizes) <= max_total:
        return tuple(fitted)
    for position, share in enumerate(_shares(sizes, max_total)):
        if sizes[position] > share:
            # Back from the original, not from an already re-encoded copy. 3 bytes encode to 4.
            fitted[position] = _fit_checked(
                position + 1, images[position], share // 4 * 3, limits, max_total
            )
    return tuple(fitted)


def _shares(sizes: list[int], total: int) -> list[int]:
    """Split `total` bytes: a size below an even share keeps what it has, the others split the rest."""
    shares = [0] * len(sizes)
    remaining = total
    order = sorted(range(len(sizes)), key=sizes.__getitem__)
    for done, position in enumerate(order):
        shares[position] = min(sizes[position], remaining // (len(sizes) - done))
        remaining -= shares[position]
    return shares


def _fit_checked(
    index: int,
    image: ImageInput,
    max_bytes: int,
    limits: _Limits,
    max_total: int | None = None,
) -> ImageInput:
    """`fit_image`, with its failures turned into the caller's `BadRequestError`."""
    try:
        return fit_image(image, max_bytes, limits.max_dimension, limits.accepted_types)
    except ImageTooLargeError as err:
        if max_total is None:
            message = (
                f"image {index} cannot be made to fit {max_bytes} bytes even at "
                f"{MIN_DIMENSION} px; send a smaller or simpler image"
            )
        else:
            message = (
                f"the images cannot share the request's {max_total}-byte limit "
                f"(image {index} cannot be made to fit {max_bytes} bytes even at "
                f"{MIN_DIMENSION} px); send fewer or smaller images"
            )
        raise InvalidInputError(message, provider=limits.provider) from err
    # Corrupt headers or EXIF surface as any of these, from Pillow's decoders and tag parsers.
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        OSError,
        ValueError,
        SyntaxError,
        struct.error,
    ) as err:
        raise InvalidInputError(
            f"image {index} ({image.mime_type}, {len(image.data)} bytes) is not a readable image",
            provider=limits.provider,
        ) from err


def fit_image(
    image: ImageInput,
    max_bytes: int,
    max_dimension: int,
    accepted_types: frozenset[str],
) -> ImageInput:
    """Fit one image (blocking: call through `fit_images`)."""
    with Image.open(BytesIO(image.data)) as picture:
        mime_type = _MIME_BY_FORMAT.get(picture.format or "", "")
        if (
            len(image.data) <= max_bytes
            and max(picture.size) <= max_dimension
            and mime_type in accepted_types
            and not getattr(picture, "is_animated", False)
        ):
            # Fits as it is. The detected type wins over the declared one: providers reject a mismatch.
            if mime_type == image.mime_type:
                return image
            return ImageInput(data=image.data, mime_type=mime_type)
        return _reencode(picture, max_bytes, max_dimension)


def _reencode(picture: Image.Image, max_bytes: int, max_dimension: int) -> ImageInput:
    picture.seek(0)
    # JPEG can decode straight to a reduced size, which is much cheaper than a full decode.
    picture.draft("RGB", (max_dimension, max_dimension))
    # Phones store pictures sideways with an EXIF Orientation tag; the re-encoded JPEG carries no EXIF,
    # so the rotation is applied to the pixels.
    ImageOps.exif_transpose(picture, in_place=True)
    rgb = _to_rgb(picture)
    longest = min(max(rgb.size), max_dimension)
    while True:
        candidate = rgb.copy()
        candidate.thumbnail((longest, longest), Image.Resampling.LANCZOS)
        for quality in _JPEG_QUALITIES:
            buffer = BytesIO()
            candidate.save(buffer, format="JPEG", quality=quality, optimize=True)
            if buffer.tell() <= max_bytes:
                return ImageInput(data=buffer.getvalue(), mime_type="image/jpeg")
        if longest <= MIN_DIMENSION:
            raise ImageTooLargeError
        longest = max(int(longest * _SHRINK_STEP), MIN_DIMENSION)


def _to_rgb(picture: Image.Image) -> Image.Image:
    """Flatten transparency onto white (JPEG has no alpha) and convert palette/CMYK/16-bit to RGB."""
    if picture.mode in ("RGBA", "LA") or (
        picture.mode == "P" and "transparency" in picture.info
    ):
        rgba = picture.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if picture.mode != "RGB":
        return picture.convert("RGB")
    picture.load()
    return picture
