"""The router reserves at the price of the request's day and at the tier its input bound reaches."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest

from custom_components.aicleaner.router import Router
from custom_components.aicleaner.router.models import AIRequest, ModelPrice, PriceTier

from .fakes import FakeProvider


@dataclass
class Wall:
    now: datetime = field(
        default_factory=lambda: datetime(2026, 11, 30, 12, tzinfo=UTC)
    )

    def __call__(self) -> datetime:
        return self.now


@dataclass
class RepricedProvider(FakeProvider):
    """A provider whose price changes (as `pricing.Dated` prices do), counting the lookups."""

    lookups: int = 0

    def price(self, model: str | None = None, *, on: date | None = None) -> ModelPrice:
        self.lookups += 1
        return self.price_value


def _reservation(router: Router, request: AIRequest) -> float:
    (candidate,) = router._candidates(request, need_headroom=False)
    return candidate.cost


def test_the_price_is_looked_up_once_a_day_and_again_the_next_day() -> None:
    wall = Wall()
    provider = RepricedProvider("p", price_value=ModelPrice(2.0, 10.0))
    # The monotonic clock moves with the wall clock: the router reads the date at most once a second.
    router = Router([provider], wall_clock=wall, clock=lambda: wall.now.timestamp())  # noqa: PLW0108 - wall.now changes
    request = AIRequest(prompt="x" * 984, max_tokens=1000)  # 1,000 input tokens bound
    assert _reservation(router, request) == pytest.approx((1000 * 2 + 1000 * 10) / 1e6)
    provider.price_value = ModelPrice(4.0, 20.0)
    _reservation(router, request)
    assert provider.lookups == 1  # cached within the day: no per-request lookups
    wall.now += timedelta(days=1)
    assert _reservation(router, request) == pytest.approx((1000 * 4 + 1000 * 20) / 1e6)
    assert provider.lookups == 2


def test_a_reservation_whose_input_bound_crosses_a_tier_uses_the_tier() -> None:
    tiered = ModelPrice(2.5, 15.0, (PriceTier(272_000, 5.0, 22.5),))
    router = Router([FakeProvider("p", price_value=tiered)], wall_clock=Wall())
    short = AIRequest(prompt="x" * 1000, max_tokens=100)
    long = AIRequest(prompt="x" * 300_000, max_tokens=100)
    assert _reservation(router, short) == pytest.approx((1016 * 2.5 + 100 * 15) / 1e6)
    assert _reservation(router, long) == pytest.approx(
        (300_016 * 5.0 + 100 * 22.5) / 1e6
    )
