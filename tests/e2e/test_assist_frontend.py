"""The Assist dialog in the real frontend (headless Chromium) with the demo's AICleaner agent.

A user opens Assist, types "turn on the kitchen lights", sees the answer come in and the light turn
on; then again with the first provider failing, which the agent passes over before a word.
"""

from __future__ import annotations

from collections.abc import Iterator
import json
import time
from typing import Any
import urllib.request

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
import pytest
import pytest_socket

from scripts import develop, develop_assist

from .hass_process import HassProcess, provider_simulator
from .test_frontend import CHROMIUM, SHOWN_TEXT, Browser, _browser_tokens

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed; scripts/bootstrap installs it in the "
    "project environment (SID_APT_PACKAGES in scripts/_common.sh)",
)


@pytest.fixture(autouse=True)
def verify_cleanup() -> None:
    """The browser's threads outlive each test (see test_frontend.py)."""


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[HassProcess, int]]:
    """HA as scripts/develop sets it up, with the simulator it talks to."""
    pytest_socket.enable_socket()
    config_dir = tmp_path_factory.mktemp("assist-frontend")
    with (
        provider_simulator() as sim_port,
        develop.demo_hass(config_dir, sim_port) as hass,
    ):
        yield hass, sim_port


@pytest.fixture(scope="module")
def browser(demo: tuple[HassProcess, int]) -> Iterator[Browser]:
    """A logged-in frontend."""
    hass, _ = demo
    browser = Browser(hass, _browser_tokens(hass))
    try:
        yield browser
    finally:
        browser.close()


# The agent's device shows the provider that last answered it.
LAST_PROVIDER = "/api/states/sensor.aicleaner_assist_last_provider"


def _sim(sim_port: int, path: str, payload: dict[str, Any] | None = None) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{sim_port}{path}",
        data=None if payload is None else json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST" if payload is not None else "DELETE",
    )
    with urllib.request.urlopen(request, timeout=10):
        pass


def _light(hass: HassProcess) -> str:
    state: str = hass.request("GET", f"/api/states/{develop_assist.KITCHEN_LIGHT}")[
        "state"
    ]
    return state


# The chat's own model of its messages (`ha-assist-chat`'s `_conversation`): while an answer
# streams, its text ends with "…"; at `intent-end` it becomes the final speech. The rendered
# bubble lags behind it (`ha-markdown` renders in a worker), so the DOM alone cannot tell a
# finished answer from a tool call whose next round has not been drawn yet.
CHAT_STATE = """el => {
  const all = el._conversation || [];
  const last = all[all.length - 1] || {};
  return {count: all.length, who: last.who || "", text: last.text || "",
          error: !!last.error};
}"""


def _ask_assist(browser: Browser, text: str) -> str:
    """Open the Assist dialog, type `text`, send it; return the dialog's text once answered."""

    def _run() -> str:
        page = browser.page
        page.evaluate(
            "p => { history.pushState(null, '', p);"
            " window.dispatchEvent(new CustomEvent('location-changed')); }",
            "/lovelace/0",
        )
        # A dialog opened while the page still navigates is closed by the navigation.
        page.wait_for_function("() => location.pathname === '/lovelace/0'")
        page.wait_for_timeout(1000)
        field = page.locator("ha-assist-chat ha-textfield input, ha-assist-chat input")
        # "a" is the frontend's shortcut for Assist. While the page still settles (a closing
        # dialog steps the history back, a navigation closes dialogs), a press can be lost or
        # its dialog closed again: press until a dialog opens and stays open for a second.
        deadline = time.monotonic() + 90
        while True:
            if not field.first.is_visible():
                page.keyboard.press("a")
            try:
                field.first.wait_for(state="visible", timeout=10_000)
                page.wait_for_timeout(1000)
                if field.first.is_visible():
                    break
            except PlaywrightTimeoutError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("the Assist dialog did not open and stay open")
        chat = page.locator("ha-assist-chat").first
        before = chat.evaluate(CHAT_STATE)["count"]
        field.first.fill(text)
        field.first.press("Enter")
        deadline = time.monotonic() + 60
        answer = ""
        while time.monotonic() < deadline:
            # The user's message and the agent's answer, final: no streaming "…" left.
            state = chat.evaluate(CHAT_STATE)
            final = state["text"].strip()
            if (
                state["count"] >= before + 2
                and state["who"] == "hass"
                and final
                and not final.endswith("…")
            ):
                answer = final
                break
            page.wait_for_timeout(250)
        # Then wait for the bubble to show it (its first words, as markdown leaves them).
        words = " ".join(answer.split()[:3])
        while words and time.monotonic() < deadline:
            if words in page.evaluate(SHOWN_TEXT):
                break
            page.wait_for_timeout(250)
        shown: str = page.evaluate(SHOWN_TEXT)
        page.keyboard.press("Escape")
        page.locator("ha-assist-chat").wait_for(state="detached", timeout=30_000)
        # Closing steps the history back: let that land before anything navigates again.
        page.wait_for_timeout(1500)
        return shown

    return browser.run(_run)


@pytest.mark.usefixtures("socket_enabled")
def test_assist_in_the_frontend_turns_on_the_kitchen_lights_and_fails_over(
    demo: tuple[HassProcess, int], browser: Browser
) -> None:
    hass, sim_port = demo
    assert _light(hass) == "off"

    shown = _ask_assist(browser, "turn on the kitchen lights")
    browser.shot("assist-answer.png")
    assert "turn on the kitchen lights" in shown
    assert "Simulated" in shown
    assert _light(hass) == "on"

    first = hass.request("GET", LAST_PROVIDER)["state"]
    kind = next(k for k, name, *_ in develop.DEMO_PROVIDERS if name == first)

    # Again, with the provider that answered rate-limited: another one answers.
    hass.request(
        "POST",
        "/api/services/light/turn_off",
        {"entity_id": develop_assist.KITCHEN_LIGHT},
    )
    assert _light(hass) == "off"
    _sim(sim_port, "/_sim/faults", {"provider": kind, "kind": "rate_limit"})
    shown = _ask_assist(browser, "turn on the kitchen lights")
    browser.shot("assist-failover.png")
    assert "Simulated" in shown
    assert _light(hass) == "on"
    assert hass.request("GET", LAST_PROVIDER)["state"] not in (first, "unknown")


@pytest.mark.usefixtures("socket_enabled")
def test_an_agent_is_added_in_the_frontend_with_the_form_as_shown(
    demo: tuple[HassProcess, int], browser: Browser
) -> None:
    hass, _ = demo
    # A closing dialog steps the history back: let it, then go to the integration's page.
    browser.run(lambda: browser.page.wait_for_timeout(2000))
    text = browser.open(
        "/config/integrations/integration/aicleaner", develop_assist.AGENT_NAME
    )
    browser.shot("assist-integration.png")
    assert "Add Assist agent" in text
    fields = (
        "Instructions",
        "Provider order",
        "Tool rounds per answer",
        "Daily budget",
    )
    text = browser.click_text("Add Assist agent", fields)
    browser.shot("assist-agent-form.png")
    for shown in (*fields, "Time to first word", "Local first, then the others"):
        assert shown in text, f"{shown!r} is not on the agent form:\n{text}"
    assert "component.aicleaner" not in text

    # Submitted as shown, only a name typed: the form must accept its own values.
    def _submit() -> str:
        page = browser.page
        name = page.locator(
            "ha-dialog input[name='name'], dialog-data-entry-flow input"
        ).first
        name.fill("Hall")
        page.get_by_role("button", name="Submit").first.click()
        # What the press leads to: the new agent, or the form's complaint.
        shown = browser._text_with(("Created configuration for Hall",))
        page.keyboard.press("Escape")
        return shown

    text = browser.run(_submit)
    browser.shot("assist-agent-added.png")
    assert "Not all required fields" not in text
    assert "Created configuration for Hall" in text, text[-2000:]
    subentries = hass.websocket_command(
        {
            "type": "config_entries/subentries/list",
            "entry_id": hass.request(
                "GET", "/api/config/config_entries/entry?domain=aicleaner"
            )[0]["entry_id"],
        }
    )
    assert "Hall" in {
        s["title"] for s in subentries if s["subentry_type"] == "conversation"
    }
