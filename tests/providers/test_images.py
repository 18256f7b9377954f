"""Images are fitted to the provider's limits with Pillow, off the event loop."""

from __future__ import annotations

import dataclasses
import io
import random
import struct
import threading

import aiohttp
from PIL import Image
import pytest

from custom_components.aicleaner.providers import images as images_module
from custom_components.aicleaner.providers.images import (
    MIN_DIMENSION,
    fit_image,
    fit_images,
)
from custom_components.aicleaner.router.errors import BadRequestError
from custom_components.aicleaner.router.models import AIRequest, ImageInput

from .conftest import FakeServer
from .helpers import make_client, success_body

WEB_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def noise(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    rng = random.Random(0)
    channels = len(mode)
    return Image.frombytes(mode, size, rng.randbytes(size[0] * size[1] * channels))


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_image_within_limits_is_sent_untouched() -> None:
    data = encode(Image.new("RGB", (640, 480), "blue"), "JPEG")
    image = ImageInput(data, "image/jpeg")
    assert fit_image(image, 1_000_000, 2048, WEB_TYPES) is image


def test_declared_type_is_corrected_to_the_real_format() -> None:
    data = encode(Image.new("RGB", (64, 64), "blue"), "PNG")
    fitted = fit_image(ImageInput(data, "image/jpeg"), 1_000_000, 2048, WEB_TYPES)
    assert fitted.data == data
    assert fitted.mime_type == "image/png"


def test_oversize_dimensions_are_scaled_to_the_longest_side_allowed() -> None:
    data = encode(Image.new("RGB", (4000, 3000), "green"), "JPEG")
    fitted = fit_image(ImageInput(data, "image/jpeg"), 20_000_000, 1568, WEB_TYPES)
    assert fitted.mime_type == "image/jpeg"
    assert opened(fitted.data).size == (1568, 1176)


def test_oversize_bytes_are_reencoded_below_the_byte_limit() -> None:
    data = encode(noise((1200, 900)), "PNG")
    assert len(data) > 2_000_000
    fitted = fit_image(ImageInput(data, "image/png"), 400_000, 2048, WEB_TYPES)
    assert len(fitted.data) <= 400_000
    assert fitted.mime_type == "image/jpeg"
    assert max(opened(fitted.data).size) <= 1200


def test_transparent_image_is_flattened_onto_white() -> None:
    picture = Image.new("RGBA", (3000, 100), (0, 0, 0, 0))
    fitted = fit_image(
        ImageInput(encode(picture, "PNG"), "image/png"), 10_000_000, 1000, WEB_TYPES
    )
    result = opened(fitted.data)
    assert result.mode == "RGB"
    assert result.getpixel((10, 10)) == (255, 255, 255)


@pytest.mark.parametrize(
    ("mode", "fmt", "params"),
    [
        ("P", "GIF", {"transparency": 0}),
        ("L", "PNG", {}),
        ("CMYK", "JPEG", {}),
        ("RGB", "BMP", {}),
    ],
)
def test_unusual_modes_and_formats_become_rgb_jpeg(
    mode: str, fmt: str, params: dict[str, object]
) -> None:
    data = encode(Image.new(mode, (300, 200)), fmt, **params)
    fitted = fit_image(ImageInput(data, "image/whatever"), 10_000_000, 100, WEB_TYPES)
    assert fitted.mime_type == "image/jpeg"
    assert opened(fitted.data).mode == "RGB"


def test_format_the_provider_does_not_take_is_reencoded_even_when_small() -> None:
    data = encode(Image.new("RGB", (50, 50), "red"), "WEBP")
    fitted = fit_image(
        ImageInput(data, "image/webp"), 10_000_000, 2048, frozenset({"image/png"})
    )
    assert fitted.mime_type == "image/jpeg"


def test_animated_gif_is_reduced_to_its_first_frame() -> None:
    frames = [Image.new("RGB", (40, 40), color) for color in ("red", "green", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    fitted = fit_image(
        ImageInput(buffer.getvalue(), "image/gif"), 10_000_000, 2048, WEB_TYPES
    )
    assert fitted.mime_type == "image/jpeg"
    assert not getattr(opened(fitted.data), "is_animated", False)


def test_image_that_cannot_fit_even_at_the_minimum_size_is_refused() -> None:
    data = encode(noise((800, 800)), "PNG")
    with pytest.raises(images_module.ImageTooLargeError):
        fit_image(ImageInput(data, "image/png"), 1_000, 2048, WEB_TYPES)


async def test_unreadable_image_is_the_callers_fault() -> None:
    with pytest.raises(BadRequestError) as caught:
        await fit_images(
            [ImageInput(b"definitely not an image", "image/png")],
            max_bytes=1000,
            max_dimension=100,
            accepted_types=WEB_TYPES,
            provider="p",
        )
    assert caught.value.caller_input is True
    assert "image 1" in str(caught.value)


@pytest.mark.parametrize(
    "error", [SyntaxError("bad tag"), struct.error("short"), ValueError("x")]
)
async def test_corrupt_exif_is_the_callers_fault_not_a_client_bug(
    monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    # Pillow's EXIF parser raises these on damaged tags; they must not escape as a client bug,
    # which the router would charge and retry on every provider.
    def broken(*_: object, **__: object) -> None:
        raise error

    monkeypatch.setattr(images_module.ImageOps, "exif_transpose", broken)
    data = encode(noise((800, 800)), "JPEG")
    with pytest.raises(BadRequestError) as caught:
        await fit_images(
            [ImageInput(data, "image/jpeg")],
            max_bytes=1_000_000,
            max_dimension=256,
            accepted_types=WEB_TYPES,
            provider="p",
        )
    assert caught.value.caller_input is True


async def test_image_too_large_for_the_provider_is_the_callers_fault_with_a_clear_message() -> (
    None
):
    data = encode(noise((800, 800)), "PNG")
    with pytest.raises(BadRequestError) as caught:
        await fit_images(
            [ImageInput(data, "image/png")],
            max_bytes=1_000,
            max_dimension=2048,
            accepted_types=WEB_TYPES,
            provider="p",
        )
    assert caught.value.caller_input is True
    assert f"{MIN_DIMENSION} px" in str(caught.value)


async def test_fitting_runs_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    loop_thread = threading.get_ident()
    seen: list[int] = []
    real = images_module.fit_image

    def spy(*args: object) -> ImageInput:
        seen.append(threading.get_ident())
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(images_module, "fit_image", spy)
    data = encode(Image.new("RGB", (10, 10)), "PNG")
    await fit_images(
        [ImageInput(data, "image/png")] * 2,
        max_bytes=10_000,
        max_dimension=100,
        accepted_types=WEB_TYPES,
        provider="p",
    )
    assert len(seen) == 2
    assert loop_thread not in seen


async def test_client_sends_the_downscaled_image(
    fake_server: FakeServer, session: aiohttp.ClientSession
) -> None:
    import base64

    fake_server.reply(success_body("anthropic"))
    client = make_client("anthropic", session, fake_server.url)
    big = encode(Image.new("RGB", (4000, 2000), "white"), "JPEG")
    request = AIRequest(prompt="hi", images=(ImageInput(big, "image/jpeg"),))
    await client.complete(await client.prepare(request), timeout=5)
    source = fake_server.last.json["messages"][0]["content"][0]["source"]
    assert source["media_type"] == "image/jpeg"
    assert opened(base64.b64decode(source["data"])).size == (1568, 784)


async def test_request_without_images_does_no_pillow_work(
    fake_server: FakeServer,
    session: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def forbidden(*args: object) -> None:
        raise AssertionError("Pillow work on a text-only request")

    monkeypatch.setattr(images_module, "_fit_all", forbidden)
    fake_server.reply(success_body("openai"))
    client = make_client("openai", session, fake_server.url)
    request = AIRequest(prompt="hi")
    assert await client.prepare(request) is request
    await client.complete(request, timeout=5)


async def test_complete_sends_images_as_prepared_without_pillow_work(
    fake_server: FakeServer,
    session: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Fitting is `prepare`'s job, done before the attempt's clock starts; `complete` only sends.
    fake_server.reply(success_body("anthropic"))
    client = make_client("anthropic", session, fake_server.url)
    big = encode(Image.new("RGB", (4000, 2000), "white"), "JPEG")
    prepared = await client.prepare(
        AIRequest(prompt="hi", images=(ImageInput(big, "image/jpeg"),))
    )

    def forbidden(*args: object) -> None:
        raise AssertionError("Pillow work while sending")

    monkeypatch.setattr(images_module, "_fit_all", forbidden)
    await client.complete(prepared, timeout=5)
    assert fake_server.last.json["messages"][0]["content"][0]["type"] == "image"


async def test_unreadable_image_is_refused_before_any_request_is_sent(
    fake_server: FakeServer, session: aiohttp.ClientSession
) -> None:
    fake_server.reply(success_body("gemini"))
    client = make_client("gemini", session, fake_server.url)
    with pytest.raises(BadRequestError) as caught:
        await client.prepare(
            AIRequest(prompt="hi", images=(ImageInput(b"junk", "image/png"),))
        )
    assert caught.value.caller_input is True
    assert caught.value.provider == client.name
    assert fake_server.requests == []


def test_sideways_phone_photo_is_turned_upright_when_reencoded() -> None:
    # Stored 3000x1000 with Orientation=6: shown rotated 90° clockwise, 1000 wide and 3000 tall.
    stored = Image.new("RGB", (3000, 1000), "white")
    # A red band at the stored left edge, which is the top edge once shown upright.
    stored.paste((255, 0, 0), (0, 0, 300, 1000))
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(stored, "JPEG", exif=exif.tobytes())
    fitted = fit_image(ImageInput(data, "image/jpeg"), 20_000_000, 1500, WEB_TYPES)
    upright = opened(fitted.data)
    assert upright.size == (500, 1500)
    red, green, _ = upright.convert("RGB").getpixel((250, 20))
    assert red > 200
    assert green < 60


def _b64_total(images: tuple[ImageInput, ...]) -> int:
    return sum(images_module.encoded_size(len(image.data)) for image in images)


async def test_images_that_each_fit_are_shrunk_to_share_the_request_limit() -> None:
    pictures = [
        ImageInput(encode(noise((900, 900)), "PNG"), "image/png") for _ in range(3)
    ]
    each = len(pictures[0].data)
    total = 2 * each  # each fits its own cap, all three together do not
    fitted = await fit_images(
        pictures,
        max_bytes=each * 2,
        max_dimension=2048,
        accepted_types=WEB_TYPES,
        provider="p",
        max_total_encoded_bytes=total,
    )
    assert len(fitted) == 3
    assert _b64_total(fitted) <= total
    assert all(opened(image.data).size[0] >= MIN_DIMENSION for image in fitted)


async def test_small_image_keeps_its_size_while_large_ones_share_the_rest() -> None:
    small = ImageInput(encode(Image.new("RGB", (64, 64), "blue"), "PNG"), "image/png")
    large = ImageInput(encode(noise((900, 900)), "PNG"), "image/png")
    total = images_module.encoded_size(len(large.data))
    fitted = await fit_images(
        [small, large, large],
        max_bytes=10_000_000,
        max_dimension=2048,
        accepted_types=WEB_TYPES,
        provider="p",
        max_total_encoded_bytes=total,
    )
    assert fitted[0] is small
    assert _b64_total(fitted) <= total


async def test_images_that_cannot_share_the_request_limit_are_the_callers_fault() -> (
    None
):
    pictures = [
        ImageInput(encode(noise((900, 900)), "PNG"), "image/png") for _ in range(4)
    ]
    with pytest.raises(
        BadRequestError, match="share the request's 8000-byte limit"
    ) as caught:
        await fit_images(
            pictures,
            max_bytes=10_000_000,
            max_dimension=2048,
            accepted_types=WEB_TYPES,
            provider="p",
            max_total_encoded_bytes=8000,
        )
    assert caught.value.caller_input is True


async def test_gemini_request_with_several_large_images_stays_under_its_20_mb_limit(
    fake_server: FakeServer,
    session: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import base64

    from custom_components.aicleaner.providers.gemini import GeminiProvider

    # Scaled down so the test stays fast: 600 kB per request, 250 kB per image.
    monkeypatch.setattr(GeminiProvider, "max_request_bytes", 600_000)
    fake_server.reply(success_body("gemini"))
    client = make_client("gemini", session, fake_server.url)
    monkeypatch.setattr(
        client,
        "capabilities",
        lambda model=None: dataclasses.replace(
            GeminiProvider.capabilities(client, model), max_image_bytes=250_000
        ),
    )
    picture = ImageInput(encode(noise((400, 400)), "JPEG", quality=95), "image/jpeg")
    assert 250_000 > len(picture.data) > 150_000
    request = AIRequest(prompt="hi", images=(picture,) * 4)
    await client.complete(await client.prepare(request), timeout=5)
    parts = fake_server.last.json["contents"][0]["parts"]
    sent = [len(part["inlineData"]["data"]) for part in parts if "inlineData" in part]
    assert len(sent) == 4
    assert sum(sent) <= 600_000
    assert all(
        opened(base64.b64decode(part["inlineData"]["data"]))
        for part in parts
        if "inlineData" in part
    )
