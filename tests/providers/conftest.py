"""Fixtures for provider-client tests: a scriptable loopback HTTP server and a client session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
import json
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
import pytest

KEY = "sk-test-SECRET-key-0123456789abcdef"

type Responder = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(slots=True)
class Captured:
    """One request the fake server received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any


@dataclass(slots=True)
class FakeServer:
    """A loopback server that answers every path with `responder` and records what it got."""

    server: TestServer
    requests: list[Captured] = field(default_factory=list)
    responder: Responder | None = None

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    def reply(
        self,
        body: Any = None,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        text: str | None = None,
        content_type: str = "application/json",
    ) -> None:
        """Answer every request with this status and JSON body (or raw text)."""

        async def respond(request: web.Request) -> web.StreamResponse:
            payload = text if text is not None else json.dumps(body)
            return web.Response(
                text=payload, status=status, headers=headers, content_type=content_type
            )

        self.responder = respond

    @property
    def last(self) -> Captured:
        return self.requests[-1]


@pytest.fixture
async def fake_server(socket_enabled: None) -> AsyncIterator[FakeServer]:
    holder: dict[str, FakeServer] = {}

    async def handle(request: web.Request) -> web.StreamResponse:
        fake = holder["fake"]
        raw = await request.read()
        fake.requests.append(
            Captured(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                headers=dict(request.headers),
                json=json.loads(raw) if raw else None,
            )
        )
        assert fake.responder is not None, "test did not script a reply"
        return await fake.responder(request)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    holder["fake"] = FakeServer(server)
    try:
        yield holder["fake"]
    finally:
        await server.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session
