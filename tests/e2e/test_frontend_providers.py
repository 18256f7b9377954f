"""Adding every kind of provider and reconfiguring one in the real frontend, as a user does (issue 20).

Only clicks and typing in headless Chromium: the name, key and address on the first form, then Submit
on every later form with nothing touched (the collapsed "Timeouts, retries and circuit breaker"
section included). Before the fix each of these forms failed with "Not all required fields are filled
in". Then every provider answers an analyze action, pinned to it by name.
"""

from __future__ import annotations

from collections.abc import Iterator
import time
from typing import Any

import pytest
import pytest_socket

from scripts import develop

from .hass_process import HassProcess, provider_simulator
from .test_frontend import CHROMIUM, SHOWN_TEXT, Browser, _browser_tokens, _no_raw_keys

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed; scripts/bootstrap installs it in the "
    "project environment (SID_APT_PACKAGES in scripts/_common.sh)",
)

# (button label's kind, name typed, key typed or None, simulator path) as a user would fill them.
PROVIDERS = (
    ("OpenAI", "My OpenAI", "sk-typed-openai", "/openai/v1"),
    ("Anthropic", "My Claude", "sk-ant-typed", "/anthropic"),
    ("Google Gemini", "My Gemini", "typed-gemini-key", "/gemini"),
    ("Ollama", "My Ollama", None, "/ollama"),
    ("OpenAI-compatible endpoint", "My Gateway", "sk-typed-compat", "/compatible/v1"),
)
ADVANCED_DEFAULTS = {
    "timeout_seconds": 30,
    "max_retries": 3,
    "failure_threshold": 5,
    "circuit_breaker_timeout": 60,
    "half_open_max_calls": 3,
}
# Marks the form's selector labelled `label` (the frontend sets the label as a property).
MARK_FIELD = """label => {
  const walk = (node) => {
    if (node.nodeType === Node.ELEMENT_NODE) {
      if (node.tagName === 'HA-SELECTOR' && node.label === label) {
        node.setAttribute('data-test-field', label);
      }
      if (node.shadowRoot) walk(node.shadowRoot);
    }
    for (const child of node.childNodes) walk(child);
  };
  walk(document.body);
}"""
# The frontend's refusal when a required field is empty.
NOT_FILLED = "Not all required fields are filled in"


@pytest.fixture(autouse=True)
def verify_cleanup() -> None:
    """The browser's threads live as long as this module (see test_frontend)."""


@pytest.fixture(scope="module")
def fresh(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[HassProcess, int]]:
    """HA as `scripts/develop` sets it up, but with no provider yet; and the simulator."""
    pytest_socket.enable_socket()
    config_dir = tmp_path_factory.mktemp("providers")
    # No demo provider: the tests add them in the browser.
    with provider_simulator() as port, develop.demo_hass(config_dir, None) as hass:
        yield hass, port


@pytest.fixture(scope="module")
def browser(fresh: tuple[HassProcess, int]) -> Iterator[Browser]:
    hass, _port = fresh
    browser = Browser(hass, _browser_tokens(hass))
    try:
        yield browser
    finally:
        browser.close()


def _subentries(hass: HassProcess) -> dict[str, dict[str, Any]]:
    """Each provider's stored settings, by its name, as the entry's diagnostics give them."""
    (entry,) = hass.request("GET", "/api/config/config_entries/entry?domain=aicleaner")
    dump = hass.request("GET", f"/api/diagnostics/config_entry/{entry['entry_id']}")
    subentries = dump["data"]["entry"]["subentries"]
    # The demo's Assist agent is a subentry too, not a provider.
    return {
        sub["title"]: sub["data"]
        for sub in subentries
        if sub["subentry_type"] != "conversation"
    }


def _type_into(browser: Browser, field: str, text: str) -> None:
    """Click a form field, by its key, and type as a user does."""

    def _type() -> None:
        browser.page.locator(f"input[name='{field}']").click()
        browser.page.keyboard.type(text)

    browser.run(_type)


def _submit_until(browser: Browser, done: str, *, most: int = 4) -> str:
    """Press Submit on each form as shown, touching nothing, until `done` is on the page.

    After each press, wait for what the press leads to (the next form, an error, or `done`)
    rather than a fixed time: on a busy machine the connection test can take seconds, and a
    second press must never land on the form the first press is still submitting.
    """

    def _press() -> str:
        page = browser.page
        submit = page.get_by_role("button", name="Submit")
        text = ""
        for _ in range(most):
            before = page.evaluate(SHOWN_TEXT)
            submit.click()
            deadline = time.monotonic() + 60
            while True:
                page.wait_for_timeout(250)
                text = page.evaluate(SHOWN_TEXT)
                assert NOT_FILLED not in text, text[-2000:]
                if done in text:
                    return text
                # The next form: new text, and its Submit button ready.
                if text != before and submit.count() and submit.first.is_enabled():
                    break
                if time.monotonic() > deadline:
                    return text
        return text

    return browser.run(_press)


def _close_dialog(browser: Browser, label: str) -> None:
    # Playwright objects are made on the browser's thread, hence the lambdas.
    browser.run(lambda: browser.page.get_by_role("button", name=label).last.click())  # noqa: PLW0108


@pytest.mark.usefixtures("socket_enabled")
def test_each_kind_of_provider_is_added_by_typing_only_its_connection(
    browser: Browser, fresh: tuple[HassProcess, int]
) -> None:
    hass, port = fresh
    for kind, name, key, path in PROVIDERS:
        browser.open(
            "/config/integrations/integration/aicleaner", f"Add {kind} provider"
        )
        text = browser.click_text(f"Add {kind} provider", ("Name", "Base URL"))
        _no_raw_keys(text)
        _type_into(browser, "name", name)
        if key is not None:
            _type_into(browser, "api_key", key)
        # The address field of a cloud provider is pre-filled with the official one.
        browser.run(lambda: browser.page.locator("input[name='base_url']").fill(""))
        _type_into(browser, "base_url", f"http://127.0.0.1:{port}{path}")
        text = _submit_until(browser, f"Created configuration for {name}")
        browser.shot(f"added-{kind.split()[0].lower()}.png")
        assert f"Created configuration for {name}" in text, text[-2000:]
        _no_raw_keys(text)
        _close_dialog(browser, "Finish")

    stored = _subentries(hass)
    assert set(stored) == {name for _kind, name, *_ in PROVIDERS}
    for name, data in stored.items():
        # The collapsed section was never opened: its defaults were saved.
        assert {k: data[k] for k in ADVANCED_DEFAULTS} == ADVANCED_DEFAULTS, name
        assert data["enabled"] is True
        assert data["priority"] == 1
    assert stored["My Gateway"]["server_role"] == "forwards"
    assert stored["My Ollama"]["local"] is True


@pytest.mark.usefixtures("socket_enabled")
def test_a_provider_is_reconfigured_with_a_new_key_and_everything_else_untouched(
    browser: Browser, fresh: tuple[HassProcess, int]
) -> None:
    hass, _port = fresh
    before = _subentries(hass)["My OpenAI"]
    browser.open("/config/integrations/integration/aicleaner", "My OpenAI")
    browser.run(
        lambda: browser.page.get_by_label("Reconfigure OpenAI provider").first.click()  # noqa: PLW0108
    )
    text = browser.run(lambda: browser._text_with(("Reconfigure My OpenAI",)))
    shown = browser.run(
        lambda: browser.page.locator("input").evaluate_all(
            "es => Object.fromEntries(es.filter(e => e.name).map(e => [e.name, e.value]))"
        )
    )
    # The saved name and address are shown; the key never comes back to the browser.
    assert shown["name"] == "My OpenAI"
    assert shown["base_url"].endswith("/openai/v1")
    assert shown["api_key"] == ""
    _type_into(browser, "api_key", "sk-rotated-openai")
    text = _submit_until(browser, "new settings were saved")
    browser.shot("reconfigured.png")
    _no_raw_keys(text)
    _close_dialog(browser, "Close")
    after = _subentries(hass)["My OpenAI"]
    # A new key (its date moved), and every other setting as it was.
    assert after["api_key_set_at"] != before["api_key_set_at"]
    unchanged = {k: v for k, v in before.items() if k != "api_key_set_at"}
    assert {k: after[k] for k in unchanged} == unchanged


@pytest.mark.usefixtures("socket_enabled")
def test_every_provider_added_in_the_browser_answers_the_action_run_in_the_browser(
    browser: Browser,
) -> None:
    browser.open("/developer-tools/action", "Perform action")

    def _analyze(name: str) -> str:
        page = browser.page
        if not page.locator(".cm-content").count():
            page.get_by_text("YAML mode", exact=True).first.click()
        editor = page.locator(".cm-content").first
        editor.click()
        page.keyboard.press("Control+a")
        page.keyboard.press("Delete")
        # Pinned by name, in another case than typed (names are case-insensitive).
        page.keyboard.type(
            "action: aicleaner.analyze\n"
            f"data: {{prompt: Hello {name}, provider: {name.lower()}, use_cache: false}}\n"
        )
        page.get_by_role("button", name="Perform action").click()
        return browser._text_with((f"provider : {name}",))

    for _kind, name, *_ in PROVIDERS:
        text = browser.run(lambda name=name: _analyze(name))
        response = text[text.find("Response") :]
        assert f"provider : {name}" in response, response[:1500]
        assert "outcome : success" in response
    browser.shot("analyzed.png")


def _openai_settings_step(browser: Browser, port: int, name: str) -> None:
    """Add an OpenAI provider `name` on the simulator, by typing, up to its settings form."""
    browser.open("/config/integrations/integration/aicleaner", "Add OpenAI provider")
    browser.click_text("Add OpenAI provider", ("Name", "Base URL"))
    _type_into(browser, "name", name)
    _type_into(browser, "api_key", f"sk-typed-{name.lower()}")
    browser.run(lambda: browser.page.locator("input[name='base_url']").fill(""))
    _type_into(browser, "base_url", f"http://127.0.0.1:{port}/openai/v1")

    def _settings() -> str:
        browser.page.get_by_role("button", name="Submit").click()
        return browser._text_with(("Timeouts, retries and circuit breaker",))

    browser.run(_settings)


@pytest.mark.usefixtures("socket_enabled")
def test_the_advanced_section_opened_shows_its_defaults_and_the_form_submits(
    browser: Browser, fresh: tuple[HassProcess, int]
) -> None:
    hass, port = fresh
    _openai_settings_step(browser, port, "Opened")

    def _open_section() -> tuple[list[str], dict[str, object]]:
        # The section's header, as a user clicks it (it is scrolled to first).
        panel = browser.page.locator("ha-expansion-panel").last
        summary = panel.locator("#summary").first
        summary.scroll_into_view_if_needed()
        summary.click()
        browser._text_with(("First-word deadline (streams)",))
        # What the fields show, in order, and what the form holds for the section.
        values: list[str] = panel.locator("input").evaluate_all(
            "es => es.map(e => e.value)"
        )
        data: dict[str, object] = browser.page.locator(
            "ha-form-expandable"
        ).last.evaluate("e => ({...e.data})")
        return values, data

    values, data = browser.run(_open_section)
    browser.shot("advanced-opened.png")
    # A new provider's defaults, each in its field (attempt timeout, first-word deadline left
    # empty for the default by locality, retries, failures, open time, trials), and in the form.
    assert values == ["30", "", "3", "5", "60", "3"], values
    assert {k: data[k] for k in ADVANCED_DEFAULTS} == ADVANCED_DEFAULTS, data
    text = _submit_until(browser, "Created configuration for Opened")
    assert "Created configuration for Opened" in text, text[-2000:]
    _close_dialog(browser, "Finish")
    stored = _subentries(hass)["Opened"]
    assert {k: stored[k] for k in ADVANCED_DEFAULTS} == ADVANCED_DEFAULTS
    assert stored["ttft_timeout"] is None


@pytest.mark.usefixtures("socket_enabled")
def test_after_an_error_the_settings_form_keeps_what_was_typed(
    browser: Browser, fresh: tuple[HassProcess, int]
) -> None:
    hass, port = fresh
    _openai_settings_step(browser, port, "Mistyped")

    def _field(label: str) -> Any:
        # The form's field labelled `label` (its label is a property, not an attribute): marked
        # so that Playwright finds the input in its shadow roots, where a user types.
        browser.page.evaluate(MARK_FIELD, label)
        return browser.page.locator(
            f'ha-selector[data-test-field="{label}"] input'
        ).first

    def _mistype() -> tuple[str, str, str]:
        _field("Priority").fill("2")
        # One price without the other: the form refuses it.
        _field("Input price (override)").fill("1.5")
        browser.page.get_by_role("button", name="Submit").click()
        text = browser._text_with(("Enter both prices, or neither.",))
        return (
            text,
            _field("Priority").input_value(),
            _field("Input price (override)").input_value(),
        )

    text, priority, price_input = browser.run(_mistype)
    browser.shot("settings-error.png")
    assert "Enter both prices, or neither." in text, text[-2000:]
    # What the user typed is still there.
    assert (priority, price_input) == ("2", "1.5")

    def _complete() -> None:
        _field("Output price (override)").fill("6")

    browser.run(_complete)
    text = _submit_until(browser, "Created configuration for Mistyped")
    assert "Created configuration for Mistyped" in text, text[-2000:]
    _close_dialog(browser, "Finish")
    stored = _subentries(hass)["Mistyped"]
    assert (stored["priority"], stored["price_input"], stored["price_output"]) == (
        2,
        1.5,
        6,
    )
    assert {k: stored[k] for k in ADVANCED_DEFAULTS} == ADVANCED_DEFAULTS
