"""Response cache bounded by age, entry count and bytes, plus coalescing of identical requests.

Keys hash the normalised request (image bytes enter only as their SHA-256); values are responses,
so image bytes are never stored.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
import hashlib
import sys

from .models import AIRequest, AIResponse

# Rough bytes of one entry besides its text: the response object, its key and the LRU links.
_ENTRY_OVERHEAD = 512


def request_key(request: AIRequest) -> str:
    """Hash of what makes two requests ask for the same answer.

    Prompt and system prompt are stripped of surrounding whitespace; the routing fields that do
    not change the answer (tags, timeout, request id) are left out. A pinned provider or model,
    local-only privacy and the allowed providers are kept: a request must never be served an
    answer from a provider it was not allowed to use.
    """
    allowed = request.allowed_providers
    normalised = (
        request.prompt.strip(),
        (request.system_prompt or "").strip(),
        tuple(image.sha256 for image in request.images),
        request.max_tokens,
        request.temperature,
        request.json_output,
        request.provider,
        request.model,
        request.local_only,
        None if allowed is None else tuple(sorted(allowed)),
    )
    return hashlib.sha256(repr(normalised).encode()).hexdigest()


class ResponseCache:
    """LRU cache of responses that expire `ttl` seconds after they were stored."""

    __slots__ = (
        "_bytes",
        "_clock",
        "_entries",
        "hits",
        "max_bytes",
        "max_entries",
        "misses",
        "ttl",
    )

    def __init__(
        self, ttl: float, max_entries: int, max_bytes: int, clock: Callable[[], float]
    ) -> None:
        """Start empty; a ttl or bound of 0 disables the cache."""
        self.ttl = ttl
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._clock = clock
        # key -> (expires_at, size, response), least recently used first.
        self._entries: OrderedDict[str, tuple[float, int, AIResponse]] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        """Whether anything can be stored: the smallest entry is its overhead alone."""
        return (
            self.ttl > 0 and self.max_entries > 0 and self.max_bytes >= _ENTRY_OVERHEAD
        )

    def __len__(self) -> int:
        """Entries stored, expired ones not yet evicted included."""
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        """Approximate bytes held."""
        return self._bytes

    def get(self, key: str) -> AIResponse | None:
        """Return the fresh response stored under `key`, if any."""
        item = self._entries.get(key)
        if item is None:
            self.misses += 1
            return None
        if item[0] <= self._clock():
            self._drop(key)
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return item[2]

    def put(self, key: str, response: AIResponse) -> None:
        """Store a response, evicting the least recently used entries beyond the bounds."""
        if not self.enabled:
            return
        size = len(response.text.encode()) + len(response.model) + _ENTRY_OVERHEAD
        if size > self.max_bytes:
            return
        if key in self._entries:
            self._drop(key)
        # Kept slim: a hit gets its own request id and no attempts (`Router._from_cache`), and
        # thousands of answers share a few model names and finish reasons.
        stored = replace(
            response,
            request_id="",
            attempts=(),
            model=sys.intern(response.model),
            finish_reason=sys.intern(response.finish_reason),
        )
        self._entries[key] = (self._clock() + self.ttl, size, stored)
        self._bytes += size
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))

    def discard(self, key: str) -> None:
        """Forget the entry stored under `key`, if any."""
        if key in self._entries:
            self._drop(key)

    def clear(self) -> None:
        """Forget every entry."""
        self._entries.clear()
        self._bytes = 0

    def _drop(self, key: str) -> None:
        _, size, _ = self._entries.pop(key)
        self._bytes -= size


class LeaderGone(Exception):
    """The request that was fetching an answer for others was cancelled; fetch it yourself."""


class RequestCoalescer:
    """Lets the first of several identical concurrent requests call a provider for all of them."""

    __slots__ = ("_pending",)

    def __init__(self) -> None:
        """Nothing in flight."""
        self._pending: dict[str, asyncio.Future[AIResponse]] = {}

    def __len__(self) -> int:
        """Keys being fetched now."""
        return len(self._pending)

    def follow(self, key: str) -> asyncio.Future[AIResponse] | None:
        """Return the future of an identical request in flight, if there is one."""
        return self._pending.get(key)

    def lead(self, key: str) -> asyncio.Future[AIResponse]:
        """Register the caller as the one fetching `key`."""
        future: asyncio.Future[AIResponse] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        return future

    def finish(
        self,
        key: str,
        future: asyncio.Future[AIResponse],
        result: AIResponse | BaseException,
    ) -> None:
        """Hand the leader's result (or error) to every follower."""
        if self._pending.get(key) is future:
            del self._pending[key]
        if future.done():
            return
        if isinstance(result, AIResponse):
            future.set_result(result)
        else:
            future.set_exception(result)
        # Followers may all have gone; retrieving the exception keeps asyncio from logging it.
        if not isinstance(result, AIResponse):
            future.exception()
