"""What the clients book for an answer, over real HTTP against the simulator.

The model that answered (a gateway's fallback, Google's redirect of a retired model) is priced as
well as the one asked for, the day comes from the router, half-reported usage is no usage, and a
gateway's own billed figure (LiteLLM's header, OpenRouter's `usage.cost`) is booked as it is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
import socket
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
import pytest

from custom_components.aicleaner.providers import BaseProvider, create_provider
from custom_components.aicleaner.providers.gateway_cost import (
    is_openrouter,
    litellm_cost,
    openrouter_cost,
)
from custom_components.aicleaner.providers.pricing import (
    compatible_quote,
    gemini_quote,
    openai_quote,
)
from custom_components.aicleaner.router.models import (
    AIRequest,
    Completion,
    CostSource,
    ModelPrice,
)
from tests.simulator import SimulatorServer
from tests.simulator.gateway import Gateway

KEY = "sk-sim-valid-key"
DAY = date(2026, 12, 7)
REQUEST = AIRequest(prompt="Describe the kitchen.", max_tokens=200)


def _client(
    kind: str,
    simulator: SimulatorServer,
    session: aiohttp.ClientSession,
    model: str,
    **settings: Any,
) -> BaseProvider:
    protocol = {"openai_compatible": "compatible"}.get(kind, kind)
    settings.setdefault("base_url", simulator.provider_url(protocol))
    return create_provider(
        kind, session, name=f"sim-{kind}", model=model, api_key=KEY, **settings
    )


def _cost(price: ModelPrice, completion: Completion) -> float:
    usage = completion.usage
    return price.cost(usage.input_tokens, usage.output_tokens)


async def test_a_gateway_fallback_to_a_dearer_model_is_priced_at_the_model_that_answered(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    openai = simulator.sim.protocols["openai"]
    openai.models = {**openai.models, "gpt-4o-mini": "gpt-4o-2024-08-06"}  # type: ignore[attr-defined]
    client = _client("openai", simulator, session, "gpt-4o-mini")
    completion = await client.complete(REQUEST, timeout=5, day=DAY)
    assert completion.model == "gpt-4o-2024-08-06"
    gpt_4o = openai_quote("gpt-4o", DAY).price
    assert completion.cost == pytest.approx(_cost(gpt_4o, completion))
    assert completion.cost > _cost(openai_quote("gpt-4o-mini", DAY).price, completion)
    assert completion.cost_source is CostSource.PRICE_TABLE


async def test_an_answering_model_the_table_does_not_list_is_priced_as_an_unknown_model(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    openai = simulator.sim.protocols["openai"]
    openai.models = {**openai.models, "gpt-4o-mini": "gpt-9-experimental"}  # type: ignore[attr-defined]
    client = _client("openai", simulator, session, "gpt-4o-mini")
    completion = await client.complete(REQUEST, timeout=5, day=DAY)
    unknown = openai_quote("gpt-9-experimental", DAY)
    assert not unknown.listed
    assert completion.cost == pytest.approx(_cost(unknown.price, completion))


async def test_a_snapshot_of_the_configured_model_keeps_the_users_price(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    # The API answers gpt-4o-mini as its dated snapshot: the same model, at the user's price.
    override = ModelPrice(0.01, 0.02)
    client = _client(
        "openai", simulator, session, "gpt-4o-mini", price_override=override
    )
    completion = await client.complete(REQUEST, timeout=5, day=DAY)
    assert completion.model == "gpt-4o-mini-2024-07-18"
    assert completion.cost == pytest.approx(_cost(override, completion))


async def test_gemini_redirected_from_a_cheaper_model_is_priced_at_the_model_that_answered(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    gemini = simulator.sim.protocols["gemini"]
    gemini.model_versions["gemini-2.5-flash-lite"] = "gemini-3.5-flash"  # type: ignore[attr-defined]
    client = _client("gemini", simulator, session, "gemini-2.5-flash-lite")
    completion = await client.complete(REQUEST, timeout=5, day=DAY)
    assert completion.model == "gemini-3.5-flash"
    assert completion.cost == pytest.approx(
        _cost(gemini_quote("gemini-3.5-flash", DAY).price, completion)
    )


async def test_the_answer_is_priced_on_the_day_given_not_the_process_date(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    # gemini-3.8-flash doubles in price on 2027-01-01 (a change counts from the day before).
    client = _client("gemini", simulator, session, "gemini-3.8-flash")
    before = await client.complete(REQUEST, timeout=5, day=date(2026, 12, 20))
    after = await client.complete(REQUEST, timeout=5, day=date(2027, 1, 2))
    assert before.cost == pytest.approx(_cost(ModelPrice(0.75, 3.75), before))
    assert after.cost == pytest.approx(_cost(ModelPrice(1.50, 7.50), after))


@pytest.mark.parametrize("missing", ["candidatesTokenCount", "promptTokenCount"])
async def test_gemini_usage_with_a_count_missing_is_not_reported(
    simulator: SimulatorServer, session: aiohttp.ClientSession, missing: str
) -> None:
    simulator.sim.protocols["gemini"].omit_usage = frozenset({missing})  # type: ignore[attr-defined]
    client = _client("gemini", simulator, session, "gemini-2.5-flash")
    completion = await client.complete(REQUEST, timeout=5, day=DAY)
    assert completion.text
    assert completion.usage_reported is False
    assert completion.cost == 0.0  # "unknown": the router books the reservation


async def test_gemini_thinking_tokens_are_billed_as_output(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    # The simulator's 2.5 Flash thinks by default, and reports it in thoughtsTokenCount.
    client = _client("gemini", simulator, session, "gemini-2.5-flash")
    with_thoughts = await client.complete(REQUEST, timeout=5, day=DAY)
    simulator.sim.protocols["gemini"].omit_usage = frozenset({"thoughtsTokenCount"})  # type: ignore[attr-defined]
    answer_only = await client.complete(REQUEST, timeout=5, day=DAY)
    assert answer_only.usage_reported
    assert with_thoughts.usage.output_tokens > answer_only.usage.output_tokens


async def test_a_litellm_proxy_cost_header_is_booked_as_the_gateway_billed_it(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    gateway = Gateway("litellm", default_rates=(0.5, 1.5))
    simulator.sim.protocols["compatible"].gateway = gateway  # type: ignore[attr-defined]
    client = _client("openai_compatible", simulator, session, "gpt-4o-mini")
    completion = await client.complete(REQUEST, timeout=5, day=DAY)
    assert gateway.billed
    assert completion.cost == gateway.billed[-1]
    assert completion.cost_source is CostSource.GATEWAY
    # Not what the price table would say.
    assert completion.cost != pytest.approx(
        _cost(compatible_quote("gpt-4o-mini", DAY).price, completion)
    )


async def test_a_litellm_zero_for_a_model_the_table_prices_is_not_taken_for_free(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    # LiteLLM reports 0 for a model missing from its cost map; gpt-4o-mini is not free.
    simulator.sim.protocols["compatible"].gateway = Gateway(  # type: ignore[attr-defined]
        "litellm", default_rates=(0.0, 0.0)
    )
    client = _client("openai_compatible", simulator, session, "gpt-4o-mini")
    completion = await client.complete(REQUEST, timeout=5, day=DAY)
    assert completion.cost_source is CostSource.PRICE_TABLE
    assert completion.cost == pytest.approx(
        _cost(compatible_quote("gpt-4o-mini", DAY).price, completion)
    )


async def test_a_litellm_zero_for_a_model_the_table_does_not_know_is_booked(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    # A model the gateway serves for free (a local one behind it), unknown to the price table.
    simulator.sim.protocols["compatible"].gateway = Gateway(  # type: ignore[attr-defined]
        "litellm", default_rates=(0.0, 0.0)
    )
    client = _client("openai_compatible", simulator, session, "llama-3.1-8b-instruct")
    completion = await client.complete(REQUEST, timeout=5, day=DAY)
    assert completion.cost_source is CostSource.GATEWAY
    assert completion.cost == 0.0


class _Resolver(AbstractResolver):
    """Resolves every host to loopback: openrouter.ai reaches the simulator, over real HTTP."""

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
        return None


@pytest.fixture
async def openrouter_session() -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(resolver=_Resolver())
    async with aiohttp.ClientSession(connector=connector) as client_session:
        yield client_session


async def test_openrouter_is_asked_for_its_cost_and_the_cost_is_booked(
    simulator: SimulatorServer, openrouter_session: aiohttp.ClientSession
) -> None:
    gateway = Gateway("openrouter", default_rates=(0.5, 1.5))
    simulator.sim.protocols["compatible"].gateway = gateway  # type: ignore[attr-defined]
    base_url = f"http://openrouter.ai:{simulator.port}/compatible/v1"
    client = _client(
        "openai_compatible",
        simulator,
        openrouter_session,
        "gpt-4o-mini",
        base_url=base_url,
    )
    completion = await client.complete(REQUEST, timeout=5, day=DAY)
    sent = simulator.sim.last_request("compatible").json
    assert sent["usage"] == {"include": True}
    assert completion.cost == gateway.billed[-1]
    assert completion.cost_source is CostSource.GATEWAY


async def test_other_compatible_servers_are_not_sent_openrouters_usage_field(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    # The simulator, like OpenAI, refuses a field it does not know: the request must succeed.
    client = _client("openai_compatible", simulator, session, "gpt-4o-mini")
    completion = await client.complete(REQUEST, timeout=5, day=DAY)
    assert "usage" not in simulator.sim.last_request("compatible").json
    assert completion.cost_source is CostSource.PRICE_TABLE


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        ({"cost": 0.25}, 0.25),
        ({"cost": 0}, 0.0),
        # BYOK: OpenRouter's fee, and what the upstream billed the user's own key.
        (
            {
                "cost": 0.01,
                "is_byok": True,
                "cost_details": {"upstream_inference_cost": 0.2},
            },
            0.21,
        ),
        ({"cost": 0.01, "is_byok": True, "cost_details": {}}, None),
        ({"cost": -1}, None),
        ({"cost": "NaN"}, None),
        ({"cost": True}, None),
        ({}, None),
    ],
)
def test_openrouter_cost_reads_only_a_real_figure(
    usage: dict[str, Any], expected: float | None
) -> None:
    cost = openrouter_cost({"usage": usage})
    assert cost == (None if expected is None else pytest.approx(expected))


@pytest.mark.parametrize(
    ("header", "expected"),
    [("0.00042", 0.00042), ("0", 0.0), ("None", None), ("inf", None), ("-0.1", None)],
)
def test_litellm_cost_reads_only_a_real_figure(
    header: str, expected: float | None
) -> None:
    assert litellm_cost({"x-litellm-response-cost": header}) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://openrouter.ai/api/v1", True),
        ("https://eu.openrouter.ai/api/v1", True),
        ("https://notopenrouter.ai/v1", False),
        ("https://openrouter.ai.example.com/v1", False),
        ("http://127.0.0.1:4000", False),
        ("http://[::1", False),  # no URL at all
    ],
)
def test_openrouter_is_recognised_by_its_host(url: str, expected: bool) -> None:
    assert is_openrouter(url) is expected


async def test_a_gateway_set_over_the_admin_endpoint_bills_and_falls_back(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    async with session.post(
        f"{simulator.url}/_sim/gateway",
        json={
            "provider": "compatible",
            "kind": "litellm",
            "rates": {"gpt-4o": [2.5, 10.0]},
            "fallbacks": {"gpt-4o-mini": "gpt-4o"},
        },
    ) as response:
        assert response.status == 200
    client = _client("openai_compatible", simulator, session, "gpt-4o-mini")
    completion = await client.complete(REQUEST, timeout=5, day=DAY)
    assert completion.model == "gpt-4o"
    assert completion.cost_source is CostSource.GATEWAY
    assert completion.cost == pytest.approx(_cost(ModelPrice(2.5, 10.0), completion))
    async with session.post(
        f"{simulator.url}/_sim/gateway", json={"provider": "compatible", "kind": None}
    ) as response:
        assert response.status == 200
    plain = await client.complete(REQUEST, timeout=5, day=DAY)
    assert plain.cost_source is CostSource.PRICE_TABLE
    async with session.post(
        f"{simulator.url}/_sim/gateway", json={"provider": "gemini", "kind": "litellm"}
    ) as response:
        assert response.status == 400
