"""What the real frontend pre-fills in a flow form, and whether it lets the user submit it untouched.

A port of the frontend's `computeInitialHaFormData` (src/components/ha-form/compute-initial-ha-form-data.ts,
as shipped in home-assistant-frontend 20260930) applied to the form exactly as HA serialises it for
the frontend (`probatio.to_field_list` with `cv.custom_serializer`, as the flow API views do). Tests
that post to the flow API never see what the frontend fills; these helpers do.
"""

from __future__ import annotations

from typing import Any

from homeassistant.helpers import config_validation as cv
import probatio


def serialized(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The form's fields as the flow API sends them to the frontend."""
    return list(
        probatio.to_field_list(
            result["data_schema"], custom_serializer=cv.custom_serializer
        )
    )


def _selector_initial(selector: dict[str, Any]) -> Any:
    """The frontend's fallback for a required field with neither suggestion nor default."""
    kind, config = next(iter(selector.items()))
    config = config or {}
    if kind == "boolean":
        return False
    if kind == "number":
        return config.get("min", 0)
    if kind == "text":
        return [] if config.get("multiple") else ""
    if kind == "select":
        options = config.get("options") or []
        if not options:
            return None
        first = options[0]
        value = first if isinstance(first, str) else first["value"]
        return [value] if config.get("multiple") else value
    return None


def initial_data(fields: list[dict[str, Any]]) -> dict[str, Any]:
    """What the frontend puts in the form before the user types anything."""
    data: dict[str, Any] = {}
    for field in fields:
        suggested = (field.get("description") or {}).get("suggested_value")
        if suggested is not None:
            data[field["name"]] = suggested
        elif "default" in field:
            data[field["name"]] = field["default"]
        elif field.get("type") == "expandable":
            inner = initial_data(field["schema"])
            if field.get("required") or inner:
                data[field["name"]] = inner
        elif field.get("required") and "selector" in field:
            value = _selector_initial(field["selector"])
            if value is not None:
                data[field["name"]] = value
    return data


def missing_required(fields: list[dict[str, Any]], data: dict[str, Any]) -> list[str]:
    """The required fields left empty: the frontend refuses "Not all required fields are filled in"."""
    missing: list[str] = []
    for field in fields:
        value = data.get(field["name"])
        if field.get("type") == "expandable":
            if field.get("required") or value is not None:
                missing += [
                    f"{field['name']}.{name}"
                    for name in missing_required(field["schema"], value or {})
                ]
        elif field.get("required") and value in (None, ""):
            missing.append(field["name"])
    return missing
