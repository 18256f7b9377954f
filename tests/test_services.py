"""The actions against the provider simulator: answers, JSON, failover, budgets, access, bad input."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from io import BytesIO
import os
from pathlib import Path
from typing import Any
from unittest.mock import patch

from homeassistant.components.camera import Image as CameraImage
from homeassistant.components.media_source import PlayMedia, Unresolvable
from homeassistant.const import CONF_API_KEY
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
from PIL import Image
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser
import yaml

import custom_components.aicleaner
from custom_components.aicleaner.const import (
    CONF_ADMIN_ONLY,
    CONF_DAILY_BUDGET,
    CONF_ENABLED,
    CONF_MODEL,
    DEFAULT_TITLE,
    DOMAIN,
)
from custom_components.aicleaner.entity import KIND_NAMES
from tests.entity_setup import ENTRY_ID, async_setup_providers, subentry_id
from tests.simulator import Fault, SimulatorServer


def jpeg(size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = BytesIO()
    Image.new("RGB", size, "white").save(buffer, format="JPEG")
    return buffer.getvalue()


type Setup = Callable[..., Coroutine[Any, Any, MockConfigEntry]]


@pytest.fixture
def setup_aicleaner(hass: HomeAssistant, simulator: SimulatorServer) -> Setup:
    """Set up AICleaner with the given providers (kind, title, extra data), in priority order."""

    async def _setup(
        *providers: tuple[str, str, dict[str, Any]],
        options: dict[str, Any] | None = None,
    ) -> MockConfigEntry:
        return await async_setup_providers(hass, simulator, *providers, options=options)

    return _setup


async def analyze(
    hass: HomeAssistant, context: Context | None = None, **data: Any
) -> Any:
    return await hass.services.async_call(
        DOMAIN, "analyze", data, blocking=True, return_response=True, context=context
    )


# --- answers --------------------------------------------------------------------------------


async def test_analyze_answers_with_provider_model_tokens_cost_and_latency(
    hass: HomeAssistant, setup_aicleaner: Setup
) -> None:
    await setup_aicleaner(("openai", "OpenAI", {}))
    events = []
    hass.bus.async_listen("aicleaner_analysis_complete", events.append)
    result = await analyze(
        hass, prompt="What needs cleaning?", system_prompt="Be brief."
    )
    assert result["text"].startswith("Simulated openai reply from gpt-4o-mini")
    assert result["provider"] == "OpenAI"
    assert result["model"].startswith("gpt-4o-mini")
    assert result["tokens"]["input"] > 0
    assert result["tokens"]["output"] > 0
    assert result["cost"] > 0
    assert result["cost_estimated"] is False
    assert result["cost_source"] == "price_table"
    assert result["latency_ms"] >= 0
    assert result["cached"] is False
    assert result["finish_reason"] == "stop"
    assert [(a["provider"], a["outcome"]) for a in result["attempts"]] == [
        ("OpenAI", "success")
    ]
    assert "data" not in result
    await hass.async_block_till_done()
    [event] = events
    # Tied to the device of the provider that answered: its logbook lists the request.
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, subentry_id("openai")), ENTRY_ID
    )
    assert device is not None
    assert event.data == {
        "device_id": device.id,
        "request_id": result["request_id"],
        "provider": "OpenAI",
        "model": result["model"],
        "cost": result["cost"],
        "latency_ms": result["latency_ms"],
        "cached": False,
        "success": True,
    }


async def test_a_cached_answer_reports_nothing_billed(
    hass: HomeAssistant, setup_aicleaner: Setup, simulator: SimulatorServer
) -> None:
    await setup_aicleaner(("openai", "OpenAI", {}))
    first = await analyze(hass, prompt="Is the hall tidy?")
    hit = await analyze(hass, prompt="Is the hall tidy?")
    assert simulator.sim.request_count("openai") == 1
    assert first["cached"] is False
    assert first["cost"] > 0
    assert hit["cached"] is True
    assert hit["text"] == first["text"]
    assert hit["tokens"] == {"input": 0, "output": 0}
    assert hit["cost"] == 0.0
    assert hit["cost_estimated"] is False
    assert hit["cost_source"] == "cache"


async def test_json_answers_come_back_parsed_and_a_non_json_answer_fails_over(
    hass: HomeAssistant, setup_aicleaner: Setup, simulator: SimulatorServer
) -> None:
    await setup_aicleaner(("openai", "OpenAI", {}), ("anthropic", "Claude", {}))
    simulator.sim.set_reply("openai", "Sure, the kitchen!")
    simulator.sim.set_reply("anthropic", '```json\n{"tasks": ["sweep"]}\n```')
    result = await analyze(hass, prompt="Tasks?", response_format="json")
    assert result["data"] == {"tasks": ["sweep"]}
    assert result["provider"] == "Claude"
    # A wrong-format answer fails over at once: OpenAI is not asked again.
    assert [(a["provider"], a["category"]) for a in result["attempts"]][:2] == [
        ("OpenAI", "wrong_format"),
        ("Claude", None),
    ]


async def test_images_from_files_cameras_and_media_reach_the_provider(
    hass: HomeAssistant,
    setup_aicleaner: Setup,
    simulator: SimulatorServer,
    tmp_path: Path,
) -> None:
    photo = tmp_path / "kitchen.jpg"
    photo.write_bytes(jpeg())
    hass.config.allowlist_external_dirs = {str(tmp_path)}
    media_file = tmp_path / "media.png"
    Image.new("RGB", (32, 32), "red").save(media_file)
    hass.states.async_set("camera.kitchen", "idle")
    await setup_aicleaner(("anthropic", "Claude", {}))
    with (
        patch(
            "homeassistant.components.camera.async_get_image",
            return_value=CameraImage("image/jpeg", jpeg((80, 60))),
        ),
        patch(
            "homeassistant.components.media_source.async_resolve_media",
            return_value=PlayMedia(
                "/media/local/media.png", "image/png", path=media_file
            ),
        ),
    ):
        result = await analyze(
            hass,
            prompt="What is here?",
            image_path=str(photo),
            camera_entity_id="camera.kitchen",
            media_content_id="media-source://media_source/local/media.png",
        )
    assert "3 image(s)" in result["text"]
    sent = simulator.sim.last_request("anthropic").json
    kinds = [
        block["source"]["media_type"] for block in sent["messages"][0]["content"][:3]
    ]
    assert kinds == ["image/jpeg", "image/jpeg", "image/png"]


# --- failures -------------------------------------------------------------------------------


async def test_failover_then_a_failure_says_what_was_tried_without_upstream_text(
    hass: HomeAssistant, setup_aicleaner: Setup, simulator: SimulatorServer
) -> None:
    await setup_aicleaner(
        ("openai", "OpenAI", {"max_retries": 0}),
        ("gemini", "Gemini", {"max_retries": 0}),
    )
    simulator.sim.set_fault("openai", Fault(kind="status", status=500))
    result = await analyze(hass, prompt="hello")
    assert result["provider"] == "Gemini"
    simulator.sim.set_fault("gemini", Fault(kind="status", status=503))
    events = []
    hass.bus.async_listen("aicleaner_analysis_complete", events.append)
    with pytest.raises(HomeAssistantError) as raised:
        await analyze(hass, prompt="the alarm code is 4921", use_cache=False)
    message = str(raised.value)
    assert raised.value.translation_key == "providers_failed"
    assert "OpenAI: server error, HTTP 500" in message
    assert "Gemini: overloaded, HTTP 503" in message
    assert "4921" not in message
    await hass.async_block_till_done()
    assert events[0].data["success"] is False
    assert "4921" not in str(events[0].data)


async def test_a_budget_refusal_says_which_budget(
    hass: HomeAssistant, setup_aicleaner: Setup
) -> None:
    await setup_aicleaner(("openai", "OpenAI", {CONF_DAILY_BUDGET: 0.0}))
    with pytest.raises(HomeAssistantError) as raised:
        await analyze(hass, prompt="hello")
    assert raised.value.translation_key == "budget_exhausted"
    assert "OpenAI (0.0000 of 0.00 USD spent)" in str(raised.value)


async def test_admin_only_providers_never_serve_non_admin_users(
    hass: HomeAssistant,
    setup_aicleaner: Setup,
    hass_admin_user: MockUser,
    hass_read_only_user: MockUser,
) -> None:
    await setup_aicleaner(
        ("openai", "Private", {CONF_ADMIN_ONLY: True}), ("anthropic", "Shared", {})
    )
    as_user = await analyze(
        hass, Context(user_id=hass_read_only_user.id), prompt="hi", use_cache=False
    )
    assert as_user["provider"] == "Shared"
    assert [a["provider"] for a in as_user["attempts"]] == ["Shared"]
    as_admin = await analyze(
        hass, Context(user_id=hass_admin_user.id), prompt="hi", use_cache=False
    )
    assert as_admin["provider"] == "Private"
    automation = await analyze(hass, prompt="hi", use_cache=False)
    assert automation["provider"] == "Private"
    with pytest.raises(ServiceValidationError) as raised:
        await analyze(
            hass,
            Context(user_id=hass_read_only_user.id),
            prompt="hi",
            provider="Private",
        )
    assert raised.value.translation_key == "providers_not_allowed"


async def test_the_provider_list_restricts_and_orders_the_providers(
    hass: HomeAssistant, setup_aicleaner: Setup, simulator: SimulatorServer
) -> None:
    await setup_aicleaner(
        ("openai", "OpenAI", {}), ("anthropic", "Claude", {}), ("gemini", "Gemini", {})
    )
    simulator.sim.set_fault("gemini", Fault(kind="status", status=500))
    result = await analyze(hass, prompt="hi", provider=["Gemini", "Claude"])
    assert [a["provider"] for a in result["attempts"]][-1] == "Claude"
    assert "OpenAI" not in [a["provider"] for a in result["attempts"]]
    assert simulator.sim.request_count("openai") == 0


# --- bad input ------------------------------------------------------------------------------


@pytest.fixture
async def one_provider(setup_aicleaner: Setup) -> MockConfigEntry:
    return await setup_aicleaner(("anthropic", "Claude", {}))


def _file_case(tmp_path: Path, case: str) -> str:
    allowed = tmp_path / "allowed"
    allowed.mkdir(exist_ok=True)
    outside = tmp_path / "outside"
    outside.mkdir(exist_ok=True)
    if case == "outside":
        (outside / "a.jpg").write_bytes(jpeg())
        return str(outside / "a.jpg")
    if case == "missing":
        return str(allowed / "nope.jpg")
    if case == "directory":
        (allowed / "dir").mkdir(exist_ok=True)
        return str(allowed / "dir")
    if case == "fifo":
        os.mkfifo(allowed / "pipe")
        return str(allowed / "pipe")
    if case == "symlink_out":
        (outside / "secret.jpg").write_bytes(jpeg())
        (allowed / "link.jpg").symlink_to(outside / "secret.jpg")
        return str(allowed / "link.jpg")
    if case == "empty":
        (allowed / "empty.jpg").write_bytes(b"")
        return str(allowed / "empty.jpg")
    if case == "huge":
        with (allowed / "huge.jpg").open("wb") as handle:
            handle.truncate(20 * 1024 * 1024 + 1)
        return str(allowed / "huge.jpg")
    (allowed / "notes.jpg").write_text("not a picture at all")
    return str(allowed / "notes.jpg")


@pytest.mark.parametrize(
    ("case", "key"),
    [
        ("outside", "path_not_allowed"),
        ("missing", "path_missing"),
        ("directory", "path_not_file"),
        ("fifo", "path_not_file"),
        ("symlink_out", "path_not_allowed"),
        ("empty", "image_empty"),
        ("huge", "image_too_large"),
        ("not_image", "not_an_image"),
    ],
)
async def test_a_bad_image_file_is_refused_without_calling_any_provider(  # noqa: PLR0917
    hass: HomeAssistant,
    one_provider: MockConfigEntry,
    simulator: SimulatorServer,
    tmp_path: Path,
    case: str,
    key: str,
) -> None:
    hass.config.allowlist_external_dirs = {str(tmp_path / "allowed")}
    path = _file_case(tmp_path, case)
    with pytest.raises(ServiceValidationError) as raised:
        await analyze(hass, prompt="look", image_path=path)
    assert raised.value.translation_key == key
    assert simulator.sim.request_count("anthropic") == 0


async def test_cameras_and_media_that_give_no_image_are_refused(
    hass: HomeAssistant, one_provider: MockConfigEntry
) -> None:
    with pytest.raises(ServiceValidationError) as raised:
        await analyze(hass, prompt="look", camera_entity_id="camera.nowhere")
    assert raised.value.translation_key == "camera_unknown"
    hass.states.async_set("camera.porch", "unavailable")
    with (
        patch(
            "homeassistant.components.camera.async_get_image",
            side_effect=HomeAssistantError("Unable to get image"),
        ),
        pytest.raises(ServiceValidationError) as raised,
    ):
        await analyze(hass, prompt="look", camera_entity_id="camera.porch")
    assert raised.value.translation_key == "camera_no_image"
    with (
        patch(
            "homeassistant.components.media_source.async_resolve_media",
            side_effect=Unresolvable("no such media"),
        ),
        pytest.raises(ServiceValidationError) as raised,
    ):
        await analyze(hass, prompt="look", media_content_id="media-source://nope/x")
    assert raised.value.translation_key == "media_unknown"
    # The bare root names no source (HA's own resolver asserts on it), nor does a malformed id.
    for media_id in ("media-source://", "media-source://_bad_/x"):
        with pytest.raises(ServiceValidationError) as raised:
            await analyze(hass, prompt="look", media_content_id=media_id)
        assert raised.value.translation_key == "media_unknown"


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"prompt": "   "}, "prompt_empty"),
        ({"prompt": "hi", "provider": "Nobody"}, "provider_unknown"),
        ({"prompt": "hi", "max_tokens": 0}, "value_out_of_range"),
        ({"prompt": "hi", "temperature": 3}, "value_out_of_range"),
        ({"prompt": "hi", "timeout": 0.5}, "value_out_of_range"),
    ],
)
async def test_bad_fields_are_refused_with_their_own_message(
    hass: HomeAssistant, one_provider: MockConfigEntry, data: dict[str, Any], key: str
) -> None:
    with pytest.raises(ServiceValidationError) as raised:
        await analyze(hass, **data)
    assert raised.value.translation_key == key


async def test_a_provider_is_pinned_by_its_name_in_any_case(
    hass: HomeAssistant, setup_aicleaner: Setup
) -> None:
    await setup_aicleaner(("openai", "OpenAI", {}), ("anthropic", "Claude", {}))
    for asked in ("claude", "CLAUDE", " Claude"):
        result = await analyze(
            hass, prompt=f"hi {asked}", provider=asked, use_cache=False
        )
        assert result["provider"] == "Claude", asked
    with pytest.raises(ServiceValidationError) as raised:
        await analyze(hass, prompt="hi", provider="Claud")
    assert raised.value.translation_key == "provider_unknown"
    assert raised.value.translation_placeholders == {
        "name": "Claud",
        "names": "Claude, OpenAI",
    }


async def test_a_provider_is_pinned_by_the_device_the_action_form_picks(
    hass: HomeAssistant, setup_aicleaner: Setup
) -> None:
    entry = await setup_aicleaner(("openai", "OpenAI", {}), ("anthropic", "Claude", {}))
    devices = dr.async_get(hass)
    by_name = {
        device.name: device.id
        for device in dr.async_entries_for_config_entry(devices, entry.entry_id)
    }
    result = await analyze(
        hass, prompt="hi", provider=[by_name["Claude"], "OpenAI"], use_cache=False
    )
    assert result["provider"] == "Claude"
    # The router's own device is no provider.
    with pytest.raises(ServiceValidationError) as raised:
        await analyze(hass, prompt="hi", provider=by_name["AICleaner"])
    assert raised.value.translation_key == "provider_unknown"


def test_the_action_forms_provider_picker_offers_every_kind_and_not_the_router() -> (
    None
):
    services = yaml.safe_load(
        (Path(custom_components.aicleaner.__file__).parent / "services.yaml").read_text(
            encoding="utf-8"
        )
    )
    selector = services["analyze"]["fields"]["provider"]["selector"]["device"]
    assert selector["multiple"] is True
    assert {f["integration"] for f in selector["filter"]} == {DOMAIN}
    assert {f["manufacturer"] for f in selector["filter"]} == set(KIND_NAMES.values())
    assert DEFAULT_TITLE not in {f["manufacturer"] for f in selector["filter"]}


async def test_no_provider_configured_is_refused(
    hass: HomeAssistant, setup_aicleaner: Setup
) -> None:
    await setup_aicleaner()
    with pytest.raises(ServiceValidationError) as raised:
        await analyze(hass, prompt="hi")
    assert raised.value.translation_key == "no_providers"


async def test_every_allowed_provider_disabled_is_refused(
    hass: HomeAssistant, setup_aicleaner: Setup
) -> None:
    await setup_aicleaner(("openai", "OpenAI", {CONF_ENABLED: False}))
    with pytest.raises(ServiceValidationError) as raised:
        await analyze(hass, prompt="hi")
    assert raised.value.translation_key == "providers_disabled"


async def test_images_with_no_provider_that_sees_them_are_refused(
    hass: HomeAssistant, setup_aicleaner: Setup, tmp_path: Path
) -> None:
    await setup_aicleaner(("ollama", "Ollama", {CONF_MODEL: "llama3.2"}))
    (tmp_path / "a.jpg").write_bytes(jpeg())
    hass.config.allowlist_external_dirs = {str(tmp_path)}
    with pytest.raises(ServiceValidationError) as raised:
        await analyze(hass, prompt="look", image_path=str(tmp_path / "a.jpg"))
    assert raised.value.translation_key == "no_vision_provider"


async def test_actions_before_setup_say_aicleaner_is_not_loaded(
    hass: HomeAssistant, setup_aicleaner: Setup
) -> None:
    entry = await setup_aicleaner(("openai", "OpenAI", {}))
    assert await hass.config_entries.async_unload(entry.entry_id)
    with pytest.raises(ServiceValidationError) as raised:
        await analyze(hass, prompt="hi")
    assert raised.value.translation_key == "not_loaded"


# --- batches and metrics --------------------------------------------------------------------


async def test_a_batch_answers_in_input_order_and_one_bad_item_fails_alone(
    hass: HomeAssistant, setup_aicleaner: Setup
) -> None:
    await setup_aicleaner(("openai", "OpenAI", {}))
    result = await hass.services.async_call(
        DOMAIN,
        "analyze_batch",
        {
            "requests": [
                {"prompt": "first"},
                {"prompt": "  "},
                {"prompt": "third", "response_format": "json"},
            ]
        },
        blocking=True,
        return_response=True,
    )
    first, second, third = result["results"]
    assert "received 5 characters" in first["text"]
    assert second["error"]["category"] == "invalid_input"
    assert second["error"]["message"] == "The prompt is empty"
    assert third["data"]["characters"] > 0


async def test_metrics_show_today_and_the_last_30_days(
    hass: HomeAssistant, setup_aicleaner: Setup
) -> None:
    await setup_aicleaner(("openai", "OpenAI", {CONF_DAILY_BUDGET: 1.0}))
    answer = await analyze(hass, prompt="hi")
    metrics = await hass.services.async_call(
        DOMAIN, "get_metrics", {}, blocking=True, return_response=True
    )
    today = metrics["costs"]["today"]
    assert today["provider_costs"]["OpenAI"]["total_cost"] == answer["cost"]
    assert today["provider_costs"]["OpenAI"]["budget_remaining"] == pytest.approx(
        1.0 - answer["cost"]
    )
    days = metrics["costs"]["last_30_days"]
    assert len(days) == 30
    assert days[-1]["date"] == today["day"]
    assert days[-1]["cost"] == answer["cost"]
    assert metrics["costs"]["total_last_30_days"] == answer["cost"]
    assert metrics["performance"]["overall_stats"]["successful_requests"] == 1
    assert "OpenAI" in metrics["performance"]["providers"]


async def test_metrics_give_times_in_ms_and_shares_in_percent_as_the_sensors_do(
    hass: HomeAssistant, setup_aicleaner: Setup
) -> None:
    await setup_aicleaner(("openai", "OpenAI", {}))
    answer = await analyze(hass, prompt="hi")
    metrics = await hass.services.async_call(
        DOMAIN, "get_metrics", {}, blocking=True, return_response=True
    )
    overall = metrics["performance"]["overall_stats"]
    provider = metrics["performance"]["providers"]["OpenAI"]
    assert "average_response_time" not in overall
    # The router measures a little less than the whole action: within the same ms range.
    assert 0 < overall["average_response_time_ms"] <= answer["latency_ms"] + 0.1
    assert "latency_p50" not in provider
    assert provider["latency_p50_ms"] == pytest.approx(
        float(hass.states.get("sensor.openai_latency").state), abs=0.1
    )
    assert provider["success_rate"] == 100.0
    assert float(hass.states.get("sensor.openai_success_rate").state) == 100.0
    # One request used a little of the rate limit: most of it, in %, is left.
    assert 50.0 < provider["rate_headroom"] < 100.0


async def test_check_health_shows_no_latency_for_a_provider_that_is_down(
    hass: HomeAssistant, setup_aicleaner: Setup, simulator: SimulatorServer
) -> None:
    await setup_aicleaner(("openai", "OpenAI", {}))
    await analyze(hass, prompt="hi")
    simulator.sim.set_fault(
        "openai", Fault(kind="status", status=500, endpoint="models")
    )
    health = await hass.services.async_call(
        DOMAIN, "check_health", {}, blocking=True, return_response=True
    )
    # Not the latency of its last good answer.
    assert health["providers"]["OpenAI"]["status"] == "unhealthy"
    assert health["providers"]["OpenAI"]["latency_ms"] is None


async def test_a_batch_item_no_provider_answers_carries_its_error_and_category(
    hass: HomeAssistant, setup_aicleaner: Setup, simulator: SimulatorServer
) -> None:
    await setup_aicleaner(("openai", "OpenAI", {"max_retries": 0}))
    simulator.sim.set_fault("openai", Fault(kind="status", status=500, rate=1.0))
    result = await hass.services.async_call(
        DOMAIN,
        "analyze_batch",
        {"requests": [{"prompt": "one"}, {"prompt": "two", "local_only": True}]},
        blocking=True,
        return_response=True,
    )
    failed, nothing_local = result["results"]
    assert failed["error"]["category"] == "provider"
    assert failed["error"]["message"] == (
        "No provider answered. Tried: OpenAI: server error, HTTP 500"
    )
    assert nothing_local["error"]["category"] == "no_provider"


async def test_local_only_with_no_local_provider_says_none_can_serve(
    hass: HomeAssistant, setup_aicleaner: Setup
) -> None:
    await setup_aicleaner(("openai", "OpenAI", {}))
    # The caller's demand, not a provider, is at fault: a validation error naming the reason.
    with pytest.raises(ServiceValidationError) as raised:
        await analyze(hass, prompt="hi", local_only=True)
    assert raised.value.translation_key == "no_provider_can_serve"
    assert str(raised.value) == (
        "No provider can serve this request: "
        "OpenAI is not local (the request is local only)"
    )


async def test_the_global_budget_is_named_when_it_refuses(
    hass: HomeAssistant, setup_aicleaner: Setup
) -> None:
    await setup_aicleaner(
        ("openai", "OpenAI", {}), options={"global_daily_budget": 0.0}
    )
    with pytest.raises(HomeAssistantError) as raised:
        await analyze(hass, prompt="hello")
    assert "global (0.0000 of 0.00 USD spent)" in str(raised.value)


async def test_providers_with_the_same_title_are_told_apart(
    hass: HomeAssistant, setup_aicleaner: Setup
) -> None:
    entry = await setup_aicleaner(("openai", "Same", {}), ("anthropic", "Same", {}))
    metrics = await hass.services.async_call(
        DOMAIN, "get_metrics", {}, blocking=True, return_response=True
    )
    second = list(entry.subentries)[1]
    assert set(metrics["costs"]["today"]["provider_costs"]) == {
        "Same",
        f"Same ({second[-6:]})",
    }


async def test_media_that_is_not_a_local_file_and_entity_pictures(
    hass: HomeAssistant, one_provider: MockConfigEntry, simulator: SimulatorServer
) -> None:
    with (
        patch(
            "homeassistant.components.media_source.async_resolve_media",
            return_value=PlayMedia("https://example.invalid/x.jpg", "image/jpeg"),
        ),
        pytest.raises(ServiceValidationError) as raised,
    ):
        await analyze(hass, prompt="look", media_content_id="media-source://radio/x")
    assert raised.value.translation_key == "media_not_local"
    hass.states.async_set("camera.door", "idle")
    hass.states.async_set("image.snapshot", "2026-12-01")
    with (
        patch(
            "homeassistant.components.camera.async_get_image",
            return_value=CameraImage("image/jpeg", jpeg()),
        ),
        patch(
            "homeassistant.components.image.async_get_image",
            return_value=CameraImage("image/png", _png()),
        ),
    ):
        result = await analyze(
            hass,
            prompt="look",
            media_content_id=[
                "media-source://camera/camera.door",
                "media-source://image/image.snapshot",
            ],
        )
    assert "2 image(s)" in result["text"]
    for media_id, key in (
        ("media-source://image/image.gone", "media_unknown"),
        ("media-source://camera/camera.gone", "camera_unknown"),
    ):
        with pytest.raises(ServiceValidationError) as raised:
            await analyze(hass, prompt="look", media_content_id=media_id)
        assert raised.value.translation_key == key


def _png() -> bytes:
    buffer = BytesIO()
    Image.new("RGB", (16, 16), "blue").save(buffer, format="PNG")
    return buffer.getvalue()


async def test_an_image_format_no_provider_reads_is_refused(
    hass: HomeAssistant, one_provider: MockConfigEntry, tmp_path: Path
) -> None:
    icon = tmp_path / "favicon.ico"
    Image.new("RGB", (16, 16), "blue").save(icon, format="ICO")
    hass.config.allowlist_external_dirs = {str(tmp_path)}
    with pytest.raises(ServiceValidationError) as raised:
        await analyze(hass, prompt="look", image_path=str(icon))
    assert raised.value.translation_key == "not_an_image"


async def test_a_provider_whose_key_cannot_be_read_is_never_offered(
    hass: HomeAssistant, setup_aicleaner: Setup, tmp_path: Path
) -> None:
    # A partial backup restore: the stored token no longer decrypts.
    entry = await setup_aicleaner(
        ("anthropic", "Lost", {CONF_API_KEY: "gAAAAAnot-a-fernet-token"}),
        ("openai", "Kept", {}),
    )
    [lost, _kept] = entry.subentries
    assert lost not in entry.runtime_data.router.provider_names
    with pytest.raises(ServiceValidationError) as raised:
        await analyze(hass, prompt="hi", provider="Lost")
    assert raised.value.translation_key == "providers_disabled"
    photo = tmp_path / "a.jpg"
    photo.write_bytes(jpeg())
    hass.config.allowlist_external_dirs = {str(tmp_path)}
    result = await analyze(hass, prompt="look", image_path=str(photo))
    assert result["provider"] == "Kept"


async def test_a_small_global_budget_is_named_with_its_own_figure(
    hass: HomeAssistant, setup_aicleaner: Setup
) -> None:
    entry = await setup_aicleaner(("openai", "OpenAI", {}))
    await analyze(hass, prompt="hello")
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "global_daily_budget": 0.000001}
    )
    await hass.async_block_till_done()
    with pytest.raises(HomeAssistantError) as raised:
        await analyze(hass, prompt="hello again")
    # Not "0.00 USD": the budget as it was set.
    assert "of 0.000001 USD spent)" in str(raised.value)
