"""What a real provider would have billed for the streams it sent, at its list price.

A stream is billed once it started (the model generated the answer), at the usage of the whole
answer, however it ended: delivered, cut, stalled or left by its client. An error before the stream
(a status, a 429, a hang before the first byte) bills nothing. Each protocol notes its answer with
`note` just before it starts streaming; the app settles it when the handler returns. Prices and
usage records are read as `billing.py` reads an answer's: the clients' own tables
(`providers/pricing.py`), at the model the request asked for.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from aiohttp import web

from .billing import QUOTES, usage_tokens

_NOTED = "sim_streamed_answer"


def note(request: web.Request, model: str, usage: dict[str, Any]) -> None:
    """Remember the answer a stream is about to send: its model and its usage record."""
    request[_NOTED] = (model, usage)


class StreamBilling:
    """USD billed per provider for the streams it started."""

    def __init__(self) -> None:
        """Start with nothing billed."""
        self.billed: defaultdict[str, float] = defaultdict(float)
        self.streams: defaultdict[str, int] = defaultdict(int)

    def settle(self, provider: str, request: web.Request) -> None:
        """Bill the stream `request` started, if it started one."""
        noted = request.get(_NOTED)
        if noted is None:
            return
        model, usage = noted
        quote = QUOTES[provider](model.removeprefix("models/"), date.today())
        self.billed[provider] += quote.price.cost(*usage_tokens(provider, usage))
        self.streams[provider] += 1

    def clear(self) -> None:
        """Forget everything billed."""
        self.billed.clear()
        self.streams.clear()
