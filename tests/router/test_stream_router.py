"""Router-level rules of conversations and streams, with fake providers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import date

import pytest

from custom_components.aicleaner.router import ProviderSettings, RouterConfig
from custom_components.aicleaner.router.conversation import (
    ProviderDelta,
    StreamEnd,
    TextDelta,
    ToolCall,
    ToolDefinition,
    user,
)
from custom_components.aicleaner.router.errors import AllProvidersFailed
from custom_components.aicleaner.router.models import (
    AIRequest,
    Completion,
    ModelCapabilities,
    Usage,
)
from custom_components.aicleaner.router.streaming import (
    TTFT_CLOUD,
    TTFT_LOCAL,
    ttft_deadline,
)

from .conftest import UNLIMITED, RouterFactory
from .fakes import FakeProvider

TOOLS = (ToolDefinition("HassTurnOn"),)
CALL = ToolCall("call_1", "HassTurnOn", {"name": "kitchen"})


@dataclass(kw_only=True)
class ToolFake(FakeProvider):
    """A fake whose model may or may not call tools, and which streams its answer."""

    tools: bool = True
    streams: list[AIRequest] = field(default_factory=list)

    def capabilities(self, model: str | None = None) -> ModelCapabilities:
        return replace(super().capabilities(model), tools=self.tools)

    async def stream(
        self,
        request: AIRequest,
        *,
        timeout: float,
        day: date | None = None,
        idle: float | None = None,
    ) -> AsyncIterator[ProviderDelta]:
        self.streams.append(request)
        yield TextDelta("on")
        yield StreamEnd("fake-model", "stop", Usage(10, 2), 0.001, text="on")


def test_ttft_deadline_defaults_by_locality_and_obeys_the_setting(
    make_router: RouterFactory,
) -> None:
    cloud = FakeProvider("cloud")
    local = FakeProvider("local", is_local=True)
    tuned = FakeProvider("tuned")
    router = make_router(
        [cloud, local, tuned],
        settings={"tuned": replace(UNLIMITED, ttft_timeout=2.5)},
    )
    assert ttft_deadline(router._slots["cloud"]) == TTFT_CLOUD
    assert ttft_deadline(router._slots["local"]) == TTFT_LOCAL
    assert ttft_deadline(router._slots["tuned"]) == 2.5


def test_ttft_timeout_comes_from_the_options() -> None:
    assert ProviderSettings.from_mapping({"ttft_timeout": 4}).ttft_timeout == 4
    assert ProviderSettings().ttft_timeout is None


async def test_tools_skip_a_model_that_cannot_call_them(
    make_router: RouterFactory,
) -> None:
    blind = ToolFake(name="blind", tools=False)
    able = ToolFake(
        name="able",
        script=[
            Completion("", "m", Usage(5, 5), "tool_calls", 0.0, tool_calls=(CALL,))
        ],
    )
    router = make_router([blind, able])
    request = AIRequest(
        messages=(user("on"),), tools=TOOLS, provider_order=("blind", "able")
    )
    response = await router.process(request)
    assert response.provider == "able"
    assert response.tool_calls == (CALL,)
    assert blind.calls == []


async def test_no_tool_model_left_says_why(make_router: RouterFactory) -> None:
    router = make_router([ToolFake(name="blind", tools=False)])
    with pytest.raises(AllProvidersFailed, match="no tool calling"):
        await router.process(AIRequest(messages=(user("on"),), tools=TOOLS))


async def test_a_conversation_is_never_answered_from_the_cache(
    make_router: RouterFactory,
) -> None:
    provider = ToolFake(name="p")
    router = make_router([provider], RouterConfig(cache_ttl=3600))
    request = AIRequest(messages=(user("Turn on the lights"),), tools=TOOLS)
    await router.process(request)
    await router.process(replace(request))
    assert len(provider.calls) == 2
    prompt = AIRequest(prompt="Same question")
    await router.process(prompt)
    assert (await router.process(replace(prompt))).cached


async def test_a_stream_reserves_and_books_like_a_request(
    make_router: RouterFactory,
) -> None:
    provider = ToolFake(name="p")
    router = make_router([provider])
    deltas = [delta async for delta in router.stream(AIRequest(prompt="lights"))]
    response = deltas[-1].response
    assert response.cost == pytest.approx(0.001)
    snapshot = router.provider_stats("p")
    assert snapshot.cost_today == pytest.approx(0.001)
    assert snapshot.requests_today == 1
    assert snapshot.in_flight == 0
