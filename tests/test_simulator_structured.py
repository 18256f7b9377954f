"""The simulator's structured answers: the schema a request asks for, natively or by instruction."""

from __future__ import annotations

from typing import Any

import pytest

from tests.simulator.structured import instance, requested_schema

SCHEMA = {
    "type": "object",
    "properties": {"tasks": {"type": "array", "items": {"type": "string"}}},
    "required": ["tasks"],
}


@pytest.mark.parametrize(
    "body",
    [
        {"response_format": {"type": "json_schema", "json_schema": {"schema": SCHEMA}}},
        {"text": {"format": {"type": "json_schema", "schema": SCHEMA}}},
        {"output_format": {"type": "json_schema", "schema": SCHEMA}},
        {"generationConfig": {"responseJsonSchema": SCHEMA}},
        {"generationConfig": {"responseSchema": SCHEMA}},
        {"format": SCHEMA},
        {
            "messages": [
                {
                    "role": "system",
                    "content": 'Answer with one JSON object that matches this JSON schema: {"type":'
                    '"object","properties":{"tasks":{"type":"array","items":{"type":"string"}}},'
                    '"required":["tasks"]}',
                }
            ]
        },
    ],
)
def test_the_schema_is_found_where_each_api_puts_it(body: dict[str, Any]) -> None:
    assert requested_schema(body) == SCHEMA


def test_a_request_without_a_schema_has_none() -> None:
    assert (
        requested_schema({"format": "json", "messages": [{"content": "JSON"}]}) is None
    )


def test_an_instance_follows_types_bounds_enums_and_formats() -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "count": {"type": "integer", "minimum": 2.5},
            "ratio": {"type": ["null", "number"], "maximum": 0.5},
            "colour": {"type": "array", "items": {"type": "number"}, "minItems": 3},
            "pick": {"type": "string", "enum": ["a", "b"]},
            "day": {"type": "string", "format": "date"},
            "either": {"anyOf": [{"type": "boolean"}, {"type": "string"}]},
        },
    }
    assert instance(schema, "hello") == {
        "name": "hello",
        "count": 3,
        "ratio": 0.5,
        "colour": [1, 1, 1],
        "pick": "a",
        "day": "2026-01-01",
        "either": True,
    }
