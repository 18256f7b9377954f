"""Answers asked for as JSON: each provider's own way of asking, parsing, and what does not parse."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from custom_components.aicleaner.router.errors import WrongFormatError
from custom_components.aicleaner.router.models import JSON_INSTRUCTION, AIRequest
from tests.simulator import SimulatorServer
from tests.simulator.validate import validate_request_body

from .conftest import FakeServer
from .helpers import KINDS, make_client, success_body
from .test_against_simulator import SIM_PROVIDER, client_for

ASK = AIRequest(prompt="List the rooms", system_prompt="Be brief.", json_output=True)


def system_text(kind: str, sent: dict[str, Any]) -> str:
    if kind == "anthropic":
        return str(sent["system"])
    if kind == "gemini":
        return str(sent["systemInstruction"]["parts"][0]["text"])
    return str(sent["messages"][0]["content"])


@pytest.mark.parametrize(
    ("kind", "native"),
    [
        ("openai", ("response_format", {"type": "json_object"})),
        ("openai_compatible", None),  # not every server takes response_format
        ("anthropic", None),  # the Messages API has no JSON mode
        ("gemini", ("generationConfig", "responseMimeType", "application/json")),
        ("ollama", ("format", "json")),
    ],
)
async def test_each_provider_asks_for_json_its_own_way_and_by_instruction(
    fake_server: FakeServer,
    session: aiohttp.ClientSession,
    kind: str,
    native: tuple[Any, ...] | None,
) -> None:
    fake_server.reply(success_body(kind, text='{"rooms": ["kitchen"]}'))
    client = make_client(kind, session, fake_server.url)
    completion = await client.complete(ASK, timeout=5)
    assert completion.data == {"rooms": ["kitchen"]}
    sent = fake_server.last.json
    assert system_text(kind, sent) == f"Be brief.\n\n{JSON_INSTRUCTION}"
    if native is None:
        assert "response_format" not in sent
    elif len(native) == 2:
        assert sent[native[0]] == native[1]
    else:
        assert sent[native[0]][native[1]] == native[2]


@pytest.mark.parametrize("kind", KINDS)
async def test_a_text_request_asks_for_no_json(
    fake_server: FakeServer, session: aiohttp.ClientSession, kind: str
) -> None:
    fake_server.reply(success_body(kind, text="plain words"))
    client = make_client(kind, session, fake_server.url)
    completion = await client.complete(AIRequest(prompt="hi"), timeout=5)
    assert completion.data is None
    sent = fake_server.last.json
    assert "JSON" not in str(sent)
    assert "response_format" not in sent
    assert "format" not in sent


@pytest.mark.parametrize(
    ("text", "data"),
    [
        ('```json\n{"a": 1}\n```', {"a": 1}),
        ("```\n[1, 2]\n```", [1, 2]),
        ('  {"a": "b"}  ', {"a": "b"}),
        ("42", 42),
    ],
)
async def test_json_in_a_code_fence_or_with_spaces_is_read(
    fake_server: FakeServer, session: aiohttp.ClientSession, text: str, data: Any
) -> None:
    fake_server.reply(success_body("anthropic", text=text))
    client = make_client("anthropic", session, fake_server.url)
    assert (await client.complete(ASK, timeout=5)).data == data


@pytest.mark.parametrize(
    "text", ["Sure! Here are the rooms: kitchen", '{"rooms": [', "```json\nnope\n```"]
)
async def test_an_answer_that_is_not_json_is_a_billed_wrong_format_that_fails_over(
    fake_server: FakeServer, session: aiohttp.ClientSession, text: str
) -> None:
    fake_server.reply(success_body("openai", text=text))
    client = make_client("openai", session, fake_server.url)
    with pytest.raises(WrongFormatError, match="not valid JSON") as caught:
        await client.complete(ASK, timeout=5)
    error = caught.value
    # Never the provider's health, not asked again (the same model answers the same way), billed.
    assert not error.counts_against_health
    assert (error.retry_same, error.failover, error.billed) == (False, True, True)


@pytest.mark.parametrize("kind", KINDS)
async def test_json_requests_are_accepted_by_each_api_and_answered_in_json(
    simulator: SimulatorServer, session: aiohttp.ClientSession, kind: str
) -> None:
    client = client_for(kind, simulator, session)
    completion = await client.complete(ASK, timeout=10)
    assert isinstance(completion.data, dict)
    assert completion.data["images"] == 0
    posted = [
        r for r in simulator.sim.requests[SIM_PROVIDER[kind]] if r.method == "POST"
    ]
    validate_request_body(SIM_PROVIDER[kind], posted[-1].json)
