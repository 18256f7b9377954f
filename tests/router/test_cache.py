"""Response cache: key normalisation, TTL, entry and byte bounds, and request coalescing."""

from __future__ import annotations

import asyncio
from dataclasses import replace
import gc
import random
import sys
from typing import Any

import pytest

from custom_components.aicleaner.router import RouterConfig
from custom_components.aicleaner.router.cache import (
    LeaderGone,
    RequestCoalescer,
    ResponseCache,
    request_key,
)
from custom_components.aicleaner.router.models import (
    AIRequest,
    AIResponse,
    Attempt,
    AttemptOutcome,
    ImageInput,
    Usage,
)

from .conftest import RouterFactory
from .fakes import FakeClock, FakeProvider

# Bytes an entry costs besides its text and model name (cache.py's documented estimate).
OVERHEAD = 512


def response(text: str = "answer", model: str = "m") -> AIResponse:
    return AIResponse(
        request_id="r",
        text=text,
        provider="p",
        model=model,
        usage=Usage(1, 1),
        cost=0.1,
        latency_ms=1.0,
        finish_reason="stop",
    )


def test_key_ignores_surrounding_whitespace_tags_timeout_and_request_id() -> None:
    a = AIRequest(
        prompt="  hello ", system_prompt="sys", tags=frozenset({"x"}), timeout=3
    )
    b = AIRequest(prompt="hello", system_prompt=" sys")
    assert request_key(a) == request_key(b)


@pytest.mark.parametrize(
    "change",
    [
        {"prompt": "other"},
        {"system_prompt": "other"},
        {"max_tokens": 5},
        {"temperature": 0.5},
        {"provider": "openai"},
        {"model": "gpt-4o"},
        {"images": (ImageInput(b"\x89PNG other", "image/png"),)},
        {"local_only": True},
        {"allowed_providers": frozenset({"ollama"})},
        {"allowed_providers": frozenset()},
    ],
)
def test_key_changes_with_every_answer_relevant_field(
    change: dict[str, object],
) -> None:
    base = {"prompt": "hello", "images": (ImageInput(b"\x89PNG", "image/png"),)}
    assert request_key(AIRequest(**base)) != request_key(
        AIRequest(**{**base, **change})
    )  # type: ignore[arg-type]


def test_key_does_not_depend_on_the_order_of_allowed_providers() -> None:
    names = [f"provider-{n}" for n in range(64)]
    first = frozenset(names)
    # Equal sets built in another order may iterate in another order (hash collisions):
    # find one that does, so the key is shown not to follow iteration order.
    rng = random.Random(0)
    for _ in range(100):
        rng.shuffle(names)
        other = frozenset(names)
        if tuple(other) != tuple(first):
            break
    else:  # pragma: no cover - 64 names collide in practically every layout
        pytest.skip("no differently ordered equal set found")
    assert other == first
    assert request_key(AIRequest(prompt="p", allowed_providers=first)) == request_key(
        AIRequest(prompt="p", allowed_providers=other)
    )


def test_key_hashes_image_bytes_and_never_contains_them() -> None:
    image = ImageInput(b"secret-bytes" * 10, "image/jpeg")
    key = request_key(AIRequest(prompt="p", images=(image,)))
    assert "secret" not in key
    assert len(key) == 64


def test_entries_expire_after_ttl() -> None:
    clock = FakeClock()
    cache = ResponseCache(ttl=10, max_entries=10, max_bytes=10_000, clock=clock)
    cache.put("k", response())
    clock.advance(9.9)
    assert cache.get("k") is not None
    clock.advance(0.1)
    assert cache.get("k") is None
    assert len(cache) == 0
    assert (cache.hits, cache.misses) == (1, 1)


def test_entry_count_bound_evicts_the_least_recently_used() -> None:
    cache = ResponseCache(ttl=10, max_entries=2, max_bytes=100_000, clock=FakeClock())
    cache.put("a", response())
    cache.put("b", response())
    assert cache.get("a") is not None
    cache.put("c", response())
    assert cache.get("b") is None
    assert cache.get("a") is not None
    assert cache.get("c") is not None


def test_byte_bound_evicts_until_it_fits_and_skips_oversize_entries() -> None:
    cache = ResponseCache(ttl=10, max_entries=100, max_bytes=2000, clock=FakeClock())
    cache.put("a", response("x" * 500))
    cache.put("b", response("y" * 500))
    assert cache.size_bytes <= 2000
    assert cache.get("a") is None
    cache.put("huge", response("z" * 5000))
    assert cache.get("huge") is None
    assert cache.get("b") is not None


def test_storing_an_existing_key_replaces_it() -> None:
    cache = ResponseCache(ttl=10, max_entries=10, max_bytes=100_000, clock=FakeClock())
    cache.put("a", response("one"))
    cache.put("a", response("two"))
    assert len(cache) == 1
    hit = cache.get("a")
    assert hit is not None
    assert hit.text == "two"
    cache.clear()
    assert len(cache) == 0
    assert cache.size_bytes == 0


def test_an_entry_keeps_the_answer_and_nothing_of_the_request_that_fetched_it() -> None:
    """Stored slim (bench/memory.py: 10,000 answers of 1 KB stay under 20 MB).

    A hit gets its own request id and no attempts anyway; model names and finish reasons that
    thousands of answers repeat are stored once.
    """
    cache = ResponseCache(ttl=10, max_entries=10, max_bytes=100_000, clock=FakeClock())
    original = replace(
        response("the answer", model=b"gpt-4o".decode()),
        attempts=(Attempt("p", AttemptOutcome.SUCCESS, latency_ms=1.0),),
        finish_reason=b"stop".decode(),
    )
    cache.put("a", original)
    hit = cache.get("a")
    assert hit is not None
    assert (hit.text, hit.provider, hit.model, hit.usage, hit.cost) == (
        "the answer",
        "p",
        "gpt-4o",
        Usage(1, 1),
        0.1,
    )
    assert (hit.request_id, hit.attempts) == ("", ())
    assert hit.model is sys.intern("gpt-4o")
    assert hit.finish_reason is sys.intern("stop")


def test_a_key_never_stored_counts_as_a_miss() -> None:
    cache = ResponseCache(ttl=10, max_entries=10, max_bytes=100_000, clock=FakeClock())
    assert cache.get("never") is None
    assert (cache.hits, cache.misses) == (0, 1)


def test_entry_size_counts_utf8_bytes_of_the_text_and_the_model_name() -> None:
    cache = ResponseCache(ttl=10, max_entries=10, max_bytes=100_000, clock=FakeClock())
    cache.put("a", response("é" * 100, model="model"))
    # 100 characters are 200 UTF-8 bytes.
    assert cache.size_bytes == 200 + len("model") + OVERHEAD
    cache.put("b", response("", model=""))
    assert cache.size_bytes == 200 + len("model") + 2 * OVERHEAD


def test_an_entry_of_exactly_max_bytes_is_stored() -> None:
    size = len("x" * 100) + len("m") + OVERHEAD
    cache = ResponseCache(ttl=10, max_entries=10, max_bytes=size, clock=FakeClock())
    cache.put("a", response("x" * 100))
    assert cache.get("a") is not None
    assert cache.size_bytes == size


def test_a_cache_filled_to_exactly_max_bytes_evicts_nothing() -> None:
    size = len("x" * 100) + len("m") + OVERHEAD
    cache = ResponseCache(ttl=10, max_entries=10, max_bytes=3 * size, clock=FakeClock())
    for key in "abc":
        cache.put(key, response("x" * 100))
    assert len(cache) == 3
    assert cache.size_bytes == 3 * size
    cache.put("d", response("x" * 100))
    assert len(cache) == 3
    assert cache.get("a") is None


def test_restoring_a_key_replaces_its_size_and_makes_it_the_most_recent() -> None:
    cache = ResponseCache(ttl=10, max_entries=2, max_bytes=100_000, clock=FakeClock())
    cache.put("a", response("one"))
    cache.put("b", response("two"))
    cache.put("a", response("three!"))
    assert cache.size_bytes == (6 + 1 + OVERHEAD) + (3 + 1 + OVERHEAD)
    # "a" was stored last, so "b" is the least recently used and goes first.
    cache.put("c", response("four"))
    assert cache.get("b") is None
    assert cache.get("a") is not None
    assert cache.size_bytes == (6 + 1 + OVERHEAD) + (4 + 1 + OVERHEAD)


@pytest.mark.parametrize(
    "bounds",
    [
        {"ttl": 10, "max_entries": 10, "max_bytes": 0},
        {"ttl": 10, "max_entries": 0, "max_bytes": 100_000},
        {"ttl": 0, "max_entries": 10, "max_bytes": 100_000},
    ],
)
def test_a_zero_bound_disables_the_cache(bounds: dict[str, int]) -> None:
    cache = ResponseCache(**bounds, clock=FakeClock())
    assert not cache.enabled
    cache.put("a", response(""))
    assert len(cache) == 0
    assert cache.size_bytes == 0


def test_a_byte_bound_below_the_smallest_entry_disables_the_cache() -> None:
    clock = FakeClock()
    assert not ResponseCache(
        ttl=10, max_entries=10, max_bytes=OVERHEAD - 1, clock=clock
    ).enabled
    cache = ResponseCache(ttl=10, max_entries=10, max_bytes=OVERHEAD, clock=clock)
    assert cache.enabled
    cache.put("a", response("", model=""))
    assert cache.get("a") is not None


def test_smallest_positive_bounds_still_cache() -> None:
    clock = FakeClock()
    cache = ResponseCache(ttl=0.5, max_entries=1, max_bytes=100_000, clock=clock)
    assert cache.enabled
    cache.put("a", response())
    cache.put("b", response())
    assert len(cache) == 1
    assert cache.get("b") is not None
    clock.advance(0.5)
    assert cache.get("b") is None


@pytest.mark.parametrize(
    "bounds",
    [
        {"cache_max_bytes": OVERHEAD - 1},
        {"cache_max_bytes": 0},
        {"cache_max_entries": 0},
        {"cache_ttl": 0},
    ],
)
async def test_router_with_a_disabled_cache_neither_looks_up_nor_coalesces(
    make_router: RouterFactory, bounds: dict[str, int]
) -> None:
    gate = asyncio.Event()
    provider = FakeProvider("a", gate=gate)
    router = make_router([provider], RouterConfig(**{"cache_ttl": 60, **bounds}))
    tasks = [
        asyncio.create_task(router.process(AIRequest(prompt="same"))) for _ in range(3)
    ]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*tasks)
    # Every request called the provider itself: nobody waited for a leader.
    assert len(provider.calls) == 3
    assert not any(r.cached for r in results)
    cache = router.get_performance_metrics()["cache"]
    assert (cache["entries"], cache["hits"], cache["misses"]) == (0, 0, 0)


def test_a_discarded_entry_is_gone_and_its_bytes_freed() -> None:
    cache = ResponseCache(ttl=10, max_entries=10, max_bytes=100_000, clock=FakeClock())
    cache.put("k", response("abc"))
    cache.put("other", response("de"))
    size = cache.size_bytes
    cache.discard("k")
    assert cache.get("k") is None
    assert cache.get("other") is not None
    assert cache.size_bytes == size - (3 + 1 + OVERHEAD)
    # A key not stored is no error.
    cache.discard("never")
    assert len(cache) == 1


async def test_a_forgotten_answer_is_asked_again(make_router: RouterFactory) -> None:
    provider = FakeProvider("a")
    router = make_router([provider], RouterConfig(cache_ttl=60))
    request = AIRequest(prompt="same")
    await router.process(request)
    assert (await router.process(AIRequest(prompt="same"))).cached
    router.forget(request)
    again = await router.process(AIRequest(prompt="same"))
    assert not again.cached
    assert len(provider.calls) == 2


async def test_coalescer_hands_the_leaders_result_to_followers() -> None:
    coalescer = RequestCoalescer()
    future = coalescer.lead("k")
    assert coalescer.follow("k") is future
    assert len(coalescer) == 1
    coalescer.finish("k", future, response())
    assert coalescer.follow("k") is None
    assert (await future).text == "answer"
    coalescer.finish("k", future, response("late"))  # already done: ignored


async def test_coalescer_hands_errors_to_followers_without_unretrieved_warnings() -> (
    None
):
    coalescer = RequestCoalescer()
    future = coalescer.lead("k")
    coalescer.finish("k", future, LeaderGone())
    with pytest.raises(LeaderGone):
        await asyncio.shield(future)


async def test_leader_error_with_no_follower_is_not_logged_as_never_retrieved() -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        coalescer = RequestCoalescer()
        future = coalescer.lead("k")
        coalescer.finish("k", future, RuntimeError("provider down"))
        assert len(coalescer) == 0
        # Nobody awaits the future: asyncio reports an unretrieved exception when it is freed.
        del future
        gc.collect()
    finally:
        loop.set_exception_handler(previous)
    assert reported == []
