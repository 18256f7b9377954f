"""The Assist agent (conversation.py, agent_turn.py) against the provider simulator over real HTTP."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from homeassistant.components import conversation
from homeassistant.components.conversation import trace as conversation_trace
from homeassistant.const import CONF_API_KEY, CONF_LLM_HASS_API, STATE_OFF, STATE_ON
from homeassistant.core import Context, HomeAssistant, State
from homeassistant.helpers import device_registry as dr, entity_registry as er, llm
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    get_system_health_info,
    mock_restore_cache_with_extra_data,
)

from custom_components.aicleaner.agent_config import (
    CONF_AGENT_PROVIDERS,
    CONF_MAX_TOOL_ROUNDS,
    CONF_PROVIDER_ORDER,
    CONF_TTFT_TIMEOUT,
    SUBENTRY_CONVERSATION,
    AgentSettings,
)
from custom_components.aicleaner.agent_state import async_agent_state
from custom_components.aicleaner.const import (
    CONF_ADMIN_ONLY,
    CONF_BASE_URL,
    CONF_DAILY_BUDGET,
    CONF_MAX_RETRIES,
    CONF_MODEL,
    CONF_PRIORITY,
    DOMAIN,
)
from custom_components.aicleaner.credentials import async_get_vault
from custom_components.aicleaner.diagnostics import async_get_config_entry_diagnostics
from tests.simulator import Fault, SimulatorServer
from tests.simulator.tools import ScriptedCall

KITCHEN = "light.kitchen_lights"
# HA names each tool by the integration that gives it (the Assist API since 2026.10).
TURN_ON = ScriptedCall("intent__HassTurnOn", {"name": "Kitchen Lights"})
# (subentry type, title, model); every model here calls tools.
PROVIDERS = {
    "openai": ("OpenAI", "gpt-4o-mini"),
    "anthropic": ("Anthropic", "claude-haiku-4-5"),
    "gemini": ("Gemini", "gemini-2.5-flash"),
    "ollama": ("Ollama", "llama3.2"),
}
SECRET_KEYS = {
    "openai": "sk-conv-openai-secret",
    "anthropic": "sk-ant-conv-secret",
    "gemini": "gemini-conv-secret",
}


@pytest.fixture
async def home(hass: HomeAssistant) -> None:
    """HA with Assist and the demo lights (Kitchen Lights among them), all off."""
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    assert await async_setup_component(hass, "intent", {})
    assert await async_setup_component(hass, "light", {"light": {"platform": "demo"}})
    await hass.async_block_till_done()
    await hass.services.async_call(
        "light", "turn_off", {"entity_id": "all"}, blocking=True
    )
    assert hass.states.get(KITCHEN).state == STATE_OFF


async def _entry(
    hass: HomeAssistant,
    simulator: SimulatorServer,
    kinds: tuple[str, ...],
    *,
    default_tpm: bool = False,
    **agent: Any,
) -> MockConfigEntry:
    """A loaded entry with `kinds` as providers (in that priority order) and one agent.

    The providers have no tokens-per-minute limit unless `default_tpm`: then they have the default.
    """
    vault = await async_get_vault(hass)
    subentries: list[dict[str, Any]] = []
    for priority, kind in enumerate(kinds, start=1):
        title, model = PROVIDERS[kind]
        data: dict[str, Any] = {
            CONF_BASE_URL: simulator.provider_url(kind),
            CONF_MODEL: model,
            CONF_PRIORITY: priority,
            CONF_MAX_RETRIES: 0,
            # A stall fails over fast in a test.
            "ttft_timeout": 0.5,
            # A round with Assist's tools is bounded at one token per byte, ~13,000 tokens: the
            # default 10,000 tokens per minute would let only one round a minute through.
            "rate_limit_tpm": None,
        }
        if default_tpm:
            del data["rate_limit_tpm"]
        if kind in SECRET_KEYS:
            data[CONF_API_KEY] = vault.encrypt(SECRET_KEYS[kind])
        subentries.append(
            {"subentry_type": kind, "title": title, "unique_id": None, "data": data}
        )
    subentries.append(
        {
            "subentry_type": SUBENTRY_CONVERSATION,
            "title": "House",
            "unique_id": None,
            "data": {
                CONF_LLM_HASS_API: [llm.LLM_API_ASSIST],
                CONF_PROVIDER_ORDER: "router",
                **agent,
            },
        }
    )
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="AICleaner",
        minor_version=2,
        options={"selection_strategy": "priority"},
        subentries_data=subentries,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    # Only the model calls the tests make are counted, not the setup's health checks.
    simulator.sim.reset_requests()
    return entry


def _calls(simulator: SimulatorServer, kind: str) -> int:
    """Model calls (not model lists) the provider received."""
    return sum(1 for r in simulator.sim.requests[kind] if r.endpoint == "generate")


def _agent_id(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    agent = next(
        key for key, s in entry.subentries.items() if s.subentry_type == "conversation"
    )
    entity_id = er.async_get(hass).async_get_entity_id("conversation", DOMAIN, agent)
    assert entity_id is not None
    return entity_id


async def _say(
    hass: HomeAssistant, entry: MockConfigEntry, text: str
) -> conversation.ConversationResult:
    return await conversation.async_converse(
        hass, text, None, Context(), language="en", agent_id=_agent_id(hass, entry)
    )


def _speech(result: conversation.ConversationResult) -> str:
    return result.response.speech["plain"]["speech"]


@pytest.mark.usefixtures("home")
async def test_a_tool_call_turns_on_the_kitchen_light(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _entry(hass, simulator, ("openai",))
    simulator.sim.set_tool_calls("openai", TURN_ON)
    simulator.sim.set_reply("openai", "The kitchen lights are on.")

    result = await _say(hass, entry, "turn on the kitchen lights")

    assert hass.states.get(KITCHEN).state == STATE_ON
    assert _speech(result) == "The kitchen lights are on."
    # Two model calls: the tool call, then the answer with the tool's result.
    assert _calls(simulator, "openai") == 2
    state = hass.states.get(_agent_id(hass, entry))
    assert state.attributes["supported_features"] == (
        conversation.ConversationEntityFeature.CONTROL
    )


@pytest.mark.usefixtures("home")
@pytest.mark.parametrize(
    "fault",
    [Fault(kind="rate_limit", retry_after=30), Fault(kind="hang")],
    ids=["429", "stalled-first-token"],
)
async def test_a_failing_first_provider_is_passed_over_before_anything_is_spoken(
    hass: HomeAssistant, simulator: SimulatorServer, fault: Fault
) -> None:
    entry = await _entry(hass, simulator, ("openai", "anthropic"))
    simulator.sim.set_fault("openai", fault)
    simulator.sim.set_tool_calls("anthropic", TURN_ON)
    simulator.sim.set_reply("anthropic", "Done from Anthropic.")

    result = await _say(hass, entry, "turn on the kitchen lights")

    assert _speech(result) == "Done from Anthropic."
    assert hass.states.get(KITCHEN).state == STATE_ON
    assert _calls(simulator, "openai") >= 1


@pytest.mark.usefixtures("home")
async def test_the_default_rate_limit_holds_two_turns_on_the_first_provider(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    # Each round with Assist's tools is counted at one token per byte; the design's default of
    # 10,000 tokens a minute sent every second round to the next provider.
    entry = await _entry(hass, simulator, ("openai", "anthropic"), default_tpm=True)
    for kind in ("openai", "anthropic"):
        simulator.sim.set_tool_calls(kind, TURN_ON)
        simulator.sim.set_reply(kind, f"Answered by {kind}.")

    for _ in range(2):
        result = await _say(hass, entry, "turn on the kitchen lights")
        assert _speech(result) == "Answered by openai."

    assert _calls(simulator, "openai") == 4
    assert _calls(simulator, "anthropic") == 0


PAIRS = [(a, b) for a in PROVIDERS for b in PROVIDERS if a != b]


@pytest.mark.usefixtures("home")
@pytest.mark.parametrize(("first", "second"), PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
async def test_a_second_round_fails_over_with_the_history_converted(
    hass: HomeAssistant, simulator: SimulatorServer, first: str, second: str
) -> None:
    entry = await _entry(hass, simulator, (first, second))
    for kind in (first, second):
        simulator.sim.set_tool_calls(kind, TURN_ON)
    simulator.sim.set_reply(second, f"Answered by {second}.")
    # The first provider answers round 1 (the tool call), then fails: round 2 goes to the second.
    result_task = asyncio.ensure_future(_say(hass, entry, "turn on the kitchen lights"))
    while _calls(simulator, first) < 1:  # a health check's model list does not count
        await simulator.sim.wait_for_requests(
            first, simulator.sim.request_count(first) + 1
        )
    simulator.sim.set_fault(first, Fault(kind="status", status=503))
    result = await result_task

    assert _speech(result) == f"Answered by {second}."
    assert hass.states.get(KITCHEN).state == STATE_ON
    # Round 1 on the first provider, round 2 tried there (503) before it went to the second.
    assert _calls(simulator, first) == 2
    assert _calls(simulator, second) == 1
    # The second provider got the whole history: the user's words, the call and its result.
    body = simulator.sim.last_request(second).body.decode()
    assert "turn on the kitchen lights" in body
    assert "HassTurnOn" in body


def _agent_state(entry: MockConfigEntry, hass: HomeAssistant) -> Any:
    agent = next(
        s for s in entry.subentries.values() if s.subentry_type == "conversation"
    )
    limit = AgentSettings.from_data(agent.data).daily_budget
    return async_agent_state(hass, agent.subentry_id, limit)


@pytest.mark.usefixtures("home")
async def test_the_round_limit_holds_and_is_said(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _entry(hass, simulator, ("openai",), **{CONF_MAX_TOOL_ROUNDS: 2})
    # The model would go on calling tools for five rounds.
    simulator.sim.set_tool_calls("openai", *([TURN_ON] * 5))

    result = await _say(hass, entry, "turn on the kitchen lights")

    assert _calls(simulator, "openai") == 2
    assert _speech(result) == ("I stopped after 2 rounds of actions without finishing.")


@pytest.mark.usefixtures("home")
async def test_when_every_provider_fails_the_user_hears_why(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _entry(hass, simulator, ("openai", "ollama"))
    simulator.sim.set_fault("openai", Fault(kind="rate_limit", retry_after=30))
    simulator.sim.set_fault("ollama", Fault(kind="reset"))

    result = await _say(hass, entry, "turn on the kitchen lights")

    assert _speech(result) == (
        "None of your AI providers answered: OpenAI is rate-limited,"
        " Ollama cannot be reached."
    )
    assert hass.states.get(KITCHEN).state == STATE_OFF


@pytest.mark.usefixtures("home")
async def test_a_spent_agent_budget_is_said_when_no_free_provider_can_answer(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    # Far less than one call on OpenAI can cost.
    entry = await _entry(hass, simulator, ("openai",), **{CONF_DAILY_BUDGET: 0.0001})

    result = await _say(hass, entry, "turn on the kitchen lights")

    assert _speech(result) == (
        "This assistant has spent its daily budget of 0.0001 USD,"
        " and no free provider can answer."
    )
    assert _calls(simulator, "openai") == 0


@pytest.mark.usefixtures("home")
async def test_a_free_local_provider_answers_once_the_agent_budget_is_spent(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _entry(
        hass, simulator, ("openai", "ollama"), **{CONF_DAILY_BUDGET: 0.0001}
    )
    simulator.sim.set_tool_calls("ollama", TURN_ON)
    simulator.sim.set_reply("ollama", "Ollama turned them on.")

    result = await _say(hass, entry, "turn on the kitchen lights")

    # OpenAI comes first by priority, but the agent may not pay for it.
    assert _speech(result) == "Ollama turned them on."
    assert hass.states.get(KITCHEN).state == STATE_ON
    assert _calls(simulator, "openai") == 0
    assert _agent_state(entry, hass).last_provider == "Ollama"
    assert _agent_state(entry, hass).budget.spent_today() == 0


@pytest.mark.usefixtures("home")
async def test_the_agent_books_what_the_router_booked_for_a_paid_turn(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _entry(hass, simulator, ("openai",))
    simulator.sim.set_tool_calls("openai", TURN_ON)
    events = async_capture_events(hass, "aicleaner_analysis_complete")

    await _say(hass, entry, "turn on the kitchen lights")

    # Each model call is in the logbook, as any request is: who answered, at what cost.
    await hass.async_block_till_done()
    assert [(e.data["provider"], e.data["success"]) for e in events] == [
        ("OpenAI", True),
        ("OpenAI", True),
    ]
    openai = next(k for k, s in entry.subentries.items() if s.subentry_type == "openai")
    booked = entry.runtime_data.router.get_cost_summary()
    spent = _agent_state(entry, hass).budget.spent_today()
    assert spent > 0
    # Both rounds, as the ledger (and so the cost sensors) counts them.
    assert booked["provider_costs"][openai]["requests"] == 2
    assert booked["provider_costs"][openai]["total_cost"] == pytest.approx(spent)
    # The agent's device shows its own spend and the provider that last answered it.
    await hass.async_block_till_done()
    assert float(hass.states.get("sensor.house_cost_today").state) == pytest.approx(
        spent, abs=1e-6
    )
    assert hass.states.get("sensor.house_last_provider").state == "OpenAI"


@pytest.mark.usefixtures("home")
async def test_a_cancelled_turn_books_the_reservation(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _entry(hass, simulator, ("openai",))
    # The provider never sends a byte; the user gives up before the deadline.
    simulator.sim.set_fault("openai", Fault(kind="hang"))
    hass.config_entries.async_update_subentry(
        entry,
        next(s for s in entry.subentries.values() if s.subentry_type == "openai"),
        data={
            **next(
                s for s in entry.subentries.values() if s.subentry_type == "openai"
            ).data,
            "ttft_timeout": 60,
        },
    )
    await hass.async_block_till_done()
    simulator.sim.reset_requests()
    task = asyncio.ensure_future(_say(hass, entry, "turn on the kitchen lights"))
    await simulator.sim.wait_for_requests("openai", 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    openai = next(k for k, s in entry.subentries.items() if s.subentry_type == "openai")
    summary = entry.runtime_data.router.get_cost_summary()
    router_booked = summary["provider_costs"][openai]["total_cost"]
    spent = _agent_state(entry, hass).budget.spent_today()
    assert router_booked > 0
    # The agent holds the dearest bound a call could cost, never less than the router booked.
    assert spent >= router_booked
    assert _agent_state(entry, hass).budget.reserved == 0


@pytest.mark.usefixtures("home")
async def test_no_key_or_prompt_in_logs_and_token_stats_in_the_trace(
    hass: HomeAssistant,
    simulator: SimulatorServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    entry = await _entry(hass, simulator, ("openai", "anthropic"))
    simulator.sim.set_fault("openai", Fault(kind="status", status=500))
    simulator.sim.set_tool_calls("anthropic", TURN_ON)
    words = "turn on the kitchen lights, my secret word is plover"
    caplog.set_level(logging.DEBUG)

    await _say(hass, entry, words)

    # The traces of earlier tests are kept too: this turn's is the last.
    traces = [conversation_trace.async_get_traces()[-1].as_dict()]
    shown = json.dumps(traces, default=str) + caplog.text
    for key in SECRET_KEYS.values():
        assert key not in shown
    # The user's words stay out of every aicleaner log line above DEBUG.
    assert not [
        r
        for r in caplog.records
        if r.name.startswith("custom_components.aicleaner")
        and r.levelno > logging.DEBUG
        and "plover" in r.getMessage()
    ]
    stats = [
        event["data"]["stats"]
        for trace in traces
        for event in trace["events"]
        if event["event_type"] == "agent_detail" and "stats" in event["data"]
    ]
    # One entry per model call, with the tokens the provider reported.
    assert len(stats) == 2
    assert all(s["input_tokens"] > 0 and s["output_tokens"] > 0 for s in stats)
    assert {s["provider"] for s in stats} == {"Anthropic"}


@pytest.mark.usefixtures("home")
async def test_diagnostics_and_system_health_cover_the_agent(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _entry(hass, simulator, ("openai",))
    simulator.sim.set_tool_calls("openai", TURN_ON)
    await _say(hass, entry, "turn on the kitchen lights")
    spent = _agent_state(entry, hass).budget.spent_today()

    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    (agent,) = diagnostics["assist_agents"].values()
    assert agent == {
        "title": "House",
        "daily_budget": 1.0,
        "spent_today": spent,
        "reserved": 0.0,
        "last_provider": "OpenAI",
    }
    assert await async_setup_component(hass, "system_health", {})
    info = await get_system_health_info(hass, DOMAIN)
    assert info["assist_agents"] == 1


@pytest.mark.usefixtures("home")
async def test_a_reconfigured_agent_without_an_llm_api_no_longer_controls_the_home(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _entry(hass, simulator, ("openai",))
    agent_id = _agent_id(hass, entry)
    agent = next(
        s for s in entry.subentries.values() if s.subentry_type == "conversation"
    )
    assert hass.states.get(agent_id).attributes["supported_features"] == 1

    hass.config_entries.async_update_subentry(
        entry, agent, data={**agent.data, CONF_LLM_HASS_API: []}
    )
    await hass.async_block_till_done()
    assert hass.states.get(agent_id).attributes["supported_features"] == 0

    hass.config_entries.async_update_subentry(
        entry, entry.subentries[agent.subentry_id], title="Cellar"
    )
    await hass.async_block_till_done()
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, agent.subentry_id), entry.entry_id
    )
    assert device is not None
    assert device.name == "Cellar"
    # Without tools, the model is offered none, and nothing is switched on.
    simulator.sim.set_tool_calls("openai", TURN_ON)
    await _say(hass, entry, "turn on the kitchen lights")
    assert "tools" not in simulator.sim.last_request("openai").json
    assert hass.states.get(KITCHEN).state == STATE_OFF


@pytest.mark.usefixtures("home")
async def test_the_agent_says_so_when_no_provider_begins_within_its_deadline(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _entry(hass, simulator, ("openai",), **{CONF_TTFT_TIMEOUT: 0.5})
    openai = next(s for s in entry.subentries.values() if s.subentry_type == "openai")
    # The provider's own deadline is far off: only the agent's ends the wait.
    hass.config_entries.async_update_subentry(
        entry, openai, data={**openai.data, "ttft_timeout": 60}
    )
    await hass.async_block_till_done()
    simulator.sim.set_fault("openai", Fault(kind="hang"))

    result = await _say(hass, entry, "turn on the kitchen lights")

    assert _speech(result) == "No AI provider began to answer within 0.5 seconds."
    summary = entry.runtime_data.router.get_cost_summary()
    # The cancelled call is booked at its reservation, by the router and by the agent.
    booked = summary["provider_costs"][openai.subentry_id]["total_cost"]
    assert booked > 0
    assert _agent_state(entry, hass).budget.spent_today() >= booked


@pytest.mark.usefixtures("home")
async def test_a_stream_cut_after_its_first_words_is_said_and_never_switched(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _entry(hass, simulator, ("openai", "anthropic"))
    simulator.sim.set_reply(
        "openai", "The kitchen lights are coming on now, one by one."
    )
    simulator.sim.set_fault("openai", Fault(kind="stream_cut", after_chunks=4))

    result = await _say(hass, entry, "good evening")

    assert _speech(result) == "The answer from OpenAI broke off. Please ask again."
    # Words had been spoken: the answer is not silently switched to another provider.
    assert _calls(simulator, "anthropic") == 0


@pytest.mark.usefixtures("home")
async def test_the_user_hears_what_happened_in_their_language(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _entry(hass, simulator, ("openai", "ollama"))
    simulator.sim.set_fault("openai", Fault(kind="rate_limit", retry_after=30))
    simulator.sim.set_fault("ollama", Fault(kind="reset"))

    result = await conversation.async_converse(
        hass,
        "schalte das Küchenlicht ein",
        None,
        Context(),
        language="de",
        agent_id=_agent_id(hass, entry),
    )

    assert _speech(result) == (
        "Keiner deiner KI-Anbieter hat geantwortet: OpenAI ist ausgelastet"
        " (Ratenlimit), Ollama ist nicht erreichbar."
    )


@pytest.mark.usefixtures("home")
async def test_local_first_asks_the_local_provider_before_the_cloud_and_falls_back(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    # OpenAI has the router's first priority; the agent puts the local Ollama first all the same.
    entry = await _entry(
        hass, simulator, ("openai", "ollama"), **{CONF_PROVIDER_ORDER: "local_first"}
    )
    simulator.sim.set_reply("ollama", "From the house.")
    simulator.sim.set_reply("openai", "From the cloud.")

    assert _speech(await _say(hass, entry, "hello")) == "From the house."
    assert _calls(simulator, "openai") == 0

    # The local model is down: the cloud answers.
    simulator.sim.set_fault("ollama", Fault(kind="reset"))
    assert _speech(await _say(hass, entry, "hello again")) == "From the cloud."


@pytest.mark.usefixtures("home")
async def test_an_agent_uses_only_the_providers_it_may(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    entry = await _entry(hass, simulator, ("openai", "anthropic"))
    anthropic = next(
        key for key, s in entry.subentries.items() if s.subentry_type == "anthropic"
    )
    agent = next(
        s for s in entry.subentries.values() if s.subentry_type == "conversation"
    )
    hass.config_entries.async_update_subentry(
        entry, agent, data={**agent.data, CONF_AGENT_PROVIDERS: [anthropic]}
    )
    await hass.async_block_till_done()
    simulator.sim.set_fault("anthropic", Fault(kind="rate_limit", retry_after=30))

    result = await _say(hass, entry, "hello")

    # OpenAI would answer, but this agent may not use it.
    assert _speech(result) == (
        "None of your AI providers answered: Anthropic is rate-limited."
    )
    assert _calls(simulator, "openai") == 0


@pytest.mark.usefixtures("home")
async def test_a_restart_gives_no_fresh_budget(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    # What the agent's cost sensor held before the restart, today.
    mock_restore_cache_with_extra_data(
        hass,
        [
            (
                State("sensor.house_cost_today", "0.5"),
                {"native_value": 0.5, "native_unit_of_measurement": "USD"},
            )
        ],
    )
    entry = await _entry(hass, simulator, ("openai",), **{CONF_DAILY_BUDGET: 0.5})

    result = await _say(hass, entry, "turn on the kitchen lights")

    assert _agent_state(entry, hass).budget.spent_today() == pytest.approx(0.5)
    assert _speech(result) == (
        "This assistant has spent its daily budget of 0.50 USD,"
        " and no free provider can answer."
    )
    assert _calls(simulator, "openai") == 0


@pytest.mark.usefixtures("home")
async def test_a_non_admin_user_never_reaches_an_admin_only_provider(
    hass: HomeAssistant, simulator: SimulatorServer, hass_read_only_user: Any
) -> None:
    entry = await _entry(hass, simulator, ("openai", "anthropic"))
    openai = next(s for s in entry.subentries.values() if s.subentry_type == "openai")
    hass.config_entries.async_update_subentry(
        entry, openai, data={**openai.data, CONF_ADMIN_ONLY: True}
    )
    await hass.async_block_till_done()
    simulator.sim.set_reply("anthropic", "Hello from Anthropic.")

    result = await conversation.async_converse(
        hass,
        "hello",
        None,
        Context(user_id=hass_read_only_user.id),
        language="en",
        agent_id=_agent_id(hass, entry),
    )

    assert _speech(result) == "Hello from Anthropic."
    assert _calls(simulator, "openai") == 0
