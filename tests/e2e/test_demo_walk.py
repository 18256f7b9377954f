"""The demo walk in the real frontend: the installed blueprint → an automation → to-do items.

What a new user does in the `scripts/develop` demo, by clicking and typing only: open the
cleaning-tasks blueprint (installed by scripts/develop), pick the Kitchen camera and the to-do list,
save, run the automation's actions, and find the kitchen's tasks on the list. No key: the simulated
providers answer. Headless Chromium as in test_frontend.py.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
import json
import time
from typing import Any
import urllib.request

from playwright.sync_api import expect
import pytest
import pytest_socket

from scripts import develop

from .hass_process import HassProcess, provider_simulator
from .test_frontend import CHROMIUM, Browser, _browser_tokens

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed; scripts/bootstrap installs it in the "
    "project environment (SID_APT_PACKAGES in scripts/_common.sh)",
)


@pytest.fixture(autouse=True)
def verify_cleanup() -> None:
    """The browser's threads live as long as the module (see test_frontend.py)."""


@pytest.fixture(scope="module")
def walk(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[HassProcess, Browser, int]]:
    """A fresh demo as scripts/develop makes it, its simulator's port, and a logged-in browser."""
    pytest_socket.enable_socket()
    config_dir = tmp_path_factory.mktemp("demo-walk")
    with (
        provider_simulator() as sim_port,
        develop.demo_hass(config_dir, sim_port) as hass,
    ):
        browser = Browser(hass, _browser_tokens(hass))
        try:
            yield hass, browser, sim_port
        finally:
            browser.close()


def _open_items(hass: HassProcess) -> list[str]:
    answer = hass.request(
        "POST",
        "/api/services/todo/get_items?return_response",
        {"entity_id": develop.TODO_ENTITY, "status": "needs_action"},
    )["service_response"]
    return [item["summary"] for item in answer[develop.TODO_ENTITY]["items"]]


def _wait_for(what: str, check: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.5)
    return result


FOCUS_IN_TEXT_FIELD = """() => {
  let active = document.activeElement;
  while (active && active.shadowRoot && active.shadowRoot.activeElement) {
    active = active.shadowRoot.activeElement;
  }
  return active !== null && active.tagName === 'INPUT';
}"""


def _pick_entity(browser: Browser, search: str, shown: str) -> None:
    """Open the first empty entity picker, type `search`, choose the first match."""

    def _pick() -> None:
        page = browser.page
        empty = page.get_by_text("Select an entity")
        before = empty.count()
        empty.first.click()
        # Type only once the picker's search field has the focus: a key pressed elsewhere is a
        # shortcut of the frontend ("e" opens the entity search).
        page.wait_for_function(FOCUS_IN_TEXT_FIELD)
        page.keyboard.type(search)
        page.get_by_text(shown, exact=True).last.wait_for()
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")
        expect(empty).to_have_count(before - 1, timeout=30_000)

    browser.run(_pick)


def _simulator_requests(sim_port: int) -> dict[str, Any]:
    with urllib.request.urlopen(
        f"http://127.0.0.1:{sim_port}/_sim/requests", timeout=10
    ) as response:
        report: dict[str, Any] = json.load(response)
    return report["requests"]


@pytest.mark.usefixtures("socket_enabled")
def test_the_blueprint_makes_an_automation_that_fills_the_list_from_the_demo_camera(
    walk: tuple[HassProcess, Browser, int],
) -> None:
    hass, browser, sim_port = walk
    assert _open_items(hass) == []
    # The demo camera serves the shipped kitchen picture.
    camera = hass.request("GET", f"/api/states/{develop.CAMERA_ENTITY}")
    assert camera["attributes"]["file_path"].endswith(str(develop.DEMO_PHOTO_IN_CONFIG))

    text = browser.open("/config/blueprint/dashboard", "AICleaner cleaning tasks")
    browser.shot("walk-blueprints.png")
    assert "aicleaner/cleaning_tasks.yaml" in text

    room_help = "Leave it empty to use the name of the camera's area"
    text = browser.click_text(
        "AICleaner cleaning tasks",
        ("Camera", "To-do list", room_help, "Select an entity"),
    )
    # The Room input is empty by default, and says what empty means.
    assert room_help in text
    _pick_entity(browser, "Kitchen", "Camera")
    _pick_entity(browser, "Shopping", "Shopping list")
    browser.shot("walk-automation.png")
    browser.run(browser.page.get_by_text("Save", exact=True).last.click)

    automations = _wait_for(
        "saving the automation",
        lambda: [
            state
            for state in hass.request("GET", "/api/states")
            if state["entity_id"].startswith("automation.")
        ],
    )
    assert [state["attributes"]["friendly_name"] for state in automations] == [
        "AICleaner cleaning tasks"
    ]

    def _run_actions() -> None:
        browser.page.get_by_role("button", name="Menu").first.click()
        browser.page.get_by_text("Run actions", exact=True).first.click()

    browser.run(_run_actions)
    _wait_for(
        "the tasks reaching the to-do list",
        lambda: len(_open_items(hass)) >= len(develop.DEMO_TASKS),
    )
    assert _open_items(hass) == list(develop.DEMO_TASKS)

    text = browser.open(f"/todo?entity_id={develop.TODO_ENTITY}", develop.DEMO_TASKS)
    browser.shot("walk-todo.png")
    for task in develop.DEMO_TASKS:
        assert task in text, f"{task!r} is not on the to-do list page:\n{text}"

    # What was asked: the camera's picture, for the room named after the camera's area.
    asked = [
        request["json"]
        for requests in _simulator_requests(sim_port).values()
        for request in requests
        if develop.BLUEPRINT_PROMPT_WORDS in json.dumps(request["json"])
    ]
    assert len(asked) == 1
    sent = json.dumps(asked[0])
    assert "This is a picture of the kitchen." in sent
    # The demo photo itself went to the provider (small enough to be sent as it is).
    assert base64.b64encode(develop.DEMO_PHOTO.read_bytes()).decode() in sent
