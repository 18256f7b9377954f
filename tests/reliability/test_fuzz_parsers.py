"""Fuzzing every provider's response parser: an answer, or a classified error; never a crash.

For each client (OpenAI, Anthropic, Gemini, Ollama, OpenAI-compatible), Hypothesis (derandomized)
builds what a provider could send back: random bytes, valid answers cut anywhere, valid answers
with values of the wrong type (or missing) anywhere in them, enormous strings, deep nesting (10,000
levels, and 1,000 where a text, a count or a reason goes, which the JSON decoder still takes), huge and negative numbers, JSON answers
that are not JSON; error bodies and headers of any shape with any error status; model lists.

Two levels:
- the parser, many examples: `complete()` with the transport replaced by the client's own
  decoding of the drawn bytes, `_status_error()` for error answers, `health()` for model lists;
- over real HTTP, fewer examples: a loopback aiohttp server sends the drawn status, headers and
  bytes (whole, chunked, or cut short by a closed connection) and `complete()` reads them.

Allowed: a `Completion` the router can book (text, model, counts >= 0, a finite cost >= 0), or a
`ProviderError` subclass of the taxonomy (router/errors.py). Anything else, or a call that does
not end within its timeout, fails.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
import math
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from hypothesis import event, example, given, settings, strategies as st
from multidict import CIMultiDict
import orjson
import pytest

from custom_components.aicleaner.providers import BaseProvider, create_provider
from custom_components.aicleaner.router.errors import (
    BadRequestError,
    ErrorCategory,
    ProviderError,
)
from custom_components.aicleaner.router.models import AIRequest, Completion
from tests.providers.helpers import (
    KINDS,
    MODELS,
    PREFIXES,
    error_body,
    models_body,
    success_body,
)

from .conftest import FUZZ

KEY = "sk-fuzz-parsers-0f3c9a1e77"
CALL_TIMEOUT = 5.0
TEXT_REQUEST = AIRequest(prompt="What is on the table?", system_prompt="Be brief.")
JSON_REQUEST = AIRequest(prompt="List the rooms", json_output=True)


def _nested(depth: int, inner: bytes = b'"x"') -> bytes:
    return b"[" * depth + inner + b"]" * depth


# JSON-able values (orjson's range: 64-bit integers, finite floats).
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
# Values that stand out, by index so that the strategies' reprs stay short (some are MiBs).
_SPECIALS: tuple[Any, ...] = (
    "",
    " \n\t",
    "A" * (3 << 20),  # 3 MiB: under the 4 MiB response cap, once in a body
    "\u202e" * 1000,
    "\x00",
    -1,
    2**64 - 1,
    -(2**63),
    1e308,
    -1e308,
    1.5,
    "12",
    "-3",
    "1e400",
    orjson.loads(_nested(200)),  # orjson writes at most 254 levels
    [[]],
    {},
    [],
)
SPECIALS = st.integers(0, len(_SPECIALS) - 1).map(_SPECIALS.__getitem__)
VALUES = JSON_VALUES | SPECIALS


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside `value` (dict keys, list indexes), down to the answer's depth."""
    found = [prefix] if prefix else []
    if (
        len(prefix) >= 6
    ):  # not into a value put there (200 levels twice would be too deep to write)
        return found
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    """A copy of `value` with the value at `path` replaced by `new` (or removed if `_DROP`)."""
    if not path:
        return new
    head, *rest = path
    if isinstance(value, dict):
        copy = dict(value)
        if not rest and new is _DROP:
            del copy[head]
        else:
            copy[head] = _replaced(value[head], tuple(rest), new)
        return copy
    copy_list = list(value)
    if not rest and new is _DROP:
        del copy_list[head]
    else:
        copy_list[head] = _replaced(value[head], tuple(rest), new)
    return copy_list


_DROP = object()


@st.composite
def mutated_body(draw: st.DrawFn, kind: str) -> bytes:
    """A valid answer of `kind` with 1-3 values replaced by anything (or removed)."""
    body: Any = success_body(kind, text=draw(st.sampled_from(["hello", '{"a": 1}'])))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(body)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        body = _replaced(body, path, draw(VALUES | st.just(_DROP)))
    return orjson.dumps(body)


@st.composite
def cut_body(draw: st.DrawFn, kind: str) -> bytes:
    """A valid answer of `kind`, cut short anywhere."""
    raw = orjson.dumps(success_body(kind))
    return raw[: draw(st.integers(0, len(raw) - 1))]


def raw_specials(kind: str) -> st.SearchStrategy[bytes]:
    """Bodies no JSON decoder takes, or only just: nesting, huge numbers, odd encodings."""
    valid = orjson.dumps(success_body(kind))
    return st.sampled_from(
        [
            b"",
            b"null",
            b"[]",
            b'"text"',
            b"NaN",
            _nested(10_000),
            _nested(1_025),
            b'{"a":' + _nested(10_000) + b"}",
            b"{" * 10_000,
            valid.replace(b"1000", b"1" + b"0" * 400),  # an integer past 64 bits
            valid.replace(b"1000", b"1e400"),  # a float past the largest
            valid.replace(b"1000", b"-0.0"),
            # 1,000 levels where a text, a count or a reason goes: orjson reads up to 1,024.
            valid.replace(b'"hello"', _nested(1_000)),
            valid.replace(b"1000", _nested(1_000, b"1")),
            valid.replace(b'"stop"', _nested(1_000)),
            valid.replace(b'"STOP"', _nested(1_000)),
            valid.replace(b'"end_turn"', _nested(1_000)),
            valid.replace(b"hello", b"\\ud800"),  # a lone surrogate escape
            b"\xef\xbb\xbf" + valid,  # a byte order mark
            valid.decode().encode("utf-16"),
            valid + b"\n{}",  # two documents
            valid + b"\x00",
            b"<html><body>Bad gateway</body></html>",
            b" \n<!DOCTYPE html>",
        ]
    )


def body_strategy(kind: str) -> st.SearchStrategy[bytes]:
    return st.one_of(
        mutated_body(kind),
        mutated_body(kind),
        cut_body(kind),
        st.binary(max_size=200),
        raw_specials(kind),
        JSON_VALUES.map(orjson.dumps),
    )


def _check_completion(completion: Completion) -> None:
    """What the router needs of a completion to book it (its own check, router/attempts.py)."""
    assert isinstance(completion, Completion)
    assert isinstance(completion.text, str)
    assert completion.text.strip()
    assert isinstance(completion.model, str)
    assert isinstance(completion.finish_reason, str)
    for count in (completion.usage.input_tokens, completion.usage.output_tokens):
        assert isinstance(count, int)
        assert not isinstance(count, bool)
        assert count >= 0
    assert isinstance(completion.cost, int | float)
    assert 0 <= completion.cost < math.inf


def _check_error(err: ProviderError, kind: str) -> None:
    assert isinstance(err.category, ErrorCategory)
    assert err.provider == f"fuzz-{kind}"
    # Never the key, never a body's text: a short message of our own.
    assert KEY not in str(err)
    assert len(str(err)) < 300


async def _outcome(
    call: Callable[[], Awaitable[Completion]], kind: str
) -> Completion | ProviderError:
    """Run `call` under a timeout; return its completion or its classified error."""
    try:
        async with asyncio.timeout(CALL_TIMEOUT):
            completion = await call()
    except ProviderError as err:
        _check_error(err, kind)
        event(f"{kind}: {type(err).__name__}")
        return err
    _check_completion(completion)
    event(f"{kind}: answered")
    return completion


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def _client(
    kind: str, session: aiohttp.ClientSession, root: str = "http://127.0.0.1:9"
) -> BaseProvider:
    return create_provider(
        kind,
        session,
        name=f"fuzz-{kind}",
        model=MODELS[kind],
        api_key=None if kind == "ollama" else KEY,
        base_url=root + PREFIXES[kind],
    )


def _answering(client: BaseProvider, raw: bytes, content_type: str) -> BaseProvider:
    """`client` with its transport replaced: every call gets `raw` as a 200 body."""

    async def request(*_: Any, **__: Any) -> dict[str, Any]:
        return client._decode_json(raw, content_type, 200)

    client._request = request  # type: ignore[method-assign]
    return client


# --- the parsers, many examples ---------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@settings(FUZZ, max_examples=150)
@given(data=st.data())
@example(data=None)  # the valid answer itself, as a baseline
async def test_a_2xx_body_is_an_answer_or_a_classified_error(
    session: aiohttp.ClientSession, kind: str, data: st.DataObject | None
) -> None:
    if data is None:
        raw, request, content_type = orjson.dumps(success_body(kind)), TEXT_REQUEST, ""
    else:
        raw = data.draw(body_strategy(kind), label="body")
        request = data.draw(st.sampled_from([TEXT_REQUEST, JSON_REQUEST]))
        content_type = data.draw(
            st.sampled_from(["application/json", "text/html", "text/plain", ""])
        )
    client = _answering(_client(kind, session), raw, content_type)
    outcome = await _outcome(lambda: client.complete(request, timeout=1), kind)
    if data is None:
        assert isinstance(outcome, Completion)
        assert outcome.text == "hello"


@pytest.mark.parametrize("kind", KINDS)
@settings(FUZZ, max_examples=60)
@given(
    text=st.one_of(
        st.text(max_size=50),
        JSON_VALUES.map(lambda value: orjson.dumps(value).decode()),
        st.sampled_from(
            [
                "[" * 10_000 + "]" * 10_000,
                "[" * 1_000 + "]" * 1_000,
                '{"a": 1',
                "```json\n{}\n```",
                "```json\n" + "[" * 5_000 + "\n```",
                '{"n": 1' + "0" * 400 + "}",
                "NaN",
            ]
        ),
    )
)
async def test_an_answer_asked_for_as_json_is_data_or_malformed(
    session: aiohttp.ClientSession, kind: str, text: str
) -> None:
    raw = orjson.dumps(success_body(kind, text=text))
    client = _answering(_client(kind, session), raw, "application/json")
    outcome = await _outcome(lambda: client.complete(JSON_REQUEST, timeout=1), kind)
    if isinstance(outcome, Completion):
        assert outcome.data == orjson.loads(
            outcome.text.strip().removeprefix("```json").removesuffix("```")
        )
    else:
        assert outcome.category in {
            ErrorCategory.MALFORMED,
            ErrorCategory.WRONG_FORMAT,
            ErrorCategory.EMPTY_RESPONSE,
        }


ERROR_STATUSES = st.sampled_from(
    [400, 401, 403, 404, 408, 409, 413, 422, 429, 499, 500, 502, 503, 504, 529, 599]
)
HEADER_VALUES = st.one_of(
    st.text(
        st.characters(min_codepoint=32, max_codepoint=126, exclude_characters="\r\n"),
        max_size=40,
    ),
    st.sampled_from(
        [
            "nan",
            "inf",
            "-inf",
            "1e400",
            "-5",
            "99999999999999999999999",
            "Wed, 21 Oct 2015 07:28:00 GMT",
            "Fri, 31 Dec 9999 23:59:59 GMT",
            "Mon, 99 Foo 0000 99:99:99 ZZZ",
            "0",
        ]
    ),
)


@st.composite
def error_answer(draw: st.DrawFn, kind: str) -> tuple[int, CIMultiDict[str], bytes]:
    status = draw(ERROR_STATUSES)
    headers: CIMultiDict[str] = CIMultiDict()
    for name in draw(
        st.lists(st.sampled_from(["retry-after", "retry-after-ms", "x-other"]))
    ):
        headers[name] = draw(HEADER_VALUES)
    body = draw(
        st.one_of(
            st.builds(
                lambda message: orjson.dumps(error_body(kind, status, message)),
                st.text(max_size=40) | st.sampled_from(["model not found", "image"]),
            ),
            st.builds(
                orjson.dumps,
                st.fixed_dictionaries(
                    {},
                    optional={
                        "error": VALUES,
                        "message": VALUES,
                        "detail": VALUES,
                        "code": VALUES,
                    },
                ),
            ),
            st.builds(
                lambda delay: orjson.dumps(
                    {
                        "error": {
                            "details": [
                                {
                                    "@type": "type.googleapis.com/google.rpc.RetryInfo",
                                    "retryDelay": delay,
                                },
                                {"reason": "API_KEY_INVALID"},
                            ]
                        }
                    }
                ),
                VALUES,
            ),
            body_strategy(kind),
        )
    )
    return status, headers, body


@pytest.mark.parametrize("kind", KINDS)
@settings(FUZZ, max_examples=150)
@given(data=st.data())
async def test_an_error_answer_of_any_shape_is_classified(
    session: aiohttp.ClientSession, kind: str, data: st.DataObject
) -> None:
    status, headers, raw = data.draw(error_answer(kind))
    err = _client(kind, session)._status_error(status, headers, raw)
    assert isinstance(err, ProviderError)
    _check_error(err, kind)
    assert err.status == status
    if err.retry_after is not None:
        assert 0 <= err.retry_after < math.inf
    event(f"{kind}: {type(err).__name__}")


@pytest.mark.parametrize("kind", KINDS)
@settings(FUZZ, max_examples=60)
@given(data=st.data())
async def test_a_model_list_of_any_shape_is_read_or_classified(
    session: aiohttp.ClientSession, kind: str, data: st.DataObject
) -> None:
    entries = st.lists(
        VALUES
        | st.fixed_dictionaries(
            {}, optional={"id": VALUES, "name": VALUES, "model": VALUES}
        ),
        max_size=5,
    )
    list_key = (
        "data" if kind in {"openai", "openai_compatible", "anthropic"} else "models"
    )
    raw = data.draw(
        st.one_of(
            entries.map(lambda models: orjson.dumps({list_key: models})),
            st.builds(
                lambda models: orjson.dumps({"data": models, "models": models}),
                VALUES,
            ),
            body_strategy(kind),
        )
    )
    client = _answering(_client(kind, session), raw, "application/json")
    try:
        async with asyncio.timeout(CALL_TIMEOUT):
            health = await client.health()
    except ProviderError as err:
        _check_error(err, kind)
        event(f"{kind}: {type(err).__name__}")
        return
    assert all(isinstance(model, str) for model in health.models)
    event(f"{kind}: read")


@pytest.mark.parametrize("kind", KINDS)
async def test_the_valid_model_list_of_each_kind_is_read(
    session: aiohttp.ClientSession, kind: str
) -> None:
    """The baseline of the model-list fuzzing: the real shape is read."""
    raw = orjson.dumps(models_body(kind))
    health = await _answering(_client(kind, session), raw, "application/json").health()
    assert health.models


# --- over real HTTP, fewer examples -------------------------------------------------------------


@dataclass(slots=True)
class Script:
    """What the loopback server sends for the next request."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    mode: str = (
        "whole"  # whole, chunked, cut (closed before the announced length), stall
    )
    received: int = 0


@pytest.fixture
async def raw_server(socket_enabled: None) -> AsyncIterator[tuple[str, Script]]:
    """A loopback HTTP server that sends exactly what the script says."""
    script = Script()

    async def handle(request: web.Request) -> web.StreamResponse:
        await request.read()
        script.received += 1
        headers = {"Content-Type": "application/json", **script.headers}
        if script.mode == "whole":
            return web.Response(status=script.status, body=script.body, headers=headers)
        response = web.StreamResponse(status=script.status, headers=headers)
        if script.mode == "chunked":
            response.enable_chunked_encoding()
            await response.prepare(request)
            half = len(script.body) // 2
            for chunk in (script.body[:half], script.body[half:]):
                if chunk:
                    await response.write(chunk)
            await response.write_eof()
            return response
        response.content_length = len(script.body) + 100
        await response.prepare(request)
        await response.write(script.body)
        if script.mode == "stall":
            await asyncio.sleep(30)
        # "cut": the connection closes before the announced length.
        assert request.transport is not None
        request.transport.close()
        return response

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/"), script
    finally:
        await server.close()


@settings(FUZZ, max_examples=80)
@given(data=st.data())
@example(data=None)
async def test_any_http_answer_is_an_answer_or_a_classified_error(
    session: aiohttp.ClientSession,
    raw_server: tuple[str, Script],
    data: st.DataObject | None,
) -> None:
    root, script = raw_server
    if data is None:
        kind, script.status, script.body, script.mode = "openai", 200, b"", "stall"
        script.headers = {}
    else:
        kind = data.draw(st.sampled_from(KINDS), label="kind")
        script.mode = data.draw(st.sampled_from(["whole", "chunked", "cut"]))
        if data.draw(st.booleans(), label="error status"):
            script.status, headers, script.body = data.draw(error_answer(kind))
            script.headers = dict(headers)
        else:
            script.status = data.draw(st.sampled_from([200, 200, 201, 204, 206]))
            script.body = data.draw(body_strategy(kind), label="body")
            script.headers = data.draw(
                st.sampled_from(
                    [
                        {},
                        {"Content-Type": "text/html"},
                        {"Content-Type": "text/plain; charset=latin-1"},
                        {"Content-Type": "application/json; charset=utf-16"},
                    ]
                )
            )
    client = _client(kind, session, root)
    timeout = 0.3 if script.mode == "stall" else 2.0
    outcome = await _outcome(
        lambda: client.complete(TEXT_REQUEST, timeout=timeout), kind
    )
    if data is None:
        assert isinstance(outcome, ProviderError)
        assert outcome.category is ErrorCategory.TIMEOUT
    elif script.mode == "cut" and isinstance(outcome, ProviderError):
        # A 2xx body cut off once it began is a billed cut-off answer (or, cut on a JSON
        # boundary, an unreadable one); a head aiohttp cannot read is a network error; an error
        # answer cut off is still classified by what arrived.
        assert outcome.category in {
            ErrorCategory.NETWORK,
            ErrorCategory.MALFORMED,
            *((ErrorCategory.CUT_OFF,) if script.status < 400 else ErrorCategory),
        }


# --- what the fuzzing found -------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "request_",
    [
        AIRequest(prompt="hi \udcff"),
        AIRequest(prompt="hi", system_prompt="\ud800"),
        AIRequest(prompt="hi", model="gpt-\udcff"),
    ],
    ids=["prompt", "system_prompt", "model"],
)
async def test_text_with_no_utf8_form_is_the_callers_fault_and_never_sent(
    session: aiohttp.ClientSession,
    raw_server: tuple[str, Script],
    kind: str,
    request_: AIRequest,
) -> None:
    """A lone surrogate has no UTF-8 form: no JSON body can carry it (orjson refuses it).

    It used to escape `complete()` as orjson's JSONEncodeError, which the router books as a
    client bug at every provider: the reservation charged, a breaker failure counted.
    """
    root, script = raw_server
    script.status, script.body, script.mode = (
        200,
        orjson.dumps(success_body(kind)),
        "whole",
    )
    client = _client(kind, session, root)
    with pytest.raises(BadRequestError) as raised:
        await client.complete(request_, timeout=2)
    assert raised.value.caller_input
    assert raised.value.status is None
    assert script.received == 0
    # Text that is not ASCII but has a UTF-8 form is sent as ever.
    answer = await client.complete(AIRequest(prompt="Où est le chat ? 猫"), timeout=2)
    assert answer.text == "hello"
    assert script.received == 1


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("count", "reported"),
    [
        (b"9007199254740992", True),  # 2**53: still a count
        (b"9007199254740993", False),  # 2**53 + 1
        (b"18446744073709551615", False),  # the largest 64-bit integer
        (b"1e308", False),  # a float with no fraction: its cost was infinite
        (
            b'"1' + b"0" * 400 + b'"',
            False,
        ),  # digits in text: their cost raised OverflowError
    ],
    ids=["2**53", "2**53+1", "2**64-1", "1e308", "400-digit-text"],
)
async def test_a_usage_count_past_2_53_is_no_count_and_the_answer_is_booked_at_its_bound(
    session: aiohttp.ClientSession, kind: str, count: bytes, reported: bool
) -> None:
    """An answer whose usage is absurd is still the answer; its usage is not believed.

    A count of 1e308 gave an infinite cost (a Completion the router refuses as a client bug:
    reservation charged, breaker failure), and 400 digits in text an OverflowError out of
    `complete()`. Unreported usage is booked at the call's reservation, an upper bound.
    """
    raw = orjson.dumps(success_body(kind)).replace(b"1000", count, 1)
    client = _answering(_client(kind, session), raw, "application/json")
    completion = await client.complete(TEXT_REQUEST, timeout=1)
    _check_completion(completion)
    assert completion.text == "hello"
    assert completion.usage_reported is reported
    if not reported:
        assert completion.cost == 0.0
