"""LiteLLM's Router on a stalled stream, for `bench.stream_http`, run in LiteLLM's own Python.

    python bench/litellm_stream_client.py BASE TTFT REPEATS

Two deployments: "stalled" (`BASE/stall/v1`, which never sends a byte) with `stream_timeout` TTFT,
and "good" (`BASE/v1`) as its fallback. Prints one JSON line: for each request, the seconds from the
request to the first streamed text, minus TTFT.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from typing import Any


async def main(base: str, ttft: float, repeats: int) -> dict[str, Any]:
    """Stream `repeats` answers asked of the stalled deployment."""
    import litellm

    litellm.suppress_debug_info = True
    logging.getLogger("LiteLLM").setLevel(logging.CRITICAL)
    router = litellm.Router(
        model_list=[
            {
                "model_name": name,
                "litellm_params": {
                    "model": "openai/gpt-4o-mini",
                    "api_base": f"{base}{prefix}/v1",
                    "api_key": "sk-bench",
                    "stream_timeout": ttft,
                    "timeout": ttft,
                },
            }
            for name, prefix in (("stalled", "/stall"), ("good", ""))
        ],
        fallbacks=[{"stalled": ["good"]}],
        num_retries=0,
    )
    extras = []
    for index in range(repeats):
        started = time.perf_counter()
        response = await router.acompletion(
            model="stalled",
            messages=[{"role": "user", "content": f"Describe room {index}"}],
            stream=True,
        )
        first = None
        async for chunk in response:
            if first is None and chunk.choices and chunk.choices[0].delta.content:
                first = time.perf_counter() - started
        extras.append(
            (first if first is not None else time.perf_counter() - started) - ttft
        )
    return {"extras": extras}


if __name__ == "__main__":
    print(
        json.dumps(asyncio.run(main(sys.argv[1], float(sys.argv[2]), int(sys.argv[3]))))
    )
