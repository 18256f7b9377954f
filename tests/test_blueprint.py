"""The cleaning-tasks blueprint: snapshot, ask AICleaner for JSON tasks, add the new ones to a list."""

from __future__ import annotations

from pathlib import Path
import shutil
from unittest.mock import patch

from homeassistant.components.camera import Image as CameraImage
from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar, entity_registry as er
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from tests import test_services
from tests.simulator import SimulatorServer
from tests.test_services import Setup, jpeg

# The actions' setup fixture, shared.
setup_aicleaner = test_services.setup_aicleaner

BLUEPRINT = (
    Path(__file__).parent.parent
    / "blueprints"
    / "automation"
    / "aicleaner"
    / "cleaning_tasks.yaml"
)
# The shopping list is HA's own local to-do list that needs no extra package (Local To-do needs
# `ical`, which the test environment does not carry).
TODO = "todo.shopping_list"


async def _open_items(hass: HomeAssistant) -> list[str]:
    result = await hass.services.async_call(
        "todo",
        "get_items",
        {"entity_id": TODO, "status": "needs_action"},
        blocking=True,
        return_response=True,
    )
    return [item["summary"] for item in result[TODO]["items"]]  # type: ignore[index,union-attr]


async def test_blueprint_adds_the_rooms_new_tasks_to_the_list(
    hass: HomeAssistant,
    setup_aicleaner: Setup,
    simulator: SimulatorServer,
    tmp_path: Path,
) -> None:
    assert await async_setup_component(hass, "homeassistant", {})
    hass.config.config_dir = str(tmp_path)
    target = tmp_path / "blueprints" / "automation" / "aicleaner"
    target.mkdir(parents=True)
    shutil.copy(BLUEPRINT, target / "cleaning_tasks.yaml")

    todo_entry = MockConfigEntry(domain="shopping_list")
    todo_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(todo_entry.entry_id)
    await hass.services.async_call(
        "todo",
        "add_item",
        {"entity_id": TODO, "item": "Wipe the counter"},
        blocking=True,
    )

    await setup_aicleaner(("anthropic", "Claude", {}))
    simulator.sim.set_reply(
        "anthropic",
        '{"tasks": ["wipe the counter", "Sweep the floor", "Empty the bin", '
        '"Sweep the floor"]}',
    )
    hass.states.async_set("camera.kitchen", "idle")
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "id": "kitchen_tasks",
                "alias": "Kitchen cleaning tasks",
                "use_blueprint": {
                    "path": "aicleaner/cleaning_tasks.yaml",
                    "input": {
                        "camera": "camera.kitchen",
                        "room": "kitchen",
                        "todo_list": TODO,
                        "triggers": [
                            {"trigger": "event", "event_type": "clean_kitchen"}
                        ],
                    },
                },
            }
        },
    )
    await hass.async_block_till_done()
    assert [s.entity_id for s in hass.states.async_all("automation")] == [
        "automation.kitchen_cleaning_tasks"
    ]

    with patch(
        "homeassistant.components.camera.async_get_image",
        return_value=CameraImage("image/jpeg", jpeg((80, 60))),
    ):
        hass.bus.async_fire("clean_kitchen")
        await hass.async_block_till_done()

    # The already open task is not added again (whatever its case), nor a repeated one.
    assert await _open_items(hass) == [
        "Wipe the counter",
        "Sweep the floor",
        "Empty the bin",
    ]
    sent = simulator.sim.last_request("anthropic").json
    blocks = sent["messages"][0]["content"]
    assert blocks[0]["type"] == "image"
    assert "kitchen" in str(blocks)
    assert "JSON" in str(sent["system"])


async def test_blueprint_names_the_room_after_the_cameras_area_when_left_empty(
    hass: HomeAssistant,
    setup_aicleaner: Setup,
    simulator: SimulatorServer,
    tmp_path: Path,
) -> None:
    assert await async_setup_component(hass, "homeassistant", {})
    hass.config.config_dir = str(tmp_path)
    target = tmp_path / "blueprints" / "automation" / "aicleaner"
    target.mkdir(parents=True)
    shutil.copy(BLUEPRINT, target / "cleaning_tasks.yaml")
    todo_entry = MockConfigEntry(domain="shopping_list")
    todo_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(todo_entry.entry_id)
    await setup_aicleaner(("anthropic", "Claude", {}))
    simulator.sim.set_reply("anthropic", '{"tasks": []}')

    scullery = ar.async_get(hass).async_create("Scullery")
    for object_id, area in (("pantry_cam", scullery.id), ("hall_cam", None)):
        er.async_get(hass).async_get_or_create(
            "camera", "demo", object_id, suggested_object_id=object_id
        )
        er.async_get(hass).async_update_entity(f"camera.{object_id}", area_id=area)
        hass.states.async_set(f"camera.{object_id}", "idle")
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": [
                {
                    "id": object_id,
                    "alias": object_id,
                    "use_blueprint": {
                        "path": "aicleaner/cleaning_tasks.yaml",
                        "input": {
                            "camera": f"camera.{object_id}",
                            "todo_list": TODO,
                            "triggers": [{"trigger": "event", "event_type": object_id}],
                        },
                    },
                }
                for object_id in ("pantry_cam", "hall_cam")
            ]
        },
    )
    await hass.async_block_till_done()

    prompts = []
    for object_id in ("pantry_cam", "hall_cam"):
        with patch(
            "homeassistant.components.camera.async_get_image",
            return_value=CameraImage("image/jpeg", jpeg((80, 60))),
        ):
            hass.bus.async_fire(object_id)
            await hass.async_block_till_done()
        blocks = simulator.sim.last_request("anthropic").json["messages"][0]["content"]
        prompts.append(next(b["text"] for b in blocks if b["type"] == "text"))

    # The room input left empty: the camera's area, else the word "room".
    assert prompts[0].startswith("This is a picture of the scullery.")
    assert prompts[1].startswith("This is a picture of the room.")
