"""Day boundary: at local midnight the budget resets and the day's history stays, DST days included.

The whole product in HA's test harness (the `aicleaner.analyze` and `get_metrics` actions, the
sensors, the saved ledger) with a frozen clock walked across midnights: an ordinary one, a 23-hour
spring-forward day and a 25-hour fall-back day, in zones east and west of UTC and in one (Santiago)
whose clocks change at midnight itself. The day must roll exactly once, at local midnight: not at UTC
midnight, not twice in a repeated hour, not late when midnight does not exist on the clock.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.aicleaner.const import CONF_DAILY_BUDGET, DOMAIN
from custom_components.aicleaner.router import router as router_module
from custom_components.aicleaner.storage import STORAGE_KEY

from .conftest import Setup, analyze

BUDGET = 1.0
# A few dozen calls' worth (gpt-4o-mini, at most 64 output tokens each).
SMALL_BUDGET = 0.0005
COST = "sensor.openai_cost_today"
REMAINING = "sensor.openai_budget_remaining_today"
REQUESTS = "sensor.openai_requests_today"
TOTAL = "sensor.aicleaner_total_cost_today"


@pytest.fixture(autouse=True)
def read_the_date_every_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The router reads the wall clock at most once a second of real (unfrozen) time; here, always."""
    monkeypatch.setattr(router_module, "_DAY_CHECK", 0.0)


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The instant `day` begins in `tz`, also when its clock skips 00:00 (then: the jump)."""
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)


async def move_to(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, at: datetime
) -> None:
    """Set the clock to `at` and let every timer due by then run."""
    freezer.move_to(at)
    async_fire_time_changed(hass, at)
    await hass.async_block_till_done()


async def metrics(hass: HomeAssistant) -> dict[str, Any]:
    """The `get_metrics` action's cost part: today and the last 30 days."""
    response = await hass.services.async_call(
        DOMAIN, "get_metrics", {}, blocking=True, return_response=True
    )
    assert response is not None
    costs: dict[str, Any] = response["costs"]
    return costs


def state(hass: HomeAssistant, entity_id: str) -> float:
    """A sensor's state as a number."""
    current = hass.states.get(entity_id)
    assert current is not None
    return float(current.state)


def last_reset(hass: HomeAssistant) -> datetime:
    """When the day's cost sensor says its day began."""
    current = hass.states.get(COST)
    assert current is not None
    reset = dt_util.parse_datetime(current.attributes["last_reset"])
    assert reset is not None
    return reset


async def spend(hass: HomeAssistant, prompt: str) -> float:
    """One answered call; its cost."""
    answer = await analyze(hass, prompt=prompt, use_cache=False, max_tokens=64)
    cost: float = answer["cost"]
    assert cost > 0
    return cost


async def settle(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """Let a second and a half pass: the sensors' pending push and the ledger's save run."""
    freezer.tick(timedelta(seconds=1.5))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


def saved_days(hass_storage: dict[str, Any]) -> dict[str, float]:
    """The saved ledger's cost per day, every provider together."""
    days = hass_storage[STORAGE_KEY]["data"]["days"]
    return {
        day: sum(values["cost"] for values in providers.values())
        for day, providers in days.items()
    }


async def test_at_local_midnight_a_spent_budget_resets_and_yesterday_is_kept(
    hass: HomeAssistant,
    setup_reliable: Setup,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    # Berlin in November is UTC+1: UTC midnight comes an hour after local midnight.
    await hass.config.async_set_time_zone("Europe/Berlin")
    tz = ZoneInfo("Europe/Berlin")
    await move_to(hass, freezer, datetime(2026, 11, 10, 23, 50, tzinfo=tz))
    entry: MockConfigEntry = await setup_reliable(
        ("openai", "OpenAI", {CONF_DAILY_BUDGET: SMALL_BUDGET})
    )
    # Calls until the budget is spent: the next one is refused.
    yesterday = 0.0
    for number in range(200):
        try:
            yesterday += await spend(hass, f"before midnight {number}")
        except HomeAssistantError as err:
            refused = err
            break
    else:
        pytest.fail("the budget was never spent")
    assert refused.translation_key == "budget_exhausted"
    await settle(hass, freezer)
    assert 0 < yesterday <= SMALL_BUDGET
    assert state(hass, COST) == pytest.approx(yesterday)
    assert state(hass, REMAINING) == pytest.approx(SMALL_BUDGET - yesterday)

    await move_to(hass, freezer, datetime(2026, 11, 10, 23, 59, 59, tzinfo=tz))
    assert state(hass, COST) == pytest.approx(yesterday)

    # 00:00:03: the sensors start afresh without waiting for a request, and the budget is whole.
    await move_to(hass, freezer, datetime(2026, 11, 11, 0, 0, 3, tzinfo=tz))
    assert state(hass, COST) == 0
    assert state(hass, TOTAL) == 0
    assert state(hass, REQUESTS) == 0
    assert state(hass, REMAINING) == SMALL_BUDGET
    assert last_reset(hass) == datetime(2026, 11, 11, tzinfo=tz)
    today = await spend(hass, "after midnight")
    assert state(hass, COST) == pytest.approx(today)

    # UTC midnight (01:00 here) changes nothing.
    await move_to(hass, freezer, datetime(2026, 11, 11, 1, 0, 3, tzinfo=tz))
    assert state(hass, COST) == pytest.approx(today)
    costs = await metrics(hass)
    assert costs["today"]["day"] == "2026-11-11"
    assert costs["today"]["total_cost"] == pytest.approx(today)
    history = {day["date"]: day["cost"] for day in costs["last_30_days"]}
    assert history["2026-11-10"] == pytest.approx(yesterday)
    assert history["2026-11-11"] == pytest.approx(today)

    # Yesterday is in the saved ledger, and stays there through a restart.
    await settle(hass, freezer)
    saved = saved_days(hass_storage)
    assert saved["2026-11-10"] == pytest.approx(yesterday)
    assert saved["2026-11-11"] == pytest.approx(today)
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    history = {
        day["date"]: day["cost"] for day in (await metrics(hass))["last_30_days"]
    }
    assert history["2026-11-10"] == pytest.approx(yesterday)
    assert history["2026-11-11"] == pytest.approx(today)
    assert state(hass, COST) == pytest.approx(today)


# (zone, the day whose clock changes, its length in hours)
DST_DAYS = [
    pytest.param(("America/New_York", date(2026, 3, 8), 23), id="new-york-spring"),
    pytest.param(("America/New_York", date(2026, 11, 1), 25), id="new-york-fall"),
    pytest.param(("Europe/Berlin", date(2026, 3, 29), 23), id="berlin-spring"),
    pytest.param(("Europe/Berlin", date(2026, 10, 25), 25), id="berlin-fall"),
    # Santiago changes its clocks at midnight: 2026-09-06 has no 00:00 (23:59:59 -> 01:00), and
    # 2026-04-04 ends twice (24:00 -> 23:00).
    pytest.param(("America/Santiago", date(2026, 9, 6), 23), id="santiago-spring"),
    pytest.param(("America/Santiago", date(2026, 4, 4), 25), id="santiago-fall"),
]


def walk(tz: ZoneInfo, dst_day: date) -> list[tuple[datetime, bool]]:
    """The instants to visit (UTC) from the evening before `dst_day` to the morning after it.

    Every 40 minutes, plus 10 s before and 3 s after each local and each UTC midnight. The flag
    marks the instants 3 s after a local midnight, where the reset must show before any request.
    """
    start = datetime.combine(dst_day - timedelta(days=1), time(18, 7), tzinfo=tz)
    end = datetime.combine(dst_day + timedelta(days=1), time(6, 7), tzinfo=tz)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    points: dict[datetime, bool] = {}
    at = start
    while at <= end:
        points[at] = False
        at += timedelta(minutes=40)
    for day in (dst_day, dst_day + timedelta(days=1)):
        midnight = local_midnight(day, tz)
        points[midnight - timedelta(seconds=10)] = False
        points[midnight + timedelta(seconds=3)] = True
    for day in (dst_day, dst_day + timedelta(days=1)):
        utc_midnight = datetime.combine(day, time(), tzinfo=UTC)
        if start < utc_midnight < end:
            points.setdefault(utc_midnight - timedelta(seconds=10), False)
            points.setdefault(utc_midnight + timedelta(seconds=3), False)
    return sorted(points.items())


@pytest.mark.parametrize("dst", DST_DAYS)
async def test_across_a_dst_change_the_day_rolls_once_at_each_local_midnight(
    hass: HomeAssistant,
    setup_reliable: Setup,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    dst: tuple[str, date, int],
) -> None:
    zone, dst_day, hours = dst
    tz = ZoneInfo(zone)
    day_before, day_after = dst_day - timedelta(days=1), dst_day + timedelta(days=1)
    assert local_midnight(day_after, tz) - local_midnight(dst_day, tz) == timedelta(
        hours=hours
    )
    await hass.config.async_set_time_zone(zone)
    points = walk(tz, dst_day)
    await move_to(hass, freezer, points[0][0])
    await setup_reliable(("openai", "OpenAI", {CONF_DAILY_BUDGET: BUDGET}))

    spent: dict[date, float] = defaultdict(float)
    calls: dict[date, int] = defaultdict(int)
    days_seen: list[date] = []
    for number, (at, just_after_midnight) in enumerate(points):
        await move_to(hass, freezer, at)
        day = at.astimezone(tz).date()
        if not days_seen or days_seen[-1] != day:
            days_seen.append(day)
        where = f"at {at.astimezone(tz).isoformat()} ({at.isoformat()})"
        # The router counts the local date...
        assert (await metrics(hass))["today"]["day"] == day.isoformat(), where
        # ...and the sensors show that day's figures, reset 3 s after midnight without a request.
        if just_after_midnight:
            assert spent[day] == 0, where
            assert last_reset(hass) == local_midnight(day, tz), where
        assert state(hass, COST) == pytest.approx(spent[day]), where
        assert state(hass, REMAINING) == pytest.approx(BUDGET - spent[day]), where
        assert state(hass, REQUESTS) == calls[day], where

        spent[day] += await spend(hass, f"call {number}")
        calls[day] += 1
        assert state(hass, COST) == pytest.approx(spent[day]), where
        assert state(hass, TOTAL) == pytest.approx(spent[day]), where
        assert last_reset(hass) == local_midnight(day, tz), where

    # Three local days, each entered once, in order.
    assert days_seen == [day_before, dst_day, day_after]
    # Every day's spend is kept apart, in the history and in the saved ledger.
    history = {
        day["date"]: day["cost"] for day in (await metrics(hass))["last_30_days"]
    }
    await settle(hass, freezer)
    saved = saved_days(hass_storage)
    for day in days_seen:
        assert history[day.isoformat()] == pytest.approx(spent[day])
        assert saved[day.isoformat()] == pytest.approx(spent[day])
