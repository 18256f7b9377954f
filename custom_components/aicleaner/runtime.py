"""What a loaded AICleaner entry holds at run time, and how it is built from the entry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.util import dt as dt_util

from .const import CONF_BASE_URL, CONF_MODEL
from .coordinator import AICleanerCoordinator
from .credentials import CredentialError, CredentialVault, async_get_vault
from .inflight import InFlight
from .provider_options import client_options
from .providers import BaseProvider, create_provider
from .router import ProviderSettings, Router, RouterConfig
from .storage import CostLedger
from .subentries import provider_subentries


@dataclass(kw_only=True)
class AICleanerRuntimeData:
    """Objects that live as long as the config entry is loaded."""

    router: Router
    vault: CredentialVault
    ledger: CostLedger
    coordinator: AICleanerCoordinator
    # Subentry data the providers were last built from, to see what a change touched.
    provider_data: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    # Subentries left out of the router because their stored key cannot be decrypted.
    unreadable_keys: frozenset[str] = frozenset()
    # Router calls running: an unload waits for them before the ledger's last save.
    inflight: InFlight = field(default_factory=InFlight)


type AICleanerConfigEntry = ConfigEntry[AICleanerRuntimeData]


def build_provider(
    hass: HomeAssistant, vault: CredentialVault, subentry: ConfigSubentry
) -> BaseProvider:
    """Build the provider client one subentry describes, on HA's shared aiohttp session."""
    data = subentry.data
    token = data.get(CONF_API_KEY)
    return create_provider(
        subentry.subentry_type,
        async_get_clientsession(hass),
        # The subentry id is the router's key, so a renamed provider keeps its spend and stats.
        name=subentry.subentry_id,
        label=subentry.title,
        model=data[CONF_MODEL],
        api_key=vault.decrypt(token) if token else None,
        base_url=data.get(CONF_BASE_URL) or None,
        **client_options(data),
    )


def _providers(
    hass: HomeAssistant, vault: CredentialVault, entry: ConfigEntry
) -> tuple[list[BaseProvider], dict[str, ProviderSettings], frozenset[str]]:
    """Build the providers; one whose key cannot be decrypted is left out and named.

    A lost or replaced data key (a partial backup restore) must not stop the other providers.
    """
    providers: list[BaseProvider] = []
    settings: dict[str, ProviderSettings] = {}
    unreadable: set[str] = set()
    for subentry in provider_subentries(entry).values():
        try:
            providers.append(build_provider(hass, vault, subentry))
        except CredentialError:
            unreadable.add(subentry.subentry_id)
            continue
        settings[subentry.subentry_id] = ProviderSettings.from_mapping(subentry.data)
    return providers, settings, frozenset(unreadable)


async def async_build_runtime(
    hass: HomeAssistant, entry: AICleanerConfigEntry
) -> AICleanerRuntimeData:
    """Build the router and its providers from the entry's options and subentries."""
    vault = await async_get_vault(hass)
    providers, settings, unreadable = _providers(hass, vault, entry)
    router = Router(
        providers,
        RouterConfig.from_mapping(entry.options),
        provider_settings=settings,
        # The budget day starts at local midnight.
        tz=dt_util.get_default_time_zone(),
    )
    return AICleanerRuntimeData(
        router=router,
        vault=vault,
        ledger=CostLedger(hass, router),
        coordinator=AICleanerCoordinator(hass, entry, router),
        provider_data={key: s.data for key, s in provider_subentries(entry).items()},
        unreadable_keys=unreadable,
    )


def async_apply_entry_update(
    hass: HomeAssistant, entry: AICleanerConfigEntry
) -> set[str]:
    """Apply changed options or provider subentries to the running router.

    No reload: the router keeps today's spend, stats and cache across the change, a renamed
    provider included. A provider whose key changed has its breaker closed, since an auth failure
    held it open for the old key. Returns the providers whose key changed.
    """
    rekeyed: set[str] = set()
    runtime = entry.runtime_data
    router = runtime.router
    router.update_config(RouterConfig.from_mapping(entry.options))
    providers, settings, unreadable = _providers(hass, runtime.vault, entry)
    router.update_providers(providers, settings)
    runtime.unreadable_keys = unreadable
    for subentry_id, subentry in provider_subentries(entry).items():
        before = runtime.provider_data.get(subentry_id)
        if (
            before is not None
            and subentry_id not in unreadable
            and before.get(CONF_API_KEY) != subentry.data.get(CONF_API_KEY)
        ):
            router.reset_credentials(subentry_id)
            rekeyed.add(subentry_id)
    runtime.provider_data = {
        key: s.data for key, s in provider_subentries(entry).items()
    }
    return rekeyed
