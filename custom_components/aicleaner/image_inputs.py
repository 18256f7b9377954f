"""Images an action names (files, cameras, media) read into router images, refused clearly when bad.

Files are read in the executor: the path is resolved (symlinks followed) and checked against HA's
allowlist; only a regular, non-empty file of a sane size is opened at all (a FIFO, a device, a
directory or a /proc file is refused from its metadata), without following links and without
blocking, and checked again on the open descriptor before it is read. Every image, whatever its
source, must open in Pillow: an image by its bytes, not by its name.
"""

from __future__ import annotations

from functools import partial
from io import BytesIO
import os
from pathlib import Path
import stat
from typing import Final

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from PIL import Image, UnidentifiedImageError

from .const import DOMAIN
from .router.models import ImageInput

MAX_IMAGE_BYTES: Final = 20 * 1024 * 1024
_MIME_BY_FORMAT: Final = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
    "HEIF": "image/heif",
}
# Media-source ids that stand for an entity's current picture, as the AI Task resolves them.
_CAMERA_MEDIA: Final = "media-source://camera/"
_IMAGE_MEDIA: Final = "media-source://image/"


def _invalid(key: str, **placeholders: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=placeholders,
    )


def as_image(data: bytes, source: str) -> ImageInput:
    """Return `data` as an image with its real MIME type, or refuse it; blocking (Pillow)."""
    if not data:
        raise _invalid("image_empty", source=source)
    if len(data) > MAX_IMAGE_BYTES:
        raise _invalid("image_too_large", source=source, limit="20")
    try:
        with Image.open(BytesIO(data)) as picture:
            picture.verify()
            mime_type = _MIME_BY_FORMAT.get(picture.format or "")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise _invalid("not_an_image", source=source) from err
    if mime_type is None:
        raise _invalid("not_an_image", source=source)
    return ImageInput(data, mime_type)


def read_image_file(
    hass: HomeAssistant, path: str, *, check_allowlist: bool
) -> ImageInput:
    """Read one image file the way the actions allow; blocking, run it in the executor."""
    try:
        resolved = Path(path).resolve(strict=True)
        # A path that cannot exist (a NUL byte in it) is a ValueError, not an OSError.
        info = os.stat(resolved)
    except (OSError, RuntimeError, ValueError) as err:
        raise _invalid("path_missing", path=path) from err
    if check_allowlist and not hass.config.is_allowed_path(str(resolved)):
        raise _invalid("path_not_allowed", path=path)
    # Refused before any open: opening a device can act (a tape rewinds, a watchdog arms), and a
    # /proc file says it is empty however much it holds.
    _check_file(info, path)
    try:
        # No following a link swapped in since the check; a FIFO must not block the open.
        descriptor = os.open(resolved, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as err:
        raise _invalid("path_missing", path=path) from err
    try:
        # Again on what was opened: the path may name another file by now.
        _check_file(os.fstat(descriptor), path)
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            data = handle.read(MAX_IMAGE_BYTES + 1)
    finally:
        os.close(descriptor)
    return as_image(data, path)


def _check_file(info: os.stat_result, path: str) -> None:
    """Refuse anything but a regular, non-empty file within the size limit."""
    if not stat.S_ISREG(info.st_mode):
        raise _invalid("path_not_file", path=path)
    if info.st_size == 0:
        raise _invalid("image_empty", source=path)
    if info.st_size > MAX_IMAGE_BYTES:
        raise _invalid("image_too_large", source=path, limit="20")


async def async_read_images(
    hass: HomeAssistant,
    *,
    paths: list[str],
    cameras: list[str],
    media_ids: list[str],
) -> tuple[ImageInput, ...]:
    """Read every image an action names, in order: files, then cameras, then media."""
    images = [
        await hass.async_add_executor_job(
            partial(read_image_file, hass, path, check_allowlist=True)
        )
        for path in paths
    ]
    images += [await _async_camera_image(hass, entity_id) for entity_id in cameras]
    images += [await _async_media_image(hass, media_id) for media_id in media_ids]
    return tuple(images)


async def _async_camera_image(hass: HomeAssistant, entity_id: str) -> ImageInput:
    from homeassistant.components import camera

    if hass.states.get(entity_id) is None:
        raise _invalid("camera_unknown", entity_id=entity_id)
    try:
        picture = await camera.async_get_image(hass, entity_id)
    except HomeAssistantError as err:
        raise _invalid("camera_no_image", entity_id=entity_id) from err
    return await hass.async_add_executor_job(as_image, picture.content, entity_id)


async def _async_entity_picture(hass: HomeAssistant, entity_id: str) -> ImageInput:
    from homeassistant.components import image

    if hass.states.get(entity_id) is None:
        raise _invalid("media_unknown", media_content_id=entity_id)
    try:
        picture = await image.async_get_image(hass, entity_id)
    # KeyError: the image integration is not loaded (HA's lookup of its component fails).
    except (HomeAssistantError, KeyError) as err:
        raise _invalid("media_unknown", media_content_id=entity_id) from err
    return await hass.async_add_executor_job(as_image, picture.content, entity_id)


async def _async_media_image(hass: HomeAssistant, media_id: str) -> ImageInput:
    if media_id.startswith(_CAMERA_MEDIA):
        return await _async_camera_image(hass, media_id.removeprefix(_CAMERA_MEDIA))
    if media_id.startswith(_IMAGE_MEDIA):
        return await _async_entity_picture(hass, media_id.removeprefix(_IMAGE_MEDIA))
    from homeassistant.components import media_source
    from homeassistant.components.media_source.const import URI_SCHEME_REGEX

    # The bare root (or a malformed id) names no media source: HA's resolver asserts on it.
    if (match := URI_SCHEME_REGEX.match(media_id)) is None or not match.group("domain"):
        raise _invalid("media_unknown", media_content_id=media_id)
    try:
        media = await media_source.async_resolve_media(hass, media_id, None)
    except HomeAssistantError as err:
        raise _invalid("media_unknown", media_content_id=media_id) from err
    if media.path is None:
        raise _invalid("media_not_local", media_content_id=media_id)
    # Media sources serve their own folders: no allowlist applies to them.
    return await hass.async_add_executor_job(
        partial(read_image_file, hass, str(media.path), check_allowlist=False)
    )
