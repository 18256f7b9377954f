"""Run the simulator on a loopback port (tests, bench and scripts/develop share this)."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from aiohttp import web

from .app import ProviderSimulator


class SimulatorServer:
    """A started simulator: `.sim` to steer it, `.url` to reach it."""

    def __init__(
        self,
        sim: ProviderSimulator | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """Prepare a server; port 0 picks a free port."""
        self.sim = sim or ProviderSimulator()
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:54321 (append /openai/v1, /anthropic, ...)."""
        return f"http://{self.host}:{self.port}"

    def provider_url(self, provider: str) -> str:
        """Base URL of one provider, as its SDK or our client takes it."""
        return self.url + self.sim.protocols[provider].prefix

    async def start(self) -> None:
        """Bind and serve; handlers are cancelled when their client disconnects."""
        runner = web.AppRunner(
            self.sim.app,
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=2.0,
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        if self.port == 0:
            self.port = runner.addresses[0][1]

    async def stop(self) -> None:
        """Close connections and release hanging handlers."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        """Start on entry."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop on exit."""
        await self.stop()
