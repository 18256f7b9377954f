"""Fuzzing the actions: whatever a caller sends, the answer is a response or a clear refusal.

Hypothesis (derandomized, so every run draws the same cases) builds `aicleaner.analyze`,
`aicleaner.analyze_batch`, `aicleaner.get_metrics` and `aicleaner.check_health` calls from good values,
wrong types, unknown keys, bad numbers (NaN, infinities, negatives, huge integers), enormous strings
(1 MiB), awkward text (NUL bytes, lone surrogates, `..`) and deep nesting (10,000 levels), and sends
them through Home Assistant's service layer to AICleaner set up against the simulator over real HTTP.

Allowed outcomes, each checked against an oracle:
- the schema's own refusal (`probatio.Invalid`, raised by Home Assistant's service layer) exactly
  when the action's schema refuses the data, and then no provider is called;
- a `ServiceValidationError` with one of AICleaner's translated messages;
- a `HomeAssistantError` with one of AICleaner's translated messages (a provider failure);
- a response of the documented shape.
Anything else (a `TypeError`, a `ValueError`, a `RecursionError`...) or a call that does not end
within its timeout fails the test.
"""

from __future__ import annotations

import asyncio
from io import BytesIO
import json
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from hypothesis import event, example, given, settings, strategies as st
from PIL import Image
import probatio
import pytest

from custom_components.aicleaner.const import DOMAIN
from custom_components.aicleaner.services import ANALYZE_SCHEMA, BATCH_SCHEMA
from tests.simulator import SimulatorServer

from .conftest import FUZZ, Setup, analyze

STRINGS = json.loads(
    (Path(__file__).parents[2] / "custom_components/aicleaner/strings.json").read_text()
)
TRANSLATED = frozenset(STRINGS["exceptions"])
PROVIDERS = ("OpenAI", "Claude", "Local")
SIMULATED = ("openai", "anthropic", "ollama")
# One call may wait for a provider (0.25 s attempts, a few retries); none may take longer than this.
CALL_TIMEOUT = 10.0


def _deep_list(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


def _deep_dict(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = {"a": value}
    return value


# Built once: Hypothesis only picks them.
HUGE = "A" * (1 << 20)
DEEP_LIST = _deep_list(10_000)
DEEP_DICT = _deep_dict(10_000)
NAN, INF, NINF = float("nan"), float("inf"), float("-inf")
_AWKWARD = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "\udcff",
    "../../../../etc/passwd",
    "/proc/self/environ",
    "/dev/zero",
    "{{ states('sun.sun') }}",
    "camera.",
    "media-source://",
    "media-source://camera/camera.nowhere",
    "media-source://image/image.nowhere",
    "\u202e\u2066",
    HUGE,
)
_BAD_NUMBERS = (
    float("nan"),
    float("inf"),
    float("-inf"),
    -1,
    -0.0,
    0,
    10**400,
    -(10**400),
    1e308,
    "nan",
    "inf",
    "-1",
    "1e999",
    "",
    True,
    False,
)


def _pick(values: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    """One of `values`, drawn by index (the strategy's repr stays short: HUGE is 1 MiB)."""
    return st.integers(0, len(values) - 1).map(values.__getitem__)


AWKWARD_TEXT = _pick(_AWKWARD)
BAD_NUMBERS = _pick(_BAD_NUMBERS)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | AWKWARD_TEXT
    | BAD_NUMBERS
)
JUNK = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
) | _pick((DEEP_LIST, DEEP_DICT))


def _good_or_edge(good: st.SearchStrategy[Any], *edges: Any) -> st.SearchStrategy[Any]:
    """Mostly a good value; often one at the edge (or past it)."""
    return st.integers(0, 3).flatmap(lambda n: good if n else _pick(edges))


def _field_values(image: str) -> dict[str, st.SearchStrategy[Any]]:
    """Values of the right type for each field, edge cases included (the handler's side)."""
    texts = st.text(max_size=40) | AWKWARD_TEXT
    return {
        "prompt": st.one_of(
            st.builds(str.__add__, _pick(("Describe the room. ", "hi ")), texts),
            texts,
        ),
        "image_path": _good_or_edge(
            _pick((image, [image], [image, image])), *_AWKWARD, [], [image, "\x00"]
        ),
        "camera_entity_id": _good_or_edge(
            st.just([]), "camera.porch", "camera.a, camera.b", ["sensor.x"]
        ),
        "media_content_id": st.lists(texts, max_size=2) | texts,
        "provider": _good_or_edge(
            _pick((*PROVIDERS, list(PROVIDERS), [])), "Nobody", "", HUGE, ["Local", "x"]
        ),
        "strategy": _pick(("priority", "fastest", "cost_optimal", "adaptive")),
        "model": _good_or_edge(_pick(("gpt-4o-mini", "llava")), *_AWKWARD),
        "system_prompt": texts,
        "max_tokens": _good_or_edge(
            st.integers(1, 4096), 0, -1, 131_072, 131_073, 10**400, "12", " 7 ", True
        ),
        "temperature": _good_or_edge(
            st.floats(0, 2), -0.01, 2.01, NAN, INF, NINF, "nan", "1e999", 10**400
        ),
        "timeout": _good_or_edge(
            st.floats(1, 600), 0.999, 600.01, NAN, INF, "inf", "0.5", -1
        ),
        "use_cache": st.booleans(),
        "local_only": st.booleans(),
        "tags": st.lists(texts, max_size=3) | texts,
        "response_format": _pick(("text", "json")),
    }


def typed_analyze_data(image: str) -> st.SearchStrategy[dict[str, Any]]:
    """An `aicleaner.analyze` call whose fields have their types; values at their edges."""
    fields = _field_values(image)
    return st.fixed_dictionaries({"prompt": fields.pop("prompt")}, optional=fields)


def junk_analyze_data(image: str) -> st.SearchStrategy[Any]:
    """An `aicleaner.analyze` call with a field of junk, an unknown key, no prompt, or junk."""
    fields = _field_values(image)
    typed = typed_analyze_data(image)
    one_junk_field = st.builds(
        lambda data, key, value: {**data, key: value},
        typed,
        st.sampled_from(sorted(["prompt", *fields])),
        JUNK,
    )
    unknown_key = st.builds(
        lambda data, key, value: {**data, key: value},
        typed,
        st.text(max_size=12).filter(lambda key: key not in ANALYZE_SCHEMA.schema),
        JUNK,
    )
    without_prompt = typed.map(
        lambda data: {k: v for k, v in data.items() if k != "prompt"}
    )
    return st.one_of(one_junk_field, unknown_key, without_prompt, JUNK)


def batch_data(image: str) -> st.SearchStrategy[Any]:
    """An `aicleaner.analyze_batch` call: mostly well-typed items, sometimes junk or too many."""
    typed_items = st.lists(typed_analyze_data(image), min_size=1, max_size=4)
    mixed_items = st.lists(
        st.one_of(typed_analyze_data(image), junk_analyze_data(image)), max_size=4
    )
    batch_size = _good_or_edge(st.integers(1, 50), 0, -1, 51, NAN, INF, "2", 10**400)
    return st.integers(0, 5).flatmap(
        lambda n: (
            st.fixed_dictionaries(
                {"requests": typed_items}, optional={"batch_size": batch_size}
            )
            if n < 3
            else st.fixed_dictionaries({"requests": mixed_items | JUNK})
            if n < 4
            else st.just({"requests": [{"prompt": "hi"}] * 51})
            if n < 5
            else JUNK
        )
    )


def _schema_refuses(schema: probatio.Schema, data: Any) -> bool:
    try:
        schema(data)
    except probatio.Invalid:
        return True
    return False


def _check_translated(err: HomeAssistantError) -> None:
    assert err.translation_domain == DOMAIN, repr(err)
    assert err.translation_key in TRANSLATED, repr(err)


def _check_answer(answer: Any) -> None:
    assert isinstance(answer["text"], str)
    assert answer["provider"] in PROVIDERS
    assert isinstance(answer["cost"], float)
    assert answer["cost"] >= 0.0


async def _call(
    hass: HomeAssistant,
    simulator: SimulatorServer,
    service: str,
    data: Any,
    schema: probatio.Schema | None,
) -> Any:
    """Make the call; return its response, or None if it was refused in an allowed way."""
    refused_by_schema = schema is not None and _schema_refuses(schema, data)
    before = sum(simulator.sim.request_count(kind) for kind in SIMULATED)
    try:
        async with asyncio.timeout(CALL_TIMEOUT):
            answer = await hass.services.async_call(
                DOMAIN, service, data, blocking=True, return_response=True
            )
    except probatio.Invalid:
        # Home Assistant's service layer raises the schema's refusal as it is.
        assert refused_by_schema, f"refused data the schema accepts: {data!r:.300}"
        after = sum(simulator.sim.request_count(kind) for kind in SIMULATED)
        assert after == before
        event(f"{service}: refused by the schema")
        return None
    except HomeAssistantError as err:
        # ServiceValidationError (bad input) or a provider failure: both translated.
        assert not refused_by_schema
        _check_translated(err)
        event(f"{service}: {type(err).__name__} {err.translation_key}")
        return None
    assert not refused_by_schema
    event(f"{service}: answered")
    return answer


@pytest.fixture
async def fuzz_target(
    hass: HomeAssistant, setup_reliable: Setup, tmp_path: Path
) -> str:
    """AICleaner with three providers, one real image in the allowlist; returns its path."""
    await setup_reliable(
        ("openai", "OpenAI", {}), ("anthropic", "Claude", {}), ("ollama", "Local", {})
    )
    hass.config.allowlist_external_dirs = {str(tmp_path)}
    buffer = BytesIO()
    Image.new("RGB", (32, 24), "white").save(buffer, format="JPEG")
    image = tmp_path / "room.jpg"
    image.write_bytes(buffer.getvalue())
    return str(image)


IMAGE_PLACEHOLDER = "/fuzz/room.jpg"


def _with_image(data: Any, image: str) -> Any:
    """Put the real image path where the strategy put its placeholder (it is drawn before setup)."""
    if data == IMAGE_PLACEHOLDER:
        return image
    if data is DEEP_LIST or data is DEEP_DICT:
        return data
    if isinstance(data, list):
        return [_with_image(item, image) for item in data]
    if isinstance(data, dict):
        return {key: _with_image(value, image) for key, value in data.items()}
    return data


async def _analyze_answers_or_refuses(
    hass: HomeAssistant, simulator: SimulatorServer, fuzz_target: str, data: Any
) -> None:
    """Call analyze with `data`: an answer is checked, a refusal is checked by `_call`."""
    data = _with_image(data, fuzz_target)
    answer = await _call(hass, simulator, "analyze", data, ANALYZE_SCHEMA)
    if answer is not None:
        _check_answer(answer)


@settings(FUZZ, max_examples=150)
@given(data=typed_analyze_data(IMAGE_PLACEHOLDER))
# Always tried, whatever Hypothesis draws: text no path can hold, and the longest text.
@example(data={"prompt": "look", "image_path": "room\x00.jpg"})
@example(data={"prompt": "look", "image_path": ["/fuzz/room.jpg", HUGE]})
@example(data={"prompt": HUGE, "system_prompt": HUGE, "tags": [HUGE]})
@example(data={"prompt": "hi", "temperature": 10**400, "timeout": NAN})
@example(data={"prompt": "hi \udcff", "system_prompt": "\ud800"})
async def test_analyze_answers_or_refuses_cleanly_values_at_their_edges(
    hass: HomeAssistant,
    simulator: SimulatorServer,
    fuzz_target: str,
    data: Any,
) -> None:
    await _analyze_answers_or_refuses(hass, simulator, fuzz_target, data)


@settings(FUZZ, max_examples=100)
@given(data=junk_analyze_data(IMAGE_PLACEHOLDER))
async def test_analyze_refuses_junk_through_its_schema_only(
    hass: HomeAssistant,
    simulator: SimulatorServer,
    fuzz_target: str,
    data: Any,
) -> None:
    await _analyze_answers_or_refuses(hass, simulator, fuzz_target, data)


@settings(FUZZ, max_examples=60)
@given(data=batch_data(IMAGE_PLACEHOLDER))
async def test_analyze_batch_answers_each_item_or_refuses_cleanly(
    hass: HomeAssistant,
    simulator: SimulatorServer,
    fuzz_target: str,
    data: Any,
) -> None:
    data = _with_image(data, fuzz_target)
    answer = await _call(hass, simulator, "analyze_batch", data, BATCH_SCHEMA)
    if answer is None:
        return
    results = answer["results"]
    assert len(results) == len(data["requests"])
    for result in results:
        if "error" in result:
            assert isinstance(result["error"]["message"], str)
            assert result["error"]["message"]
            # A refused item never comes back as the catch-all "unexpected".
            assert result["error"]["category"] != "unexpected"
        else:
            _check_answer(result)


@settings(FUZZ, max_examples=20)
@given(data=st.none() | JUNK)
async def test_metrics_and_health_ignore_whatever_data_they_are_sent(
    hass: HomeAssistant,
    simulator: SimulatorServer,
    fuzz_target: str,
    data: Any,
) -> None:
    payload = data if isinstance(data, dict) else None
    metrics = await _call(hass, simulator, "get_metrics", payload, None)
    assert set(metrics) == {"performance", "costs"}
    health = await _call(hass, simulator, "check_health", payload, None)
    assert set(health["providers"]) == set(PROVIDERS)


# --- what the fuzzing found -------------------------------------------------------------------


async def test_text_with_no_utf8_form_is_refused_without_charging_or_tripping_any_breaker(
    hass: HomeAssistant, setup_reliable: Setup, simulator: SimulatorServer
) -> None:
    """A lone surrogate cannot be sent in any JSON body: the caller's fault, not the providers'.

    It used to fail the JSON encoding inside every client as an unexpected error: each provider
    was charged its reservation and counted a breaker failure, so three such calls opened every
    breaker.
    """
    entry = await setup_reliable(("openai", "OpenAI", {}), ("anthropic", "Claude", {}))
    router = entry.runtime_data.router
    for data in (
        {"prompt": "hi \udcff"},
        {"prompt": "hi", "system_prompt": "\ud800"},
        {"prompt": "hi", "model": "gpt-\udcff"},
    ):
        for _ in range(4):  # past the breaker threshold (3)
            with pytest.raises(ServiceValidationError) as raised:
                await analyze(hass, **data)
            assert raised.value.translation_key == "request_refused"
    assert simulator.sim.request_count("openai") == 0
    assert simulator.sim.request_count("anthropic") == 0
    summary = router.get_cost_summary()
    assert summary["total_cost"] == 0.0
    assert {
        key: router.provider_stats(key).breaker_state for key in entry.subentries
    } == dict.fromkeys(entry.subentries, "closed")
    answer = await analyze(hass, prompt="hi")
    assert answer["provider"] == "OpenAI"
