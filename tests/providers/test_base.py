"""Shared plumbing: retry hints and provider error messages."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
import io
import random
from types import SimpleNamespace
from typing import Any

import aiohttp
import orjson
from PIL import Image
import pytest

from custom_components.aicleaner.providers import base, create_provider
from custom_components.aicleaner.providers.base import (
    MAX_RETRY_AFTER,
    error_message,
    parse_retry_after,
)
from custom_components.aicleaner.router.errors import (
    BadRequestError,
    EmptyResponseError,
    ErrorCategory,
    MalformedResponseError,
    NetworkError,
)
from custom_components.aicleaner.router.models import AIRequest, ImageInput

from .conftest import FakeServer
from .helpers import make_client, success_body


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ({"retry-after-ms": "1200"}, None, 1.2),
        ({"retry-after-ms": "junk", "retry-after": "4"}, None, 4.0),
        ({"retry-after": "2.5"}, None, 2.5),
        ({"retry-after": "-3"}, None, 0.0),
        ({"retry-after": "soon"}, None, None),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00"}, None, 0.0),
        (
            {},
            {
                "error": {
                    "details": [
                        {
                            "@type": "type.googleapis.com/google.rpc.RetryInfo",
                            "retryDelay": "1.5s",
                        }
                    ]
                }
            },
            1.5,
        ),
        (
            {},
            {
                "error": {
                    "details": [
                        {
                            "@type": "type.googleapis.com/google.rpc.RetryInfo",
                            "retryDelay": "later",
                        }
                    ]
                }
            },
            None,
        ),
        ({}, {"error": {"details": [{"@type": "google.rpc.Help"}, "odd"]}}, None),
        ({}, {"error": {"details": "none"}}, None),
        ({}, {"error": "flat"}, None),
        ({}, ["not", "a", "dict"], None),
        ({}, None, None),
    ],
)
def test_retry_after_sources(
    headers: dict[str, str], body: Any, expected: float | None
) -> None:
    assert parse_retry_after(headers, body) == expected


def test_retry_after_as_an_http_date_in_the_future() -> None:
    now = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
    moment = now + timedelta(seconds=120)
    header = {"retry-after": format_datetime(moment, usegmt=True)}
    assert parse_retry_after(header, now=now) == 120.0


def test_retry_after_as_an_http_date_in_the_past_is_zero() -> None:
    now = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
    header = {"retry-after": format_datetime(now - timedelta(hours=1), usegmt=True)}
    assert parse_retry_after(header, now=now) == 0.0


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN", "Infinity"])
def test_retry_after_that_is_no_finite_number_is_ignored(value: str) -> None:
    assert parse_retry_after({"retry-after": value}) is None
    assert parse_retry_after({"retry-after-ms": value}) is None
    retry_info = {
        "error": {
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.RetryInfo",
                    "retryDelay": f"{value}s",
                }
            ]
        }
    }
    assert parse_retry_after({}, retry_info) is None


def test_non_finite_retry_after_ms_falls_back_to_retry_after() -> None:
    assert parse_retry_after({"retry-after-ms": "nan", "retry-after": "3"}) == 3.0


@pytest.mark.parametrize(
    "headers",
    [
        {"retry-after": "1e12"},
        {"retry-after-ms": "1e300"},
        {"retry-after": "Fri, 31 Dec 9999 23:59:59 GMT"},
    ],
)
def test_huge_retry_after_is_capped_at_a_day(headers: dict[str, str]) -> None:
    assert parse_retry_after(headers) == MAX_RETRY_AFTER == 86_400.0


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"error": {"message": "openai style"}}, "openai style"),
        (
            {"type": "error", "error": {"type": "x", "message": "anthropic style"}},
            "anthropic style",
        ),
        ({"error": "ollama style"}, "ollama style"),
        ({"message": "top level"}, "top level"),
        (
            {"detail": [{"loc": ["body"], "msg": "field required"}]},
            "body: field required",
        ),
        (
            {
                "detail": [
                    {
                        "type": "missing",
                        "loc": ["body", "messages", 0, "role"],
                        "msg": "Field required",
                        "input": {"content": "alarm code 4921"},
                    },
                    {"msg": "too long", "input": "alarm code 4921"},
                    {"loc": ["body"], "input": "no msg"},
                    "alarm code 4921",
                ]
            },
            "body.messages.0.role: Field required (missing); too long",
        ),
        (
            {"detail": {"msg": "bad", "type": "value_error", "input": "x"}},
            "bad (value_error)",
        ),
        # A type that is empty or not text adds nothing: only a plain identifier is shown.
        ({"detail": [{"msg": "bad", "type": ""}]}, "bad"),
        ({"detail": [{"msg": "bad", "type": {"input": "x"}}]}, "bad"),
        ({"detail": "Not Found"}, "Not Found"),
        ({"detail": 42}, ""),
        ({"error": {"code": 1}}, ""),
        ({}, ""),
        ("text", ""),
        (None, ""),
    ],
)
def test_error_message_shapes(body: Any, expected: str) -> None:
    assert error_message(body) == expected


class _NeverConnects(aiohttp.TCPConnector):
    """A connector whose connection attempt never completes (a firewall dropping packets)."""

    async def _create_connection(self, *args: Any, **kwargs: Any) -> Any:
        await asyncio.Event().wait()


async def test_connection_that_cannot_be_made_is_an_unbilled_network_error() -> None:
    # A timeout would be charged its reservation (the request may have been processed); a
    # connection that never opened sent nothing, so it must be a network error instead.
    async with aiohttp.ClientSession(connector=_NeverConnects()) as session:
        client = create_provider(
            "openai",
            session,
            name="o",
            model="gpt-4o-mini",
            api_key="sk-x",
            base_url="http://127.0.0.1:9/v1",
        )
        with pytest.raises(NetworkError) as caught:
            await client.complete(AIRequest(prompt="hi"), timeout=0.2)
    assert caught.value.category is ErrorCategory.NETWORK


async def test_health_reports_its_latency_in_milliseconds(
    fake_server: FakeServer,
    session: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_server.reply({"data": [{"id": "gpt-4o-mini"}]})
    client = make_client("openai", session, fake_server.url)
    readings = iter([100.0, 100.25])
    # Only this module's clock: the event loop keeps the real one.
    monkeypatch.setattr(base, "time", SimpleNamespace(monotonic=lambda: next(readings)))
    health = await client.health()
    assert health.latency_ms == pytest.approx(250.0)
    assert health.models == ("gpt-4o-mini",)


@pytest.mark.parametrize(
    ("prompt", "system_prompt"),
    [
        ("What is on the table?", "Be brief."),
        ("x" * 100_000, "Be brief."),
        ("What is on the table?", "y" * 100_000),
    ],
    ids=["short texts", "long prompt", "long system prompt"],
)
async def test_images_fitted_to_a_request_size_limit_leave_room_for_the_rest_of_the_request(
    fake_server: FakeServer,
    session: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
    prompt: str,
    system_prompt: str,
) -> None:
    # The provider refuses a request body over its limit: the images may not take all of it,
    # the prompt and the JSON around them travel in the same body.
    from custom_components.aicleaner.providers.gemini import GeminiProvider

    limit = 200_000
    monkeypatch.setattr(GeminiProvider, "max_request_bytes", limit)
    fake_server.reply(success_body("gemini"))
    client = make_client("gemini", session, fake_server.url)
    request = AIRequest(prompt=prompt, system_prompt=system_prompt)
    texts = len(request.prompt) + len(request.effective_system_prompt or "")
    # A valid JPEG (trailing bytes after its end marker are ignored by decoders) whose base64
    # alone takes all but a few bytes of the limit left by the texts.
    rng = random.Random(0)
    picture = Image.frombytes("RGB", (160, 160), rng.randbytes(160 * 160 * 3))
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=95)
    raw_size = (limit - texts - 16) // 4 * 3
    data = buffer.getvalue().ljust(raw_size, b"\0")
    image = ImageInput(data, "image/jpeg")
    await client.complete(
        await client.prepare(dataclasses.replace(request, images=(image,))), timeout=5
    )
    assert len(orjson.dumps(fake_server.last.json)) <= limit


def test_a_provider_is_called_by_its_label_or_else_by_its_name(
    session: aiohttp.ClientSession,
) -> None:
    named = make_client("openai", session, "http://127.0.0.1:9", name="key-1")
    labelled = make_client(
        "openai", session, "http://127.0.0.1:9", name="key-2", label="Kitchen"
    )
    assert (named.name, named.label) == ("key-1", "key-1")
    assert (labelled.name, labelled.label) == ("key-2", "Kitchen")


def test_a_context_window_override_alone_applies_and_keeps_the_models_vision(
    session: aiohttp.ClientSession,
) -> None:
    plain = make_client("openai", session, "http://127.0.0.1:9", model="gpt-4o")
    wider = make_client(
        "openai", session, "http://127.0.0.1:9", model="gpt-4o", context_window=12_345
    )
    assert wider.capabilities().context_window == 12_345
    assert wider.capabilities().vision == plain.capabilities().vision


async def test_an_answer_without_usage_still_names_the_model_that_answered(
    fake_server: FakeServer, session: aiohttp.ClientSession
) -> None:
    body = success_body("openai", text="ok", model="gpt-4o-mini-2024-07-18")
    del body["usage"]
    fake_server.reply(body)
    client = make_client("openai", session, fake_server.url, model="gpt-4o-mini")
    completion = await client.complete(AIRequest(prompt="hi"), timeout=5)
    assert not completion.usage_reported
    assert completion.model == "gpt-4o-mini-2024-07-18"


async def test_images_are_fitted_to_the_limits_of_the_model_the_request_names(
    session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client("openai", session, "http://127.0.0.1:9", model="gpt-4o")
    configured = client.capabilities()
    limits = {
        "gpt-4o": configured,
        "small-eyes": dataclasses.replace(configured, max_image_dimension=64),
    }
    monkeypatch.setattr(
        client, "capabilities", lambda model=None: limits[model or "gpt-4o"]
    )
    rng = random.Random(0)
    picture = Image.frombytes("RGB", (256, 256), rng.randbytes(256 * 256 * 3))
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG")
    request = AIRequest(
        prompt="hi",
        model="small-eyes",
        images=(ImageInput(buffer.getvalue(), "image/jpeg"),),
    )
    (fitted,) = (await client.prepare(request)).images
    assert max(Image.open(io.BytesIO(fitted.data)).size) <= 64


async def test_a_model_list_keeps_its_well_formed_entries_and_skips_the_rest(
    fake_server: FakeServer, session: aiohttp.ClientSession
) -> None:
    fake_server.reply(
        {"data": [{"id": "gpt-4o"}, "stray-id", ["id"], {"name": "x"}, {"id": "o3"}]}
    )
    client = make_client("openai", session, fake_server.url)
    assert (await client.health()).models == ("gpt-4o", "o3")


class _Body:
    """A response body served as a network does: at most 300 bytes a read, fewer if asked."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    async def read(self, size: int = -1) -> bytes:
        size = min(size, 300) if size >= 0 else 300
        chunk, self._data = self._data[:size], self._data[size:]
        return chunk


class _Response:
    """Just what `_read_capped` reads of an aiohttp response."""

    def __init__(self, status: int, data: bytes, *, with_length: bool) -> None:
        self.status = status
        self.headers: dict[str, str] = {}
        self.content = _Body(data)
        self.content_length = len(data) if with_length else None
        self._data = data

    async def read(self) -> bytes:
        return self._data


@pytest.mark.parametrize("with_length", [True, False], ids=["length", "chunked"])
async def test_a_body_of_exactly_the_response_cap_is_read_whole(
    session: aiohttp.ClientSession, with_length: bool
) -> None:
    client = make_client(
        "openai", session, "http://127.0.0.1:9", max_response_bytes=1000
    )
    body = b"x" * 1000
    read = await client._read_capped(_Response(200, body, with_length=with_length))  # type: ignore[arg-type]
    assert read == body


@pytest.mark.parametrize(("cap", "expected"), [(1000, 1000), (1024 * 1024, 65_536)])
async def test_an_error_body_is_read_no_further_than_the_cap_or_the_error_prefix(
    session: aiohttp.ClientSession, cap: int, expected: int
) -> None:
    # The error prefix is 64 KiB: plenty for a message and a retry hint.
    client = make_client(
        "openai", session, "http://127.0.0.1:9", max_response_bytes=cap
    )
    huge = b"e" * 200_000
    read = await client._read_capped(_Response(429, huge, with_length=False))  # type: ignore[arg-type]
    assert len(read) == expected


@pytest.mark.parametrize(
    ("text", "content_type"),
    [
        ("<!doctype html><title>Login</title>", "application/json"),
        ("\n\n  <html>captive portal</html>", "application/octet-stream"),
    ],
    ids=["html as json", "html after blank lines"],
)
async def test_an_html_page_is_reported_as_one_whatever_its_content_type(
    fake_server: FakeServer,
    session: aiohttp.ClientSession,
    text: str,
    content_type: str,
) -> None:
    # A proxy's login or error page: saying so tells the user where to look.
    fake_server.reply(text=text, content_type=content_type)
    client = make_client("openai", session, fake_server.url)
    with pytest.raises(MalformedResponseError, match="HTML page"):
        await client.complete(AIRequest(prompt="hi"), timeout=5)


async def test_an_answer_with_no_text_names_why_the_model_stopped(
    fake_server: FakeServer, session: aiohttp.ClientSession
) -> None:
    body = success_body("openai", text="")
    body["choices"][0]["finish_reason"] = "length"
    fake_server.reply(body)
    client = make_client("openai", session, fake_server.url)
    with pytest.raises(EmptyResponseError, match=r"finish reason length\)"):
        await client.complete(AIRequest(prompt="hi"), timeout=5)


@pytest.mark.parametrize(
    ("value", "count"),
    [
        (0, 0),
        ("0", 0),
        (0.0, 0),
        (1000, 1000),
        (float(2**53), 2**53),
        (str(2**53), 2**53),
        (str(2**53 + 1), None),
        (2**53, 2**53),
        (2**53 + 1, None),
        (-1, None),
        (True, None),
        (False, None),
        ("  42 ", 42),
        ("4.0", None),
        ("-3", None),
        ("1" + "0" * 400, None),
        (12.0, 12),
        (12.5, None),
        (-2.0, None),
        (1e308, None),
        (float("nan"), None),
        (None, None),
        ([3], None),
    ],
)
def test_token_counts_are_whole_numbers_from_zero_to_2_53(
    value: Any, count: Any
) -> None:
    assert base.token_count(value) == count


async def test_text_with_no_utf8_form_is_refused_as_the_callers_and_never_sent(
    fake_server: FakeServer, session: aiohttp.ClientSession
) -> None:
    fake_server.reply(success_body("openai"))
    client = make_client("openai", session, fake_server.url)
    for request in (
        AIRequest(prompt="lone \ud800 surrogate"),
        AIRequest(prompt="p", system_prompt="lone \udfff surrogate"),
        AIRequest(prompt="p", model="gpt-\ud800"),
    ):
        with pytest.raises(BadRequestError) as raised:
            await client.complete(request, timeout=5)
        assert raised.value.caller_input
    assert fake_server.requests == []
    # Text beyond ASCII that has a UTF-8 form is sent as ever.
    completion = await client.complete(
        AIRequest(prompt="Où est le chat ? 猫", system_prompt="Réponds 🙂"), timeout=5
    )
    assert completion.text == "hello"
    assert len(fake_server.requests) == 1


@pytest.mark.parametrize(
    ("size", "whole"), [(4 * 1024 * 1024, True), (4 * 1024 * 1024 + 1, False)]
)
async def test_the_default_response_cap_is_4_mib(
    session: aiohttp.ClientSession, size: int, whole: bool
) -> None:
    client = make_client("openai", session, "http://127.0.0.1:9")
    response = _Response(200, b"x" * size, with_length=True)
    if whole:
        assert len(await client._read_capped(response)) == size  # type: ignore[arg-type]
    else:
        with pytest.raises(MalformedResponseError):
            await client._read_capped(response)  # type: ignore[arg-type]


def test_images_may_take_the_request_limit_less_64_kib_and_the_texts(
    session: aiohttp.ClientSession,
) -> None:
    from custom_components.aicleaner.providers.openai import OpenAIProvider

    client = make_client("openai", session, "http://127.0.0.1:9")
    limit = OpenAIProvider.max_request_bytes
    assert limit is not None
    request = AIRequest(prompt="é" * 10, system_prompt="abc")
    assert client._image_budget(request) == limit - 65_536 - 20 - 3


class _RecordingSession:
    """A session that records each request's timeout and then fails to connect."""

    def __init__(self) -> None:
        self.timeouts: list[aiohttp.ClientTimeout] = []

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        self.timeouts.append(kwargs["timeout"])
        raise aiohttp.ClientConnectionError("no network in this test")


@pytest.mark.parametrize(("timeout", "connect"), [(30.0, 10.0), (5.0, 4.0)])
async def test_a_connection_gets_10_s_or_four_fifths_of_the_time_whichever_is_less(
    timeout: float, connect: float
) -> None:
    session = _RecordingSession()
    client = make_client("openai", session, "http://127.0.0.1:9")  # type: ignore[arg-type]
    with pytest.raises(NetworkError):
        await client.complete(AIRequest(prompt="p"), timeout=timeout)
    assert (session.timeouts[0].total, session.timeouts[0].connect) == (
        timeout,
        connect,
    )


async def test_a_health_call_waits_60_s_by_default() -> None:
    session = _RecordingSession()
    client = make_client("openai", session, "http://127.0.0.1:9")  # type: ignore[arg-type]
    with pytest.raises(NetworkError):
        await client.health()
    assert session.timeouts[0].total == 60.0


def test_an_answer_is_priced_at_the_date_it_is_made_even_just_after_midnight(
    session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A price may change at midnight (a dated price): no stale day, however recent.
    today = [date(2026, 11, 30)]

    class Calendar(date):
        @classmethod
        def today(cls) -> date:
            return today[0]

    monkeypatch.setattr(base, "date", Calendar)
    client = make_client("openai", session, "http://127.0.0.1:9")
    seen: list[date] = []
    quote = client._model_quote

    def recording(model: str, day: date) -> Any:
        seen.append(day)
        return quote(model, day)

    monkeypatch.setattr(client, "_model_quote", recording)
    client.price()
    today[0] = date(2026, 12, 1)
    client.price()
    assert seen == [date(2026, 11, 30), date(2026, 12, 1)]
