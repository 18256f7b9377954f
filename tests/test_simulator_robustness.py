"""Malformed requests get the provider's own 4xx error, never a simulator crash (500)."""

from __future__ import annotations

import copy
import random
from typing import Any

import aiohttp
import pytest

from tests.simulator import SimulatorServer
from tests.simulator.samples import image_base64

IMAGE = image_base64(32, 32)

# provider -> (path, headers, a valid body to mutate)
VALID: dict[str, tuple[str, dict[str, str], dict[str, Any]]] = {
    "openai": (
        "/openai/v1/chat/completions",
        {"Authorization": "Bearer sk-test"},
        {
            "model": "gpt-4o",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "hi"},
                        {
                            "type": "image_url",
                            "image_url": {"url": f"data:image/png;base64,{IMAGE}"},
                        },
                    ],
                },
            ],
            "max_tokens": 50,
            "temperature": 0.5,
        },
    ),
    "anthropic": (
        "/anthropic/v1/messages",
        {"x-api-key": "sk-ant", "anthropic-version": "2026-10-21"},
        {
            "model": "claude-haiku-4-5",
            "max_tokens": 50,
            "system": [{"type": "text", "text": "Be brief."}],
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "image",
                            "source": {
                                "type": "base64",
                                "media_type": "image/png",
                                "data": IMAGE,
                            },
                        },
                        {"type": "text", "text": "hi"},
                    ],
                }
            ],
            "thinking": {"type": "disabled"},
        },
    ),
    "gemini": (
        "/gemini/v1beta/models/gemini-2.5-flash:generateContent",
        {"x-goog-api-key": "key"},
        {
            "contents": [
                {
                    "role": "user",
                    "parts": [
                        {"text": "hi"},
                        {"inlineData": {"mimeType": "image/png", "data": IMAGE}},
                    ],
                }
            ],
            "systemInstruction": {"parts": [{"text": "Be brief."}]},
            "generationConfig": {
                "maxOutputTokens": 50,
                "temperature": 0.5,
                "thinkingConfig": {"thinkingBudget": 0},
            },
        },
    ),
    "ollama": (
        "/ollama/api/chat",
        {},
        {
            "model": "llava",
            "messages": [{"role": "user", "content": "hi", "images": [IMAGE]}],
            "stream": False,
            "options": {"num_predict": 50, "temperature": 0.5},
            "think": False,
        },
    ),
}

_ODD_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    3.5,
    "",
    "x",
    [],
    {},
    [1, "a"],
    {"k": None},
    10**12,
]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key/index path inside a JSON value."""
    found: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found.append((*prefix, key))
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.append((*prefix, index))
            found += _paths(item, (*prefix, index))
    return found


def _mutate(body: dict[str, Any], rng: random.Random) -> Any:
    """Replace, delete or add one thing somewhere in the body (or replace the whole body)."""
    if rng.random() < 0.05:
        return rng.choice(_ODD_VALUES)
    mutated = copy.deepcopy(body)
    path = rng.choice(_paths(mutated))
    parent: Any = mutated
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    action = rng.random()
    if action < 0.5:
        parent[last] = rng.choice(_ODD_VALUES)
    elif action < 0.8 and isinstance(parent, dict):
        del parent[last]
    elif isinstance(parent, dict):
        parent[f"extra_{rng.randint(0, 9)}"] = rng.choice(_ODD_VALUES)
    else:
        parent.append(rng.choice(_ODD_VALUES))
    return mutated


@pytest.mark.parametrize("provider", sorted(VALID))
async def test_mutated_requests_never_crash_the_simulator(
    simulator: SimulatorServer, provider: str
) -> None:
    path, headers, body = VALID[provider]
    rng = random.Random(provider)
    async with aiohttp.ClientSession(base_url=simulator.url) as session:
        async with session.post(path, json=body, headers=headers) as response:
            assert response.status == 200, await response.text()
        for _ in range(200):
            mutated: Any = body
            for _ in range(rng.randint(1, 3)):
                mutated = (
                    _mutate(mutated, rng)
                    if isinstance(mutated, dict) and mutated
                    else mutated
                )
            async with session.post(path, json=mutated, headers=headers) as response:
                text = await response.text()
                assert response.status < 500, (mutated, text)
                assert response.content_type in (
                    "application/json",
                    "application/x-ndjson",
                ), text
