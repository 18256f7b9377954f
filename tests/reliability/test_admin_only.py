"""An admin-only provider is out of reach of non-admin users, whatever field of a call they use.

Setup: "Private" (Ollama, admin-only, priority 1, local and free: the one every strategy, routing
rule, `local_only` and the cache would prefer) and "Shared" (OpenAI). Routing rules send the tag
`secret` and every request with an image to Private.

For each field of `aicleaner.analyze` (provider by title or by id, alone or first in a list,
`strategy` (all six), `local_only`, `model`, `tags` through a routing rule, `image_path` through
the image rule, the cache and in-flight coalescing), for `aicleaner.analyze_batch` items, for
failover (Shared failing, its breaker open, Shared disabled) and for the AI Task entity, a
non-admin caller is either refused with a translated error or served by Shared, and the
simulator proves that Private never received a completion request. An admin, and an automation
(no user), reach Private by the same fields.
"""

from __future__ import annotations

import asyncio
from io import BytesIO
from pathlib import Path
from typing import Any

from homeassistant.auth.const import GROUP_ID_USER
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.setup import async_setup_component
from PIL import Image
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser

from custom_components.aicleaner.const import (
    CONF_ADMIN_ONLY,
    CONF_CACHE_TTL,
    CONF_ENABLED,
    CONF_ROUTING_RULES,
    CONF_TIMEOUT_SECONDS,
    DOMAIN,
    SELECTION_STRATEGIES,
)
from tests.entity_setup import async_setup_providers, subentry_id
from tests.simulator import Fault, SimulatorServer

from .conftest import FAST_PROVIDER, FAST_ROUTER

PRIVATE = subentry_id("ollama")
SHARED = subentry_id("openai")
CALL_TIMEOUT = 10.0
# Fast retries and breakers, but attempts with room: a busy machine must not fail them over.
PROVIDER = {**FAST_PROVIDER, CONF_TIMEOUT_SECONDS: 5.0}
AI_TASK = "ai_task.aicleaner"


def _jpeg() -> bytes:
    buffer = BytesIO()
    Image.new("RGB", (32, 24), "white").save(buffer, format="JPEG")
    return buffer.getvalue()


async def _setup(
    hass: HomeAssistant,
    simulator: SimulatorServer,
    *,
    shared: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
) -> MockConfigEntry:
    return await async_setup_providers(
        hass,
        simulator,
        ("ollama", "Private", {**PROVIDER, CONF_ADMIN_ONLY: True}),
        ("openai", "Shared", {**PROVIDER, **(shared or {})}),
        options={
            **FAST_ROUTER,
            CONF_ROUTING_RULES: [
                {"condition": "secret", "providers": [PRIVATE], "priority": 1},
                {"condition": "image_analysis", "providers": [PRIVATE], "priority": 2},
            ],
            **(options or {}),
        },
    )


@pytest.fixture
async def aicleaner(
    hass: HomeAssistant, simulator: SimulatorServer, tmp_path: Path
) -> MockConfigEntry:
    hass.config.allowlist_external_dirs = {str(tmp_path)}
    (tmp_path / "room.jpg").write_bytes(_jpeg())
    return await _setup(hass, simulator)


@pytest.fixture
async def regular_user(hass: HomeAssistant) -> MockUser:
    """A non-admin user who may control entities (the AI Task needs that); not the owner."""
    group = await hass.auth.async_get_group(GROUP_ID_USER)
    assert group is not None
    user = MockUser(name="Regular", groups=[group]).add_to_hass(hass)
    assert not user.is_admin
    return user


@pytest.fixture
def non_admins(regular_user: MockUser, hass_read_only_user: MockUser) -> list[Context]:
    """Contexts of non-admin callers: a user, a read-only user, a user id nobody has."""
    assert not regular_user.is_admin
    assert not hass_read_only_user.is_admin
    return [
        Context(user_id=regular_user.id),
        Context(user_id=hass_read_only_user.id),
        Context(user_id="0123456789abcdef0123456789abcdef"),
    ]


def private_calls(simulator: SimulatorServer) -> int:
    """Completion requests Private (the Ollama of the simulator) received."""
    return sum(
        1
        for item in simulator.sim.requests.get("ollama", [])
        if item.endpoint == "generate"
    )


async def analyze(hass: HomeAssistant, context: Context | None, **data: Any) -> Any:
    async with asyncio.timeout(CALL_TIMEOUT):
        return await hass.services.async_call(
            DOMAIN,
            "analyze",
            data,
            blocking=True,
            return_response=True,
            context=context,
        )


def _served_by_shared_or_refused(outcome: Any) -> str:
    """Check one outcome; return "Shared" or the refusal's translation key."""
    if isinstance(outcome, HomeAssistantError):
        assert outcome.translation_domain == DOMAIN, repr(outcome)
        assert outcome.translation_key, repr(outcome)
        assert "Private" not in str(outcome)
        return str(outcome.translation_key)
    assert outcome["provider"] == "Shared", outcome
    assert {attempt["provider"] for attempt in outcome["attempts"]} == {"Shared"}
    assert "ollama" not in outcome["text"]
    return "Shared"


async def _outcome(coro: Any) -> Any:
    try:
        return await coro
    except HomeAssistantError as err:
        return err


# Every field of the action that could steer a request to a provider, with what a non-admin gets.
WAYS: dict[str, tuple[dict[str, Any], str]] = {
    "nothing": ({}, "Shared"),
    "provider_title": ({"provider": "Private"}, "providers_not_allowed"),
    "provider_id": ({"provider": PRIVATE}, "providers_not_allowed"),
    "provider_first_of_two": ({"provider": ["Private", "Shared"]}, "Shared"),
    "provider_id_first_of_two": ({"provider": [PRIVATE, SHARED]}, "Shared"),
    "local_only": ({"local_only": True}, "no_provider_can_serve"),
    "private_model": ({"model": "llava"}, "providers_failed"),
    "tag_rule": ({"tags": ["secret"]}, "Shared"),
    "image_rule": ({"image_path": "room.jpg"}, "Shared"),
    "json_and_tag": ({"response_format": "json", "tags": ["secret"]}, "Shared"),
    **{
        f"strategy_{strategy}": ({"strategy": strategy}, "Shared")
        for strategy in SELECTION_STRATEGIES
    },
}


def _with_image(data: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    if "image_path" in data:
        return {**data, "image_path": str(tmp_path / data["image_path"])}
    return data


@pytest.mark.usefixtures("aicleaner")
@pytest.mark.parametrize("way", list(WAYS))
async def test_a_non_admin_never_reaches_the_admin_only_provider(
    hass: HomeAssistant,
    simulator: SimulatorServer,
    non_admins: list[Context],
    tmp_path: Path,
    way: str,
) -> None:
    data, expected = WAYS[way]
    for context in non_admins:
        outcome = await _outcome(
            analyze(
                hass,
                context,
                prompt="hi",
                use_cache=False,
                **_with_image(data, tmp_path),
            )
        )
        assert _served_by_shared_or_refused(outcome) == expected, context.user_id
    assert private_calls(simulator) == 0


@pytest.mark.usefixtures("aicleaner")
@pytest.mark.parametrize(
    "way",
    ["nothing", "provider_title", "provider_id", "local_only", "tag_rule", "image_rule"]
    + [f"strategy_{strategy}" for strategy in SELECTION_STRATEGIES],
)
async def test_an_admin_or_an_automation_reaches_it_by_the_same_fields(
    hass: HomeAssistant,
    simulator: SimulatorServer,
    hass_admin_user: MockUser,
    tmp_path: Path,
    way: str,
) -> None:
    data, _ = WAYS[way]
    # Round robin takes turns: the second call goes to the other provider.
    second = "Shared" if way == "strategy_round_robin" else "Private"
    served = [
        (
            await analyze(
                hass,
                context,
                prompt="hi",
                use_cache=False,
                **_with_image(data, tmp_path),
            )
        )["provider"]
        for context in (Context(user_id=hass_admin_user.id), None)
    ]
    assert served == ["Private", second]
    assert private_calls(simulator) == served.count("Private")


async def test_a_failing_shared_provider_never_fails_over_to_the_private_one(
    hass: HomeAssistant,
    simulator: SimulatorServer,
    aicleaner: MockConfigEntry,
    regular_user: MockUser,
) -> None:
    """Shared answers 500 until its breaker opens: a non-admin gets an error, never Private."""
    simulator.sim.set_fault("openai", Fault(kind="status", status=500))
    context = Context(user_id=regular_user.id)
    keys = []
    for _ in range(5):  # past the breaker's threshold (3)
        outcome = await _outcome(analyze(hass, context, prompt="hi", use_cache=False))
        keys.append(_served_by_shared_or_refused(outcome))
    assert set(keys) == {"providers_failed"}
    router = aicleaner.runtime_data.router
    assert router.provider_stats(SHARED).breaker_state == "open"
    assert private_calls(simulator) == 0


async def test_a_disabled_shared_provider_leaves_a_non_admin_nothing(
    hass: HomeAssistant, simulator: SimulatorServer, regular_user: MockUser
) -> None:
    await _setup(hass, simulator, shared={CONF_ENABLED: False})
    outcome = await _outcome(
        analyze(hass, Context(user_id=regular_user.id), prompt="hi")
    )
    assert _served_by_shared_or_refused(outcome) == "providers_disabled"
    assert private_calls(simulator) == 0


async def test_an_admins_cached_or_in_flight_answer_is_never_served_to_a_non_admin(
    hass: HomeAssistant,
    simulator: SimulatorServer,
    hass_admin_user: MockUser,
    regular_user: MockUser,
) -> None:
    await _setup(hass, simulator, options={CONF_CACHE_TTL: 300})
    admin, user = Context(user_id=hass_admin_user.id), Context(user_id=regular_user.id)
    first = await analyze(hass, admin, prompt="What is on the table?")
    assert first["provider"] == "Private"
    again = await analyze(hass, admin, prompt="What is on the table?")
    assert again["cached"] is True  # the cache works: it just is not shared
    answer = await analyze(hass, user, prompt="What is on the table?")
    assert answer["provider"] == "Shared"
    assert answer["cached"] is False
    # Identical requests in flight at once are coalesced, but only with the same access.
    simulator.sim.set_fault("ollama", Fault(kind="latency", latency=0.2))
    by_admin, by_user = await asyncio.gather(
        analyze(hass, admin, prompt="Which room is tidy?"),
        analyze(hass, user, prompt="Which room is tidy?"),
    )
    assert by_admin["provider"] == "Private"
    assert by_user["provider"] == "Shared"
    assert private_calls(simulator) == 2


@pytest.mark.usefixtures("aicleaner")
async def test_batch_items_never_reach_the_private_provider(
    hass: HomeAssistant,
    simulator: SimulatorServer,
    non_admins: list[Context],
    tmp_path: Path,
) -> None:
    requests = [
        {"prompt": "hi", "use_cache": False, **_with_image(data, tmp_path)}
        for data, _ in WAYS.values()
    ]
    for context in non_admins:
        async with asyncio.timeout(CALL_TIMEOUT):
            response = await hass.services.async_call(
                DOMAIN,
                "analyze_batch",
                {"requests": requests},
                blocking=True,
                return_response=True,
                context=context,
            )
        results = response["results"]
        assert len(results) == len(WAYS)
        for (way, (_, expected)), result in zip(WAYS.items(), results, strict=True):
            if expected == "Shared":
                assert result.get("provider") == "Shared", (way, result)
            else:
                assert "error" in result, (way, result)
                assert "Private" not in result["error"]["message"]
    assert private_calls(simulator) == 0


async def test_the_ai_task_serves_a_non_admin_from_the_shared_provider_only(
    hass: HomeAssistant,
    simulator: SimulatorServer,
    hass_admin_user: MockUser,
    hass_read_only_user: MockUser,
    regular_user: MockUser,
) -> None:
    assert await async_setup_component(hass, "homeassistant", {})
    entry = await _setup(hass, simulator)

    async def generate(context: Context | None) -> Any:
        async with asyncio.timeout(CALL_TIMEOUT):
            return await hass.services.async_call(
                "ai_task",
                "generate_data",
                {"entity_id": AI_TASK, "task_name": "tidy", "instructions": "Say hi"},
                blocking=True,
                return_response=True,
                context=context,
            )

    # ai_task.generate_data checks no entity permission: a read-only user may call it too.
    for user in (regular_user, hass_read_only_user):
        answer = await generate(Context(user_id=user.id))
        assert answer["data"].startswith("Simulated openai reply")
    assert private_calls(simulator) == 0
    as_admin = await generate(Context(user_id=hass_admin_user.id))
    assert as_admin["data"].startswith("Simulated ollama reply")
    assert private_calls(simulator) == 1
    # With Shared disabled, a non-admin is refused rather than served by Private.
    shared = entry.subentries[SHARED]
    hass.config_entries.async_update_subentry(
        entry, shared, data={**shared.data, CONF_ENABLED: False}
    )
    await hass.async_block_till_done()
    with pytest.raises(HomeAssistantError) as raised:
        await generate(Context(user_id=regular_user.id))
    assert raised.value.translation_key == "providers_disabled"
    assert private_calls(simulator) == 1
