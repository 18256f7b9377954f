"""Response cache: key normalisation, TTL, entry and byte bounds, and request coalescing."""

from __future__ import annotations

import asyncio

import pytest

from custom_components.aicleaner.router.cache import (
    LeaderGone,
    RequestCoalescer,
    ResponseCache,
    request_key,
)
from custom_components.aicleaner.router.models import (
    AIRequest,
    AIResponse,
    ImageInput,
    Usage,
)

from .fakes import FakeClock


def response(text: str = "answer") -> AIResponse:
    return AIResponse(
        request_id="r",
        text=text,
        provider="p",
        model="m",
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


def test_zero_ttl_disables_the_cache() -> None:
    cache = ResponseCache(ttl=0, max_entries=10, max_bytes=100_000, clock=FakeClock())
    assert not cache.enabled
    cache.put("a", response())
    assert len(cache) == 0


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
