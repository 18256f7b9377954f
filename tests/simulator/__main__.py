"""Standalone simulator: python -m tests.simulator --host 127.0.0.1 --port 8900."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from .app import ProviderSimulator
from .server import SimulatorServer


async def _serve(host: str, port: int, seed: int, record: bool) -> None:
    server = SimulatorServer(
        ProviderSimulator(rng_seed=seed, record=record), host=host, port=port
    )
    await server.start()
    print(
        f"provider simulator on {server.url}: /openai/v1 /anthropic /gemini /ollama /compatible/v1 /_sim",
        flush=True,
    )
    stop = asyncio.Event()
    # SIGTERM (what scripts/develop and bench send) stops cleanly, releasing hanging requests.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()


def main() -> None:
    """Parse the command line and serve until interrupted."""
    parser = argparse.ArgumentParser(
        description="Fake OpenAI/Anthropic/Gemini/Ollama server"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument(
        "--seed", type=int, default=0, help="RNG seed for ids and fault draws"
    )
    parser.add_argument(
        "--no-record",
        action="store_true",
        help="count requests but keep no bodies (bench)",
    )
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.host, args.port, args.seed, not args.no_record))


if __name__ == "__main__":
    main()
