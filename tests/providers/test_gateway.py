"""Gateway detection at setup (issue 19 §3): LiteLLM and OpenRouter as their APIs answer, cloud model names.

The LiteLLM bodies are the ones a real LiteLLM 1.110.2 proxy gave (tests/gateway runs one); the
OpenRouter body follows its documented `GET /api/v1/models` (`pricing.prompt`/`completion`, USD per
token, as strings; "-1" for a router whose price varies).
"""

from __future__ import annotations

import json
import socket

from aiohttp import ClientSession, TCPConnector, web
from aiohttp.abc import AbstractResolver, ResolveResult
import pytest

from custom_components.aicleaner.providers.gateway import (
    CLOUD_MODELS,
    LITELLM,
    OPENROUTER,
    GatewayFinding,
    async_probe_gateway,
    is_cloud_model,
    is_key_refusal,
)
from custom_components.aicleaner.router.errors import AuthError
from custom_components.aicleaner.router.models import ModelPrice

from .conftest import KEY, Captured, FakeServer
from .helpers import make_client

LITELLM_MODEL_INFO = {
    "data": [
        {
            "model_name": "gpt-4o-mini",
            "litellm_params": {
                "api_base": "http://127.0.0.1:8931/openai/v1",
                "model": "openai/gpt-4o-mini",
            },
            "model_info": {
                "id": "79a7c87be3d5150c10b2725d99846cb66b713f76fa04809e22425c51aa86cdf0",
                "db_model": False,
                "key": "gpt-4o-mini",
                "max_input_tokens": 128000,
                "input_cost_per_token": 1.5e-7,
                "output_cost_per_token": 6e-7,
                "mode": "chat",
            },
        },
        {
            # Half a price is no price: the missing half could be anything.
            "model_name": "input-only",
            "model_info": {"input_cost_per_token": 1e-6, "output_cost_per_token": None},
        },
        {
            "model_name": "output-only",
            "model_info": {"input_cost_per_token": None, "output_cost_per_token": 2e-6},
        },
        {
            # A model with no price in LiteLLM's map: not published, never taken as free.
            "model_name": "house-model",
            "litellm_params": {"model": "openai/house-model"},
            "model_info": {"input_cost_per_token": None, "output_cost_per_token": 0},
        },
    ]
}
LITELLM_NO_DB = {
    "error": {
        "message": "No connected db.",
        "type": "no_db_connection",
        "param": None,
        "code": "400",
    }
}
OPENROUTER_MODELS = {
    "data": [
        {
            "id": "anthropic/claude-3.5-haiku",
            "name": "Anthropic: Claude 3.5 Haiku",
            "pricing": {"prompt": "0.0000008", "completion": "0.000004", "image": "0"},
        },
        {"id": "openrouter/auto", "pricing": {"prompt": "-1", "completion": "-1"}},
        {
            # A per-image fee that a per-token price would leave out: not taken as published.
            "id": "openai/gpt-4o",
            "pricing": {
                "prompt": "0.0000025",
                "completion": "0.00001",
                "image": "0.003613",
            },
        },
        {
            "id": "perplexity/sonar",
            "pricing": {
                "prompt": "0.000001",
                "completion": "0.000001",
                "request": "0.005",
            },
        },
    ]
}


@pytest.mark.parametrize(
    ("model", "cloud"),
    [
        ("gpt-4o-mini", True),
        ("GPT-4.1", True),
        ("o3-mini", True),
        ("o1", True),
        ("chatgpt-4o-latest", True),
        ("claude-haiku-4-5", True),
        ("gemini-2.5-flash", True),
        ("openai/gpt-4o", True),
        ("anthropic/claude-3.5-haiku", True),
        ("bedrock/anthropic.claude-3", True),
        ("openrouter/auto", True),
        # A gateway's own prefixes before the model's name.
        ("my-proxy/team-a/claude-3-haiku", True),
        ("my-proxy/team-a/llama3.2", False),
        # Open weights that people run at home.
        ("gpt-oss:20b", False),
        ("openai/gpt-oss-20b", True),
        ("llama3.2", False),
        ("llava:latest", False),
        ("meta-llama/Llama-3.1-8B-Instruct", False),
        ("qwen2.5-coder:7b", False),
        ("omni", False),
    ],
)
def test_cloud_model_names(model: str, cloud: bool) -> None:
    assert is_cloud_model(model) is cloud


def test_a_litellm_key_refusal_is_recognised_from_its_real_body() -> None:
    assert is_key_refusal(400, LITELLM_NO_DB)
    assert is_key_refusal(
        400,
        {"error": {"message": "Authentication Error, bad key", "type": "auth_error"}},
    )
    # A plain 400 about the request is not about the key.
    assert not is_key_refusal(
        400,
        {"error": {"message": "max_tokens too large", "type": "invalid_request_error"}},
    )
    # The message alone says it (older LiteLLM typed it otherwise).
    assert is_key_refusal(400, {"error": {"message": "No connected db."}})
    assert not is_key_refusal(400, {"error": "No connected db."})
    assert not is_key_refusal(404, LITELLM_NO_DB)
    assert not is_key_refusal(400, "No connected db.")


async def test_a_compatible_client_takes_litellms_no_db_400_as_a_rejected_key(
    fake_server: FakeServer, session: ClientSession
) -> None:
    fake_server.reply(LITELLM_NO_DB, status=400)
    client = make_client("openai_compatible", session, fake_server.url)
    with pytest.raises(AuthError):
        await client.health()


async def test_litellm_is_found_by_its_model_info_with_its_prices(
    fake_server: FakeServer, session: ClientSession
) -> None:
    fake_server.reply(LITELLM_MODEL_INFO)
    finding = await async_probe_gateway(
        session, f"{fake_server.url}/v1/", api_key=KEY, models=["house-model"]
    )
    assert finding.kind == LITELLM
    assert finding.is_gateway
    # Per token → per million tokens; the unpriced model is left out, not free.
    assert finding.prices == {"gpt-4o-mini": ModelPrice(0.15, 0.6)}
    first: Captured = fake_server.requests[0]
    assert first.path == "/v1/model/info"
    assert first.headers["Authorization"] == f"Bearer {KEY}"


async def test_openrouter_is_found_by_its_priced_model_list(
    fake_server: FakeServer, session: ClientSession
) -> None:
    async def respond(request: web.Request) -> web.Response:
        if request.path.endswith("/model/info"):
            return web.json_response({"error": {"message": "Not Found"}}, status=404)
        return web.json_response(OPENROUTER_MODELS)

    fake_server.responder = respond
    finding = await async_probe_gateway(
        session, f"{fake_server.url}/api/v1", api_key=KEY
    )
    assert finding.kind == OPENROUTER
    assert finding.prices == {"anthropic/claude-3.5-haiku": ModelPrice(0.8, 4.0)}
    assert [r.path for r in fake_server.requests] == [
        "/api/v1/model/info",
        "/api/v1/models",
    ]


async def test_a_server_listing_cloud_models_is_a_gateway_and_one_with_local_models_is_not(
    fake_server: FakeServer, session: ClientSession
) -> None:
    # A plain OpenAI-style list, no prices: LocalAI, vLLM, or a gateway without LiteLLM's API.
    fake_server.reply({"data": [{"id": "gpt-4o-mini"}]}, status=200)
    finding = await async_probe_gateway(
        session, fake_server.url, api_key=None, models=["gpt-4o-mini", "llama3.2"]
    )
    assert finding == GatewayFinding(CLOUD_MODELS)
    finding = await async_probe_gateway(
        session, fake_server.url, api_key=None, models=["llama3.2", "gpt-oss:20b"]
    )
    assert finding == GatewayFinding()
    assert not finding.is_gateway


async def test_a_probe_that_fails_finds_nothing_and_never_raises(
    fake_server: FakeServer, session: ClientSession
) -> None:
    fake_server.reply(text="<html>busy</html>", status=200, content_type="text/html")
    assert await async_probe_gateway(session, fake_server.url, api_key=None) == (
        GatewayFinding()
    )
    gone = fake_server.url
    await fake_server.server.close()
    assert await async_probe_gateway(
        session, gone, api_key=None, models=["claude-3"]
    ) == GatewayFinding(CLOUD_MODELS)


def _padded(body: dict[str, object], size: int) -> bytes:
    """`body` as JSON of exactly `size` bytes, padded inside a string: cut short, it is no JSON."""
    bare = json.dumps({**body, "pad": ""}).encode()
    return json.dumps({**body, "pad": "x" * (size - len(bare))}).encode()


async def test_a_probe_reads_a_whole_answer_of_up_to_8_mib_and_none_longer(
    fake_server: FakeServer, session: ClientSession
) -> None:
    limit = 8 * 1024 * 1024
    for size, found in ((limit, LITELLM), (limit + 1, None)):
        payload = _padded(LITELLM_MODEL_INFO, size)
        assert len(payload) == size

        async def respond(
            request: web.Request, payload: bytes = payload
        ) -> web.Response:
            return web.Response(body=payload, content_type="application/json")

        fake_server.responder = respond
        finding = await async_probe_gateway(session, fake_server.url, api_key=None)
        assert finding.kind == found, size


@pytest.mark.parametrize(
    "value", [True, False, None, [1e-6], {"usd": 1e-6}, "n/a", "-1", 0]
)
async def test_a_price_that_is_no_positive_number_is_not_published(
    fake_server: FakeServer, session: ClientSession, value: object
) -> None:
    fake_server.reply(
        {
            "data": [
                {
                    "model_name": "m",
                    "model_info": {
                        "input_cost_per_token": value,
                        "output_cost_per_token": 1e-6,
                    },
                }
            ]
        }
    )
    finding = await async_probe_gateway(session, fake_server.url, api_key=None)
    assert finding == GatewayFinding(LITELLM)


class _Resolver(AbstractResolver):
    """Resolve every name to 127.0.0.1: OpenRouter's host names reach the fake server."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(
                hostname=host,
                host="127.0.0.1",
                port=port,
                family=socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        """Nothing to release."""


@pytest.mark.parametrize("host", ["openrouter.ai", "eu.openrouter.ai"])
async def test_openrouter_is_known_by_its_host_even_when_its_prices_cannot_be_read(
    fake_server: FakeServer, host: str
) -> None:
    fake_server.reply({"error": {"message": "Not Found"}}, status=404)
    port = fake_server.server.port
    async with ClientSession(connector=TCPConnector(resolver=_Resolver())) as session:
        finding = await async_probe_gateway(
            session, f"http://{host}:{port}/api/v1", api_key=KEY
        )
        other = await async_probe_gateway(
            session, f"http://notopenrouter.ai:{port}/api/v1", api_key=KEY
        )
    assert finding == GatewayFinding(OPENROUTER)
    assert other == GatewayFinding()
    assert fake_server.requests[0].headers["Host"].startswith(host)
