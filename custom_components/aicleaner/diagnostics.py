"""Diagnostics: the router settings, providers, live stats, breakers and today's ledger.

Never a key: API keys (Fernet ciphertext in the subentry data) are redacted, and a base URL loses any
user, password or query string it carries, as a gateway may take its token there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any, Final

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from yarl import URL

from .agent_state import assist_agents_diagnostics
from .const import CONF_BASE_URL
from .runtime import AICleanerConfigEntry
from .services import provider_names

TO_REDACT: Final = {CONF_API_KEY}


def _safe_url(value: Any) -> Any:
    """Return a base URL without its credentials or query; redact anything unparsable."""
    if not isinstance(value, str) or not value:
        return value
    try:
        url = URL(value)
    except ValueError:
        return REDACTED
    if url.user or url.password or url.query_string or url.fragment:
        url = url.with_user(None).with_query(None).with_fragment(None)
    return str(url)


def _subentry(subentry: dict[str, Any]) -> dict[str, Any]:
    data = dict(subentry.get("data") or {})
    data["has_api_key"] = bool(data.get(CONF_API_KEY))
    if CONF_BASE_URL in data:
        data[CONF_BASE_URL] = _safe_url(data[CONF_BASE_URL])
    return {**subentry, "data": async_redact_data(data, TO_REDACT)}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: AICleanerConfigEntry
) -> dict[str, Any]:
    """Return what explains the router's behaviour, with every key left out."""
    runtime = entry.runtime_data
    router = runtime.router
    entry_dict = async_redact_data(entry.as_dict(), TO_REDACT)
    entry_dict["subentries"] = [
        _subentry(subentry) for subentry in entry_dict.get("subentries", [])
    ]
    snapshot = router.snapshot()
    coordinator_data = runtime.coordinator.data
    # People read providers by name; each entry keeps its subentry id, which logs and storage use.
    names = provider_names(entry)

    def by_name(items: Mapping[str, Any]) -> dict[str, Any]:
        return {
            names.get(key, key): {"id": key, **value} for key, value in items.items()
        }

    ledger = router.get_cost_summary()
    if isinstance(ledger.get("provider_costs"), Mapping):
        ledger = {**ledger, "provider_costs": by_name(ledger["provider_costs"])}
    agents = assist_agents_diagnostics(hass, entry)
    return {
        # Only with Assist agents: what each spent and holds today, and its last provider.
        **({"assist_agents": agents} if agents else {}),
        "entry": entry_dict,
        "router_settings": dict(entry.options),
        "providers_without_readable_key": sorted(runtime.unreadable_keys),
        "snapshot": {
            **{k: v for k, v in asdict(snapshot).items() if k != "providers"},
            "providers": by_name(
                {key: stats.as_dict() for key, stats in snapshot.providers.items()}
            ),
        },
        "breakers": by_name(
            {
                key: {
                    "state": stats.breaker_state,
                    "auth_failed": stats.breaker_auth_failed,
                }
                for key, stats in snapshot.providers.items()
            }
        ),
        "health": {
            "overall": coordinator_data.overall_health.value,
            "providers": by_name(
                {
                    key: {
                        "status": health.status.value,
                        "last_error": health.last_error,
                        "latency_ms": health.latency_ms,
                        "last_check": None
                        if health.check is None
                        else {
                            "at": health.check.at.isoformat(),
                            "latency_ms": health.check.latency_ms,
                            "error": health.check.error,
                        },
                    }
                    for key, health in coordinator_data.providers.items()
                }
            ),
        },
        "ledger_today": ledger,
    }
