"""One LiteLLM Router round for `bench.router_http`, run in LiteLLM's own Python (see scripts/bench).

    python bench/litellm_client.py URL N CONCURRENCY [STRATEGY]

Three deployments of the same OpenAI-style endpoint, as the aicleaner router gets three providers;
prints one JSON line: requests per second and every latency in seconds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from typing import Any


async def main(url: str, n: int, concurrency: int, strategy: str) -> dict[str, Any]:
    """Warm up, then time `n` completions at `concurrency`."""
    import litellm

    litellm.suppress_debug_info = True
    logging.getLogger("LiteLLM").setLevel(logging.WARNING)
    router = litellm.Router(
        model_list=[
            {
                "model_name": "bench",
                "litellm_params": {
                    "model": "openai/gpt-4o-mini",
                    "api_base": url,
                    "api_key": "sk-bench",
                },
            }
            for _ in range(3)
        ],
        routing_strategy=strategy,
        num_retries=0,
    )

    async def one(index: int) -> None:
        await router.acompletion(
            model="bench",
            messages=[{"role": "user", "content": f"Describe room {index}"}],
            max_tokens=1024,
        )

    for index in range(20):
        await one(index)
    latencies: list[float] = []
    indexes = iter(range(n))

    async def worker() -> None:
        for index in indexes:
            started = time.perf_counter()
            await one(index)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return {"rps": n / (time.perf_counter() - started), "latencies": latencies}


if __name__ == "__main__":
    strategy = sys.argv[4] if len(sys.argv) > 4 else "simple-shuffle"
    result = asyncio.run(
        main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), strategy)
    )
    print(json.dumps(result))
