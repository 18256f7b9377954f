"""The cost ledger: the router's spend per provider and local day, kept across restarts.

The router stays the single owner of the numbers; the ledger copies them in (before the first request
is admitted) and out (at most `SAVE_DELAY` seconds after a request ends, however busy, on unload and on
HA's final write). Days the router no longer keeps stay here, for `HISTORY_DAYS`, for the cost history.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
import os
from typing import Any, Final

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import DOMAIN, LOGGER
from .router import Router
from .router.budget import LEDGER_FIELDS

STORAGE_KEY: Final = f"{DOMAIN}.ledger"
STORAGE_VERSION: Final = 1
# A kill (power cut, OOM) loses at most this long of spend, plus the time of one write. 1 s, not more:
# the promise is "at most the last 2 s", and a write goes through an executor thread and an fsync.
SAVE_DELAY: Final = 1.0
HISTORY_DAYS: Final = 90
ISSUE_LEDGER_UNREADABLE: Final = "ledger_unreadable"

# Per day, per provider key: the figures of `LEDGER_FIELDS`.
type DayFigures = dict[str, dict[str, float | int]]


class CostLedger:
    """Persists one router's ledger and stats, and keeps the days it forgets."""

    def __init__(self, hass: HomeAssistant, router: Router) -> None:
        """Bind the ledger to the router whose numbers it keeps."""
        self._hass = hass
        self._router = router
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, STORAGE_KEY, private=True, atomic_writes=True
        )
        self._days: dict[str, DayFigures] = {}
        self._cancel_save: CALLBACK_TYPE | None = None
        self._closed = False

    async def async_load(self) -> None:
        """Load the saved ledger into the router; call before the router takes traffic.

        A file that is not JSON is set aside by HA's storage, which raises its own repair; one that
        is JSON of another shape is set aside here, with a repair issue. Either way the ledger
        starts afresh rather than failing the setup.
        """
        data = await self._store.async_load()
        if data is None:
            return
        try:
            days = _read_days(data.get("days"))
            self._router.restore_state(_read_state(data["router"]))
        except (AttributeError, KeyError, TypeError, ValueError) as err:
            await self._async_set_aside(err)
            return
        self._days = days
        ir.async_delete_issue(self._hass, DOMAIN, ISSUE_LEDGER_UNREADABLE)

    async def _async_set_aside(self, err: Exception) -> None:
        stamp = dt_util.utcnow().strftime("%Y%m%dT%H%M%S")
        kept = f"{self._store.path}.unreadable.{stamp}"
        try:
            await self._hass.async_add_executor_job(os.replace, self._store.path, kept)
        except FileNotFoundError:
            kept = "(not on disk)"
        LOGGER.error(
            "The cost ledger could not be read (%s); it was set aside as %s and a new one started",
            type(err).__name__,
            kept,
        )
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            ISSUE_LEDGER_UNREADABLE,
            is_fixable=False,
            is_persistent=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_LEDGER_UNREADABLE,
            translation_placeholders={"path": kept},
        )

    @callback
    def async_schedule_save(self) -> None:
        """Save within `SAVE_DELAY` seconds; many requests in that time make one write.

        The first change after a write starts the timer and later ones ride along: a throttle. HA's
        `Store.async_delay_save` alone would debounce, moving the write on at every call, so under
        steady traffic nothing reached the disk until the traffic paused, and a kill lost it all.
        """
        if self._cancel_save is None and not self._closed:
            self._cancel_save = async_call_later(
                self._hass, SAVE_DELAY, self._async_save_due
            )

    async def _async_save_due(self, _now: datetime) -> None:
        self._cancel_save = None
        await self._store.async_save(self._data_to_save())

    async def async_close(self) -> None:
        """Save for the last time (at unload): no timer outlives it, and no later save is made.

        A save after this one would write this router's state over what the next one (after a
        reload) has booked since.
        """
        self._closed = True
        await self.async_save()

    async def async_save(self) -> None:
        """Save now (on unload, or when HA writes its last data)."""
        if self._cancel_save is not None:
            self._cancel_save()
            self._cancel_save = None
        await self._store.async_save(self._data_to_save())

    def days(self, last: int) -> dict[str, DayFigures]:
        """Return the figures of the `last` local days up to today, oldest first, empty days too."""
        known = self._merged()
        today = self._router.day
        return {
            day: known.get(day, {})
            for day in (
                (today - timedelta(days=back)).isoformat()
                for back in range(last - 1, -1, -1)
            )
        }

    def _merged(self) -> dict[str, DayFigures]:
        """Return the kept days, with what the router holds now merged in by max."""
        budget = self._router.export_state()["budget"]
        days = {
            day: {k: dict(v) for k, v in figures.items()}
            for day, figures in self._days.items()
        }
        current = {budget["day"]: budget["providers"], **budget.get("history", {})}
        for day, providers in current.items():
            merged = days.setdefault(day, {})
            for key, values in providers.items():
                kept = merged.setdefault(key, {})
                for field in LEDGER_FIELDS:
                    kept[field] = max(kept.get(field, 0), values.get(field, 0))
        oldest = (
            date.fromisoformat(budget["day"]) - timedelta(days=HISTORY_DAYS)
        ).isoformat()
        return {day: days[day] for day in sorted(days) if day > oldest}

    def _data_to_save(self) -> dict[str, Any]:
        self._days = self._merged()
        return {"days": self._days, "router": self._router.export_state()}


def _read_state(raw: Any) -> Mapping[str, Any]:
    """Check the saved router state is a mapping; raise otherwise."""
    if not isinstance(raw, Mapping):
        raise TypeError("router state is not a mapping")
    return raw


def _read_days(raw: Any) -> dict[str, DayFigures]:
    """Check the saved days' shape; raise on anything else."""
    if not isinstance(raw, Mapping):
        raise TypeError("days is not a mapping")
    days: dict[str, DayFigures] = {}
    for day, providers in raw.items():
        date.fromisoformat(day)
        days[day] = {
            str(key): {
                field: (float if field == "cost" else int)(values.get(field, 0))
                for field in LEDGER_FIELDS
            }
            for key, values in providers.items()
        }
    return days
