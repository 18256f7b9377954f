"""The AI Task entity against the provider simulator: failover, attachments, structure validation."""

from __future__ import annotations

import asyncio
from typing import Any
from unittest.mock import patch

from homeassistant.components.ai_task import AITaskEntityFeature
from homeassistant.components.camera import Image as CameraImage
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockUser

from custom_components.aicleaner.ai_task import AICleanerTaskEntity
from custom_components.aicleaner.const import CONF_ADMIN_ONLY
from tests import test_services
from tests.simulator import Fault, SimulatorServer
from tests.test_services import Setup, jpeg

# The actions' setup fixture, shared.
setup_aicleaner = test_services.setup_aicleaner

ENTITY_ID = "ai_task.aicleaner"
TASKS_STRUCTURE = {
    "tasks": {
        "description": "What needs cleaning",
        "required": True,
        "selector": {"text": {"multiple": True}},
    },
    "urgent": {"selector": {"boolean": {}}},
}


@pytest.fixture(autouse=True)
async def _core(hass: HomeAssistant) -> None:
    """The AI Task integration needs conversation, which needs the core integration."""
    assert await async_setup_component(hass, "homeassistant", {})


async def generate(hass: HomeAssistant, **data: Any) -> Any:
    return await hass.services.async_call(
        "ai_task",
        "generate_data",
        {"entity_id": ENTITY_ID, "task_name": "tidy", **data},
        blocking=True,
        return_response=True,
    )


async def test_entity_generates_data_and_supports_attachments(
    hass: HomeAssistant, setup_aicleaner: Setup
) -> None:
    await setup_aicleaner(("openai", "OpenAI", {}))
    state = hass.states.get(ENTITY_ID)
    assert state is not None
    assert state.attributes["supported_features"] == (
        AITaskEntityFeature.GENERATE_DATA | AITaskEntityFeature.SUPPORT_ATTACHMENTS
    )
    result = await generate(hass, instructions="Say hello")
    assert result["data"].startswith("Simulated openai reply from gpt-4o-mini")
    assert hass.states.get(ENTITY_ID).state not in ("unknown", "unavailable")


async def test_camera_attachment_fails_over_to_a_healthy_provider_with_validated_data(
    hass: HomeAssistant, setup_aicleaner: Setup, simulator: SimulatorServer
) -> None:
    await setup_aicleaner(
        ("openai", "OpenAI", {"max_retries": 0}), ("anthropic", "Claude", {})
    )
    simulator.sim.set_fault("openai", Fault(kind="status", status=500))
    simulator.sim.set_reply(
        "anthropic",
        '{"tasks": ["wipe the counter", "sweep the floor"], "urgent": true}',
    )
    hass.states.async_set("camera.kitchen", "idle")
    with patch(
        "homeassistant.components.camera.async_get_image",
        return_value=CameraImage("image/jpeg", jpeg((80, 60))),
    ):
        result = await generate(
            hass,
            instructions="List what needs cleaning in the kitchen",
            structure=TASKS_STRUCTURE,
            attachments=[
                {
                    "media_content_id": "media-source://camera/camera.kitchen",
                    "media_content_type": "image/jpeg",
                }
            ],
        )
    assert result["data"] == {
        "tasks": ["wipe the counter", "sweep the floor"],
        "urgent": True,
    }
    # The failing provider was tried first, with the picture; the healthy one got it too.
    assert simulator.sim.request_count("openai") == 1
    sent = simulator.sim.last_request("anthropic").json
    blocks = sent["messages"][0]["content"]
    assert blocks[0]["type"] == "image"
    assert blocks[0]["source"]["media_type"] == "image/jpeg"
    # The model was told the structure and asked for JSON.
    assert '"tasks"' in str(sent["system"])
    assert "JSON" in str(sent["system"])


async def test_an_answer_that_does_not_match_the_structure_fails_over(
    hass: HomeAssistant, setup_aicleaner: Setup, simulator: SimulatorServer
) -> None:
    await setup_aicleaner(("openai", "OpenAI", {}), ("anthropic", "Claude", {}))
    # Valid JSON, wrong shape: `tasks` is required and extra keys are refused.
    simulator.sim.set_reply("openai", '{"chores": ["dust"]}')
    simulator.sim.set_reply("anthropic", '{"tasks": ["dust the shelf"]}')
    result = await generate(hass, instructions="Tasks?", structure=TASKS_STRUCTURE)
    assert result["data"] == {"tasks": ["dust the shelf"]}
    assert simulator.sim.request_count("openai") == 1
    assert simulator.sim.request_count("anthropic") == 1


async def test_no_provider_answering_with_the_structure_is_a_clear_error(
    hass: HomeAssistant, setup_aicleaner: Setup, simulator: SimulatorServer
) -> None:
    await setup_aicleaner(("openai", "OpenAI", {}), ("anthropic", "Claude", {}))
    simulator.sim.set_reply("openai", '{"chores": ["dust"]}')
    simulator.sim.set_reply("anthropic", '["dust"]')
    with pytest.raises(HomeAssistantError) as raised:
        await generate(hass, instructions="Tasks?", structure=TASKS_STRUCTURE)
    assert raised.value.translation_key == "providers_failed"
    message = str(raised.value)
    assert "OpenAI: answer in the wrong format" in message
    assert "Claude: answer in the wrong format" in message
    # Each provider was asked once: a provider that gave a wrong shape is not asked again.
    assert simulator.sim.request_count("openai") == 1
    assert simulator.sim.request_count("anthropic") == 1


async def test_a_cached_answer_serves_the_same_task_again(
    hass: HomeAssistant, setup_aicleaner: Setup, simulator: SimulatorServer
) -> None:
    await setup_aicleaner(("openai", "OpenAI", {}))
    simulator.sim.set_reply("openai", '{"tasks": ["mop"]}')
    first = await generate(hass, instructions="Tasks?", structure=TASKS_STRUCTURE)
    second = await generate(hass, instructions="Tasks?", structure=TASKS_STRUCTURE)
    assert first["data"] == second["data"] == {"tasks": ["mop"]}
    assert simulator.sim.request_count("openai") == 1


async def test_an_attachment_that_is_not_an_image_is_refused(
    hass: HomeAssistant, setup_aicleaner: Setup, tmp_path: Any
) -> None:
    await setup_aicleaner(("openai", "OpenAI", {}))
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    from homeassistant.components.media_source import PlayMedia

    with (
        patch(
            "homeassistant.components.media_source.async_resolve_media",
            return_value=PlayMedia("/media/local/notes.txt", "text/plain", path=notes),
        ),
        pytest.raises(ServiceValidationError) as raised,
    ):
        await generate(
            hass,
            instructions="Read this",
            attachments=[
                {
                    "media_content_id": "media-source://media_source/local/notes.txt",
                    "media_content_type": "text/plain",
                }
            ],
        )
    assert raised.value.translation_key == "attachment_not_image"


async def test_a_budget_refusal_reaches_the_ai_task_caller(
    hass: HomeAssistant, setup_aicleaner: Setup
) -> None:
    await setup_aicleaner(("openai", "OpenAI", {"daily_budget": 0.0}))
    with pytest.raises(HomeAssistantError) as raised:
        await generate(hass, instructions="Tasks?")
    assert raised.value.translation_key == "budget_exhausted"


async def test_a_task_keeps_its_callers_access_while_another_task_starts(
    hass: HomeAssistant,
    setup_aicleaner: Setup,
    hass_read_only_user: MockUser,
) -> None:
    await setup_aicleaner(
        ("openai", "Private", {CONF_ADMIN_ONLY: True}), ("anthropic", "Shared", {})
    )
    gate = asyncio.Event()
    waiting = asyncio.Event()
    calls = 0

    async def images(self: AICleanerTaskEntity, attachments: Any) -> tuple[()]:
        nonlocal calls
        calls += 1
        if calls == 1:
            # The non-admin's task waits here (as for reading an image) ...
            waiting.set()
            await gate.wait()
        return ()

    def task(context: Context) -> Any:
        return hass.services.async_call(
            "ai_task",
            "generate_data",
            {"entity_id": ENTITY_ID, "task_name": "tidy", "instructions": "Tasks?"},
            blocking=True,
            return_response=True,
            context=context,
        )

    with patch.object(AICleanerTaskEntity, "_async_images", images):
        users = asyncio.ensure_future(task(Context(user_id=hass_read_only_user.id)))
        await waiting.wait()
        # ... while an automation's task (no user) starts and ends on the same entity.
        automation = await task(Context())
        gate.set()
        user = await users
    assert automation["data"].startswith("Simulated openai reply")
    # The admin-only provider never answered the non-admin.
    assert user["data"].startswith("Simulated anthropic reply")


async def test_a_structured_answer_that_fails_validation_is_never_served_from_the_cache(
    hass: HomeAssistant, setup_aicleaner: Setup, simulator: SimulatorServer
) -> None:
    await setup_aicleaner(("openai", "OpenAI", {}))
    simulator.sim.set_reply("openai", '{"chores": ["dust"]}')
    with pytest.raises(HomeAssistantError):
        await generate(hass, instructions="Tasks?", structure=TASKS_STRUCTURE)
    # The provider now answers with the structure: the same task asks it again.
    simulator.sim.set_reply("openai", '{"tasks": ["dust the shelf"]}')
    result = await generate(hass, instructions="Tasks?", structure=TASKS_STRUCTURE)
    assert result["data"] == {"tasks": ["dust the shelf"]}
    assert simulator.sim.request_count("openai") == 2


async def test_a_target_answer_of_the_wrong_type_fails_over_like_any_invalid_answer(
    hass: HomeAssistant, setup_aicleaner: Setup, simulator: SimulatorServer
) -> None:
    await setup_aicleaner(("openai", "OpenAI", {}), ("anthropic", "Claude", {}))
    structure = {"where": {"required": True, "selector": {"target": {}}}}
    # The target selector raises TypeError, not Invalid, for a number where a list belongs.
    simulator.sim.set_reply("openai", '{"where": {"entity_id": 5}}')
    simulator.sim.set_reply("anthropic", '{"where": {"entity_id": ["light.kitchen"]}}')
    result = await generate(hass, instructions="Where?", structure=structure)
    assert result["data"] == {"where": {"entity_id": ["light.kitchen"]}}


@pytest.mark.parametrize("kind", ["openai", "anthropic", "gemini", "ollama"])
async def test_the_simulator_answers_a_structured_task_with_an_instance_of_its_structure(
    hass: HomeAssistant, setup_aicleaner: Setup, kind: str
) -> None:
    await setup_aicleaner((kind, "Provider", {}))
    structure = {
        **TASKS_STRUCTURE,
        "rooms": {"selector": {"select": {"options": ["kitchen", "hall"]}}},
        "minutes": {"selector": {"number": {"min": 5, "max": 60}}},
        "where": {"selector": {"target": {}}},
    }
    result = await generate(hass, instructions="Tasks?", structure=structure)
    data = result["data"]
    assert isinstance(data["tasks"], list)
    assert data["tasks"]
    assert data["urgent"] is True
    assert data["rooms"] == "kitchen"
    assert data["minutes"] == 5
    assert isinstance(data["where"]["entity_id"], list)


async def test_an_image_task_no_provider_can_read_is_refused_naming_the_reason(
    hass: HomeAssistant, setup_aicleaner: Setup
) -> None:
    # llama3.2 reads no images.
    await setup_aicleaner(("ollama", "Local", {"model": "llama3.2"}))
    hass.states.async_set("camera.kitchen", "idle")
    with (
        patch(
            "homeassistant.components.camera.async_get_image",
            return_value=CameraImage("image/jpeg", jpeg((80, 60))),
        ),
        pytest.raises(ServiceValidationError) as raised,
    ):
        await generate(
            hass,
            instructions="What needs cleaning?",
            attachments=[
                {
                    "media_content_id": "media-source://camera/camera.kitchen",
                    "media_content_type": "image/jpeg",
                }
            ],
        )
    assert str(raised.value) == (
        "No provider can serve this request: Local cannot read images"
    )
