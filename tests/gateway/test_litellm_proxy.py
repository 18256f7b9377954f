"""A real LiteLLM proxy (tests/gateway/requirements.txt) in front of the simulator, added as a user would.

Issue 19 §3: a LiteLLM proxy on loopback, added through the config flow with every default accepted,
must be found to be a gateway: priced (at the prices it publishes), not local, so refused for
local-only requests; and a key it refuses must be reported as a refused key. The proxy runs on
127.0.0.1 with the in-process simulator as its OpenAI upstream, in its own venv (scripts/test and
scripts/bootstrap build it: scripts/_gateway.sh).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import hashlib
import os
from pathlib import Path
import platform

import aiohttp
from homeassistant.const import CONF_API_KEY, CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
import pytest

from custom_components.aicleaner.const import (
    CONF_BASE_URL,
    CONF_MODEL,
    CONF_PRICE_INPUT,
    CONF_PRICE_OUTPUT,
    CONF_SERVER_ROLE,
    DOMAIN,
    SERVER_FORWARDS,
)
from tests.e2e.hass_process import free_port
from tests.frontend_form import initial_data, missing_required, serialized
from tests.simulator import SimulatorServer
from tests.test_config_flow import _router_entry, _start_subentry_flow

REQUIREMENTS = Path(__file__).with_name("requirements.txt")
MASTER_KEY = "sk-gateway-master-0123456789"
UPSTREAM_KEY = "sk-upstream-0123456789"
# LiteLLM's own price for gpt-4o-mini (its bundled cost map), USD per million tokens.
LITELLM_GPT_4O_MINI = (0.15, 0.6)


def _gateway_python() -> str | None:
    """The proxy venv's interpreter: as scripts/test names it, else where scripts/_gateway.sh puts it."""
    if named := os.environ.get("AICLEANER_GATEWAY_PYTHON"):
        return named if Path(named).exists() else None
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:16]
    cache = Path(
        os.environ.get("AICLEANER_DEV_CACHE", Path.home() / ".cache/aicleaner-dev")
    )
    for candidate in (
        Path(f"/opt/aicleaner-gateway-{digest}/bin/python"),
        cache / f"gateway-venv-{platform.python_version()}-{digest}/bin/python",
    ):
        if candidate.exists():
            return str(candidate)
    return None


GATEWAY_PYTHON = _gateway_python()
pytestmark = pytest.mark.skipif(
    GATEWAY_PYTHON is None,
    reason="the LiteLLM proxy venv is not built: scripts/bootstrap (or scripts/test) builds it",
)


@pytest.fixture
async def litellm_proxy(
    simulator: SimulatorServer, tmp_path: Path
) -> AsyncIterator[str]:
    """A LiteLLM proxy on loopback, no database, forwarding gpt-4o-mini to the simulator."""
    assert GATEWAY_PYTHON is not None
    config = tmp_path / "litellm.yaml"
    config.write_text(
        "model_list:\n"
        "  - model_name: gpt-4o-mini\n"
        "    litellm_params:\n"
        "      model: openai/gpt-4o-mini\n"
        f"      api_base: {simulator.provider_url('openai')}\n"
        f"      api_key: {UPSTREAM_KEY}\n"
        "general_settings:\n"
        f"  master_key: {MASTER_KEY}\n",
        encoding="utf-8",
    )
    port = free_port()
    log = tmp_path / "litellm.log"
    with log.open("wb") as output:
        proxy = await asyncio.create_subprocess_exec(
            str(Path(GATEWAY_PYTHON).with_name("litellm")),
            "--config",
            str(config),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            stdout=output,
            stderr=asyncio.subprocess.STDOUT,
            # No network here: LiteLLM uses the price map bundled with it.
            env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(240):
                assert proxy.returncode is None, log.read_text()
                try:
                    async with session.get(f"{url}/health/liveliness") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                # The simulator answers on this loop while the proxy starts.
                await asyncio.sleep(0.5)
            else:
                pytest.fail("the LiteLLM proxy did not start in 120 s")
        yield f"{url}/v1"
    finally:
        if proxy.returncode is None:
            proxy.terminate()
            try:
                await asyncio.wait_for(proxy.wait(), 20)
            except TimeoutError:
                proxy.kill()
                await proxy.wait()


async def _connect(hass: HomeAssistant, base_url: str, key: str) -> tuple:
    entry = await _router_entry(hass)
    result = await _start_subentry_flow(hass, entry, "openai_compatible")
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {CONF_NAME: "LiteLLM", CONF_BASE_URL: base_url, CONF_API_KEY: key},
    )
    return entry, result


async def _accept_defaults(hass: HomeAssistant, result: dict) -> dict:
    """Press Submit on the form as the frontend fills it."""
    fields = serialized(result)
    data = initial_data(fields)
    assert missing_required(fields, data) == []
    return await hass.config_entries.subentries.async_configure(result["flow_id"], data)


@pytest.mark.usefixtures("socket_enabled")
async def test_a_litellm_proxy_added_with_the_defaults_is_a_priced_gateway_never_local(
    hass: HomeAssistant, simulator: SimulatorServer, litellm_proxy: str
) -> None:
    entry, result = await _connect(hass, litellm_proxy, MASTER_KEY)
    assert result["step_id"] == "settings", result.get("errors")
    assert initial_data(serialized(result))[CONF_MODEL] == "gpt-4o-mini"
    result = await _accept_defaults(hass, result)
    # The proxy's /model/info publishes its price: shown, and kept when accepted.
    assert result["step_id"] == "gateway_price"
    assert (
        float(result["description_placeholders"]["input"]),
        float(result["description_placeholders"]["output"]),
    ) == LITELLM_GPT_4O_MINI
    result = await _accept_defaults(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    (subentry,) = entry.subentries.values()
    assert subentry.data[CONF_SERVER_ROLE] == SERVER_FORWARDS
    assert (
        subentry.data[CONF_PRICE_INPUT],
        subentry.data[CONF_PRICE_OUTPUT],
    ) == LITELLM_GPT_4O_MINI
    await hass.async_block_till_done()

    # Refused for a local-only request, before anything reaches the proxy or its upstream: the
    # caller's own choice, named as such.
    upstream_calls = simulator.sim.request_count("openai")
    with pytest.raises(ServiceValidationError, match="not local"):
        await hass.services.async_call(
            DOMAIN,
            "analyze",
            {"prompt": "What needs cleaning?", "local_only": True},
            blocking=True,
            return_response=True,
        )
    assert simulator.sim.request_count("openai") == upstream_calls

    answer = await hass.services.async_call(
        DOMAIN,
        "analyze",
        {"prompt": "What needs cleaning?", "use_cache": False},
        blocking=True,
        return_response=True,
    )
    assert answer is not None
    assert answer["provider"] == "LiteLLM"
    assert simulator.sim.request_count("openai") == upstream_calls + 1
    # Charged, at the gateway's price for the tokens it reported.
    input_price, output_price = LITELLM_GPT_4O_MINI
    expected = (
        answer["tokens"]["input"] * input_price
        + answer["tokens"]["output"] * output_price
    ) / 1_000_000
    assert answer["cost"] == pytest.approx(expected, rel=1e-6)
    assert answer["cost"] > 0
    # And the figure booked is the one the proxy reported (x-litellm-response-cost).
    assert answer["cost_source"] == "gateway"


@pytest.mark.usefixtures("socket_enabled")
async def test_a_key_the_litellm_proxy_refuses_is_reported_as_refused(
    hass: HomeAssistant, litellm_proxy: str
) -> None:
    _entry, result = await _connect(hass, litellm_proxy, "sk-not-the-master-key")
    # LiteLLM without a database answers 400 "No connected db.": still the key, not the URL.
    assert result["errors"] == {"base": "invalid_auth"}
