"""A minimal OpenAI-style server for benchmarks: the floor a router is measured against.

    python -m bench.openai_server --port 8999

It answers `POST /v1/chat/completions` at once with one fixed completion (with usage) and
`GET /v1/models` with one model, so that what a benchmark times is the client side. `GET /_count`
says how many completions it served, so a benchmark can prove each contender really called it.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from aiohttp import web
import orjson

COMPLETION = orjson.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1764547200,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "The kitchen floor."},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
    }
)
MODELS = orjson.dumps({"object": "list", "data": [{"id": "gpt-4o-mini"}]})


def build_app() -> web.Application:
    """The app, with a counter of completions served."""
    served = 0

    async def completions(request: web.Request) -> web.Response:
        nonlocal served
        await request.read()
        served += 1
        return web.Response(body=COMPLETION, content_type="application/json")

    async def models(request: web.Request) -> web.Response:
        return web.Response(body=MODELS, content_type="application/json")

    async def count(request: web.Request) -> web.Response:
        return web.json_response({"completions": served})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    app.router.add_get("/v1/models", models)
    app.router.add_get("/_count", count)
    return app


async def serve(host: str, port: int) -> None:
    """Serve until SIGTERM or SIGINT."""
    runner = web.AppRunner(build_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"listening on http://{host}:{port}", flush=True)
    await stop.wait()
    await runner.cleanup()


def main() -> None:
    """Parse the address and serve."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8999)
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
