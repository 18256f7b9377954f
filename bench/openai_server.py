"""A minimal OpenAI-style server for benchmarks: the floor a router is measured against.

    python -m bench.openai_server --port 8999

It answers `POST /v1/chat/completions` at once with one fixed completion (with usage) and
`GET /v1/models` with one model, so that what a benchmark times is the client side. Control
endpoints, for the benchmarks to steer and check it:
- `GET /_count`: completions served, every API request seen (health calls included), and how many
  completions are held now, so a benchmark can prove each contender really called it;
- `POST /_config` with `{"answer_bytes": N}`: answer with a text of N bytes (default: a short one);
  with `{"hold": true}`: hold each completion, unanswered, until `POST /_release` (at most
  `HOLD_LIMIT` seconds), so that a benchmark can have many requests in flight at once.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import signal
from typing import Any

from aiohttp import web
import orjson

DEFAULT_TEXT = "The kitchen floor."
# A held completion is answered after this many seconds even if never released.
HOLD_LIMIT = 120.0
MODELS = orjson.dumps({"object": "list", "data": [{"id": "gpt-4o-mini"}]})


def completion(text: str) -> bytes:
    """The body of a completion whose answer is `text`."""
    return orjson.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1764547200,
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
        }
    )


COMPLETION = completion(DEFAULT_TEXT)


def answer_text(size: int) -> str:
    """An ASCII answer of exactly `size` bytes, made of words."""
    words = (DEFAULT_TEXT + " ") * (size // (len(DEFAULT_TEXT) + 1) + 1)
    return words[:size]


def build_app() -> web.Application:
    """The app, with counters and the hold switch."""
    served = 0
    seen = 0
    held = 0
    body = COMPLETION
    hold = False
    release = asyncio.Event()

    async def completions(request: web.Request) -> web.Response:
        nonlocal served, seen, held
        seen += 1
        await request.read()
        if hold:
            held += 1
            try:
                async with asyncio.timeout(HOLD_LIMIT):
                    await release.wait()
            except TimeoutError:
                pass
            finally:
                held -= 1
        served += 1
        return web.Response(body=body, content_type="application/json")

    async def models(request: web.Request) -> web.Response:
        nonlocal seen
        seen += 1
        return web.Response(body=MODELS, content_type="application/json")

    async def count(request: web.Request) -> web.Response:
        return web.json_response(
            {"completions": served, "requests": seen, "held": held}
        )

    async def configure(request: web.Request) -> web.Response:
        nonlocal body, hold, release
        settings: dict[str, Any] = await request.json()
        if "answer_bytes" in settings:
            size = settings["answer_bytes"]
            body = COMPLETION if size is None else completion(answer_text(int(size)))
        if "hold" in settings:
            hold = bool(settings["hold"])
            if hold:
                release = asyncio.Event()
        return web.json_response({"hold": hold})

    async def release_held(request: web.Request) -> web.Response:
        nonlocal hold
        hold = False
        release.set()
        return web.json_response({"held": held})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    app.router.add_get("/v1/models", models)
    app.router.add_get("/_count", count)
    app.router.add_post("/_config", configure)
    app.router.add_post("/_release", release_held)
    return app


async def serve(
    host: str,
    port: int,
    app: web.Application | None = None,
    *,
    handler_cancellation: bool = False,
) -> None:
    """Serve `app` (this module's by default) until SIGTERM or SIGINT."""
    runner = web.AppRunner(
        app or build_app(),
        access_log=None,
        handler_cancellation=handler_cancellation,
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=4096)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"listening on http://{host}:{port}", flush=True)
    await stop.wait()
    await runner.cleanup()


def raise_open_files_limit() -> None:
    """Allow as many sockets as the hard limit does: a benchmark may hold 1,000 connections."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main() -> None:
    """Parse the address and serve."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8999)
    args = parser.parse_args()
    raise_open_files_limit()
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
