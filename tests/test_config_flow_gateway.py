"""Setting up an OpenAI-compatible gateway (issue 19 §3): found as one, priced as it publishes, key refusals.

A LiteLLM proxy on loopback used to be pre-selected as "runs the models itself": accepting the defaults
gave $0 answers and let local-only requests reach the cloud. The fake LiteLLM here answers with the
bodies a real LiteLLM 1.110.2 proxy gives; tests/gateway runs the real one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from homeassistant.const import CONF_API_KEY, CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest

from custom_components.aicleaner.const import (
    CONF_BASE_URL,
    CONF_MODEL,
    CONF_PRICE_INPUT,
    CONF_PRICE_OUTPUT,
    CONF_SERVER_ROLE,
    SERVER_FORWARDS,
    SERVER_RUNS_MODELS,
)
from tests.frontend_form import initial_data, serialized
from tests.providers.test_gateway import LITELLM_MODEL_INFO, LITELLM_NO_DB
from tests.simulator import SimulatorServer
from tests.test_config_flow import _router_entry, _start_subentry_flow, _suggested

MASTER_KEY = "sk-master-1234"


@pytest.fixture
async def fake_litellm(socket_enabled: None) -> AsyncIterator[str]:
    """A LiteLLM proxy's setup answers: its models, its model info, and no database."""

    def authorised(request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {MASTER_KEY}"

    async def models(request: web.Request) -> web.Response:
        if not authorised(request):
            return web.json_response(LITELLM_NO_DB, status=400)
        return web.json_response(
            {
                "data": [
                    {"id": "gpt-4o-mini", "object": "model", "owned_by": "openai"},
                    {"id": "house-model", "object": "model", "owned_by": "openai"},
                ],
                "object": "list",
            }
        )

    async def model_info(request: web.Request) -> web.Response:
        if not authorised(request):
            return web.json_response(LITELLM_NO_DB, status=400)
        return web.json_response(LITELLM_MODEL_INFO)

    app = web.Application()
    app.router.add_get("/v1/models", models)
    app.router.add_get("/v1/model/info", model_info)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("/v1"))
    finally:
        await server.close()


async def _to_settings(
    hass: HomeAssistant, base_url: str, api_key: str | None
) -> tuple[Any, dict]:
    entry = await _router_entry(hass)
    result = await _start_subentry_flow(hass, entry, "openai_compatible")
    typed = {CONF_NAME: "Gateway", CONF_BASE_URL: base_url}
    if api_key:
        typed[CONF_API_KEY] = api_key
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], typed
    )
    return entry, result


async def test_a_loopback_server_listing_cloud_models_is_suggested_as_forwarding(
    hass: HomeAssistant, simulator: SimulatorServer
) -> None:
    # The simulator's OpenAI path lists gpt-* models, on 127.0.0.1: a gateway on this machine.
    _entry, result = await _to_settings(hass, simulator.provider_url("openai"), "sk-x")
    assert result["step_id"] == "settings", result.get("errors")
    assert _suggested(result)[CONF_SERVER_ROLE] == SERVER_FORWARDS


async def test_a_loopback_server_with_only_local_models_is_still_suggested_as_running_them(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    async def models(request: web.Request) -> web.Response:
        # LocalAI's answer: open-weight models only.
        return web.json_response(
            {
                "object": "list",
                "data": [
                    {"id": "llama-3.1-8b-instruct", "object": "model"},
                    {"id": "qwen2.5-vl-7b-instruct", "object": "model"},
                ],
            }
        )

    app = web.Application()
    app.router.add_get("/v1/models", models)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        _entry, result = await _to_settings(hass, str(server.make_url("/v1")), None)
    finally:
        await server.close()
    assert result["step_id"] == "settings", result.get("errors")
    assert _suggested(result)[CONF_SERVER_ROLE] == SERVER_RUNS_MODELS


async def test_a_litellm_proxy_accepted_with_the_defaults_forwards_at_its_published_price(
    hass: HomeAssistant, fake_litellm: str
) -> None:
    entry, result = await _to_settings(hass, fake_litellm, MASTER_KEY)
    assert result["step_id"] == "settings", result.get("errors")
    # Everything as the frontend pre-fills it: the user only presses Submit.
    defaults = initial_data(serialized(result))
    assert defaults[CONF_SERVER_ROLE] == SERVER_FORWARDS
    defaults[CONF_MODEL] = "gpt-4o-mini"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], defaults
    )
    assert result["step_id"] == "gateway_price"
    assert result["description_placeholders"]["input"] == "0.15"
    assert result["description_placeholders"]["output"] == "0.6"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], initial_data(serialized(result))
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    (subentry,) = entry.subentries.values()
    assert subentry.data[CONF_SERVER_ROLE] == SERVER_FORWARDS
    assert subentry.data[CONF_PRICE_INPUT] == 0.15
    assert subentry.data[CONF_PRICE_OUTPUT] == 0.6
    await hass.async_block_till_done()
    provider = entry.runtime_data.router._slots[subentry.subentry_id].provider
    assert not provider.is_local


async def test_a_model_the_gateway_does_not_price_goes_to_the_reservation_price_step(
    hass: HomeAssistant, fake_litellm: str
) -> None:
    _entry, result = await _to_settings(hass, fake_litellm, MASTER_KEY)
    defaults = initial_data(serialized(result))
    defaults[CONF_MODEL] = "house-model"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], defaults
    )
    assert result["step_id"] == "price"


async def test_a_key_a_litellm_proxy_without_a_database_refuses_is_called_a_refused_key(
    hass: HomeAssistant, fake_litellm: str
) -> None:
    _entry, result = await _to_settings(hass, fake_litellm, "sk-wrong")
    # Not "wrong_endpoint": the address is right, the key is not.
    assert result["errors"] == {"base": "invalid_auth"}
