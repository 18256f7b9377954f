"""A model closed to a provider's key, or its spent quota, raises its own repair, not the bad-key one.

Through `aicleaner.analyze` over the simulator, the fault worded as the real API words it.
"""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from custom_components.aicleaner.access_repairs import issue_id
from custom_components.aicleaner.const import DOMAIN
from custom_components.aicleaner.key_repairs import REJECTED, issue_id as key_issue_id
from tests.simulator import Fault, SimulatorServer

from .conftest import Setup, analyze


def _ids(entry: object) -> dict[str, str]:
    return {sub.title: key for key, sub in entry.subentries.items()}  # type: ignore[attr-defined]


async def test_model_closed_to_the_key_raises_its_own_repair_and_keeps_the_key(
    hass: HomeAssistant, setup_reliable: Setup, simulator: SimulatorServer
) -> None:
    entry = await setup_reliable(("openai", "OpenAI", {}), ("anthropic", "Claude", {}))
    ids = _ids(entry)
    # OpenAI: 403 model_not_found, "Project `proj_…` does not have access to model `gpt-4o-mini`".
    simulator.sim.set_fault("openai", Fault(kind="model_access"))
    for number in range(4):
        response = await analyze(
            hass, prompt=f"Which room first? {number}", use_cache=False
        )
        assert response["provider"] == "Claude"
    registry = ir.async_get(hass)
    issue = registry.async_get_issue(DOMAIN, issue_id("model_access", ids["OpenAI"]))
    assert issue is not None
    assert issue.translation_key == "model_access"
    assert issue.translation_placeholders == {"name": "OpenAI", "model": "gpt-4o-mini"}
    assert not issue.is_fixable
    # Not the bad-key repair, and the key is not held: the breaker stays closed.
    assert (
        registry.async_get_issue(DOMAIN, key_issue_id(REJECTED, ids["OpenAI"])) is None
    )
    router = entry.runtime_data.router
    stats = router.provider_stats(ids["OpenAI"])
    assert not stats.breaker_auth_failed
    assert stats.breaker_state == "closed"
    # Access granted again: the next request is OpenAI's, and the issue goes.
    simulator.sim.clear_faults("openai")
    response = await analyze(hass, prompt="And now?", use_cache=False)
    assert response["provider"] == "OpenAI"
    assert (
        registry.async_get_issue(DOMAIN, issue_id("model_access", ids["OpenAI"]))
        is None
    )


async def test_spent_quota_raises_its_own_repair(
    hass: HomeAssistant, setup_reliable: Setup, simulator: SimulatorServer
) -> None:
    entry = await setup_reliable(("anthropic", "Claude", {}), ("openai", "OpenAI", {}))
    ids = _ids(entry)
    # Anthropic: 400 "Your credit balance is too low to access the Anthropic API. …".
    simulator.sim.set_fault("anthropic", Fault(kind="quota"))
    response = await analyze(hass, prompt="Which room first?", use_cache=False)
    assert response["provider"] == "OpenAI"
    registry = ir.async_get(hass)
    issue = registry.async_get_issue(DOMAIN, issue_id("quota_exhausted", ids["Claude"]))
    assert issue is not None
    assert issue.translation_key == "quota_exhausted"
    assert (
        registry.async_get_issue(DOMAIN, key_issue_id(REJECTED, ids["Claude"])) is None
    )
    assert not entry.runtime_data.router.provider_stats(
        ids["Claude"]
    ).breaker_auth_failed
    await hass.config_entries.async_unload(entry.entry_id)
    assert (
        registry.async_get_issue(DOMAIN, issue_id("quota_exhausted", ids["Claude"]))
        is None
    )
