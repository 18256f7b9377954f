"""Home Assistant's Prometheus exporter shows AICleaner's sensors."""

from __future__ import annotations

import re

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from tests.entity_setup import analyze, async_setup_providers
from tests.simulator import SimulatorServer

_SAMPLE = re.compile(r'^(\w+)\{.*entity="([^"]+)".*\} (\S+)$')


def _samples(text: str) -> dict[tuple[str, str], float]:
    """{(metric, entity_id): value} of the AICleaner entities in an exposition."""
    samples: dict[tuple[str, str], float] = {}
    for line in text.splitlines():
        if (found := _SAMPLE.match(line)) and found[2].split(".")[1].startswith(
            ("openai_", "aicleaner_")
        ):
            samples[found[1], found[2]] = float(found[3])
    return samples


async def test_prometheus_exports_cost_requests_latency_and_health(
    hass: HomeAssistant,
    simulator: SimulatorServer,
    hass_client: ClientSessionGenerator,
) -> None:
    await async_setup_providers(hass, simulator, ("openai", "OpenAI", {}))
    assert await async_setup_component(hass, "prometheus", {"prometheus": {}})
    await hass.async_block_till_done()
    answer = await analyze(hass, prompt="What needs cleaning?")

    client = await hass_client()
    response = await client.get("/api/prometheus")
    assert response.status == 200
    samples = _samples(await response.text())

    for entity_id in ("sensor.openai_cost_today", "sensor.aicleaner_total_cost_today"):
        assert samples["homeassistant_sensor_monetary_usd", entity_id] == pytest.approx(
            answer["cost"]
        )
    assert samples["homeassistant_sensor_state", "sensor.openai_requests_today"] == 1
    assert (
        samples["homeassistant_sensor_state", "sensor.aicleaner_total_requests_today"]
        == 1
    )
    assert samples["homeassistant_sensor_duration_ms", "sensor.openai_latency"] > 0
    assert (
        samples["homeassistant_sensor_unit_percent", "sensor.openai_success_rate"]
        == 100
    )
    assert (
        samples["homeassistant_sensor_state", "sensor.aicleaner_healthy_providers"] == 1
    )
    assert (
        samples["homeassistant_binary_sensor_state", "binary_sensor.openai_problem"]
        == 0
    )
