"""Structured answers: find the JSON schema a request asks for, and build an instance of it.

A real model with structured output answers with an object of the asked shape. The schema comes
natively (OpenAI `response_format.json_schema` or Responses `text.format`, Anthropic
`output_format`, Gemini `responseJsonSchema`/`responseSchema`, Ollama `format`) or, as a model
would read it, from an instruction "... JSON schema: {...}" in the prompt (what AICleaner's AI
Task sends).
"""

from __future__ import annotations

from collections.abc import Iterator
import json
import math
from typing import Any

# Where an instruction names its schema: the object follows this phrase.
_MARKER = "JSON schema:"
_DECODER = json.JSONDecoder()
# The date, time and id formats HA's selectors declare, with a value of each.
_FORMATS = {
    "date": "2026-01-01",
    "date-time": "2026-01-01T12:00:00+00:00",
    "time": "12:00:00",
    "entity_id": "sensor.simulated",
}


def requested_schema(body: Any) -> dict[str, Any] | None:
    """Return the JSON schema the request body asks its answer to match, if any."""
    if not isinstance(body, dict):
        return None
    for schema in _native_schemas(body):
        if isinstance(schema, dict):
            return schema
    for text in _strings(body):
        at = text.find(_MARKER)
        if at < 0:
            continue
        rest = text[at + len(_MARKER) :].lstrip()
        try:
            schema, _ = _DECODER.raw_decode(rest)
        except ValueError:
            continue
        if isinstance(schema, dict):
            return schema
    return None


def _native_schemas(body: dict[str, Any]) -> Iterator[Any]:
    response_format = body.get("response_format")
    if isinstance(response_format, dict):
        yield (response_format.get("json_schema") or {}).get("schema")
    text = body.get("text")
    if isinstance(text, dict) and isinstance(text.get("format"), dict):
        yield text["format"].get("schema")
    output_format = body.get("output_format")
    if isinstance(output_format, dict):
        yield output_format.get("schema")
    config = body.get("generationConfig") or body.get("generation_config") or {}
    if isinstance(config, dict):
        for key in (
            "responseJsonSchema",
            "response_json_schema",
            "responseSchema",
            "response_schema",
        ):
            yield config.get(key)
    yield body.get("format")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def instance(schema: Any, text: str) -> Any:
    """Build a value the schema accepts; strings say `text` (what the simulator received)."""
    if not isinstance(schema, dict):
        return text
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            return instance(schema[key][0], text)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    kind = str(kind).lower() if kind is not None else None
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    if kind == "object":
        return {
            name: instance(sub, text)
            for name, sub in (schema.get("properties") or {}).items()
        }
    if kind == "array":
        count = max(1, int(schema.get("minItems", 1)))
        if "maxItems" in schema:
            count = min(count, int(schema["maxItems"]))
        item = schema.get("items") or {}
        if schema.get("uniqueItems") and count > 1:
            return [instance(item, f"{text} {index}") for index in range(count)]
        return [instance(item, text) for _ in range(count)]
    if kind in ("number", "integer"):
        value = schema.get("minimum", schema.get("maximum", 1))
        return math.ceil(value) if kind == "integer" else value
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return _FORMATS.get(str(schema.get("format")), text)
