"""What `_request` refuses to do: follow redirects, wait forever, drop an error's category, leak secrets."""

from __future__ import annotations

import json
import logging

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
import pytest

from custom_components.aicleaner.providers.base import (
    _ERROR_MESSAGE_LIMIT,
    ERROR_BODY_LIMIT,
)
from custom_components.aicleaner.router.errors import (
    AuthError,
    BadRequestError,
    ProviderServerError,
    ProviderTimeoutError,
    RateLimitError,
)
from custom_components.aicleaner.router.models import AIRequest

from .conftest import KEY, FakeServer
from .helpers import KINDS, error_body, make_client, success_body

REQUEST = AIRequest(prompt="What is on the table?", system_prompt="Be brief.")
SECRET_PROMPT = "alarm code 4921"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_redirect_is_refused_and_never_followed_to_another_host(
    fake_server: FakeServer,
    session: aiohttp.ClientSession,
    socket_enabled: None,
    kind: str,
    status: int,
) -> None:
    received: list[dict[str, str]] = []

    async def elsewhere(request: web.Request) -> web.Response:
        received.append(dict(request.headers))
        return web.json_response({})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", elsewhere)
    other = TestServer(app, host="127.0.0.1")
    await other.start_server()
    try:
        target = str(other.make_url("/v1/chat/completions"))

        async def redirect(request: web.Request) -> web.Response:
            return web.Response(status=status, headers={"Location": target})

        fake_server.responder = redirect
        client = make_client(kind, session, fake_server.url)
        with pytest.raises(BadRequestError) as caught:
            await client.complete(AIRequest(prompt=SECRET_PROMPT), timeout=5)
    finally:
        await other.close()
    assert received == []
    assert len(fake_server.requests) == 1
    error = caught.value
    assert error.status == status
    assert error.caller_input is False
    assert not error.retryable
    assert "set the base URL to the final address" in str(error)
    assert target not in str(error)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("timeout", [0, -1.0, float("nan")])
async def test_no_time_left_times_out_before_sending(
    fake_server: FakeServer, session: aiohttp.ClientSession, kind: str, timeout: float
) -> None:
    client = make_client(kind, session, fake_server.url)
    with pytest.raises(ProviderTimeoutError, match="no time left"):
        await client.complete(REQUEST, timeout=timeout)
    assert fake_server.requests == []


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("status", "error_type"),
    [(429, RateLimitError), (401, AuthError), (500, ProviderServerError)],
)
async def test_oversize_error_body_keeps_its_category_and_retry_after(
    fake_server: FakeServer,
    session: aiohttp.ClientSession,
    kind: str,
    status: int,
    error_type: type[Exception],
) -> None:
    # Past both the small response cap and the error-body prefix: Content-Length says so up front.
    huge = error_body(kind, status, "slow down " + "x" * (ERROR_BODY_LIMIT * 2))
    fake_server.reply(huge, status=status, headers={"Retry-After": "7"})
    client = make_client(kind, session, fake_server.url, max_response_bytes=16 * 1024)
    with pytest.raises(error_type) as caught:
        await client.complete(REQUEST, timeout=5)
    assert caught.value.status == status
    if status != 401:
        assert caught.value.retry_after == 7.0


async def test_oversize_chunked_429_keeps_its_category(
    fake_server: FakeServer, session: aiohttp.ClientSession
) -> None:
    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            status=429,
            headers={"Content-Type": "application/json", "retry-after-ms": "1500"},
        )
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(b'{"error": {"message": "slow down", "pad": "')
        for _ in range(256):
            await response.write(b"x" * 1024)
        await response.write(b'"}}')
        await response.write_eof()
        return response

    fake_server.responder = stream
    client = make_client(
        "openai", session, fake_server.url, max_response_bytes=16 * 1024
    )
    with pytest.raises(RateLimitError) as caught:
        await client.complete(REQUEST, timeout=5)
    assert caught.value.retry_after == 1.5


def validation_error(body: object) -> dict[str, object]:
    """A FastAPI/pydantic 422 as LiteLLM, LocalAI and vLLM send it: `input` echoes the request."""
    return {
        "detail": [
            {
                "type": "string_type",
                "loc": ["body", "messages", 0, "content"],
                "msg": "Input should be a valid string",
                "input": body,
                "ctx": {"echo": body},
            }
        ]
    }


async def test_validation_error_detail_never_carries_the_request_body(
    fake_server: FakeServer, session: aiohttp.ClientSession
) -> None:
    sent = {
        "model": "m",
        "messages": [{"role": "user", "content": SECRET_PROMPT}],
        "api_key": KEY,
    }
    fake_server.reply(validation_error(sent), status=422)
    client = make_client("openai_compatible", session, fake_server.url)
    with pytest.raises(BadRequestError) as caught:
        await client.complete(
            AIRequest(prompt=SECRET_PROMPT, system_prompt="door pin 7733"), timeout=5
        )
    message = str(caught.value)
    assert "4921" not in message
    assert KEY not in message
    # What stays is the category, the status and the server's error type.
    assert message.endswith("request rejected [string_type] (HTTP 422)")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "echo",
    [
        f"Invalid prompt: {SECRET_PROMPT}",
        f"Invalid value '{SECRET_PROMPT}'",
        "Invalid value 'alarm code 49'",  # a quoted fragment of the prompt
        f"Invalid value {json.dumps('door ' + chr(10) + 'pin 7733')}",  # JSON-escaped system prompt
        "Bad input=alarm code 49... (truncated)",  # an unquoted partial echo
        "Bad input=door pin 77",  # a partial echo of the system prompt
    ],
)
async def test_errors_never_echo_any_part_of_the_prompt_or_system_prompt(
    fake_server: FakeServer, session: aiohttp.ClientSession, kind: str, echo: str
) -> None:
    fake_server.reply(error_body(kind, 400, echo), status=400)
    client = make_client(kind, session, fake_server.url)
    with pytest.raises(BadRequestError) as caught:
        await client.complete(
            AIRequest(prompt=SECRET_PROMPT, system_prompt="door \npin 7733"), timeout=5
        )
    error = caught.value
    for rendered in (str(error), repr(error), error.message, repr(error.args)):
        assert "alarm" not in rendered
        assert "49" not in rendered
        assert "door" not in rendered
        assert "77" not in rendered
    assert "request rejected" in error.message


async def test_upstream_error_text_goes_to_the_debug_log_only(
    fake_server: FakeServer,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = "custom_components.aicleaner.providers"
    fake_server.reply(
        error_body("openai", 400, f"Bad input={SECRET_PROMPT}"), status=400
    )
    client = make_client("openai", session, fake_server.url)
    caplog.set_level(logging.INFO, logger=logger)
    with pytest.raises(BadRequestError):
        await client.complete(AIRequest(prompt=SECRET_PROMPT), timeout=5)
    assert SECRET_PROMPT not in caplog.text
    caplog.set_level(logging.DEBUG, logger=logger)
    with pytest.raises(BadRequestError) as caught:
        await client.complete(AIRequest(prompt=SECRET_PROMPT), timeout=5)
    assert f"HTTP 400: Bad input={SECRET_PROMPT}" in caplog.text
    # However long the provider's words, the log keeps a bounded prefix.
    caplog.clear()
    fake_server.reply(error_body("openai", 400, "x" * 5000), status=400)
    with pytest.raises(BadRequestError):
        await client.complete(AIRequest(prompt=SECRET_PROMPT), timeout=5)
    assert "x" * 499 + "…" in caplog.text
    assert "x" * 500 not in caplog.text
    assert str(caught.value) == (
        "my-openai: request rejected [invalid_request_error] (HTTP 400)"
    )


@pytest.mark.parametrize(
    ("base_url", "shown"),
    [
        ("http://user:pw-SECRET@gateway.local:4000/v1", "http://gateway.local:4000/v1"),
        ("https://proxy.example/v1?key=SECRET#frag", "https://proxy.example/v1"),
        ("http://[::1", "<unparseable URL>"),
    ],
)
async def test_repr_drops_credentials_and_query_from_the_base_url(
    session: aiohttp.ClientSession, base_url: str, shown: str
) -> None:
    client = make_client("openai_compatible", session, "", base_url=base_url)
    assert "SECRET" not in repr(client)
    assert f"base_url={shown!r}" in repr(client)


async def test_an_error_text_of_exactly_the_log_limit_is_logged_whole(
    fake_server: FakeServer,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="custom_components.aicleaner.providers")
    client = make_client("openai", session, fake_server.url)
    whole = "y" * _ERROR_MESSAGE_LIMIT
    fake_server.reply(error_body("openai", 400, whole), status=400)
    with pytest.raises(BadRequestError):
        await client.complete(REQUEST, timeout=5)
    assert f"HTTP 400: {whole}\n" in caplog.text + "\n"
    # One character more is cut to the limit, the last one being the ellipsis.
    caplog.clear()
    fake_server.reply(error_body("openai", 400, whole + "z"), status=400)
    with pytest.raises(BadRequestError):
        await client.complete(REQUEST, timeout=5)
    logged = caplog.records[-1].getMessage().split("HTTP 400: ", 1)[1]
    assert logged == whole[:-1] + "…"


async def test_a_300_multiple_choices_answer_is_refused_like_any_redirect(
    fake_server: FakeServer, session: aiohttp.ClientSession
) -> None:
    # Even with a body that reads like an answer: it is not the provider's answer.
    fake_server.reply(success_body("openai"), status=300)
    client = make_client("openai", session, fake_server.url)
    with pytest.raises(BadRequestError) as caught:
        await client.complete(REQUEST, timeout=5)
    assert caught.value.status == 300
    assert "set the base URL to the final address" in str(caught.value)


async def test_an_oversize_400_error_body_is_still_a_rejected_request(
    fake_server: FakeServer, session: aiohttp.ClientSession
) -> None:
    # 400 is the first error status: its body is read as an error's, a capped prefix.
    huge = error_body("openai", 400, "bad input " + "x" * (ERROR_BODY_LIMIT * 2))
    fake_server.reply(huge, status=400)
    client = make_client(
        "openai", session, fake_server.url, max_response_bytes=16 * 1024
    )
    with pytest.raises(BadRequestError) as caught:
        await client.complete(REQUEST, timeout=5)
    assert caught.value.status == 400
