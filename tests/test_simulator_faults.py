"""Fault injection, recording, the admin endpoints and the raw-HTTP checks of the simulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date
import random
import re
import sys

import aiohttp
import orjson
import pytest

from tests.simulator import Fault, ProviderSimulator, SimulatorServer
from tests.simulator.faults import FaultTable
from tests.simulator.samples import image_base64

OPENAI_BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
OPENAI_AUTH = {"Authorization": "Bearer sk-test"}
ANTHROPIC_HEADERS = {"x-api-key": "sk-ant", "anthropic-version": "2026-10-21"}
ANTHROPIC_BODY = {
    "model": "claude-haiku-4-5",
    "max_tokens": 50,
    "messages": [{"role": "user", "content": "hi"}],
}
GEMINI_HEADERS = {"x-goog-api-key": "gemini-key"}
GEMINI_BODY = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}


@pytest.fixture
async def http(simulator: SimulatorServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=simulator.url) as session:
        yield session


async def _openai_chat(
    http: aiohttp.ClientSession, **overrides: object
) -> aiohttp.ClientResponse:
    async with http.post(
        "/openai/v1/chat/completions",
        json={**OPENAI_BODY, **overrides},
        headers=OPENAI_AUTH,
    ) as response:
        await response.read()
        return response


# -- the fault table ---------------------------------------------------------------------------


def test_fault_rejects_unknown_kinds_and_bad_rates() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault(kind="explode")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rate"):
        Fault(kind="status", rate=1.5)
    with pytest.raises(ValueError, match="count"):
        Fault(kind="status", count=0)
    with pytest.raises(ValueError, match="latency"):
        Fault(kind="latency")
    with pytest.raises(TypeError):
        Fault.from_mapping({"kind": "status", "stauts": 500})


def test_fault_count_expires_after_n_hits() -> None:
    table = FaultTable(random.Random(0))
    table.set("openai", Fault(kind="status", status=503, count=2))
    hits = [table.decide("openai", "generate") for _ in range(3)]
    assert [hit.fault.status if hit and hit.fault else None for hit in hits] == [
        503,
        503,
        None,
    ]
    assert table.rules() == {"openai": []}


def test_fault_rate_draws_are_reproducible_for_a_seed() -> None:
    def pattern(seed: int) -> list[bool]:
        table = FaultTable(random.Random(seed))
        table.set("anthropic", Fault(kind="status", status=529, rate=0.3))
        return [table.decide("anthropic", "generate") is not None for _ in range(200)]

    first = pattern(7)
    assert first == pattern(7)
    assert 30 < sum(first) < 90


def test_latency_stacks_with_one_terminal_fault_and_respects_endpoints() -> None:
    table = FaultTable(random.Random(1))
    table.add("gemini", Fault(kind="latency", latency_range=(0.1, 0.2)))
    table.add("gemini", Fault(kind="rate_limit", endpoint="generate"))
    table.add("gemini", Fault(kind="status", status=500))
    generate = table.decide("gemini", "generate")
    assert generate is not None
    assert 0.1 <= generate.delay <= 0.2
    assert generate.fault is not None
    assert generate.fault.kind == "rate_limit"
    models = table.decide("gemini", "models")
    assert models is not None
    assert models.fault is not None
    assert models.fault.kind == "status"
    assert table.decide("ollama", "generate") is None


def test_simulator_rejects_unknown_providers() -> None:
    sim = ProviderSimulator()
    with pytest.raises(ValueError, match="unknown provider"):
        sim.set_fault("mistral", Fault(kind="status"))


# -- faults on the wire ------------------------------------------------------------------------


async def test_hang_ends_when_the_client_gives_up(
    simulator: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    simulator.sim.set_fault("openai", Fault(kind="hang"))
    with pytest.raises(TimeoutError):
        await _openai_chat_with_timeout(http, 0.2)
    await asyncio.wait_for(simulator.sim.wait_idle(), 5)
    assert simulator.sim.in_flight == 0


async def _openai_chat_with_timeout(
    http: aiohttp.ClientSession, seconds: float
) -> None:
    timeout = aiohttp.ClientTimeout(total=seconds)
    async with http.post(
        "/openai/v1/chat/completions",
        json=OPENAI_BODY,
        headers=OPENAI_AUTH,
        timeout=timeout,
    ) as response:
        await response.read()


async def test_stall_sends_half_an_answer_then_waits_for_the_client_to_leave(
    simulator: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    simulator.sim.set_fault("openai", Fault(kind="stall"))
    timeout = aiohttp.ClientTimeout(sock_read=0.2)
    async with http.post(
        "/openai/v1/chat/completions",
        json=OPENAI_BODY,
        headers=OPENAI_AUTH,
        timeout=timeout,
    ) as response:
        assert response.status == 200
        assert response.content_length is not None
        with pytest.raises(TimeoutError):
            await response.read()
    await asyncio.wait_for(simulator.sim.wait_idle(), 5)


async def test_hang_ends_when_the_server_stops(socket_enabled: None) -> None:
    server = SimulatorServer()
    await server.start()
    server.sim.set_fault("anthropic", Fault(kind="hang"))
    async with aiohttp.ClientSession() as session:

        async def call() -> int:
            async with session.post(
                server.url + "/anthropic/v1/messages",
                json=ANTHROPIC_BODY,
                headers=ANTHROPIC_HEADERS,
            ) as response:
                await response.read()
                return response.status

        pending = asyncio.create_task(call())
        await asyncio.wait_for(server.sim.wait_for_requests("anthropic"), 5)
        await server.stop()
        outcome = await asyncio.gather(pending, return_exceptions=True)
    assert outcome[0] == 503 or isinstance(outcome[0], aiohttp.ClientError)
    assert server.sim.in_flight == 0


async def test_reset_drops_the_connection(
    simulator: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    simulator.sim.set_fault("openai", Fault(kind="reset", count=1))
    with pytest.raises(aiohttp.ClientConnectionError):
        await _openai_chat(http)
    assert (await _openai_chat(http)).status == 200


async def test_malformed_json_is_a_truncated_real_answer(
    simulator: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    simulator.sim.set_fault("gemini", Fault(kind="malformed_json"))
    async with http.post(
        "/gemini/v1/models/gemini-2.5-flash:generateContent",
        json=GEMINI_BODY,
        headers=GEMINI_HEADERS,
    ) as response:
        raw = await response.read()
    assert response.status == 200
    assert response.content_type == "application/json"
    assert raw.startswith(b'{"candidates":')
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(raw)


@pytest.mark.parametrize(
    ("status", "marker"), [(None, b"502 Bad Gateway"), (200, b"Wi-Fi")]
)
async def test_html_fault_serves_a_proxy_or_portal_page(
    simulator: SimulatorServer,
    http: aiohttp.ClientSession,
    status: int | None,
    marker: bytes,
) -> None:
    simulator.sim.set_fault("ollama", Fault(kind="html", status=status))
    async with http.get("/ollama/api/tags") as response:
        page = await response.read()
    assert response.status == (status or 502)
    assert response.content_type == "text/html"
    assert marker in page


async def test_status_fault_can_carry_a_custom_body(
    simulator: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    simulator.sim.set_fault(
        "openai",
        Fault(kind="status", status=418, body={"error": {"message": "teapot"}}),
    )
    async with http.get("/openai/v1/models", headers=OPENAI_AUTH) as response:
        assert response.status == 418
        assert await response.json() == {"error": {"message": "teapot"}}


async def test_status_fault_draws_from_several_statuses(
    simulator: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    simulator.sim.set_fault("openai", Fault(kind="status", statuses=(500, 502, 503)))
    seen = {(await _openai_chat(http)).status for _ in range(30)}
    assert seen == {500, 502, 503}


@pytest.mark.parametrize("chunked", [False, True])
async def test_oversize_fault_sends_more_than_any_answer(
    simulator: SimulatorServer, http: aiohttp.ClientSession, chunked: bool
) -> None:
    simulator.sim.set_fault(
        "anthropic",
        Fault(
            kind="oversize",
            size=4 * 1024 * 1024,
            variant="chunked" if chunked else None,
        ),
    )
    async with http.post(
        "/anthropic/v1/messages", json=ANTHROPIC_BODY, headers=ANTHROPIC_HEADERS
    ) as response:
        assert response.status == 200
        assert response.content_type == "application/json"
        if chunked:
            assert "Content-Length" not in response.headers
        else:
            assert response.content_length == 4 * 1024 * 1024
        first = await response.content.read(1024 * 1024)
        assert first.startswith(b'{"id": "oversize"')
        # Leave without reading the rest, as a capped client does.
        response.close()
    await asyncio.wait_for(simulator.sim.wait_idle(), 5)


async def test_latency_fault_still_answers(
    simulator: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    simulator.sim.set_fault("openai", Fault(kind="latency", latency=0.01))
    assert (await _openai_chat(http)).status == 200


async def test_models_endpoint_is_spared_by_a_generate_only_fault(
    simulator: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    simulator.sim.set_fault(
        "openai", Fault(kind="status", status=500, endpoint="generate")
    )
    async with http.get("/openai/v1/models", headers=OPENAI_AUTH) as response:
        assert response.status == 200
    assert (await _openai_chat(http)).status == 500


@pytest.mark.parametrize(
    ("provider", "method", "path", "headers", "expected"),
    [
        (
            "openai",
            "post",
            "/openai/v1/chat/completions",
            OPENAI_AUTH,
            {"retry-after": "2", "retry-after-ms": "1500"},
        ),
        (
            "anthropic",
            "post",
            "/anthropic/v1/messages",
            ANTHROPIC_HEADERS,
            {"retry-after": "2"},
        ),
        ("ollama", "post", "/ollama/api/chat", {}, {"Retry-After": "2"}),
    ],
)
async def test_rate_limit_headers_follow_the_provider(
    simulator: SimulatorServer,
    http: aiohttp.ClientSession,
    *,
    provider: str,
    method: str,
    path: str,
    headers: dict[str, str],
    expected: dict[str, str],
) -> None:
    simulator.sim.set_fault(provider, Fault(kind="rate_limit", retry_after=1.5))
    async with http.request(method, path, json={}, headers=headers) as response:
        assert response.status == 429
        for name, value in expected.items():
            assert response.headers[name] == value


async def test_gemini_rate_limit_carries_retry_info_not_a_header(
    simulator: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    simulator.sim.set_fault("gemini", Fault(kind="rate_limit", retry_after=1.5))
    async with http.post(
        "/gemini/v1beta/models/gemini-2.5-flash:generateContent",
        json=GEMINI_BODY,
        headers=GEMINI_HEADERS,
    ) as response:
        body = await response.json()
    assert "Retry-After" not in response.headers
    assert body["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert {
        "@type": "type.googleapis.com/google.rpc.RetryInfo",
        "retryDelay": "1.500s",
    } in body["error"]["details"]


async def test_ollama_content_filter_is_a_refusal_reply(
    simulator: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    simulator.sim.set_fault("ollama", Fault(kind="content_filter"))
    async with http.post(
        "/ollama/api/chat",
        json={
            "model": "llava",
            "messages": [{"role": "user", "content": "hi"}],
            "stream": False,
        },
    ) as response:
        body = await response.json()
    assert body["message"]["content"] == "I'm sorry, but I can't help with that."
    assert body["done_reason"] == "stop"


# -- admin endpoints and recording -------------------------------------------------------------


async def test_admin_endpoint_sets_lists_and_clears_faults(
    simulator: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    async with http.post(
        "/_sim/faults",
        json={"provider": "openai", "kind": "status", "status": 503, "count": 2},
    ) as response:
        assert response.status == 200
    async with http.post(
        "/_sim/faults",
        json={
            "provider": "openai",
            "kind": "latency",
            "latency_range": [0.001, 0.002],
            "replace": False,
        },
    ) as response:
        listed = await response.json()
    assert [rule["kind"] for rule in listed["faults"]["openai"]] == [
        "status",
        "latency",
    ]
    assert listed["faults"]["openai"][0]["remaining"] == 2
    assert (await _openai_chat(http)).status == 503
    async with http.delete("/_sim/faults", params={"provider": "openai"}) as response:
        assert (await response.json()) == {"faults": {}}
    assert (await _openai_chat(http)).status == 200


async def test_admin_endpoint_rejects_invalid_faults(
    http: aiohttp.ClientSession,
) -> None:
    for payload in (
        {"provider": "openai", "kind": "status", "statuses": []},
        {"provider": "openai", "kind": "melt"},
        {"kind": "status"},
        {"provider": "nope", "kind": "status"},
        {"provider": "openai", "kind": "status", "sttus": 1},
    ):
        async with http.post("/_sim/faults", json=payload) as response:
            assert response.status == 400, payload


async def test_admin_endpoint_reports_and_resets_recorded_requests(
    simulator: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    async with http.post(
        "/_sim/reply", json={"provider": "openai", "text": "Clean the desk."}
    ) as response:
        assert response.status == 200
    async with http.post(
        "/openai/v1/chat/completions", json=OPENAI_BODY, headers=OPENAI_AUTH
    ) as response:
        assert (await response.json())["choices"][0]["message"][
            "content"
        ] == "Clean the desk."
    async with http.get("/_sim/requests") as response:
        report = await response.json()
    assert report["counts"] == {"openai": 1}
    (recorded,) = report["requests"]["openai"]
    assert recorded["json"] == OPENAI_BODY
    assert recorded["headers"]["Authorization"] == "Bearer sk-test"
    assert simulator.sim.last_request("openai").json == OPENAI_BODY
    async with http.delete("/_sim/requests") as response:
        assert response.status == 200
    assert simulator.sim.request_count("openai") == 0


async def test_a_reply_with_when_answers_only_requests_containing_that_text(
    http: aiohttp.ClientSession,
) -> None:
    async def reply_to(prompt: str) -> str:
        body = {**OPENAI_BODY, "messages": [{"role": "user", "content": prompt}]}
        async with http.post(
            "/openai/v1/chat/completions", json=body, headers=OPENAI_AUTH
        ) as response:
            content: str = (await response.json())["choices"][0]["message"]["content"]
            return content

    async with http.post(
        "/_sim/reply",
        json={"provider": "openai", "text": '{"tasks": ["Sweep"]}', "when": "chores"},
    ) as response:
        assert response.status == 200
    assert await reply_to("List the chores") == '{"tasks": ["Sweep"]}'
    assert (await reply_to("Describe the room")).startswith("Simulated openai reply")

    # An unconditional reply answers the rest; the conditional one still wins where it matches.
    async with http.post(
        "/_sim/reply", json={"provider": "openai", "text": "Anything else."}
    ) as response:
        assert response.status == 200
    assert await reply_to("List the chores") == '{"tasks": ["Sweep"]}'
    assert await reply_to("Describe the room") == "Anything else."

    # text null removes only the reply of that `when`.
    async with http.post(
        "/_sim/reply", json={"provider": "openai", "text": None, "when": "chores"}
    ) as response:
        assert response.status == 200
    assert await reply_to("List the chores") == "Anything else."

    async with http.post(
        "/_sim/reply", json={"provider": "openai", "text": "x", "when": 3}
    ) as response:
        assert response.status == 400


async def test_recording_can_be_turned_off_but_requests_are_still_counted(
    socket_enabled: None,
) -> None:
    async with (
        SimulatorServer(ProviderSimulator(record=False)) as server,
        aiohttp.ClientSession() as session,
    ):
        async with session.get(server.url + "/ollama/api/tags") as response:
            assert response.status == 200
        assert server.sim.request_count("ollama") == 1
        assert server.sim.requests["ollama"] == []


# -- validation the SDKs never trigger ---------------------------------------------------------


async def test_openai_validation_matches_the_api(http: aiohttp.ClientSession) -> None:
    async with http.post("/openai/v1/chat/completions", json=OPENAI_BODY) as response:
        body = await response.json()
    assert response.status == 401
    assert body["error"]["message"].startswith("You didn't provide an API key.")
    assert set(body["error"]) == {"message", "type", "param", "code"}
    async with http.post(
        "/openai/v1/chat/completions", data=b"{nope", headers=OPENAI_AUTH
    ) as response:
        assert response.status == 400
        assert (
            "could not parse the JSON body"
            in (await response.json())["error"]["message"]
        )
    cases = [
        ({"model": "gpt-4o-mini"}, "missing_required_parameter"),
        ({**OPENAI_BODY, "max_tokns": 5}, None),
        ({**OPENAI_BODY, "temperature": 3}, "decimal_above_max_value"),
        ({**OPENAI_BODY, "reasoning_effort": "low"}, "unsupported_parameter"),
        (
            {
                **OPENAI_BODY,
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "image_url",
                                "image_url": {"url": "data:image/png;base64,@@@"},
                            }
                        ],
                    }
                ],
            },
            None,
        ),
        (
            {
                **OPENAI_BODY,
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "image_url",
                                "image_url": {"url": "data:image/png,raw"},
                            }
                        ],
                    }
                ],
            },
            "invalid_value",
        ),
        (
            {
                **OPENAI_BODY,
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "image_url",
                                "image_url": {"url": "data:image/png;base64,aGVsbG8="},
                            }
                        ],
                    }
                ],
            },
            "invalid_image_format",
        ),
    ]
    for payload, code in cases:
        async with http.post(
            "/openai/v1/chat/completions", json=payload, headers=OPENAI_AUTH
        ) as response:
            error = (await response.json())["error"]
        assert response.status == 400, payload
        assert error["code"] == code, error


async def test_compatible_server_needs_no_key_but_rejects_a_bad_one(
    http: aiohttp.ClientSession,
) -> None:
    body = {
        "model": "llama-3.1-8b-instruct",
        "messages": [{"role": "user", "content": "hi"}],
    }
    async with http.post("/compatible/v1/chat/completions", json=body) as response:
        assert response.status == 200
    async with http.post(
        "/compatible/v1/chat/completions",
        json=body,
        headers={"Authorization": "Bearer bad-key"},
    ) as response:
        assert response.status == 401
        assert (await response.json())["error"]["code"] == "invalid_api_key"
    async with http.post(
        "/compatible/v1/chat/completions", json={**body, "model": "gpt-4o"}
    ) as response:
        assert response.status == 404


async def test_model_lists_carry_models_that_cannot_chat(
    http: aiohttp.ClientSession,
) -> None:
    async with http.get("/openai/v1/models", headers=OPENAI_AUTH) as response:
        assert "whisper-1" in {model["id"] for model in (await response.json())["data"]}
    whisper = {**OPENAI_BODY, "model": "whisper-1"}
    async with http.post(
        "/openai/v1/chat/completions", json=whisper, headers=OPENAI_AUTH
    ) as response:
        assert response.status == 404
        assert "not a chat model" in (await response.json())["error"]["message"]
    async with http.get("/gemini/v1beta/models", headers=GEMINI_HEADERS) as response:
        listed = {model["name"]: model for model in (await response.json())["models"]}
    assert (
        "generateContent"
        not in listed["models/gemini-embedding-001"]["supportedGenerationMethods"]
    )
    async with http.post(
        "/gemini/v1beta/models/gemini-embedding-001:generateContent",
        json=GEMINI_BODY,
        headers=GEMINI_HEADERS,
    ) as response:
        assert response.status == 404
    async with http.post(
        "/ollama/api/chat",
        json={
            "model": "nomic-embed-text",
            "messages": [{"role": "user", "content": "hi"}],
        },
    ) as response:
        assert response.status == 400
        assert (await response.json()) == {
            "error": '"nomic-embed-text" does not support chat'
        }


async def test_anthropic_validation_matches_the_api(
    http: aiohttp.ClientSession,
) -> None:
    cases = [
        (
            {"x-api-key": "sk-ant"},
            ANTHROPIC_BODY,
            400,
            "anthropic-version: header is required",
        ),
        (
            {"anthropic-version": "2026-10-21"},
            ANTHROPIC_BODY,
            401,
            "x-api-key header is required",
        ),
        (
            {**ANTHROPIC_HEADERS, "anthropic-version": "2024-01-01"},
            ANTHROPIC_BODY,
            400,
            "anthropic-version: invalid version",
        ),
        (
            ANTHROPIC_HEADERS,
            {k: v for k, v in ANTHROPIC_BODY.items() if k != "max_tokens"},
            400,
            "max_tokens: Field required",
        ),
        (
            ANTHROPIC_HEADERS,
            {k: v for k, v in ANTHROPIC_BODY.items() if k != "messages"},
            400,
            "messages: Field required",
        ),
        (
            ANTHROPIC_HEADERS,
            {**ANTHROPIC_BODY, "top_k": 5},
            400,
            "top_k: Extra inputs are not permitted",
        ),
        (
            ANTHROPIC_HEADERS,
            {
                **ANTHROPIC_BODY,
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "image",
                                "source": {
                                    "type": "base64",
                                    "media_type": "image/png",
                                    "data": "@@",
                                },
                            }
                        ],
                    }
                ],
            },
            400,
            "invalid base64 data",
        ),
        # x-api-key wins when both headers come.
        (
            {
                **ANTHROPIC_HEADERS,
                "x-api-key": "bad-key",
                "Authorization": "Bearer sk-good",
            },
            ANTHROPIC_BODY,
            401,
            "invalid x-api-key",
        ),
    ]
    for headers, payload, status, message in cases:
        async with http.post(
            "/anthropic/v1/messages", json=payload, headers=headers
        ) as response:
            body = await response.json()
        assert response.status == status, message
        assert body["type"] == "error"
        assert message in body["error"]["message"]
        assert response.headers["request-id"] == body["request_id"]


@pytest.mark.parametrize(
    ("version", "extra", "status", "message"),
    [
        ("2023-06-01", {"temperature": 0.2}, 200, None),
        (
            "2023-06-01",
            {"temperature": 0.2, "top_p": 0.9},
            400,
            "cannot both be specified",
        ),
        ("2023-06-01", {"temperature": 1.5}, 400, "less than or equal to 1"),
        ("2023-06-01", {"temperature": "hot"}, 400, "valid number"),
        ("2023-06-01", {"top_k": 5}, 200, None),
        ("2026-10-21", {"top_p": 0.9}, 400, "top_p: Extra inputs are not permitted"),
        ("2026-10-21", {"thinking": {"type": "adaptive"}}, 200, None),
        (
            "2026-10-21",
            {"thinking": {"type": "enabled", "budget_tokens": 2000}},
            400,
            "must be greater than",
        ),
        (
            "2026-10-21",
            {"thinking": {"type": "enabled", "budget_tokens": 10}},
            400,
            "greater than or equal to 1024",
        ),
        (
            "2026-10-21",
            {"thinking": {"type": "sometimes"}},
            400,
            "does not match any of the expected tags",
        ),
    ],
)
async def test_anthropic_sampling_and_thinking_rules(
    http: aiohttp.ClientSession,
    version: str,
    extra: dict[str, object],
    status: int,
    message: str | None,
) -> None:
    headers = {**ANTHROPIC_HEADERS, "anthropic-version": version}
    body = {**ANTHROPIC_BODY, "max_tokens": 1500, **extra}
    async with http.post(
        "/anthropic/v1/messages", json=body, headers=headers
    ) as response:
        answer = await response.json()
    assert response.status == status, answer
    if message is not None:
        assert message in answer["error"]["message"]


async def test_gemini_validation_matches_the_api(http: aiohttp.ClientSession) -> None:
    path = "/gemini/v1beta/models/gemini-2.5-flash:generateContent"
    async with http.post(
        path, json=GEMINI_BODY, params={"key": "query-key"}
    ) as response:
        assert response.status == 200
    async with http.post(path, json=GEMINI_BODY) as response:
        assert response.status == 403
        assert (await response.json())["error"]["status"] == "PERMISSION_DENIED"
    async with http.post(
        "/gemini/v2/models/gemini-2.5-flash:generateContent",
        json=GEMINI_BODY,
        headers=GEMINI_HEADERS,
    ) as response:
        assert response.status == 404
    bad_image = {
        "contents": [
            {"parts": [{"inline_data": {"mime_type": "image/png", "data": "@@@"}}]}
        ]
    }
    async with http.post(path, json=bad_image, headers=GEMINI_HEADERS) as response:
        error = (await response.json())["error"]
    assert response.status == 400
    assert "Base64 decoding failed" in error["message"]
    assert error["details"][0]["@type"] == "type.googleapis.com/google.rpc.BadRequest"
    async with http.post(
        path,
        json={**GEMINI_BODY, "generationConfig": {"maxTokens": 5}},
        headers=GEMINI_HEADERS,
    ) as response:
        assert response.status == 400
        assert 'Unknown name "maxTokens"' in (await response.json())["error"]["message"]
    pro = "/gemini/v1/models/gemini-2.5-pro:generateContent"
    async with http.post(
        pro,
        json={
            **GEMINI_BODY,
            "generationConfig": {"thinkingConfig": {"thinkingBudget": 0}},
        },
        headers=GEMINI_HEADERS,
    ) as response:
        assert response.status == 400
        assert (
            "only works in thinking mode" in (await response.json())["error"]["message"]
        )
    image = {
        "contents": [
            {
                "parts": [
                    {
                        "inlineData": {
                            "mimeType": "image/png",
                            "data": image_base64(1000, 500),
                        }
                    }
                ]
            }
        ]
    }
    async with http.post(
        "/gemini/v1/models/gemini-2.5-flash:countTokens",
        json=image,
        headers=GEMINI_HEADERS,
    ) as response:
        # 1000x500 -> 2x1 tiles of 768 px, 258 tokens each.
        assert (await response.json()) == {"totalTokens": 516}


async def test_ollama_validation_matches_the_server(
    http: aiohttp.ClientSession,
) -> None:
    async with http.post(
        "/ollama/api/chat",
        json={
            "model": "llava",
            "messages": [{"role": "user", "content": "x", "images": ["@@"]}],
            "stream": False,
        },
    ) as response:
        assert response.status == 400
        assert "illegal base64" in (await response.json())["error"]
    async with http.post("/ollama/api/chat", json={"messages": []}) as response:
        assert response.status == 400
        assert (await response.json()) == {"error": "model is required"}
    async with http.get(
        "/ollama/api/tags", headers={"Authorization": "Bearer bad-key"}
    ) as response:
        assert response.status == 401
        assert (await response.json()) == {"error": "unauthorized"}
    async with http.post(
        "/ollama/api/chat",
        json={"model": "llava", "messages": [{"role": "user", "content": "hi"}]},
    ) as response:
        lines = [orjson.loads(line) for line in (await response.read()).splitlines()]
    assert response.content_type == "application/x-ndjson"
    assert lines[-1]["done"] is True
    assert all(line["done"] is False for line in lines[:-1])


async def test_standalone_module_serves_until_terminated(socket_enabled: None) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.simulator",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        banner = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        found = re.search(r"http://127\.0\.0\.1:\d+", banner)
        assert found is not None, banner
        base = found.group(0)
        async with (
            aiohttp.ClientSession() as session,
            session.get(base + "/ollama/api/version") as response,
        ):
            assert response.status == 200
    finally:
        process.terminate()
        # SIGTERM is handled: the server stops and the process exits with 0.
        assert await process.wait() == 0


# -- the billed ledger -------------------------------------------------------------------------


async def test_billed_ledger_bills_answers_and_cut_off_bodies_never_error_answers(
    simulator: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    from custom_components.aicleaner.providers.pricing import openai_quote

    sim = simulator.sim
    async with http.post(
        "/openai/v1/chat/completions", json=OPENAI_BODY, headers=OPENAI_AUTH
    ) as response:
        body = await response.json()
    usage = body["usage"]
    price = openai_quote("gpt-4o-mini", date.today()).price
    one_answer = price.cost(usage["prompt_tokens"], usage["completion_tokens"])
    assert sim.billed.answers["openai"] == pytest.approx(one_answer)
    # A 400 (here Azure's content filter) and a 429 quota answer bill nothing.
    for kind in ("content_policy", "quota", "context_length"):
        sim.set_fault("openai", Fault(kind=kind, count=1))  # type: ignore[arg-type]
        assert (await _openai_chat(http)).status >= 400
    assert sim.billed.total("openai") == pytest.approx(one_answer)
    # An answer cut off after its 200 began was generated: billed whole, as spoilt.
    sim.set_fault("openai", Fault(kind="cut_off", count=1))
    async with http.post(
        "/openai/v1/chat/completions", json=OPENAI_BODY, headers=OPENAI_AUTH
    ) as response:
        assert response.status == 200
        with pytest.raises(aiohttp.ClientPayloadError):
            await response.read()
    assert sim.billed.spoilt["openai"] == pytest.approx(one_answer)
    async with http.get("/_sim/billed") as response:
        shown = (await response.json())["billed"]["openai"]
    assert shown["total"] == pytest.approx(2 * one_answer)
    assert shown["spoilt_count"] == 1
    async with http.delete("/_sim/billed") as response:
        assert (await response.json()) == {"billed": {}}
    assert sim.billed.total("openai") == 0
