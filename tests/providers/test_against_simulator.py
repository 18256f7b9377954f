"""The clients against the provider simulator: round trips, every fault, and SDK-valid request bodies."""

from __future__ import annotations

import base64
import io
from typing import Any

import aiohttp
from PIL import Image
import pytest

from custom_components.aicleaner.providers import BaseProvider, create_provider
from custom_components.aicleaner.router.errors import (
    AuthError,
    BadRequestError,
    ContentFilterError,
    MalformedResponseError,
    NetworkError,
    OverloadedError,
    ProviderError,
    ProviderServerError,
    ProviderTimeoutError,
    RateLimitError,
)
from custom_components.aicleaner.router.models import (
    FREE,
    AIRequest,
    ImageInput,
    ModelPrice,
)
from tests.simulator import Fault, SimulatorServer
from tests.simulator.validate import validate_request_body

KINDS = ("openai", "anthropic", "gemini", "ollama", "openai_compatible")
# Which simulator protocol serves each client kind, and the model the client is configured with.
SIM_PROVIDER = {
    "openai": "openai",
    "anthropic": "anthropic",
    "gemini": "gemini",
    "ollama": "ollama",
    "openai_compatible": "openai",
}
MODEL = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-haiku-4-5",
    "gemini": "gemini-2.5-flash",
    "ollama": "llava",
    "openai_compatible": "gpt-4o-mini",
}
KEY = "sk-sim-valid-key"


def jpeg(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (90, 120, 200)).save(buffer, format="JPEG")
    return buffer.getvalue()


def client_for(
    kind: str, server: SimulatorServer, session: aiohttp.ClientSession, **settings: Any
) -> BaseProvider:
    settings.setdefault("name", f"sim-{kind}")
    settings.setdefault("model", MODEL[kind])
    settings.setdefault("api_key", None if kind == "ollama" else KEY)
    settings.setdefault("base_url", server.provider_url(SIM_PROVIDER[kind]))
    return create_provider(kind, session, **settings)


def sent_bodies(server: SimulatorServer, kind: str) -> list[Any]:
    return [
        r.json for r in server.sim.requests[SIM_PROVIDER[kind]] if r.method == "POST"
    ]


@pytest.mark.parametrize("kind", KINDS)
async def test_round_trip_with_system_prompt_and_image(
    simulator: SimulatorServer, session: aiohttp.ClientSession, kind: str
) -> None:
    client = client_for(kind, simulator, session)
    request = AIRequest(
        prompt="What needs cleaning in this kitchen?",
        system_prompt="Answer in one sentence.",
        images=(ImageInput(jpeg((320, 240)), "image/jpeg"),),
        max_tokens=200,
        temperature=0.2,
    )
    completion = await client.complete(await client.prepare(request), timeout=10)
    assert "1 image" in completion.text
    assert completion.usage.input_tokens > 0
    assert completion.usage.output_tokens > 0
    assert completion.model.startswith(MODEL[kind].split(":")[0])
    expected_cost = client.price().cost(
        completion.usage.input_tokens, completion.usage.output_tokens
    )
    assert completion.cost == pytest.approx(expected_cost)
    # An OpenAI-compatible server not declared to run its models is taken as a priced gateway.
    assert (completion.cost > 0) is (kind != "ollama")
    [body] = sent_bodies(simulator, kind)
    validate_request_body(SIM_PROVIDER[kind], body)


@pytest.mark.parametrize("kind", KINDS)
async def test_text_only_request_body_is_valid_for_the_sdk(
    simulator: SimulatorServer, session: aiohttp.ClientSession, kind: str
) -> None:
    client = client_for(kind, simulator, session)
    completion = await client.complete(AIRequest(prompt="Hello"), timeout=10)
    assert completion.text
    [body] = sent_bodies(simulator, kind)
    validate_request_body(SIM_PROVIDER[kind], body)


@pytest.mark.parametrize(
    ("model", "temperature_sent"),
    [
        ("gpt-5", False),
        ("gpt-5-mini", False),
        ("o3", False),
        ("o4-mini", False),
        ("gpt-5.1", True),
        ("gpt-5.4", True),
        ("gpt-5.5", True),
        ("gpt-4.1", True),
    ],
)
async def test_model_specific_parameters_are_accepted_by_the_simulator(
    simulator: SimulatorServer,
    session: aiohttp.ClientSession,
    model: str,
    temperature_sent: bool,
) -> None:
    client = client_for("openai", simulator, session, model=model)
    request = AIRequest(
        prompt="Hello", system_prompt="sys", temperature=0.9, max_tokens=300
    )
    completion = await client.complete(request, timeout=10)
    assert completion.text
    [body] = sent_bodies(simulator, "openai")
    validate_request_body("openai", body)
    assert ("temperature" in body) is temperature_sent


@pytest.mark.parametrize(
    "model", ["claude-opus-5-5", "claude-haiku-5-5", "claude-sonnet-4-6"]
)
async def test_anthropic_models_of_every_generation_accept_the_request(
    simulator: SimulatorServer, session: aiohttp.ClientSession, model: str
) -> None:
    client = client_for("anthropic", simulator, session, model=model)
    request = AIRequest(
        prompt="Hello", system_prompt="sys", temperature=0.9, max_tokens=300
    )
    completion = await client.complete(request, timeout=10)
    assert completion.text
    [body] = sent_bodies(simulator, "anthropic")
    validate_request_body("anthropic", body)
    assert "temperature" not in body


async def test_downscaled_image_is_accepted_by_the_simulator(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    client = client_for("anthropic", simulator, session)
    big = ImageInput(jpeg((5000, 2500)), "image/png")  # wrong declared type, too large
    prepared = await client.prepare(AIRequest(prompt="hi", images=(big,)))
    completion = await client.complete(prepared, timeout=10)
    assert "1 image" in completion.text
    [body] = sent_bodies(simulator, "anthropic")
    validate_request_body("anthropic", body)
    source = body["messages"][0]["content"][0]["source"]
    assert source["media_type"] == "image/jpeg"
    with Image.open(io.BytesIO(base64.b64decode(source["data"]))) as sent:
        assert sent.size == (1568, 784)


@pytest.mark.parametrize("kind", KINDS)
async def test_health_lists_the_simulated_models_and_spends_nothing(
    simulator: SimulatorServer, session: aiohttp.ClientSession, kind: str
) -> None:
    client = client_for(kind, simulator, session)
    health = await client.health()
    assert any(model.startswith(MODEL[kind]) for model in health.models)
    assert health.latency_ms >= 0
    assert [r.method for r in simulator.sim.requests[SIM_PROVIDER[kind]]] == ["GET"]


@pytest.mark.parametrize("kind", KINDS)
async def test_bad_key_fails_credential_validation(
    simulator: SimulatorServer, session: aiohttp.ClientSession, kind: str
) -> None:
    client = client_for(kind, simulator, session, api_key="bad-key")
    with pytest.raises(AuthError) as caught:
        await client.validate_credentials()
    assert "bad-key" not in str(caught.value)
    await client_for(kind, simulator, session).validate_credentials()


@pytest.mark.parametrize("kind", KINDS)
async def test_unknown_model_fails_over_rather_than_blaming_the_caller(
    simulator: SimulatorServer, session: aiohttp.ClientSession, kind: str
) -> None:
    client = client_for(kind, simulator, session, model="no-such-model")
    with pytest.raises(BadRequestError) as caught:
        await client.complete(AIRequest(prompt="hi"), timeout=10)
    assert caught.value.caller_input is False
    assert caught.value.status in (400, 404)


async def test_ollama_text_model_given_an_image_is_a_configuration_problem(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    client = client_for("ollama", simulator, session, model="llama3.2", vision=True)
    request = AIRequest(prompt="hi", images=(ImageInput(jpeg((64, 64)), "image/jpeg"),))
    with pytest.raises(BadRequestError) as caught:
        await client.complete(request, timeout=10)
    assert caught.value.caller_input is False


FAULTS: list[tuple[Fault, type[ProviderError]]] = [
    (Fault(kind="status", status=500), ProviderServerError),
    (Fault(kind="status", status=502), ProviderServerError),
    (Fault(kind="status", status=503), OverloadedError),
    (Fault(kind="status", status=401), AuthError),
    (Fault(kind="status", status=403), AuthError),
    (Fault(kind="status", status=400), BadRequestError),
    (Fault(kind="status", status=404), BadRequestError),
    (Fault(kind="rate_limit", retry_after=2), RateLimitError),
    (Fault(kind="hang"), ProviderTimeoutError),
    (Fault(kind="reset"), NetworkError),
    (Fault(kind="malformed_json"), MalformedResponseError),
    (Fault(kind="html"), ProviderServerError),
    (Fault(kind="html", status=200), MalformedResponseError),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("fault", "error_type"), FAULTS, ids=[f"{f.kind}-{f.status}" for f, _ in FAULTS]
)
async def test_simulated_fault_maps_to_its_category(
    simulator: SimulatorServer,
    session: aiohttp.ClientSession,
    kind: str,
    fault: Fault,
    error_type: type[ProviderError],
) -> None:
    simulator.sim.set_fault(SIM_PROVIDER[kind], fault)
    client = client_for(kind, simulator, session)
    with pytest.raises(error_type) as caught:
        await client.complete(AIRequest(prompt="hi"), timeout=0.5)
    assert caught.value.provider == client.name
    if fault.kind == "rate_limit":
        assert caught.value.retry_after == pytest.approx(2.0)


@pytest.mark.parametrize("kind", KINDS)
async def test_fault_on_the_model_list_fails_the_health_check(
    simulator: SimulatorServer, session: aiohttp.ClientSession, kind: str
) -> None:
    simulator.sim.set_fault(
        SIM_PROVIDER[kind], Fault(kind="status", status=503, endpoint="models")
    )
    client = client_for(kind, simulator, session)
    with pytest.raises(OverloadedError):
        await client.health()
    assert (await client.complete(AIRequest(prompt="hi"), timeout=10)).text


async def test_anthropic_529_is_overloaded(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    simulator.sim.set_fault("anthropic", Fault(kind="status", status=529))
    with pytest.raises(OverloadedError):
        await client_for("anthropic", simulator, session).complete(
            AIRequest(prompt="hi"), timeout=10
        )


@pytest.mark.parametrize(
    ("kind", "variant"),
    [
        ("openai", None),
        ("openai", "refusal"),
        ("openai_compatible", None),
        ("anthropic", None),
        ("gemini", None),
        ("gemini", "prompt"),
    ],
)
async def test_simulated_content_filter_is_a_content_filter_error(
    simulator: SimulatorServer,
    session: aiohttp.ClientSession,
    kind: str,
    variant: str | None,
) -> None:
    simulator.sim.set_fault(
        SIM_PROVIDER[kind], Fault(kind="content_filter", variant=variant)
    )
    client = client_for(kind, simulator, session)
    with pytest.raises(ContentFilterError):
        await client.complete(AIRequest(prompt="hi"), timeout=10)


async def test_ollama_has_no_content_filter_so_a_refusal_is_just_an_answer(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    simulator.sim.set_fault("ollama", Fault(kind="content_filter"))
    completion = await client_for("ollama", simulator, session).complete(
        AIRequest(prompt="hi"), timeout=10
    )
    assert "sorry" in completion.text.lower()
    assert completion.cost == 0


@pytest.mark.parametrize("kind", KINDS)
async def test_added_latency_still_answers(
    simulator: SimulatorServer, session: aiohttp.ClientSession, kind: str
) -> None:
    simulator.sim.set_fault(SIM_PROVIDER[kind], Fault(kind="latency", latency=0.01))
    completion = await client_for(kind, simulator, session).complete(
        AIRequest(prompt="hi"), timeout=10
    )
    assert completion.text


@pytest.mark.parametrize("kind", KINDS)
async def test_fault_that_hits_once_is_followed_by_a_normal_answer(
    simulator: SimulatorServer, session: aiohttp.ClientSession, kind: str
) -> None:
    simulator.sim.set_fault(
        SIM_PROVIDER[kind], Fault(kind="status", status=500, count=1)
    )
    client = client_for(kind, simulator, session)
    with pytest.raises(ProviderServerError):
        await client.complete(AIRequest(prompt="hi"), timeout=10)
    assert (await client.complete(AIRequest(prompt="hi"), timeout=10)).text
    assert simulator.sim.request_count(SIM_PROVIDER[kind]) == 2


def test_openai_compatible_server_is_free_and_local_only_when_declared(
    session: aiohttp.ClientSession,
) -> None:
    def client(**settings: Any) -> BaseProvider:
        return create_provider(
            "openai_compatible",
            session,
            name="c",
            model="gpt-4o-mini",
            base_url="http://127.0.0.1:1/v1",
            **settings,
        )

    declared = client(runs_models=True)
    assert declared.is_local
    assert declared.price() == FREE
    # Loopback proves nothing: a LiteLLM proxy there forwards to paid cloud models.
    for gateway in (client(runs_models=False), client()):
        assert not gateway.is_local
        assert gateway.price() == ModelPrice(0.15, 0.60)
