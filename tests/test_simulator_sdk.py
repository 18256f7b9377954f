"""The simulator is faithful: the official SDKs parse its answers and its errors.

Each test drives an official client (openai, anthropic, google-genai, ollama) against the
simulator on 127.0.0.1, with retries off so errors surface directly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anthropic
from google import genai
from google.genai import errors as genai_errors, types as genai_types
import httpx
import ollama
import openai
import pytest

from tests.simulator import Fault, SimulatorServer
from tests.simulator.samples import image_base64, image_bytes

PNG_DATA_URL = "data:image/png;base64," + image_base64(800, 600)


@pytest.fixture
async def openai_client(
    simulator: SimulatorServer,
) -> AsyncIterator[openai.AsyncOpenAI]:
    client = openai.AsyncOpenAI(
        api_key="sk-test-key", base_url=simulator.url + "/openai/v1", max_retries=0
    )
    yield client
    await client.close()


@pytest.fixture
async def anthropic_client(
    simulator: SimulatorServer,
) -> AsyncIterator[anthropic.AsyncAnthropic]:
    client = anthropic.AsyncAnthropic(
        api_key="sk-ant-test", base_url=simulator.url + "/anthropic", max_retries=0
    )
    yield client
    await client.close()


def _gemini(
    simulator: SimulatorServer,
    api_key: str = "gemini-key",
    api_version: str | None = None,
) -> genai.Client:
    return genai.Client(
        api_key=api_key,
        http_options=genai_types.HttpOptions(
            base_url=simulator.url + "/gemini",
            api_version=api_version,
            # One attempt: the SDK would otherwise retry a reset connection.
            retry_options=genai_types.HttpRetryOptions(attempts=1),
        ),
    )


@pytest.fixture
async def gemini_client(simulator: SimulatorServer) -> AsyncIterator[genai.Client]:
    client = _gemini(simulator)
    yield client
    await client.aio.aclose()
    client.close()


@pytest.fixture
async def ollama_client(
    simulator: SimulatorServer,
) -> AsyncIterator[ollama.AsyncClient]:
    client = ollama.AsyncClient(host=simulator.url + "/ollama")
    yield client
    await client.close()


# -- OpenAI ------------------------------------------------------------------------------------


async def test_openai_sdk_parses_text_completion(
    openai_client: openai.AsyncOpenAI, simulator: SimulatorServer
) -> None:
    simulator.sim.set_reply("openai", "Two cups on the counter.")
    completion = await openai_client.chat.completions.create(
        model="gpt-4o",
        messages=[
            {"role": "system", "content": "You inspect rooms."},
            {"role": "user", "content": "What needs cleaning?"},
        ],
        max_tokens=100,
        temperature=0.2,
    )
    assert completion.model == "gpt-4o-2024-08-06"
    assert completion.id.startswith("chatcmpl-")
    assert completion.choices[0].message.content == "Two cups on the counter."
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens > 0
    assert completion.usage.completion_tokens == 6
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + 6
    assert simulator.sim.request_count("openai") == 1
    sent = simulator.sim.requests["openai"][0]
    assert sent.path == "/openai/v1/chat/completions"
    assert sent.headers["Authorization"] == "Bearer sk-test-key"


async def test_openai_sdk_image_request_counts_image_tokens(
    openai_client: openai.AsyncOpenAI,
) -> None:
    completion = await openai_client.chat.completions.create(
        model="gpt-4o",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Describe"},
                    {
                        "type": "image_url",
                        "image_url": {"url": PNG_DATA_URL, "detail": "high"},
                    },
                ],
            }
        ],
        max_tokens=50,
    )
    assert completion.usage is not None
    details = completion.usage.prompt_tokens_details
    assert details is not None
    # 800x600 -> 1024x768 after the 768-px rule -> 2x2 tiles: 85 + 4 * 170.
    assert details.image_tokens == 765
    assert completion.usage.prompt_tokens > 765
    assert "1 image(s)" in (completion.choices[0].message.content or "")


async def test_openai_sdk_lists_models(openai_client: openai.AsyncOpenAI) -> None:
    ids = [model.id async for model in openai_client.models.list()]
    assert {"gpt-4o", "gpt-4o-mini", "gpt-5-mini"} <= set(ids)
    model = await openai_client.models.retrieve("gpt-4o-mini")
    assert model.owned_by == "system"


async def test_openai_sdk_raises_authentication_error_for_bad_key(
    simulator: SimulatorServer,
) -> None:
    client = openai.AsyncOpenAI(
        api_key="bad-key-1234", base_url=simulator.url + "/openai/v1", max_retries=0
    )
    with pytest.raises(openai.AuthenticationError) as caught:
        await client.models.list()
    await client.close()
    assert caught.value.status_code == 401
    assert caught.value.code == "invalid_api_key"
    assert "bad-key-1234" not in str(caught.value)


async def test_openai_sdk_raises_not_found_for_unknown_model(
    openai_client: openai.AsyncOpenAI,
) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        await openai_client.chat.completions.create(
            model="gpt-9", messages=[{"role": "user", "content": "hi"}]
        )
    assert caught.value.code == "model_not_found"


@pytest.mark.parametrize("model", ["gpt-5-mini", "o4-mini", "o3"])
async def test_openai_reasoning_models_reject_max_tokens(
    openai_client: openai.AsyncOpenAI, model: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await openai_client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "hi"}], max_tokens=50
        )
    assert caught.value.code == "unsupported_parameter"
    assert caught.value.param == "max_tokens"
    assert "Use 'max_completion_tokens' instead." in caught.value.message


async def test_openai_reasoning_models_reject_non_default_temperature(
    openai_client: openai.AsyncOpenAI,
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await openai_client.chat.completions.create(
            model="gpt-5-mini",
            messages=[{"role": "user", "content": "hi"}],
            temperature=0.2,
        )
    assert caught.value.code == "unsupported_value"
    assert "Only the default (1) value is supported." in caught.value.message


async def test_openai_newer_gpt5_families_take_temperature_only_without_reasoning(
    openai_client: openai.AsyncOpenAI,
) -> None:
    completion = await openai_client.chat.completions.create(
        model="gpt-5.4-mini",
        messages=[{"role": "user", "content": "hi"}],
        temperature=0.2,
    )
    assert completion.model == "gpt-5.4-mini-2026-03-17"
    assert completion.usage is not None
    assert completion.usage.completion_tokens_details is not None
    assert completion.usage.completion_tokens_details.reasoning_tokens == 0
    with pytest.raises(openai.BadRequestError) as caught:
        await openai_client.chat.completions.create(
            model="gpt-5.4-mini",
            messages=[{"role": "user", "content": "hi"}],
            temperature=0.2,
            reasoning_effort="low",
        )
    assert caught.value.code == "unsupported_value"


async def test_openai_reasoning_model_spends_reasoning_tokens(
    openai_client: openai.AsyncOpenAI,
) -> None:
    completion = await openai_client.chat.completions.create(
        model="gpt-5-mini",
        messages=[{"role": "user", "content": "hi"}],
        max_completion_tokens=2000,
    )
    assert completion.model == "gpt-5-mini-2025-08-07"
    assert completion.usage is not None
    assert completion.usage.completion_tokens_details is not None
    assert completion.usage.completion_tokens_details.reasoning_tokens == 64
    tight = await openai_client.chat.completions.create(
        model="gpt-5-mini",
        messages=[{"role": "user", "content": "hi"}],
        max_completion_tokens=30,
    )
    assert tight.choices[0].finish_reason == "length"
    assert tight.choices[0].message.content == ""


async def test_openai_sdk_sees_length_finish_reason(
    openai_client: openai.AsyncOpenAI,
) -> None:
    completion = await openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], max_tokens=3
    )
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 3


async def test_openai_sdk_reads_rate_limit_retry_after(
    openai_client: openai.AsyncOpenAI, simulator: SimulatorServer
) -> None:
    simulator.sim.set_fault("openai", Fault(kind="rate_limit", retry_after=2.5))
    with pytest.raises(openai.RateLimitError) as caught:
        await openai_client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )
    assert caught.value.code == "rate_limit_exceeded"
    assert caught.value.response.headers["retry-after-ms"] == "2500"
    assert caught.value.response.headers["retry-after"] == "3"
    assert openai_client._parse_retry_after_header(caught.value.response.headers) == 2.5


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (500, openai.InternalServerError),
        (503, openai.InternalServerError),
        (403, openai.PermissionDeniedError),
        (429, openai.RateLimitError),
        (400, openai.BadRequestError),
    ],
)
async def test_openai_sdk_maps_status_faults(
    openai_client: openai.AsyncOpenAI,
    simulator: SimulatorServer,
    status: int,
    error_type: type[openai.APIStatusError],
) -> None:
    simulator.sim.set_fault("openai", Fault(kind="status", status=status))
    with pytest.raises(error_type) as caught:
        await openai_client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )
    assert caught.value.status_code == status
    assert isinstance(caught.value.body, dict)
    assert set(caught.value.body) == {"message", "type", "param", "code"}


async def test_openai_sdk_reports_content_filter_and_refusal(
    openai_client: openai.AsyncOpenAI, simulator: SimulatorServer
) -> None:
    simulator.sim.set_fault("openai", Fault(kind="content_filter", count=1))
    filtered = await openai_client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
    )
    assert filtered.choices[0].finish_reason == "content_filter"
    assert filtered.choices[0].message.content is None
    simulator.sim.set_fault(
        "openai", Fault(kind="content_filter", variant="refusal", count=1)
    )
    refused = await openai_client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
    )
    assert refused.choices[0].message.refusal
    normal = await openai_client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
    )
    assert normal.choices[0].finish_reason == "stop"


async def test_openai_sdk_fails_on_transport_faults(
    openai_client: openai.AsyncOpenAI, simulator: SimulatorServer
) -> None:
    messages: list[openai.types.chat.ChatCompletionMessageParam] = [
        {"role": "user", "content": "hi"}
    ]
    simulator.sim.set_fault("openai", Fault(kind="reset", count=1))
    with pytest.raises(openai.APIConnectionError):
        await openai_client.chat.completions.create(model="gpt-4o", messages=messages)
    simulator.sim.set_fault("openai", Fault(kind="html", count=1))
    with pytest.raises(openai.InternalServerError) as caught:
        await openai_client.chat.completions.create(model="gpt-4o", messages=messages)
    assert caught.value.status_code == 502
    assert "502 Bad Gateway" in str(caught.value.body)
    simulator.sim.set_fault("openai", Fault(kind="hang", count=1))
    with pytest.raises(openai.APITimeoutError):
        await openai_client.chat.completions.create(
            model="gpt-4o", messages=messages, timeout=0.3
        )
    simulator.sim.set_fault("openai", Fault(kind="stall", count=1))
    with pytest.raises(openai.APITimeoutError):
        await openai_client.chat.completions.create(
            model="gpt-4o", messages=messages, timeout=0.3
        )


async def test_openai_sdk_cannot_parse_malformed_json(
    openai_client: openai.AsyncOpenAI, simulator: SimulatorServer
) -> None:
    simulator.sim.set_fault("openai", Fault(kind="malformed_json"))
    with pytest.raises(ValueError, match=r"(?i)json|expecting|unterminated|EOF"):
        await openai_client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )


async def test_openai_sdk_sees_output_and_context_limits(
    openai_client: openai.AsyncOpenAI,
) -> None:
    with pytest.raises(openai.BadRequestError) as too_many:
        await openai_client.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "hi"}],
            max_tokens=50_000,
        )
    assert (
        "This model supports at most 16384 completion tokens" in too_many.value.message
    )
    with pytest.raises(openai.BadRequestError) as too_long:
        await openai_client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "x" * 600_000}]
        )
    assert too_long.value.code == "context_length_exceeded"


async def test_openai_sdk_streams_chat_completion_chunks(
    openai_client: openai.AsyncOpenAI, simulator: SimulatorServer
) -> None:
    simulator.sim.set_reply("openai", "Wipe the table and sweep the floor.")
    stream = await openai_client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Wipe the table and sweep the floor."
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 9


async def test_openai_sdk_talks_to_a_keyless_compatible_server(
    simulator: SimulatorServer,
) -> None:
    # The SDK insists on some key; local servers take any (LM Studio's docs use "lm-studio").
    client = openai.AsyncOpenAI(
        api_key="lm-studio", base_url=simulator.url + "/compatible/v1", max_retries=0
    )
    completion = await client.chat.completions.create(
        model="qwen2.5-vl-7b-instruct",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Describe"},
                    {"type": "image_url", "image_url": {"url": PNG_DATA_URL}},
                ],
            }
        ],
        max_tokens=100,
        temperature=0.7,
    )
    models = [model.id async for model in client.models.list()]
    await client.close()
    assert completion.model == "qwen2.5-vl-7b-instruct"
    assert completion.choices[0].finish_reason == "stop"
    assert "llama-3.1-8b-instruct" in models
    assert simulator.sim.request_count("compatible") == 2
    assert simulator.sim.request_count("openai") == 0


# -- Anthropic ---------------------------------------------------------------------------------


async def test_anthropic_sdk_parses_message(
    anthropic_client: anthropic.AsyncAnthropic, simulator: SimulatorServer
) -> None:
    simulator.sim.set_reply("anthropic", "The sink is full.")
    message = await anthropic_client.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=200,
        system="You inspect rooms.",
        messages=[{"role": "user", "content": "What needs cleaning?"}],
    )
    assert message.model == "claude-sonnet-4-6"
    assert message.id.startswith("msg_01")
    assert message.stop_reason == "end_turn"
    assert message.content[0].type == "text"
    assert message.content[0].text == "The sink is full."
    assert message.usage.input_tokens > 0
    assert message.usage.output_tokens == 5
    sent = simulator.sim.requests["anthropic"][0]
    assert sent.path == "/anthropic/v1/messages"
    assert sent.headers["anthropic-version"] == "2026-10-21"
    assert sent.headers["Authorization"] == "Bearer sk-ant-test"


async def test_anthropic_current_version_rejects_sampling_parameters(
    anthropic_client: anthropic.AsyncAnthropic,
) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        await anthropic_client.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=50,
            messages=[{"role": "user", "content": "hi"}],
            extra_body={"temperature": 1.0},
        )
    assert caught.value.body["error"] == {  # type: ignore[index]
        "type": "invalid_request_error",
        "message": "temperature: Extra inputs are not permitted",
    }


async def test_anthropic_legacy_version_takes_temperature_except_on_generation_5(
    simulator: SimulatorServer,
) -> None:
    client = anthropic.AsyncAnthropic(
        api_key="sk-ant-test",
        base_url=simulator.url + "/anthropic",
        default_headers={"anthropic-version": "2023-06-01"},
        max_retries=0,
    )
    message = await client.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=50,
        messages=[{"role": "user", "content": "hi"}],
        extra_body={"temperature": 0.3},
    )
    assert message.stop_reason in ("end_turn", "max_tokens")
    assert (
        simulator.sim.requests["anthropic"][0].headers["anthropic-version"]
        == "2023-06-01"
    )
    with pytest.raises(anthropic.BadRequestError) as caught:
        await client.messages.create(
            model="claude-sonnet-5-5",
            max_tokens=50,
            messages=[{"role": "user", "content": "hi"}],
            extra_body={"temperature": 0.3},
        )
    await client.close()
    assert "temperature is deprecated for this model." in str(caught.value)


async def test_anthropic_generation_5_models_think_within_max_tokens(
    anthropic_client: anthropic.AsyncAnthropic,
) -> None:
    message = await anthropic_client.messages.create(
        model="claude-haiku-5-5",
        max_tokens=1000,
        messages=[{"role": "user", "content": "hi"}],
    )
    assert [block.type for block in message.content] == ["thinking", "text"]
    assert message.usage.output_tokens > 48
    starved = await anthropic_client.messages.create(
        model="claude-haiku-5-5",
        max_tokens=40,
        messages=[{"role": "user", "content": "hi"}],
    )
    assert starved.stop_reason == "max_tokens"
    assert [block.type for block in starved.content] == ["thinking"]
    plain = await anthropic_client.messages.create(
        model="claude-haiku-5-5",
        max_tokens=40,
        thinking={"type": "disabled"},
        messages=[{"role": "user", "content": "hi"}],
    )
    assert [block.type for block in plain.content] == ["text"]


async def test_anthropic_sdk_image_request_counts_image_tokens(
    anthropic_client: anthropic.AsyncAnthropic,
) -> None:
    message = await anthropic_client.messages.create(
        model="claude-haiku-4-5",
        max_tokens=100,
        messages=[
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {
                            "type": "base64",
                            "media_type": "image/png",
                            "data": image_base64(750, 100),
                        },
                    },
                    {"type": "text", "text": "Describe"},
                ],
            }
        ],
    )
    # 750 * 100 / 750 = 100 image tokens, plus the text.
    assert message.usage.input_tokens > 100
    assert "1 image(s)" in message.content[0].text  # type: ignore[union-attr]


async def test_anthropic_sdk_rejects_mismatched_media_type(
    anthropic_client: anthropic.AsyncAnthropic,
) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        await anthropic_client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=100,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "image",
                            "source": {
                                "type": "base64",
                                "media_type": "image/jpeg",
                                "data": image_base64(),
                            },
                        }
                    ],
                }
            ],
        )
    assert caught.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]


async def test_anthropic_sdk_lists_models(
    anthropic_client: anthropic.AsyncAnthropic,
) -> None:
    models = [model async for model in anthropic_client.models.list()]
    lifecycles = {model.id: model.lifecycle for model in models}
    assert lifecycles["claude-sonnet-4-6"] == "active"
    assert lifecycles["claude-sonnet-4-5-20250929"] == "deprecated"
    alias = await anthropic_client.models.retrieve("claude-haiku-4-5")
    assert alias.id == "claude-haiku-4-5-20251001"


async def test_anthropic_sdk_accepts_x_api_key_auth(simulator: SimulatorServer) -> None:
    client = anthropic.AsyncAnthropic(
        api_key=None,
        auth_token=None,
        base_url=simulator.url + "/anthropic",
        default_headers={"x-api-key": "sk-ant-legacy"},
        max_retries=0,
    )
    message = await client.messages.create(
        model="claude-haiku-4-5",
        max_tokens=20,
        messages=[{"role": "user", "content": "hi"}],
    )
    await client.close()
    assert message.stop_reason in ("end_turn", "max_tokens")
    sent = simulator.sim.requests["anthropic"][0].headers
    assert sent["x-api-key"] == "sk-ant-legacy"
    assert "Authorization" not in sent


@pytest.mark.parametrize("header", ["bearer", "x-api-key"])
async def test_anthropic_sdk_raises_authentication_error(
    simulator: SimulatorServer, header: str
) -> None:
    if header == "bearer":
        client = anthropic.AsyncAnthropic(
            api_key="bad-key", base_url=simulator.url + "/anthropic", max_retries=0
        )
    else:
        client = anthropic.AsyncAnthropic(
            base_url=simulator.url + "/anthropic",
            default_headers={"x-api-key": "bad-key"},
            max_retries=0,
        )
    with pytest.raises(anthropic.AuthenticationError) as caught:
        await client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=20,
            messages=[{"role": "user", "content": "hi"}],
        )
    await client.close()
    assert caught.value.status_code == 401
    assert caught.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]
    assert caught.value.request_id is not None


async def test_anthropic_sdk_raises_not_found_for_unknown_model(
    anthropic_client: anthropic.AsyncAnthropic,
) -> None:
    with pytest.raises(anthropic.NotFoundError) as caught:
        await anthropic_client.messages.create(
            model="claude-9",
            max_tokens=20,
            messages=[{"role": "user", "content": "hi"}],
        )
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["error"] == {"type": "not_found_error", "message": "model: claude-9"}


@pytest.mark.parametrize(
    ("fault", "error_type", "status"),
    [
        (Fault(kind="status", status=529), anthropic.OverloadedError, 529),
        (Fault(kind="status", status=500), anthropic.InternalServerError, 500),
        (Fault(kind="rate_limit", retry_after=7), anthropic.RateLimitError, 429),
        (Fault(kind="html"), anthropic.InternalServerError, 502),
    ],
)
async def test_anthropic_sdk_maps_faults(
    anthropic_client: anthropic.AsyncAnthropic,
    simulator: SimulatorServer,
    fault: Fault,
    error_type: type[anthropic.APIStatusError],
    status: int,
) -> None:
    simulator.sim.set_fault("anthropic", fault)
    with pytest.raises(error_type) as caught:
        await anthropic_client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=20,
            messages=[{"role": "user", "content": "hi"}],
        )
    assert caught.value.status_code == status
    if status == 429:
        assert caught.value.response.headers["retry-after"] == "7"
    if fault.kind != "html":
        assert caught.value.body["type"] == "error"  # type: ignore[index]


async def test_anthropic_sdk_reports_refusal_and_max_tokens(
    anthropic_client: anthropic.AsyncAnthropic, simulator: SimulatorServer
) -> None:
    simulator.sim.set_fault("anthropic", Fault(kind="content_filter", count=1))
    refused = await anthropic_client.messages.create(
        model="claude-haiku-4-5",
        max_tokens=50,
        messages=[{"role": "user", "content": "hi"}],
    )
    assert refused.stop_reason == "refusal"
    assert refused.stop_details is not None
    assert refused.stop_details.type == "refusal"
    cut = await anthropic_client.messages.create(
        model="claude-haiku-4-5",
        max_tokens=2,
        messages=[{"role": "user", "content": "hi"}],
    )
    assert cut.stop_reason == "max_tokens"
    assert cut.usage.output_tokens == 2


async def test_anthropic_sdk_times_out_on_hang_and_fails_on_reset(
    anthropic_client: anthropic.AsyncAnthropic, simulator: SimulatorServer
) -> None:
    simulator.sim.set_fault("anthropic", Fault(kind="hang", count=1))
    with pytest.raises(anthropic.APITimeoutError):
        await anthropic_client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=20,
            messages=[{"role": "user", "content": "hi"}],
            timeout=0.3,
        )
    simulator.sim.set_fault("anthropic", Fault(kind="reset", count=1))
    with pytest.raises(anthropic.APIConnectionError):
        await anthropic_client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=20,
            messages=[{"role": "user", "content": "hi"}],
        )


async def test_anthropic_sdk_sees_the_output_limit(
    anthropic_client: anthropic.AsyncAnthropic,
) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        await anthropic_client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=100_000,
            messages=[{"role": "user", "content": "hi"}],
            timeout=30,  # an explicit timeout lifts the SDK's own "use streaming" guard
        )
    assert (
        "100000 > 64000, which is the maximum allowed number of output tokens"
        in str(caught.value)
    )


async def test_anthropic_sdk_streams_a_message(
    anthropic_client: anthropic.AsyncAnthropic, simulator: SimulatorServer
) -> None:
    simulator.sim.set_reply("anthropic", "Empty the bin and air the room.")
    async with anthropic_client.messages.stream(
        model="claude-sonnet-5-5",
        max_tokens=500,
        messages=[{"role": "user", "content": "hi"}],
    ) as stream:
        texts = [text async for text in stream.text_stream]
        final = await stream.get_final_message()
    assert "".join(texts) == "Empty the bin and air the room."
    assert [block.type for block in final.content] == ["thinking", "text"]
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 8 + 48


# -- Gemini ------------------------------------------------------------------------------------


async def test_gemini_sdk_parses_generate_content(
    gemini_client: genai.Client, simulator: SimulatorServer
) -> None:
    simulator.sim.set_reply("gemini", "Dust the shelf.")
    response = await gemini_client.aio.models.generate_content(
        model="gemini-2.5-flash",
        contents=genai_types.Content(
            role="user",
            parts=[
                genai_types.Part.from_text(text="What needs cleaning?"),
                genai_types.Part.from_bytes(
                    data=image_bytes(300, 200), mime_type="image/png"
                ),
            ],
        ),
        config=genai_types.GenerateContentConfig(
            system_instruction="You inspect rooms.",
            max_output_tokens=500,
            temperature=0.4,
        ),
    )
    assert response.text == "Dust the shelf."
    assert response.model_version == "gemini-2.5-flash"
    assert response.candidates is not None
    assert response.candidates[0].finish_reason == genai_types.FinishReason.STOP
    usage = response.usage_metadata
    assert usage is not None
    assert usage.candidates_token_count == 4
    assert usage.thoughts_token_count == 48
    assert usage.prompt_token_count is not None
    assert usage.prompt_token_count > 258
    assert usage.total_token_count == usage.prompt_token_count + 4 + 48
    sent = simulator.sim.requests["gemini"][0]
    assert sent.path == "/gemini/v1/models/gemini-2.5-flash:generateContent"
    assert sent.headers["x-goog-api-key"] == "gemini-key"


async def test_gemini_sdk_works_with_v1beta(simulator: SimulatorServer) -> None:
    client = _gemini(simulator, api_version="v1beta")
    response = await client.aio.models.generate_content(
        model="gemini-2.5-pro", contents="hi"
    )
    await client.aio.aclose()
    client.close()
    assert response.text
    assert simulator.sim.requests["gemini"][0].path.startswith(
        "/gemini/v1beta/models/gemini-2.5-pro"
    )


async def test_gemini_sdk_lists_models(gemini_client: genai.Client) -> None:
    pager = await gemini_client.aio.models.list()
    names = [model.name async for model in pager]
    assert "models/gemini-2.5-flash" in names


async def test_gemini_sdk_sees_max_tokens_when_thinking_eats_the_budget(
    gemini_client: genai.Client,
) -> None:
    response = await gemini_client.aio.models.generate_content(
        model="gemini-2.5-flash",
        contents="hi",
        config=genai_types.GenerateContentConfig(max_output_tokens=40),
    )
    assert response.candidates is not None
    assert response.candidates[0].finish_reason == genai_types.FinishReason.MAX_TOKENS
    assert response.text is None


async def test_gemini_sdk_raises_client_error_for_invalid_key(
    simulator: SimulatorServer,
) -> None:
    client = _gemini(simulator, api_key="bad-key")
    with pytest.raises(genai_errors.ClientError) as caught:
        await client.aio.models.generate_content(
            model="gemini-2.5-flash", contents="hi"
        )
    await client.aio.aclose()
    client.close()
    assert caught.value.code == 400
    assert caught.value.status == "INVALID_ARGUMENT"
    assert caught.value.details["error"]["details"][0]["reason"] == "API_KEY_INVALID"


async def test_gemini_sdk_raises_not_found_for_unknown_model(
    gemini_client: genai.Client,
) -> None:
    with pytest.raises(genai_errors.ClientError) as caught:
        await gemini_client.aio.models.generate_content(model="gemini-9", contents="hi")
    assert caught.value.code == 404
    assert caught.value.status == "NOT_FOUND"


async def test_gemini_sdk_reads_retry_info_on_rate_limit(
    gemini_client: genai.Client, simulator: SimulatorServer
) -> None:
    simulator.sim.set_fault("gemini", Fault(kind="rate_limit", retry_after=17))
    with pytest.raises(genai_errors.ClientError) as caught:
        await gemini_client.aio.models.generate_content(
            model="gemini-2.5-flash", contents="hi"
        )
    assert caught.value.code == 429
    assert caught.value.status == "RESOURCE_EXHAUSTED"
    retry_info = [
        detail
        for detail in caught.value.details["error"]["details"]
        if detail["@type"] == "type.googleapis.com/google.rpc.RetryInfo"
    ]
    assert retry_info == [
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "17s"}
    ]


@pytest.mark.parametrize(
    ("status", "rpc_status"), [(500, "INTERNAL"), (503, "UNAVAILABLE")]
)
async def test_gemini_sdk_raises_server_error(
    gemini_client: genai.Client,
    simulator: SimulatorServer,
    status: int,
    rpc_status: str,
) -> None:
    simulator.sim.set_fault("gemini", Fault(kind="status", status=status))
    with pytest.raises(genai_errors.ServerError) as caught:
        await gemini_client.aio.models.generate_content(
            model="gemini-2.5-flash", contents="hi"
        )
    assert caught.value.code == status
    assert caught.value.status == rpc_status


async def test_gemini_sdk_reports_safety_blocks(
    gemini_client: genai.Client, simulator: SimulatorServer
) -> None:
    simulator.sim.set_fault("gemini", Fault(kind="content_filter", count=1))
    blocked = await gemini_client.aio.models.generate_content(
        model="gemini-2.5-flash", contents="hi"
    )
    assert blocked.candidates is not None
    assert blocked.candidates[0].finish_reason == genai_types.FinishReason.SAFETY
    assert blocked.text is None
    simulator.sim.set_fault(
        "gemini", Fault(kind="content_filter", variant="prompt", count=1)
    )
    prompt_blocked = await gemini_client.aio.models.generate_content(
        model="gemini-2.5-flash", contents="hi"
    )
    assert prompt_blocked.prompt_feedback is not None
    assert (
        prompt_blocked.prompt_feedback.block_reason == genai_types.BlockedReason.SAFETY
    )
    assert not prompt_blocked.candidates


async def test_gemini_sdk_streams_generate_content(
    gemini_client: genai.Client, simulator: SimulatorServer
) -> None:
    simulator.sim.set_reply("gemini", "Fold the laundry on the chair.")
    stream = await gemini_client.aio.models.generate_content_stream(
        model="gemini-2.5-flash", contents="hi"
    )
    chunks = [chunk async for chunk in stream]
    assert (
        "".join(chunk.text or "" for chunk in chunks)
        == "Fold the laundry on the chair."
    )
    last = chunks[-1]
    assert last.candidates is not None
    assert last.candidates[0].finish_reason == genai_types.FinishReason.STOP
    assert last.usage_metadata is not None
    assert last.usage_metadata.candidates_token_count == 8
    assert simulator.sim.requests["gemini"][0].query == {"alt": "sse"}


# -- Ollama ------------------------------------------------------------------------------------


async def test_ollama_sdk_parses_chat(
    ollama_client: ollama.AsyncClient, simulator: SimulatorServer
) -> None:
    simulator.sim.set_reply("ollama", "Mop the floor.")
    response = await ollama_client.chat(
        model="llava",
        messages=[
            {"role": "system", "content": "You inspect rooms."},
            {
                "role": "user",
                "content": "What needs cleaning?",
                "images": [image_base64()],
            },
        ],
        options={"temperature": 0.2, "num_predict": 100},
    )
    assert response.message.content == "Mop the floor."
    assert response.model == "llava"
    assert response.done_reason == "stop"
    assert response.eval_count == 4
    assert response.prompt_eval_count is not None
    assert response.prompt_eval_count > 576
    sent = simulator.sim.requests["ollama"][0]
    assert sent.path == "/ollama/api/chat"
    assert sent.json["stream"] is False


async def test_ollama_sdk_streams_chat(ollama_client: ollama.AsyncClient) -> None:
    parts = [
        part
        async for part in await ollama_client.chat(
            model="llama3.2", messages=[{"role": "user", "content": "hi"}], stream=True
        )
    ]
    assert parts[-1].done is True
    assert "".join(part.message.content or "" for part in parts).startswith(
        "Simulated ollama reply"
    )


async def test_ollama_sdk_lists_and_shows_models(
    ollama_client: ollama.AsyncClient,
) -> None:
    listed = await ollama_client.list()
    assert "llava:latest" in {model.model for model in listed.models}
    shown = await ollama_client.show("llava")
    assert shown.capabilities is not None
    assert "vision" in shown.capabilities


async def test_ollama_sdk_raises_response_errors(
    ollama_client: ollama.AsyncClient, simulator: SimulatorServer
) -> None:
    with pytest.raises(ollama.ResponseError) as missing:
        await ollama_client.chat(
            model="mistral", messages=[{"role": "user", "content": "hi"}]
        )
    assert missing.value.status_code == 404
    assert "not found" in missing.value.error
    simulator.sim.set_fault("ollama", Fault(kind="rate_limit", count=1))
    with pytest.raises(ollama.ResponseError) as limited:
        await ollama_client.chat(
            model="llava", messages=[{"role": "user", "content": "hi"}]
        )
    assert limited.value.status_code == 429
    simulator.sim.set_fault("ollama", Fault(kind="status", status=503, count=1))
    with pytest.raises(ollama.ResponseError) as busy:
        await ollama_client.chat(
            model="llava", messages=[{"role": "user", "content": "hi"}]
        )
    assert busy.value.status_code == 503
    assert "server busy" in busy.value.error


async def test_ollama_thinking_model_returns_thoughts_apart_from_the_answer(
    ollama_client: ollama.AsyncClient,
) -> None:
    response = await ollama_client.chat(
        model="qwen3-vl:8b",
        messages=[{"role": "user", "content": "hi", "images": [image_base64()]}],
    )
    assert response.message.thinking
    assert response.message.content is not None
    assert response.message.content.startswith("Simulated ollama reply")
    assert response.eval_count is not None
    assert response.eval_count > 48
    quiet = await ollama_client.chat(
        model="qwen3-vl:8b", messages=[{"role": "user", "content": "hi"}], think=False
    )
    assert quiet.message.thinking is None
    with pytest.raises(ollama.ResponseError) as caught:
        await ollama_client.chat(
            model="llava", messages=[{"role": "user", "content": "hi"}], think=True
        )
    assert caught.value.status_code == 400
    assert caught.value.error == '"llava" does not support thinking'


async def test_ollama_sdk_rejects_images_for_text_only_model(
    ollama_client: ollama.AsyncClient,
) -> None:
    with pytest.raises(ollama.ResponseError) as caught:
        await ollama_client.chat(
            model="llama3.2",
            messages=[{"role": "user", "content": "hi", "images": [image_base64()]}],
        )
    assert caught.value.status_code == 500
    assert "image input" in caught.value.error


# -- transport faults as each SDK sees them ----------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "gemini_error", "anthropic_error", "ollama_error"),
    [
        (Fault(kind="malformed_json"), ValueError, ValueError, ValueError),
        (
            Fault(kind="html"),
            genai_errors.ServerError,
            anthropic.InternalServerError,
            ollama.ResponseError,
        ),
        (
            Fault(kind="reset"),
            OSError,
            anthropic.APIConnectionError,
            httpx.TransportError,
        ),
    ],
    ids=["malformed_json", "html_502", "reset"],
)
async def test_transport_faults_are_errors_for_every_sdk(
    simulator: SimulatorServer,
    anthropic_client: anthropic.AsyncAnthropic,
    gemini_client: genai.Client,
    ollama_client: ollama.AsyncClient,
    *,
    fault: Fault,
    gemini_error: type[Exception],
    anthropic_error: type[Exception],
    ollama_error: type[Exception],
) -> None:
    for provider in ("gemini", "anthropic", "ollama"):
        simulator.sim.set_fault(provider, fault)
    with pytest.raises(gemini_error):
        await gemini_client.aio.models.generate_content(
            model="gemini-2.5-flash", contents="hi"
        )
    with pytest.raises(anthropic_error):
        await anthropic_client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=10,
            messages=[{"role": "user", "content": "hi"}],
        )
    with pytest.raises(ollama_error):
        await ollama_client.chat(
            model="llava", messages=[{"role": "user", "content": "hi"}]
        )


async def test_a_captive_portal_page_fools_an_sdk_that_trusts_the_status(
    simulator: SimulatorServer, anthropic_client: anthropic.AsyncAnthropic
) -> None:
    """Why clients must check the content type: the SDK hands the HTML back as the answer."""
    simulator.sim.set_fault("anthropic", Fault(kind="html", status=200))
    answer: object = await anthropic_client.messages.create(
        model="claude-haiku-4-5",
        max_tokens=10,
        messages=[{"role": "user", "content": "hi"}],
    )
    assert isinstance(answer, str)
    assert "Wi-Fi" in answer
