"""Every failure maps to one category of the error taxonomy, for every provider (fake loopback server)."""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from custom_components.aicleaner.router.errors import (
    AuthError,
    BadRequestError,
    ContentFilterError,
    ErrorCategory,
    HealthEffect,
    MalformedResponseError,
    NetworkError,
    OverloadedError,
    ProviderServerError,
    ProviderTimeoutError,
    QuotaExhaustedError,
    RateLimitError,
)
from custom_components.aicleaner.router.models import AIRequest

from .conftest import KEY, FakeServer
from .helpers import KINDS, error_body, make_client, success_body

REQUEST = AIRequest(prompt="What is on the table?", system_prompt="Be brief.")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (401, AuthError),
        (403, AuthError),
        (429, RateLimitError),
        (503, OverloadedError),
        (529, OverloadedError),
        (500, ProviderServerError),
        (502, ProviderServerError),
        (408, ProviderTimeoutError),
        (400, BadRequestError),
        (404, BadRequestError),
        (422, BadRequestError),
    ],
)
async def test_http_status_maps_to_its_category(
    fake_server: FakeServer,
    session: aiohttp.ClientSession,
    kind: str,
    status: int,
    error_type: type[Exception],
) -> None:
    fake_server.reply(error_body(kind, status, "something went wrong"), status=status)
    client = make_client(kind, session, fake_server.url)
    with pytest.raises(error_type) as caught:
        await client.complete(REQUEST, timeout=5)
    assert caught.value.provider == client.name
    assert caught.value.status == status


@pytest.mark.parametrize("kind", KINDS)
async def test_unknown_model_is_not_the_callers_fault(
    fake_server: FakeServer, session: aiohttp.ClientSession, kind: str
) -> None:
    fake_server.reply(error_body(kind, 404, "model 'nope' not found"), status=404)
    client = make_client(kind, session, fake_server.url)
    with pytest.raises(BadRequestError) as caught:
        await client.complete(REQUEST, timeout=5)
    assert caught.value.caller_input is False
    assert "not found" in str(caught.value)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("status", "message"),
    [(400, "Invalid image data"), (413, "request_too_large")],
)
async def test_rejected_image_or_oversize_payload_is_the_callers_fault(
    fake_server: FakeServer,
    session: aiohttp.ClientSession,
    kind: str,
    status: int,
    message: str,
) -> None:
    fake_server.reply(error_body(kind, status, message), status=status)
    client = make_client(kind, session, fake_server.url)
    with pytest.raises(BadRequestError) as caught:
        await client.complete(REQUEST, timeout=5)
    assert caught.value.caller_input is True


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "1500"}, 1.5),
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after-ms": "250", "Retry-After": "1"}, 0.25),
        ({}, None),
    ],
)
async def test_rate_limit_carries_retry_after(
    fake_server: FakeServer,
    session: aiohttp.ClientSession,
    kind: str,
    headers: dict[str, str],
    expected: float | None,
) -> None:
    fake_server.reply(error_body(kind, 429, "slow down"), status=429, headers=headers)
    client = make_client(kind, session, fake_server.url)
    with pytest.raises(RateLimitError) as caught:
        await client.complete(REQUEST, timeout=5)
    assert caught.value.retry_after == expected
    assert caught.value.category is ErrorCategory.RATE_LIMIT
    assert caught.value.retryable


async def test_overloaded_answer_carries_retry_after(
    fake_server: FakeServer, session: aiohttp.ClientSession
) -> None:
    body = {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }
    fake_server.reply(body, status=529, headers={"retry-after": "3"})
    client = make_client("anthropic", session, fake_server.url)
    with pytest.raises(OverloadedError) as caught:
        await client.complete(REQUEST, timeout=5)
    assert caught.value.retry_after == 3.0
    assert "[overloaded_error]" in str(caught.value)


@pytest.mark.parametrize("kind", KINDS)
async def test_hanging_provider_times_out(
    fake_server: FakeServer, session: aiohttp.ClientSession, kind: str
) -> None:
    never = asyncio.Event()

    async def hang(request: web.Request) -> web.StreamResponse:
        await never.wait()
        raise AssertionError  # pragma: no cover

    fake_server.responder = hang
    client = make_client(kind, session, fake_server.url)
    with pytest.raises(ProviderTimeoutError) as caught:
        await client.complete(REQUEST, timeout=0.05)
    assert caught.value.category is ErrorCategory.TIMEOUT


@pytest.mark.parametrize("kind", KINDS)
async def test_health_check_times_out_on_its_own_timeout(
    fake_server: FakeServer, session: aiohttp.ClientSession, kind: str
) -> None:
    never = asyncio.Event()

    async def hang(request: web.Request) -> web.StreamResponse:
        await never.wait()
        raise AssertionError  # pragma: no cover

    fake_server.responder = hang
    client = make_client(kind, session, fake_server.url, request_timeout=0.05)
    with pytest.raises(ProviderTimeoutError):
        await client.health()


@pytest.mark.parametrize("kind", KINDS)
async def test_connection_reset_is_a_network_error(
    fake_server: FakeServer, session: aiohttp.ClientSession, kind: str
) -> None:
    async def reset(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.abort()
        return web.Response()

    fake_server.responder = reset
    client = make_client(kind, session, fake_server.url)
    with pytest.raises(NetworkError) as caught:
        await client.complete(REQUEST, timeout=5)
    assert caught.value.category is ErrorCategory.NETWORK


@pytest.mark.parametrize("kind", KINDS)
async def test_connection_refused_is_a_network_error(
    socket_enabled: None, session: aiohttp.ClientSession, kind: str
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = make_client(kind, session, f"http://127.0.0.1:{port}")
    with pytest.raises(NetworkError, match="cannot connect"):
        await client.complete(REQUEST, timeout=5)


class FailingResolver(aiohttp.abc.AbstractResolver):
    """Answers every lookup with NXDOMAIN, so no DNS query leaves the machine."""

    async def resolve(
        self, host: str, port: int = 0, family: int = socket.AF_INET
    ) -> Any:
        raise OSError(socket.EAI_NONAME, "Name or service not known")

    async def close(self) -> None:
        return None


@pytest.mark.parametrize("kind", KINDS)
async def test_dns_failure_is_a_network_error(kind: str) -> None:
    connector = aiohttp.TCPConnector(resolver=FailingResolver())
    async with aiohttp.ClientSession(connector=connector) as dns_session:
        client = make_client(kind, dns_session, "http://provider.invalid")
        with pytest.raises(NetworkError, match="resolve"):
            await client.complete(REQUEST, timeout=5)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("text", "content_type"),
    [
        ('{"choices": [{"message": {"content": "cut', "application/json"),
        ("<html><body>502 Bad Gateway</body></html>", "text/html"),
        ("<!doctype html><title>Login</title>", "application/json"),
        ("\n\n  <html>captive portal</html>", "application/octet-stream"),
        ("[1, 2, 3]", "application/json"),
        ("", "application/json"),
    ],
)
async def test_unparseable_success_body_is_malformed(
    fake_server: FakeServer,
    session: aiohttp.ClientSession,
    kind: str,
    text: str,
    content_type: str,
) -> None:
    fake_server.reply(text=text, content_type=content_type)
    client = make_client(kind, session, fake_server.url)
    with pytest.raises(MalformedResponseError) as caught:
        await client.complete(REQUEST, timeout=5)
    assert caught.value.retryable


@pytest.mark.parametrize("kind", KINDS)
async def test_incomplete_success_body_is_malformed(
    fake_server: FakeServer, session: aiohttp.ClientSession, kind: str
) -> None:
    fake_server.reply({"id": "x", "object": "chat.completion"})
    client = make_client(kind, session, fake_server.url)
    with pytest.raises(MalformedResponseError):
        await client.complete(REQUEST, timeout=5)


@pytest.mark.parametrize("kind", KINDS)
async def test_oversize_body_is_refused_by_content_length(
    fake_server: FakeServer, session: aiohttp.ClientSession, kind: str
) -> None:
    body = success_body(kind, text="x" * 5000)
    fake_server.reply(body)
    client = make_client(kind, session, fake_server.url, max_response_bytes=1024)
    with pytest.raises(MalformedResponseError, match="exceeds"):
        await client.complete(REQUEST, timeout=5)


@pytest.mark.parametrize("kind", KINDS)
async def test_oversize_chunked_body_is_refused_while_reading(
    fake_server: FakeServer, session: aiohttp.ClientSession, kind: str
) -> None:
    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(64):
            await response.write(b" " * 1024)
        await response.write_eof()
        return response

    fake_server.responder = stream
    client = make_client(kind, session, fake_server.url, max_response_bytes=16 * 1024)
    with pytest.raises(MalformedResponseError, match="exceeds"):
        await client.complete(REQUEST, timeout=5)


@pytest.mark.parametrize("kind", KINDS)
async def test_small_chunked_body_is_read_whole(
    fake_server: FakeServer, session: aiohttp.ClientSession, kind: str
) -> None:
    import json

    payload = json.dumps(success_body(kind, text="chunked")).encode()

    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(payload[:10])
        await response.write(payload[10:])
        await response.write_eof()
        return response

    fake_server.responder = stream
    client = make_client(kind, session, fake_server.url)
    completion = await client.complete(REQUEST, timeout=5)
    assert completion.text == "chunked"


@pytest.mark.parametrize("kind", KINDS)
async def test_errors_and_reprs_never_carry_the_key(
    fake_server: FakeServer,
    session: aiohttp.ClientSession,
    kind: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="custom_components.aicleaner.providers")
    fake_server.reply(
        error_body(kind, 401, f"Incorrect API key provided: {KEY}"), status=401
    )
    client = make_client(kind, session, fake_server.url, api_key=KEY)
    with pytest.raises(AuthError) as caught:
        await client.complete(REQUEST, timeout=5)
    error = caught.value
    for rendered in (
        str(error),
        repr(error),
        error.message,
        repr(error.args),
        repr(client),
    ):
        assert KEY not in rendered
    # The provider's own words reach the DEBUG log only, without the key.
    assert "Incorrect API key provided: [redacted]" in caplog.text
    assert KEY not in caplog.text


@pytest.mark.parametrize("kind", KINDS)
async def test_errors_never_carry_the_request_body(
    fake_server: FakeServer, session: aiohttp.ClientSession, kind: str
) -> None:
    secret_prompt = "the alarm code is 4921 " * 4
    echoed = (
        f'Invalid value at "contents[0]", got "{secret_prompt}" instead ' + "x" * 400
    )
    fake_server.reply(error_body(kind, 400, echoed), status=400)
    client = make_client(kind, session, fake_server.url)
    with pytest.raises(BadRequestError) as caught:
        await client.complete(AIRequest(prompt=secret_prompt), timeout=5)
    assert "4921" not in str(caught.value)
    assert len(caught.value.message) < 300


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        (
            "openai",
            {
                "model": "gpt-4o-mini",
                "choices": [
                    {
                        "message": {
                            "role": "assistant",
                            "content": None,
                            "refusal": "I can't.",
                        }
                    }
                ],
            },
        ),
        (
            "openai",
            {
                "model": "gpt-4o-mini",
                "choices": [
                    {
                        "message": {"role": "assistant", "content": ""},
                        "finish_reason": "content_filter",
                    }
                ],
            },
        ),
        (
            "openai_compatible",
            {
                "choices": [
                    {
                        "message": {"role": "assistant", "content": ""},
                        "finish_reason": "content_filter",
                    }
                ]
            },
        ),
        (
            "anthropic",
            {
                "content": [],
                "stop_reason": "refusal",
                "usage": {"input_tokens": 10, "output_tokens": 0},
            },
        ),
        (
            "gemini",
            {
                "candidates": [{"finishReason": "SAFETY", "safetyRatings": []}],
                "usageMetadata": {"promptTokenCount": 10},
            },
        ),
        *(
            (
                "gemini",
                {
                    "candidates": [{"finishReason": reason}],
                    "usageMetadata": {"promptTokenCount": 10},
                },
            )
            for reason in (
                "RECITATION",
                "BLOCKLIST",
                "PROHIBITED_CONTENT",
                "SPII",
                "IMAGE_SAFETY",
                "IMAGE_PROHIBITED_CONTENT",
                "IMAGE_RECITATION",
                "MODEL_ARMOR",
                "ESCALATION",
                "PUP_LIMITED_DISABLED",
            )
        ),
        (
            "gemini",
            {
                "promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
                "usageMetadata": {"promptTokenCount": 10},
            },
        ),
    ],
)
async def test_refusals_are_content_filter_errors(
    fake_server: FakeServer,
    session: aiohttp.ClientSession,
    kind: str,
    body: dict[str, Any],
) -> None:
    fake_server.reply(body)
    client = make_client(kind, session, fake_server.url)
    with pytest.raises(ContentFilterError) as caught:
        await client.complete(REQUEST, timeout=5)
    assert caught.value.category is ErrorCategory.CONTENT_FILTER
    assert not caught.value.retryable


async def test_gemini_invalid_key_400_is_an_auth_error(
    fake_server: FakeServer, session: aiohttp.ClientSession
) -> None:
    body = {
        "error": {
            "code": 400,
            "message": "API key not valid. Please pass a valid API key.",
            "status": "INVALID_ARGUMENT",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                }
            ],
        }
    }
    fake_server.reply(body, status=400)
    client = make_client("gemini", session, fake_server.url)
    with pytest.raises(AuthError):
        await client.validate_credentials()


async def test_gemini_plain_400_is_a_bad_request(
    fake_server: FakeServer, session: aiohttp.ClientSession
) -> None:
    fake_server.reply(
        {"error": {"code": 400, "message": "bad", "details": "weird"}}, status=400
    )
    client = make_client("gemini", session, fake_server.url)
    with pytest.raises(BadRequestError):
        await client.complete(REQUEST, timeout=5)


async def test_gemini_rate_limit_reads_retry_info(
    fake_server: FakeServer, session: aiohttp.ClientSession
) -> None:
    body = {
        "error": {
            "code": 429,
            "message": "Resource has been exhausted",
            "status": "RESOURCE_EXHAUSTED",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                    "violations": [],
                },
                {
                    "@type": "type.googleapis.com/google.rpc.RetryInfo",
                    "retryDelay": "37s",
                },
            ],
        }
    }
    fake_server.reply(body, status=429)
    client = make_client("gemini", session, fake_server.url)
    with pytest.raises(RateLimitError) as caught:
        await client.complete(REQUEST, timeout=5)
    assert caught.value.retry_after == 37.0


@pytest.mark.parametrize("kind", KINDS)
async def test_validate_credentials_rejects_a_bad_key(
    fake_server: FakeServer, session: aiohttp.ClientSession, kind: str
) -> None:
    fake_server.reply(error_body(kind, 401, "invalid x-api-key"), status=401)
    client = make_client(kind, session, fake_server.url, api_key="bad-key")
    with pytest.raises(AuthError):
        await client.validate_credentials()


@pytest.mark.parametrize("kind", KINDS)
async def test_model_list_without_its_list_is_malformed(
    fake_server: FakeServer, session: aiohttp.ClientSession, kind: str
) -> None:
    fake_server.reply({"unexpected": True})
    client = make_client(kind, session, fake_server.url)
    with pytest.raises(MalformedResponseError):
        await client.health()


@pytest.mark.parametrize("kind", KINDS)
async def test_html_error_page_from_a_proxy_keeps_its_status_category(
    fake_server: FakeServer, session: aiohttp.ClientSession, kind: str
) -> None:
    fake_server.reply(
        text="<html>502 Bad Gateway</html>", status=502, content_type="text/html"
    )
    client = make_client(kind, session, fake_server.url)
    with pytest.raises(ProviderServerError) as caught:
        await client.complete(REQUEST, timeout=5)
    assert str(caught.value) == f"{client.name}: server error (HTTP 502)"


@pytest.mark.parametrize("kind", KINDS)
async def test_error_without_a_body_still_maps_by_status(
    fake_server: FakeServer, session: aiohttp.ClientSession, kind: str
) -> None:
    fake_server.reply(text="", status=403)
    client = make_client(kind, session, fake_server.url)
    with pytest.raises(AuthError) as caught:
        await client.complete(REQUEST, timeout=5)
    assert str(caught.value) == f"{client.name}: the API key was rejected (HTTP 403)"


@pytest.mark.parametrize("kind", ["openai", "openai_compatible"])
async def test_exhausted_openai_quota_is_a_spent_quota_not_a_rate_limit(
    fake_server: FakeServer, session: aiohttp.ClientSession, kind: str
) -> None:
    body = {
        "error": {
            "message": "You exceeded your current quota, please check your plan and billing details.",
            "type": "insufficient_quota",
            "code": "insufficient_quota",
        }
    }
    fake_server.reply(body, status=429, headers={"retry-after": "1"})
    client = make_client(kind, session, fake_server.url)
    with pytest.raises(QuotaExhaustedError) as caught:
        await client.complete(REQUEST, timeout=5)
    error = caught.value
    assert error.category == ErrorCategory.QUOTA
    assert error.health is HealthEffect.COOLDOWN
    assert (error.retry_same, error.failover, error.billed) == (False, True, False)
    assert "quota" in str(error)


@pytest.mark.parametrize("kind", KINDS)
async def test_compressed_body_is_capped_as_it_inflates(
    fake_server: FakeServer, session: aiohttp.ClientSession, kind: str
) -> None:
    import gzip

    bomb = gzip.compress(b" " * (1024 * 1024))

    async def compressed(request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=bomb,
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        )

    fake_server.responder = compressed
    client = make_client(kind, session, fake_server.url, max_response_bytes=64 * 1024)
    assert len(bomb) < 64 * 1024
    with pytest.raises(MalformedResponseError, match="exceeds"):
        await client.complete(REQUEST, timeout=5)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "message",
    [
        "Invalid content type. image_url is only supported by certain models.",
        "This model does not support image input.",
    ],
)
async def test_model_without_vision_is_not_the_callers_fault(
    fake_server: FakeServer, session: aiohttp.ClientSession, kind: str, message: str
) -> None:
    fake_server.reply(error_body(kind, 400, message), status=400)
    client = make_client(kind, session, fake_server.url)
    with pytest.raises(BadRequestError) as caught:
        await client.complete(REQUEST, timeout=5)
    assert caught.value.caller_input is False


# Finish reasons google-genai lists that end an answer without a content block.
GEMINI_NON_BLOCKING_FINISH_REASONS = frozenset(
    {
        "FINISH_REASON_UNSPECIFIED",
        "STOP",
        "MAX_TOKENS",
        "LANGUAGE",
        "OTHER",
        "MALFORMED_FUNCTION_CALL",
        "IMAGE_OTHER",
        "NO_IMAGE",
        "UNEXPECTED_TOOL_CALL",
        "TOO_MANY_TOOL_CALLS",
        "MISSING_THOUGHT_SIGNATURE",
        "MALFORMED_RESPONSE",
        "CONTINUATION",
    }
)


def test_every_gemini_finish_reason_of_the_sdk_is_classified() -> None:
    from google.genai import types

    from custom_components.aicleaner.providers.gemini import BLOCKED_FINISH_REASONS

    sdk_reasons = {reason.name for reason in types.FinishReason}
    # A reason the SDK gains must be sorted into one side or the other.
    assert sdk_reasons == BLOCKED_FINISH_REASONS | GEMINI_NON_BLOCKING_FINISH_REASONS
    assert not BLOCKED_FINISH_REASONS & GEMINI_NON_BLOCKING_FINISH_REASONS


async def test_a_422_validation_error_about_the_image_is_the_callers_fault(
    fake_server: FakeServer, session: aiohttp.ClientSession
) -> None:
    # FastAPI-style gateways (vLLM, LiteLLM, LocalAI) answer 422 where others answer 400.
    fake_server.reply(
        {"detail": [{"loc": ["body", "image_url"], "msg": "invalid base64 image"}]},
        status=422,
    )
    client = make_client("openai_compatible", session, fake_server.url)
    with pytest.raises(BadRequestError) as caught:
        await client.complete(REQUEST, timeout=5)
    assert caught.value.caller_input is True
    assert caught.value.status == 422


async def test_a_404_for_a_wrong_path_says_not_found_so_the_base_url_gets_checked(
    fake_server: FakeServer, session: aiohttp.ClientSession
) -> None:
    fake_server.reply({"detail": "Not Found"}, status=404)
    client = make_client("openai_compatible", session, fake_server.url)
    with pytest.raises(BadRequestError) as caught:
        await client.complete(REQUEST, timeout=5)
    assert "not found (unknown model or endpoint)" in str(caught.value)
    assert caught.value.caller_input is False
