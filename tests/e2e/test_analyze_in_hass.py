"""A real `hass`: a provider added over REST answers `aicleaner.analyze`, and its spend survives a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts import develop

from .hass_process import HassProcess


def test_analyze_answers_and_its_spend_survives_a_restart(
    tmp_path: Path, simulator_port: int
) -> None:
    hass = HassProcess(config_dir=tmp_path)
    try:
        hass.start(timeout=180)
        develop.set_up(hass, simulator_port)
        hass.wait_until_running(timeout=180)

        answer = hass.request(
            "POST",
            "/api/services/aicleaner/analyze?return_response",
            {"prompt": "What needs cleaning?", "provider": "OpenAI (simulated)"},
        )["service_response"]
        assert answer["provider"] == "OpenAI (simulated)"
        assert answer["text"].startswith("Simulated openai reply")
        assert answer["cost"] > 0

        hass.restart(timeout=180)

        metrics = hass.request(
            "POST", "/api/services/aicleaner/get_metrics?return_response", {}
        )["service_response"]
        today = metrics["costs"]["today"]["provider_costs"]["OpenAI (simulated)"]
        assert today["total_cost"] == pytest.approx(answer["cost"])
        assert today["requests"] == 1
        assert metrics["costs"]["last_30_days"][-1]["cost"] == pytest.approx(
            answer["cost"]
        )
    finally:
        hass.stop()
