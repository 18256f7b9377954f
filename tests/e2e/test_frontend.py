"""The real HA frontend in headless Chromium: the provider form, the dashboard and the entities.

Playwright drives Debian's `chromium` (scripts/bootstrap installs it in the project environment);
Playwright's own browser download is not used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
import json
import os
from pathlib import Path
import shutil
import time
from typing import Any

from playwright.sync_api import sync_playwright
import pytest
import pytest_socket

from scripts import develop

from .hass_process import HassProcess, provider_simulator

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed; scripts/bootstrap installs it in the "
    "project environment (SID_APT_PACKAGES in scripts/_common.sh)",
)


@pytest.fixture(autouse=True)
def verify_cleanup() -> None:
    """Replace the plugin's check for threads left behind by a test.

    The browser lives as long as this module, with its threads; it is closed (and they end) when
    the module's tests are done. Nothing here runs an HA instance in this process to check.
    """


# Collects the text the page shows, through every shadow root (inner_text misses most of it).
SHOWN_TEXT = """() => {
  const parts = [];
  const walk = (node) => {
    if (node.nodeType === Node.TEXT_NODE) { parts.push(node.textContent); return; }
    if (node.nodeType === Node.ELEMENT_NODE) {
      if (['SCRIPT', 'STYLE'].includes(node.tagName)) return;
      for (const attr of ['label', 'heading', 'header', 'title']) {
        const value = node.getAttribute(attr);
        if (value) parts.push(value);
      }
    } else if (node.nodeType !== Node.DOCUMENT_FRAGMENT_NODE) return;
    if (node.shadowRoot) walk(node.shadowRoot);
    for (const child of node.childNodes) walk(child);
  };
  walk(document.body);
  return parts.join(' ').replace(/\\s+/g, ' ');
}"""
NAVIGATE = """path => {
  history.pushState(null, '', path);
  window.dispatchEvent(new CustomEvent('location-changed'));
}"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HassProcess]:
    """HA as `scripts/develop` sets it up: the demo providers on a simulator, and the dashboard."""
    pytest_socket.enable_socket()
    config_dir = tmp_path_factory.mktemp("frontend")
    with provider_simulator() as port, develop.demo_hass(config_dir, port) as hass:
        # Figures to show: one answer from the first demo provider.
        hass.request(
            "POST",
            "/api/services/aicleaner/analyze?return_response",
            {
                "prompt": "What needs cleaning?",
                "provider": develop.DEMO_PROVIDERS[0][1],
            },
        )
        yield hass


def _browser_tokens(hass: HassProcess) -> dict[str, Any]:
    """Log in as the frontend does and return what it keeps in localStorage."""
    client_id = f"{hass.url}/"
    flow = hass.request(
        "POST",
        "/auth/login_flow",
        {
            "client_id": client_id,
            "handler": ["homeassistant", None],
            "redirect_uri": client_id,
        },
        auth=False,
    )
    result = hass.request(
        "POST",
        f"/auth/login_flow/{flow['flow_id']}",
        {
            "client_id": client_id,
            "username": develop.USERNAME,
            "password": develop.PASSWORD,
        },
        auth=False,
    )
    tokens: dict[str, Any] = hass.request(
        "POST",
        "/auth/token",
        form={
            "grant_type": "authorization_code",
            "code": result["result"],
            "client_id": client_id,
        },
        auth=False,
    )
    return {
        **tokens,
        "hassUrl": hass.url,
        "clientId": client_id,
        "expires": int(time.time() * 1000) + tokens["expires_in"] * 1000,
    }


class Browser:
    """Headless Chromium on one thread of its own.

    Playwright's sync API refuses a thread whose event loop pytest-asyncio may hold, so every
    browser call runs on a worker thread, always the same one (Playwright objects stay on theirs).
    """

    def __init__(self, hass: HassProcess, tokens: dict[str, Any]) -> None:
        self._worker = ThreadPoolExecutor(max_workers=1)
        self._hass = hass
        self._tokens = tokens
        self._playwright: Any = None
        self._browser: Any = None
        self.page: Any = None
        self.run(self._start)

    def run[T](self, fn: Callable[[], T]) -> T:
        """Run `fn` on the browser's thread and return its result."""
        return self._worker.submit(fn).result()

    def _start(self) -> None:
        self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
            ],
        )
        context = self._browser.new_context(viewport={"width": 1280, "height": 1000})
        tokens = json.dumps(json.dumps(self._tokens))
        context.add_init_script(f"localStorage.setItem('hassTokens', {tokens})")
        self.page = context.new_page()
        self.page.goto(self._hass.url + "/", wait_until="load")
        self.page.wait_for_selector("home-assistant", state="attached")

    def open(self, path: str, waits_for: str | tuple[str, ...]) -> str:
        """Go to `path` inside the app; return the text shown once `waits_for` is all on the page.

        Cards render one by one: waiting for every text a test checks, not only the first, keeps a
        busy machine from failing a test on a card not drawn yet.
        """
        return self.run(lambda: self._open(path, waits_for))

    def _open(self, path: str, waits_for: str | tuple[str, ...]) -> str:
        self.page.evaluate(NAVIGATE, path)
        return self._text_with(waits_for)

    def _text_with(self, waits_for: str | tuple[str, ...]) -> str:
        wanted = (waits_for,) if isinstance(waits_for, str) else waits_for
        deadline = time.monotonic() + 60
        while True:
            text: str = self.page.evaluate(SHOWN_TEXT)
            if all(item in text for item in wanted) or time.monotonic() > deadline:
                return text
            self.page.wait_for_timeout(500)

    def click_text(self, label: str, waits_for: str | tuple[str, ...]) -> str:
        """Click the first element showing `label`; return the text once `waits_for` shows."""

        def _click() -> str:
            self.page.get_by_text(label, exact=True).first.click()
            return self._text_with(waits_for)

        return self.run(_click)

    def shot(self, name: str) -> None:
        """Keep a screenshot in $AICLEANER_SHOTS, when set."""
        if shots := os.environ.get("AICLEANER_SHOTS"):
            self.run(
                lambda: self.page.screenshot(
                    path=str(Path(shots) / name), full_page=True
                )
            )

    def close(self) -> None:
        def _close() -> None:
            self._browser.close()
            self._playwright.stop()

        self.run(_close)
        self._worker.shutdown()


@pytest.fixture(scope="module")
def browser(demo: HassProcess) -> Iterator[Browser]:
    """A logged-in frontend in headless Chromium."""
    browser = Browser(demo, _browser_tokens(demo))
    try:
        yield browser
    finally:
        browser.close()


def _no_raw_keys(text: str) -> None:
    assert "component.aicleaner" not in text
    assert "ui.panel" not in text


@pytest.mark.usefixtures("socket_enabled")
def test_the_dashboard_shows_translated_entities_and_their_values(
    browser: Browser,
) -> None:
    expected = (
        "Router",
        "Cost today",
        "Requests today",
        "Healthy providers",
        "Strategy",
        "Cost per day",
        "Budget left today",
        "Status",
        "Problem",
        "Latency",
        "Success rate",
        # Translated states: an enum sensor and the strategy select.
        "Healthy",
        "Priority",
        *(name for _kind, name, *_ in develop.DEMO_PROVIDERS),
    )
    text = browser.open(f"/{develop.DASHBOARD_URL}/providers", expected)
    browser.shot("dashboard.png")

    for shown in expected:
        assert shown in text, f"{shown!r} is not on the dashboard:\n{text}"
    # Rows are named short: a card's title says whose they are (a device's name before each
    # entity's would be cut in a narrow card).
    for long_name in ("AICleaner Total cost today", "OpenAI (simulated) Success rate"):
        assert long_name not in text
    _no_raw_keys(text)


@pytest.mark.usefixtures("socket_enabled")
def test_a_provider_device_page_lists_its_entities_by_their_names(
    browser: Browser, demo: HassProcess
) -> None:
    registry = demo.websocket_command({"type": "config/device_registry/list"})
    name = develop.DEMO_PROVIDERS[0][1]
    (device,) = [d for d in registry if d["name"] == name]

    expected = (
        "Cost today",
        "Budget remaining today",
        "Requests today",
        "Latency",
        "Success rate",
        "Status",
        "Reset circuit breaker",
        "gpt-5.4-mini",
        "OpenAI",
    )
    text = browser.open(f"/config/devices/device/{device['id']}", expected)
    browser.shot("device.png")

    for shown in expected:
        assert shown in text, f"{shown!r} is not on the device page:\n{text}"
    _no_raw_keys(text)


@pytest.mark.usefixtures("socket_enabled")
def test_the_provider_subentry_form_renders_translated(browser: Browser) -> None:
    text = browser.open(
        "/config/integrations/integration/aicleaner", "OpenAI (simulated)"
    )
    browser.shot("integration.png")
    assert "AICleaner" in text
    _no_raw_keys(text)

    text = browser.click_text("Add OpenAI provider", ("Name", "API key", "Base URL"))
    browser.shot("subentry-form.png")

    for shown in ("Name", "API key", "Base URL"):
        assert shown in text, f"{shown!r} is not on the provider form:\n{text}"
    _no_raw_keys(text)
