"""Repair issues about provider API keys: rejected, unreadable, or due for rotation.

`async_check_keys` holds the rules and runs at setup, on every entry change, twice a day and after any
request a provider refused for its key. Per provider subentry:
- `key_rejected_<id>`: its breaker is held open by an auth failure (the provider refused the key);
- `key_unreadable_<id>`: its stored key cannot be decrypted (a lost data key, a partial backup
  restore), so the router runs without it while the others keep working;
- `key_rotation_<id>`: its key was set `KEY_ROTATION_DAYS` or more days ago, unless the reminder is off
  in the router options.
Each issue is fixable: `repairs.ProviderKeyRepairFlow` asks for a new key, tests it and stores it, and the
entry's update listener applies it without a reload. Issue ids carry the subentry id, so a rename keeps
the issue. Placeholders hold the provider's name and the key's age, never the key.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.util import dt as dt_util

from .const import CONF_KEY_ROTATION_REMINDER, DOMAIN, KEY_ROTATION_DAYS
from .credentials import key_set_at
from .router.errors import AICleanerError
from .router.models import AIResponse
from .runtime import AICleanerConfigEntry

REJECTED: Final = "key_rejected"
UNREADABLE: Final = "key_unreadable"
ROTATION: Final = "key_rotation"
ISSUE_KINDS: Final = (REJECTED, UNREADABLE, ROTATION)
# How often the key ages are looked at between entry changes.
CHECK_INTERVAL: Final = timedelta(hours=12)
_AUTH: Final = "auth"


def issue_id(kind: str, subentry_id: str) -> str:
    """Return the id of a key issue (`kind`: one of ISSUE_KINDS) of one provider subentry."""
    return f"{kind}_{subentry_id}"


def _is_key_issue(existing: str) -> bool:
    return any(existing.startswith(f"{kind}_") for kind in ISSUE_KINDS)


@callback
def async_check_keys(hass: HomeAssistant, entry: AICleanerConfigEntry) -> None:
    """Create the key issues whose condition holds; delete those whose condition cleared."""
    runtime = entry.runtime_data
    router = runtime.router
    known = set(router.provider_names)
    remind = entry.options.get(CONF_KEY_ROTATION_REMINDER, True)
    now = dt_util.utcnow()
    wanted: set[str] = set()

    def raise_issue(
        kind: str,
        subentry_id: str,
        severity: ir.IssueSeverity,
        placeholders: dict[str, str],
    ) -> None:
        wanted.add(issue_id(kind, subentry_id))
        ir.async_create_issue(
            hass,
            DOMAIN,
            issue_id(kind, subentry_id),
            is_fixable=True,
            is_persistent=False,
            severity=severity,
            translation_key=kind,
            translation_placeholders=placeholders,
            data={"entry_id": entry.entry_id, "subentry_id": subentry_id},
        )

    for subentry_id, subentry in entry.subentries.items():
        name = {"name": subentry.title}
        if subentry_id in runtime.unreadable_keys:
            # Nothing else can be said about a key that cannot be read.
            raise_issue(UNREADABLE, subentry_id, ir.IssueSeverity.ERROR, name)
            continue
        if (
            subentry_id in known
            and router.provider_stats(subentry_id).breaker_auth_failed
        ):
            raise_issue(REJECTED, subentry_id, ir.IssueSeverity.ERROR, name)
        if remind and subentry.data.get(CONF_API_KEY):
            set_at = key_set_at(subentry.data)
            if set_at is not None and _due(set_at, now):
                raise_issue(
                    ROTATION,
                    subentry_id,
                    ir.IssueSeverity.WARNING,
                    {
                        **name,
                        "days": str((now - set_at).days),
                        "date": dt_util.as_local(set_at).date().isoformat(),
                    },
                )
    _delete_key_issues(hass, keep=wanted)


def _due(set_at: datetime, now: datetime) -> bool:
    return now - set_at >= timedelta(days=KEY_ROTATION_DAYS)


@callback
def _delete_key_issues(hass: HomeAssistant, keep: set[str]) -> None:
    for domain, existing in list(ir.async_get(hass).issues):
        if domain == DOMAIN and _is_key_issue(existing) and existing not in keep:
            ir.async_delete_issue(hass, DOMAIN, existing)


@callback
def async_setup_key_checks(
    hass: HomeAssistant, entry: AICleanerConfigEntry
) -> Callable[[], None]:
    """Check the keys now, after each request a provider refused for its key, and twice a day.

    Return what undoes it, deleting the key issues: they describe the loaded entry.
    """

    @callback
    def _on_outcome(outcome: AIResponse | AICleanerError) -> None:
        # A request that failed over still succeeds: its attempts say who refused the key.
        attempts = getattr(outcome, "attempts", ())
        if any(attempt.category == _AUTH for attempt in attempts):
            async_check_keys(hass, entry)

    @callback
    def _on_time(_now: datetime) -> None:
        async_check_keys(hass, entry)

    remove_listener = entry.runtime_data.router.add_listener(_on_outcome)
    cancel_timer = async_track_time_interval(hass, _on_time, CHECK_INTERVAL)
    async_check_keys(hass, entry)

    @callback
    def _undo() -> None:
        remove_listener()
        cancel_timer()
        _delete_key_issues(hass, keep=set())

    return _undo
