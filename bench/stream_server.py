"""A minimal OpenAI-style streaming server for benchmarks: the floor a streaming router is measured against.

    python -m bench.stream_server --port 8998

`POST /v1/chat/completions` with `stream: true` answers at once with server-sent events: a role
chunk, `CHUNKS` text chunks, a finish chunk, a usage chunk and `[DONE]`, as OpenAI streams them.
`POST /stall/v1/chat/completions` never sends a byte: it holds the request until the client leaves
(the stalled provider of the failover benchmark). `GET /_count` tells how many streams were served
and how many stalled requests came, so a benchmark can prove each contender really called it.
"""

from __future__ import annotations

import argparse
import asyncio

from aiohttp import web
import orjson

from bench.openai_server import serve

CHUNKS = 8
MODELS = orjson.dumps({"object": "list", "data": [{"id": "gpt-4o-mini"}]})
_BASE = {
    "id": "chatcmpl-bench",
    "object": "chat.completion.chunk",
    "created": 1764547200,
    "model": "gpt-4o-mini-2024-07-18",
}


def _event(delta: dict[str, object], finish: str | None = None) -> bytes:
    chunk = {
        **_BASE,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + orjson.dumps(chunk) + b"\n\n"


FIRST = _event({"role": "assistant", "content": ""})
PIECES = [_event({"content": f"word{index} "}) for index in range(CHUNKS)]
FINISH = _event({}, "stop")
USAGE = (
    b"data: "
    + orjson.dumps(
        {
            **_BASE,
            "choices": [],
            "usage": {
                "prompt_tokens": 12,
                "completion_tokens": CHUNKS,
                "total_tokens": 12 + CHUNKS,
            },
        }
    )
    + b"\n\n"
)
DONE = b"data: [DONE]\n\n"


def build_app() -> web.Application:
    """The app with its counters."""
    counts = {"streams": 0, "stalled": 0}

    async def stream(request: web.Request) -> web.StreamResponse:
        await request.read()
        counts["streams"] += 1
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        await response.write(FIRST)
        for piece in PIECES:
            await response.write(piece)
        await response.write(FINISH + USAGE + DONE)
        await response.write_eof()
        return response

    async def stall(request: web.Request) -> web.StreamResponse:
        await request.read()
        counts["stalled"] += 1
        # Held until the client leaves (aiohttp cancels the handler then).
        await asyncio.Event().wait()
        return web.Response(status=503)

    async def models(request: web.Request) -> web.Response:
        return web.Response(body=MODELS, content_type="application/json")

    async def count(request: web.Request) -> web.Response:
        return web.json_response(counts)

    app = web.Application()
    app.router.add_post("/v1/chat/completions", stream)
    app.router.add_post("/stall/v1/chat/completions", stall)
    app.router.add_get("/v1/models", models)
    app.router.add_get("/_count", count)
    return app


def main() -> None:
    """Parse the address and serve."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8998)
    args = parser.parse_args()
    # A stalled stream is cancelled when its client leaves.
    asyncio.run(serve(args.host, args.port, build_app(), handler_cancellation=True))


if __name__ == "__main__":
    main()
