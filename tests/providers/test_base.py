"""Shared plumbing: retry hints and provider error messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from custom_components.aicleaner.providers.base import error_message, parse_retry_after


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ({"retry-after-ms": "1200"}, None, 1.2),
        ({"retry-after-ms": "junk", "retry-after": "4"}, None, 4.0),
        ({"retry-after": "2.5"}, None, 2.5),
        ({"retry-after": "-3"}, None, 0.0),
        ({"retry-after": "soon"}, None, None),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00"}, None, 0.0),
        (
            {},
            {
                "error": {
                    "details": [
                        {
                            "@type": "type.googleapis.com/google.rpc.RetryInfo",
                            "retryDelay": "1.5s",
                        }
                    ]
                }
            },
            1.5,
        ),
        (
            {},
            {
                "error": {
                    "details": [
                        {
                            "@type": "type.googleapis.com/google.rpc.RetryInfo",
                            "retryDelay": "later",
                        }
                    ]
                }
            },
            None,
        ),
        ({}, {"error": {"details": [{"@type": "google.rpc.Help"}, "odd"]}}, None),
        ({}, {"error": {"details": "none"}}, None),
        ({}, {"error": "flat"}, None),
        ({}, ["not", "a", "dict"], None),
        ({}, None, None),
    ],
)
def test_retry_after_sources(
    headers: dict[str, str], body: Any, expected: float | None
) -> None:
    assert parse_retry_after(headers, body) == expected


def test_retry_after_as_an_http_date_in_the_future() -> None:
    moment = datetime.now(UTC) + timedelta(seconds=120)
    seconds = parse_retry_after({"retry-after": format_datetime(moment, usegmt=True)})
    assert seconds is not None
    assert 100 < seconds <= 120


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"error": {"message": "openai style"}}, "openai style"),
        (
            {"type": "error", "error": {"type": "x", "message": "anthropic style"}},
            "anthropic style",
        ),
        ({"error": "ollama style"}, "ollama style"),
        ({"message": "top level"}, "top level"),
        (
            {"detail": [{"loc": ["body"], "msg": "field required"}]},
            "[{'loc': ['body'], 'msg': 'field required'}]",
        ),
        ({"error": {"code": 1}}, ""),
        ({}, ""),
        ("text", ""),
        (None, ""),
    ],
)
def test_error_message_shapes(body: Any, expected: str) -> None:
    assert error_message(body) == expected
