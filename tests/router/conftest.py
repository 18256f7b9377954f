"""Fixtures for router tests: a fake clock, a fake sleep and a router factory."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
import random
from typing import Any

import pytest

from custom_components.aicleaner.router import ProviderSettings, Router, RouterConfig
from custom_components.aicleaner.router.models import Provider

from .fakes import FakeClock, FakeSleep

# Limits off, so that a test sees only the behaviour it sets up.
UNLIMITED = ProviderSettings(
    rate_limit_rpm=None, rate_limit_tpm=None, rate_limit_rph=None, daily_budget=None
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleep(clock: FakeClock) -> FakeSleep:
    return FakeSleep(clock)


type RouterFactory = Callable[..., Router]


@pytest.fixture
def make_router(clock: FakeClock, sleep: FakeSleep) -> RouterFactory:
    def factory(
        providers: Sequence[Provider],
        config: RouterConfig | None = None,
        settings: Mapping[str, ProviderSettings] | None = None,
        default: ProviderSettings = UNLIMITED,
        **kwargs: Any,
    ) -> Router:
        per_provider = {p.name: default for p in providers}
        per_provider.update(settings or {})
        kwargs.setdefault("rng", random.Random(0))
        kwargs.setdefault("sleep", sleep)
        return Router(
            providers,
            config or RouterConfig(),
            provider_settings=per_provider,
            clock=clock,
            wall_clock=clock.wall,
            **kwargs,
        )

    return factory
