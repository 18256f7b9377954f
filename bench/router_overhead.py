"""What the router adds to one request, measured against calling the same provider directly.

    scripts/run python -m bench.router_overhead [--requests 20000] [--rounds 7] [--providers 4]

Both sides call an in-memory provider that answers at once, so the difference is the router's own
work: candidate filtering, strategy order, breaker, rate limits, budget reserve/commit, stats and the
structured log record. The cache is bypassed (use_cache=False) so that every request is routed.
Baseline and router alternate in rounds in one process; the report gives medians over rounds and
the added microseconds per request (the design target is at most 100). A ratio would mislead here,
since the baseline does no work at all; bench against real HTTP is where ratios belong.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import date
import logging
import statistics
import time

from custom_components.aicleaner.router import (
    ProviderSettings,
    Router,
    RouterConfig,
    SelectionStrategy,
)
from custom_components.aicleaner.router.models import (
    AIRequest,
    Completion,
    HealthResult,
    ModelCapabilities,
    ModelPrice,
    Usage,
)

_CAPS = ModelCapabilities(
    vision=True,
    context_window=128_000,
    max_image_bytes=1 << 20,
    max_image_dimension=2048,
)
_PRICE = ModelPrice(0.15, 0.60)
_USAGE = Usage(12, 20)


class InstantProvider:
    """A provider that answers immediately with a fixed completion."""

    kind = "openai"
    is_local = False
    # As the clients of providers/: their own HTTP timeout bounds the call.
    enforces_timeout = True

    def __init__(self, name: str) -> None:
        self.name = name
        self.label = name
        self.model = "bench-model"
        self._completion = Completion(
            "ok", self.model, _USAGE, "stop", _PRICE.cost(12, 20)
        )

    def capabilities(self, model: str | None = None) -> ModelCapabilities:
        return _CAPS

    def price(self, model: str | None = None, *, on: date | None = None) -> ModelPrice:
        return _PRICE

    async def prepare(self, request: AIRequest) -> AIRequest:
        return request

    async def complete(
        self, request: AIRequest, *, timeout: float, day: date | None = None
    ) -> Completion:
        return self._completion

    async def health(self) -> HealthResult:
        return HealthResult(0.0, (self.model,))

    async def validate_credentials(self) -> None:
        return None


async def _time_direct(provider: InstantProvider, requests: list[AIRequest]) -> float:
    start = time.perf_counter()
    for request in requests:
        await provider.complete(request, timeout=30.0)
    return time.perf_counter() - start


async def _time_router(router: Router, requests: list[AIRequest]) -> float:
    start = time.perf_counter()
    for request in requests:
        await router.process(request)
    return time.perf_counter() - start


async def run(
    n_requests: int, rounds: int, n_providers: int, strategy: SelectionStrategy
) -> dict[str, float]:
    """Alternate baseline and router rounds; return medians in microseconds per request."""
    providers = [InstantProvider(f"p{i}") for i in range(n_providers)]
    unlimited = ProviderSettings(
        rate_limit_rpm=None, rate_limit_tpm=None, rate_limit_rph=None, daily_budget=None
    )
    router = Router(
        providers,
        RouterConfig(selection_strategy=strategy),
        provider_settings={p.name: unlimited for p in providers},
    )
    requests = [
        AIRequest(prompt=f"Describe room {i}", use_cache=False)
        for i in range(n_requests)
    ]
    direct: list[float] = []
    routed: list[float] = []
    await _time_router(router, requests[:200])  # warm up both paths
    await _time_direct(providers[0], requests[:200])
    for _ in range(rounds):
        direct.append(await _time_direct(providers[0], requests) / n_requests * 1e6)
        routed.append(await _time_router(router, requests) / n_requests * 1e6)
    base = statistics.median(direct)
    total = statistics.median(routed)
    return {
        "direct_us": base,
        "router_us": total,
        "added_us": total - base,
    }


def main() -> None:
    """Run every strategy and print one line each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--providers", type=int, default=4)
    args = parser.parse_args()
    # The per-request INFO record is part of the cost, but printing it to a terminal is not.
    logging.getLogger("custom_components.aicleaner.router").setLevel(logging.INFO)
    logging.getLogger("custom_components.aicleaner.router").addHandler(
        logging.NullHandler()
    )
    logging.getLogger("custom_components.aicleaner.router").propagate = False
    print(
        f"{args.requests} requests x {args.rounds} rounds, {args.providers} providers, cache bypassed"
    )
    print(f"{'strategy':<14}{'direct µs':>11}{'router µs':>11}{'added µs':>10}")
    for strategy in SelectionStrategy:
        r = asyncio.run(run(args.requests, args.rounds, args.providers, strategy))
        print(
            f"{strategy.value:<14}{r['direct_us']:>11.2f}{r['router_us']:>11.2f}"
            f"{r['added_us']:>10.2f}"
        )


if __name__ == "__main__":
    main()
