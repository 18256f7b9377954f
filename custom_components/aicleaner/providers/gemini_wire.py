"""Gemini wire form of a conversation: `contents`, `functionDeclarations`, `functionCall`, SSE chunks.

Follows google-genai's `Content`/`Part`/`FunctionDeclaration` (camelCase JSON): the model's turns have
role `model` and carry `functionCall {name, args}` parts, tool results go back as `functionResponse
{name, response}` parts in a user turn. Gemini takes only an OpenAPI subset of JSON schema for the
parameters (`Schema`): `schema_for_gemini` keeps what it knows and converts what it can (a union
with null becomes `nullable`, `const` an enum, an enum of numbers an enum of strings) rather than
let the request fail. Gemini 3 wants a function call's `thoughtSignature` back; a call made by
another provider has none, and gets the placeholder Google documents for that case.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import orjson

from ..router.conversation import (
    Message,
    ProviderDelta,
    ReasoningDelta,
    Role,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolChoice,
    conversation_of,
)
from ..router.models import Usage
from .base import JSONObject, token_count, usage_from
from .streaming import parse_arguments

if TYPE_CHECKING:
    from ..router.models import AIRequest


# Google's documented value for a function call that came from elsewhere (no signature of its own).
SKIP_SIGNATURE: Final = "skip_thought_signature_validator"
_MODES = {
    ToolChoice.AUTO: "AUTO",
    ToolChoice.NONE: "NONE",
    ToolChoice.REQUIRED: "ANY",
}
# The keys of `Schema` the Developer API takes (https://ai.google.dev/api/caching#Schema).
_SCHEMA_KEYS: Final = frozenset(
    {
        "type",
        "format",
        "title",
        "description",
        "nullable",
        "enum",
        "maxItems",
        "minItems",
        "properties",
        "required",
        "minProperties",
        "maxProperties",
        "minLength",
        "maxLength",
        "pattern",
        "minimum",
        "maximum",
        "anyOf",
        "items",
        "propertyOrdering",
    }
)
_FORMATS: Final = {
    "string": {"enum", "date-time"},
    "number": {"float", "double"},
    "integer": {"int32", "int64"},
}


def schema_for_gemini(schema: Mapping[str, Any]) -> JSONObject:
    """Return a JSON schema reduced to what Gemini's `Schema` takes."""
    source = dict(schema)
    for key in ("allOf", "oneOf"):
        if isinstance(subs := source.pop(key, None), list) and subs:
            # No intersection in Gemini: the first branch with a type stands for the rest.
            first = next(
                (s for s in subs if isinstance(s, dict) and "type" in s), subs[0]
            )
            return schema_for_gemini({**source, **first})
    nullable = False
    kind = source.get("type")
    if isinstance(kind, list):
        types = [t for t in kind if t != "null"]
        nullable = len(types) < len(kind)
        source["type"] = types[0] if types else "string"
    if isinstance(any_of := source.get("anyOf"), list):
        branches = [
            b for b in any_of if not (isinstance(b, dict) and b.get("type") == "null")
        ]
        nullable = nullable or len(branches) < len(any_of)
        del source["anyOf"]
        if len(branches) == 1 and isinstance(branches[0], dict):
            source = {**source, **branches[0]}
        elif branches:
            source["anyOf"] = branches
    if "const" in source:
        source["enum"] = [source.pop("const")]
    out: JSONObject = {}
    for key, value in source.items():
        if key not in _SCHEMA_KEYS:
            continue
        if key == "properties" and isinstance(value, dict):
            value = {
                name: schema_for_gemini(sub)
                for name, sub in value.items()
                if isinstance(sub, dict)
            }
        elif key == "items" and isinstance(value, dict):
            value = schema_for_gemini(value)
        elif key == "anyOf" and isinstance(value, list):
            value = [schema_for_gemini(sub) for sub in value if isinstance(sub, dict)]
        elif key == "format" and value not in _FORMATS.get(str(source.get("type")), ()):
            continue
        out[key] = value
    if nullable:
        out["nullable"] = True
    if "enum" in out:
        out["type"] = "string"
        out["enum"] = [
            v if isinstance(v, str) else orjson.dumps(v).decode() for v in out["enum"]
        ]
    if out.get("type") == "object":
        properties = out.get("properties") or {}
        if not properties:
            # Gemini refuses an object without properties; a JSON text stands for it.
            properties = {"json": {"type": "string"}}
        out["properties"] = properties
        if isinstance(out.get("required"), list):
            out["required"] = [name for name in out["required"] if name in properties]
    return out


def _response_object(text: str) -> JSONObject:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {"result": text}
    return value if isinstance(value, dict) else {"result": value}


def _content(message: Message) -> JSONObject:
    if message.role is Role.TOOL:
        return {
            "role": "user",
            "parts": [
                {
                    "functionResponse": {
                        "name": message.tool_name or "",
                        "response": _response_object(message.text),
                    }
                }
            ],
        }
    parts: list[JSONObject] = [
        {
            "inlineData": {
                "mimeType": image.mime_type,
                "data": base64.b64encode(image.data).decode("ascii"),
            }
        }
        for image in message.images
    ]
    if message.text:
        parts.append({"text": message.text})
    for index, call in enumerate(message.tool_calls):
        part: JSONObject = {
            "functionCall": {"name": call.name, "args": dict(call.arguments)}
        }
        if call.signature or index == 0:
            # Only the first call of a turn carries a signature (parallel calls share it).
            part["thoughtSignature"] = call.signature or SKIP_SIGNATURE
        parts.append(part)
    role = "model" if message.role is Role.ASSISTANT else "user"
    return {"role": role, "parts": parts}


def conversation_body(request: AIRequest, payload: JSONObject) -> None:
    """Put the request's turns, system text, tools and tool choice in `payload`."""
    system_text, turns = conversation_of(request)
    contents: list[JSONObject] = []
    for message in turns:
        content = _content(message)
        if not content["parts"]:
            continue
        if contents and contents[-1]["role"] == content["role"]:
            contents[-1]["parts"] += content["parts"]
        else:
            contents.append(content)
    payload["contents"] = contents
    if system_text:
        payload["systemInstruction"] = {"parts": [{"text": system_text}]}
    if request.tools:
        payload["tools"] = [
            {
                "functionDeclarations": [
                    {
                        "name": tool.name,
                        "description": tool.description,
                        "parameters": schema_for_gemini(tool.parameters),
                    }
                    for tool in request.tools
                ]
            }
        ]
        payload["toolConfig"] = {
            "functionCallingConfig": {"mode": _MODES[request.tool_choice]}
        }


def tool_calls(parts: list[Any], first_index: int = 0) -> tuple[ToolCall, ...]:
    """Return the `functionCall` parts of an answer, with their signatures."""
    calls: list[ToolCall] = []
    for part in parts:
        call = part.get("functionCall") if isinstance(part, dict) else None
        if not isinstance(call, dict) or not isinstance(call.get("name"), str):
            continue
        signature = part.get("thoughtSignature")
        calls.append(
            ToolCall(
                str(call.get("id") or f"call_{first_index + len(calls)}"),
                call["name"],
                parse_arguments(call.get("args") or {}),
                signature if isinstance(signature, str) else None,
            )
        )
    return tuple(calls)


def usage_of(usage: Any) -> Usage | None:
    """Usage from `usageMetadata`: thinking billed as output, cached content counted in the input.

    Usage without `candidatesTokenCount` (or `promptTokenCount`) is half reported, which is no
    usage: the router books the reservation, as for the other clients.
    """
    if not isinstance(usage, dict):
        return None
    answer = token_count(usage.get("candidatesTokenCount"))
    thoughts = token_count(usage.get("thoughtsTokenCount", 0))
    cached = token_count(usage.get("cachedContentTokenCount", 0))
    if answer is None or thoughts is None or cached is None:
        return None
    tokens = usage_from(usage.get("promptTokenCount"), answer + thoughts)
    if tokens is None:
        return None
    return Usage(tokens.input_tokens, tokens.output_tokens, cached)


class ChunkDecoder:
    """Turns `GenerateContentResponse` chunks into deltas; keeps usage, finish reason and model."""

    def __init__(self) -> None:
        """Start with nothing seen."""
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.model: str | None = None
        self.blocked: str | None = None
        self.calls: list[ToolCall] = []
        self.done = False

    def feed(self, data: Any) -> list[ProviderDelta]:
        """Deltas of one chunk."""
        if not isinstance(data, dict):
            raise TypeError("a stream chunk is not an object")
        feedback = data.get("promptFeedback")
        if isinstance(feedback, dict) and feedback.get("blockReason"):
            self.blocked = str(feedback["blockReason"])
        if isinstance(data.get("modelVersion"), str):
            self.model = data["modelVersion"]
        if (usage := usage_of(data.get("usageMetadata"))) is not None:
            self.usage = usage
        candidates = data.get("candidates")
        if not isinstance(candidates, list) or not candidates:
            return []
        candidate = candidates[0] if isinstance(candidates[0], dict) else {}
        if candidate.get("finishReason"):
            self.finish_reason = str(candidate["finishReason"])
            self.done = True
        content = candidate.get("content")
        parts = content.get("parts") if isinstance(content, dict) else None
        deltas: list[ProviderDelta] = []
        for part in parts or ():
            if not isinstance(part, dict):
                continue
            if isinstance(text := part.get("text"), str) and text:
                deltas.append(
                    ReasoningDelta(text) if part.get("thought") else TextDelta(text)
                )
        for call in tool_calls(parts or [], len(self.calls)):
            deltas.append(
                ToolCallDelta(
                    len(self.calls),
                    call.id,
                    call.name,
                    orjson.dumps(dict(call.arguments)).decode(),
                )
            )
            self.calls.append(call)
        return deltas
