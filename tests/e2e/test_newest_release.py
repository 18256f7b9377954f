"""aicleaner in a real `hass` of the newest Home Assistant release, beside the pinned one.

The newest release lives in a venv of its own (tests/newest/requirements.txt), built by scripts/test
and scripts/e2e-newest, which pass its interpreter in AICLEANER_NEWEST_PYTHON. The test itself runs in the
project venv and only starts `hass` from that one.
"""

from __future__ import annotations

from collections.abc import Iterator
import os
from pathlib import Path
import re

import pytest

from scripts import develop, develop_assist

from .hass_process import REPO_ROOT, HassProcess
from .test_assist_in_hass import run_pipeline

REQUIREMENTS = REPO_ROOT / "tests" / "newest" / "requirements.txt"


def newest_release() -> str:
    """The Home Assistant version tests/newest/requirements.txt pins."""
    match = re.search(
        r"^homeassistant==(\S+)$",
        REQUIREMENTS.read_text(encoding="utf-8"),
        re.MULTILINE,
    )
    assert match, f"{REQUIREMENTS} pins no homeassistant"
    return match.group(1)


@pytest.fixture(scope="module")
def newest_python() -> str:
    """The newest release's interpreter; CI must have it (scripts/test builds it)."""
    python = os.environ.get("AICLEANER_NEWEST_PYTHON")
    if not python:
        if os.environ.get("CI"):
            pytest.fail("AICLEANER_NEWEST_PYTHON is not set: run through scripts/test")
        pytest.skip(
            "the newest release's venv is built by scripts/test and scripts/e2e-newest"
        )
    return python


@pytest.fixture
def newest_hass(
    tmp_path: Path, simulator_port: int, newest_python: str
) -> Iterator[HassProcess]:
    """The newest release running, onboarded as scripts/develop does, with the demo providers."""
    with develop.demo_hass(
        tmp_path, simulator_port, python=newest_python, timeout=240
    ) as hass:
        yield hass


# The one warning HA logs for every custom integration.
CUSTOM_INTEGRATION_WARNING = "We found a custom integration aicleaner"


def aicleaner_errors(hass: HassProcess) -> list[str]:
    """ERROR and WARNING lines of HA's log that name aicleaner (a deprecation warns first)."""
    return [
        line
        for line in hass.log_path.read_text(
            encoding="utf-8", errors="replace"
        ).splitlines()
        if re.search(r"\b(ERROR|WARNING)\b", line)
        and "aicleaner" in line
        and CUSTOM_INTEGRATION_WARNING not in line
    ]


def test_integration_sets_up_and_answers_on_the_newest_release(
    newest_hass: HassProcess,
) -> None:
    hass = newest_hass
    assert hass.request("GET", "/api/config")["version"] == newest_release()

    entries = hass.request("GET", "/api/config/config_entries/entry?domain=aicleaner")
    assert [(e["state"], e["num_subentries"]) for e in entries] == [
        ("loaded", len(develop.DEMO_PROVIDERS) + 1)  # the providers and the agent
    ]

    answer = hass.request(
        "POST",
        "/api/services/aicleaner/analyze?return_response",
        {"prompt": "What needs cleaning?", "provider": "Anthropic (simulated)"},
    )["service_response"]
    assert answer["provider"] == "Anthropic (simulated)"
    assert answer["text"].startswith("Simulated anthropic reply")
    assert answer["cost"] > 0

    # The demo's Assist agent answers there too, through the default Assist pipeline.
    events = run_pipeline(hass, "turn on the kitchen lights")
    end = next(e for e in events if e["type"] == "intent-end")
    speech = end["data"]["intent_output"]["response"]["speech"]["plain"]["speech"]
    assert speech.startswith("Simulated")
    assert (
        hass.request("GET", f"/api/states/{develop_assist.KITCHEN_LIGHT}")["state"]
        == "on"
    )

    assert aicleaner_errors(hass) == []
