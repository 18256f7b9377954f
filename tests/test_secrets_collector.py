"""The secrets check can fail: an inner pytest session leaks keys on purpose, one per channel.

The inner session (a subprocess, so nothing it logs reaches this session's collector) runs with the
same plugin and the same final test as the real suite. Each inner test leaks its own key through one
channel; one more test handles a key correctly and must not be named. The final test must fail and
name every channel with the fingerprint of the key leaked there, without printing a key.
"""

from __future__ import annotations

import os
from pathlib import Path
import re

import pytest

from tests.secrets_collector import fingerprint

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent

# channel -> the key leaked there. Some are "sk-" literals (learned from the test files), the others
# are learned only where they pass: a provider client (log), the vault (ciphertext).
KEYS = {
    "log": "proof-log-key-4f1c9a7e20",
    "state": "sk-proof-state-8d2b6c",
    "event": "sk-proof-event-1e7a3f",
    "response": "sk-proof-response-5c90ad",
    "exception": "sk-proof-raised-0b4e12",
    "exception-cause": "sk-proof-cause-77e3c1",
    "flow": "sk-proof-flow-3a6d8e",
    "repair": "sk-proof-repair-9f0b25",
}
# Only its ciphertext leaks (through a log record); the key itself is never shown.
VAULT_KEY = "proof-vault-key-2d8e5b13c4"
# Handled correctly: given to a client, encrypted, named by its fingerprint only.
SAFE_KEY = "sk-proof-safe-6b1f0e94d7"
# Typed into a form, kept in its field after an error: handed back to the one who typed it.
TYPED_KEY = "sk-proof-typed-4c2e7a"

CONFTEST = """
import pytest

import custom_components.aicleaner  # noqa: F401

pytest_plugins = ["tests.simulator.fixtures", "tests.secrets_collector"]


@pytest.fixture(autouse=True)
def _enable_custom_integrations(request):
    if "hass" in request.fixturenames:
        request.getfixturevalue("enable_custom_integrations")
"""

LEAKS = """
import logging

import aiohttp
import pytest
from homeassistant import config_entries
from homeassistant.core import SupportsResponse
from homeassistant.helpers import issue_registry as ir
import voluptuous as vol
from pytest_homeassistant_custom_component.common import (
    MockModule,
    mock_config_flow,
    mock_integration,
    mock_platform,
)

from custom_components.aicleaner import diagnostics
from custom_components.aicleaner.credentials import async_get_vault, fingerprint
from custom_components.aicleaner.providers.openai import OpenAIProvider
from tests.entity_setup import async_setup_providers

KEYS = {keys!r}
VAULT_KEY = {vault_key!r}
SAFE_KEY = {safe_key!r}
TYPED_KEY = {typed_key!r}
LOGGER = logging.getLogger("custom_components.aicleaner.proof")


async def test_log():
    async with aiohttp.ClientSession() as session:
        OpenAIProvider(session, name="p", model="gpt-4o-mini", api_key=KEYS["log"])
    LOGGER.debug("calling with %s", KEYS["log"])


async def test_state(hass):
    hass.states.async_set("sensor.proof", "on", {{"key": KEYS["state"]}})


async def test_event(hass):
    hass.bus.async_fire("proof_event", {{"auth": "Bearer " + KEYS["event"]}})


async def test_response(hass):
    hass.services.async_register(
        "proof", "echo", lambda call: {{"key": KEYS["response"]}},
        supports_response=SupportsResponse.ONLY,
    )
    await hass.services.async_call("proof", "echo", blocking=True, return_response=True)


async def test_exception():
    raise RuntimeError("the provider said: invalid key " + KEYS["exception"])


async def test_exception_cause():
    with pytest.raises(RuntimeError):
        try:
            raise ValueError(KEYS["exception-cause"])
        except ValueError as err:
            raise RuntimeError("request failed") from err


async def test_flow(hass):
    class Flow(config_entries.ConfigFlow):
        async def async_step_user(self, user_input=None):
            # First a stored key filled into the form (a leak), then, after an error, what the
            # user just typed kept in its field (not one).
            key = KEYS["flow"] if user_input is None else user_input["api_key"]
            schema = self.add_suggested_values_to_schema(
                vol.Schema({{vol.Required("api_key"): str}}), {{"api_key": key}}
            )
            errors = None if user_input is None else {{"base": "invalid_auth"}}
            return self.async_show_form(step_id="user", data_schema=schema, errors=errors)

    mock_integration(hass, MockModule("proof"))
    mock_platform(hass, "proof.config_flow", None)
    with mock_config_flow("proof", Flow):
        result = await hass.config_entries.flow.async_init(
            "proof", context={{"source": "user"}}
        )
        await hass.config_entries.flow.async_configure(
            result["flow_id"], {{"api_key": TYPED_KEY}}
        )


async def test_repair(hass):
    ir.async_create_issue(
        hass, "proof", "leak", is_fixable=False, severity=ir.IssueSeverity.ERROR,
        translation_key="leak", translation_placeholders={{"key": KEYS["repair"]}},
    )


async def test_ciphertext(hass):
    vault = await async_get_vault(hass)
    LOGGER.warning("stored %s", vault.encrypt(VAULT_KEY))


async def test_diagnostics(hass, simulator, monkeypatch):
    # Redaction forgotten: the dump holds the providers' encrypted keys.
    monkeypatch.setattr(diagnostics, "TO_REDACT", set())
    entry = await async_setup_providers(hass, simulator, ("openai", "OpenAI", {{}}))
    await diagnostics.async_get_config_entry_diagnostics(hass, entry)


async def test_handled_correctly(hass):
    vault = await async_get_vault(hass)
    token = vault.encrypt(SAFE_KEY)
    assert vault.decrypt(token) == SAFE_KEY
    async with aiohttp.ClientSession() as session:
        OpenAIProvider(session, name="p", model="gpt-4o-mini", api_key=SAFE_KEY)
    LOGGER.warning("key %s set", fingerprint(SAFE_KEY))
    hass.states.async_set("sensor.safe", "on", {{"key": "**REDACTED**"}})
"""

FINAL = """
from tests.test_zz_no_secret_leaked import test_no_secret_leaked  # noqa: F401
"""


def _section(output: str, test_name: str) -> str:
    """The failure section of one test in pytest's output."""
    match = re.search(
        rf"_{{3,}} {test_name} _{{3,}}\n(.*?)(?=\n_{{3,}} |\n={{3,}} )",
        output,
        re.DOTALL,
    )
    assert match, output
    return match.group(1)


def test_a_leak_through_every_channel_fails_the_final_check(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), *sys_path_env()]))
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        test_leaks=LEAKS.format(
            keys=KEYS, vault_key=VAULT_KEY, safe_key=SAFE_KEY, typed_key=TYPED_KEY
        ),
        test_aa_final=FINAL,
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", timeout=120)
    output = result.stdout.str()

    outcomes = result.parseoutcomes()
    # The final check failed, as did the test that raised on purpose; no error. Its file sorts
    # first: it found the leaks only because the plugin ran it after the others.
    assert outcomes.get("failed") == 2, output
    assert outcomes.get("passed") == 10, output
    assert "errors" not in outcomes, output
    assert re.search(r"FAILED test_leaks\.py::test_exception\b", output), output
    assert "FAILED test_aa_final.py::test_no_secret_leaked" in output, output

    report = _section(output, "test_no_secret_leaked")
    for channel, key in KEYS.items():
        kind = channel.split("-")[0]
        expected = f"[{kind}] key#{fingerprint(key)}"
        assert expected in report, f"{channel} not named:\n{report}"
    assert re.search(r"\[log\] ciphertext#\w{12} \(gAAA…", report), report
    assert re.search(r"\[diagnostics\] ciphertext#\w{12} \(gAAA…", report), report
    # The key handled correctly is not named; no key nor ciphertext is printed by the report.
    assert fingerprint(SAFE_KEY) not in report
    assert fingerprint(TYPED_KEY) not in report
    assert fingerprint(VAULT_KEY) not in report
    for key in [*KEYS.values(), VAULT_KEY, SAFE_KEY, TYPED_KEY]:
        assert key not in report, key
    assert not re.search(r"gAAAAA[A-Za-z0-9_\-]{20}", report), report
    # The counts are reported, per channel.
    assert re.search(
        r"strings seen per channel .*: log \d+ \(\d+ searched\)", report
    ), report


def sys_path_env() -> list[str]:
    """The PYTHONPATH this session already has, kept for the inner one."""
    current = os.environ.get("PYTHONPATH", "")
    return [part for part in current.split(os.pathsep) if part]
