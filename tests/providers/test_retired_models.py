"""Retired models: the catalog marks them, setup never pre-selects one, and a 404 for one is a
configuration error (`model_not_found`) that shows on the provider's status."""

from __future__ import annotations

from datetime import date

import aiohttp
import pytest

from custom_components.aicleaner.providers import create_provider
from custom_components.aicleaner.providers.catalog import (
    is_retired,
    recommended_model,
    retirement_date,
)
from custom_components.aicleaner.router import Router
from custom_components.aicleaner.router.errors import (
    AllProvidersFailed,
    BadRequestError,
    ErrorCategory,
    ModelNotFoundError,
)
from custom_components.aicleaner.router.models import AIRequest
from tests.simulator import SimulatorServer

from .conftest import FakeServer
from .helpers import KINDS, error_body, make_client

REQUEST = AIRequest(prompt="What is on the table?")
TODAY = date(2026, 12, 1)


@pytest.mark.parametrize(
    ("model", "retired"),
    [
        ("o1", True),
        ("o3-mini-2025-01-31", True),
        ("o4-mini", True),
        ("gpt-4.1-nano", True),
        ("gpt-4-0613", True),
        ("gpt-4-turbo-2024-04-09", True),
        ("gpt-3.5-turbo-16k", True),
        ("claude-3-5-haiku-20241022", True),
        ("claude-opus-4-1", True),
        ("claude-sonnet-4-5-20250929", True),
        ("gemini-2.0-flash", True),
        ("gemini-3-pro-preview", True),
        ("models/gemini-2.5-pro", True),
        ("gemini-2.5-flash", True),
        ("openai/o1", True),
        # Shut down later: on 2026-12-11 and 2027-01-14.
        ("gpt-5-mini", False),
        ("o3", False),
        ("gpt-4o-mini", False),
        ("gpt-5.4-mini", False),
        ("claude-haiku-5-5", False),
        ("gemini-3.8-flash", False),
        ("gemini-2.5-flash-lite", False),
    ],
)
def test_the_catalog_marks_shut_down_models(model: str, retired: bool) -> None:
    assert is_retired(model, TODAY) is retired


def test_the_gpt_5_family_retires_on_its_announced_day() -> None:
    for model in ("gpt-5", "gpt-5-mini-2025-08-07", "gpt-5-nano", "o3", "o3-pro"):
        assert retirement_date(model) == date(2026, 12, 11)
        assert not is_retired(model, date(2026, 12, 10))
        assert is_retired(model, date(2026, 12, 11))
    assert retirement_date("gpt-5.4") is None


@pytest.mark.parametrize(
    ("kind", "listed", "expected"),
    [
        # Retired models first in the list, or matching a recommendation: never pre-selected.
        ("openai", ("o4-mini", "gpt-4.1-nano", "gpt-5.6-luna"), "gpt-5.6-luna"),
        (
            "anthropic",
            ("claude-3-5-haiku-20241022", "claude-sonnet-5-5"),
            "claude-sonnet-5-5",
        ),
        ("gemini", ("gemini-2.5-flash", "gemini-3.8-flash"), "gemini-3.8-flash"),
        ("gemini", ("gemini-2.0-flash",), None),
    ],
)
def test_setup_never_preselects_a_retired_model(
    kind: str, listed: tuple[str, ...], expected: str | None
) -> None:
    assert recommended_model(kind, listed, today=TODAY) == expected


@pytest.mark.parametrize("kind", KINDS)
async def test_a_404_naming_the_model_is_model_not_found(
    fake_server: FakeServer, session: aiohttp.ClientSession, kind: str
) -> None:
    fake_server.reply(error_body(kind, 404, "model 'o1' not found"), status=404)
    client = make_client(kind, session, fake_server.url)
    with pytest.raises(ModelNotFoundError) as caught:
        await client.complete(REQUEST, timeout=5)
    assert caught.value.category is ErrorCategory.MODEL_NOT_FOUND
    assert caught.value.retryable is False
    # A configuration error: another provider may answer.
    assert caught.value.caller_input is False


async def test_a_gateways_model_not_found_code_is_model_not_found(
    fake_server: FakeServer, session: aiohttp.ClientSession
) -> None:
    body = {
        "error": {
            "message": "no such model",
            "type": "invalid_request_error",
            "code": "model_not_found",
        }
    }
    fake_server.reply(body, status=400)
    client = make_client("openai_compatible", session, fake_server.url)
    with pytest.raises(ModelNotFoundError):
        await client.complete(REQUEST, timeout=5)


async def test_a_404_that_names_no_model_stays_a_bad_request(
    fake_server: FakeServer, session: aiohttp.ClientSession
) -> None:
    fake_server.reply(text="404: Not Found", status=404, content_type="text/plain")
    client = make_client("openai_compatible", session, fake_server.url)
    with pytest.raises(BadRequestError) as caught:
        await client.complete(REQUEST, timeout=5)
    assert not isinstance(caught.value, ModelNotFoundError)


async def test_a_retired_model_shows_model_not_found_on_the_provider_status(
    simulator: SimulatorServer, session: aiohttp.ClientSession
) -> None:
    client = create_provider(
        "openai",
        session,
        name="openai",
        model="o1",
        api_key="sk-sim-valid-key",
        base_url=simulator.provider_url("openai"),
    )
    router = Router([client])
    with pytest.raises(AllProvidersFailed) as caught:
        await router.process(AIRequest(prompt="hi"))
    assert caught.value.attempts[-1].category == "model_not_found"
    assert router.provider_stats("openai").last_error_category == "model_not_found"
