"""The actions: `aicleaner.analyze`, `aicleaner.analyze_batch` and `aicleaner.get_metrics`.

Thin by design: validate, read the images, turn the call into a router request (the calling user's
access included), run it, and turn the answer or the error into a response or a translated exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, cast

from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.util.json import JsonValueType
import probatio

from .const import CONF_ADMIN_ONLY, CONF_ENABLED, DOMAIN, SELECTION_STRATEGIES
from .devices import async_device_id
from .error_messages import as_ha_error
from .image_inputs import async_read_images
from .metrics import in_ms_and_percent
from .router.errors import AICleanerError, AllProvidersFailed, BadRequestError
from .router.models import AIRequest, AIResponse
from .runtime import AICleanerConfigEntry, AICleanerRuntimeData
from .subentries import provider_subentries

SERVICE_ANALYZE: Final = "analyze"
SERVICE_ANALYZE_BATCH: Final = "analyze_batch"
SERVICE_GET_METRICS: Final = "get_metrics"
SERVICE_CHECK_HEALTH: Final = "check_health"
EVENT_ANALYSIS_COMPLETE: Final = "aicleaner_analysis_complete"
HISTORY_DAYS_SHOWN: Final = 30

# Ranges are checked in the handler, so that each refusal is a translated message of its own.
_RANGES: Final[Mapping[str, tuple[float, float]]] = {
    "max_tokens": (1, 131_072),
    "temperature": (0.0, 2.0),
    "timeout": (1.0, 600.0),
}
_LIST = probatio.All(cv.ensure_list, [cv.string])
# cv.entity_ids raises TypeError (not Invalid) for a value it cannot iterate, such as a number.
_ENTITY_IDS = probatio.All(probatio.Any(str, list), cv.entity_ids)


def _float(value: Any) -> float:
    """Coerce to a float; probatio's compiled Coerce(float) lets a huge int's OverflowError out."""
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError) as err:
        raise probatio.Invalid("expected float") from err


ANALYZE_FIELDS: Final = {
    probatio.Required("prompt"): cv.string,
    probatio.Optional("image_path"): _LIST,
    probatio.Optional("camera_entity_id"): _ENTITY_IDS,
    probatio.Optional("media_content_id"): _LIST,
    probatio.Optional("provider"): _LIST,
    probatio.Optional("strategy"): probatio.In(SELECTION_STRATEGIES),
    probatio.Optional("model"): cv.string,
    probatio.Optional("system_prompt"): cv.string,
    probatio.Optional("max_tokens"): probatio.Coerce(int),
    probatio.Optional("temperature"): _float,
    probatio.Optional("timeout"): _float,
    probatio.Optional("use_cache", default=True): cv.boolean,
    probatio.Optional("local_only", default=False): cv.boolean,
    probatio.Optional("tags"): _LIST,
    probatio.Optional("response_format", default="text"): probatio.In(("text", "json")),
}
ANALYZE_SCHEMA: Final = probatio.Schema(ANALYZE_FIELDS)
BATCH_SCHEMA: Final = probatio.Schema(
    {
        probatio.Required("requests"): probatio.All(
            cv.ensure_list, probatio.Length(min=1, max=50), [ANALYZE_SCHEMA]
        ),
        probatio.Optional("batch_size"): probatio.All(
            probatio.Coerce(int), probatio.Range(min=1, max=50)
        ),
    }
)


def _invalid(key: str, **placeholders: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=placeholders,
    )


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions; they find the loaded entry when called."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_ANALYZE,
        _async_analyze,
        schema=ANALYZE_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_ANALYZE_BATCH,
        _async_analyze_batch,
        schema=BATCH_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_GET_METRICS,
        _async_get_metrics,
        supports_response=SupportsResponse.ONLY,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_CHECK_HEALTH,
        _async_check_health,
        supports_response=SupportsResponse.OPTIONAL,
    )


def _loaded_entry(hass: HomeAssistant) -> AICleanerConfigEntry:
    entries: list[AICleanerConfigEntry] = hass.config_entries.async_loaded_entries(
        DOMAIN
    )
    if not entries:
        raise _invalid("not_loaded")
    return entries[0]


def provider_names(entry: AICleanerConfigEntry) -> dict[str, str]:
    """Return what people call each provider, by router key; unique even if titles clash."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for key, subentry in provider_subentries(entry).items():
        name = subentry.title
        if name in taken:
            name = f"{name} ({key[-6:]})"
        taken.add(name)
        names[key] = name
    return names


def _provider_key(hass: HomeAssistant, entry: AICleanerConfigEntry, name: str) -> str:
    """Find the provider a call names: its name, its device or its subentry id.

    A name matches in any case, an exact match first; a device is what the action form's picker gives.
    """
    subentries = entry.subentries
    if name in subentries:
        return name
    device = dr.async_get(hass).async_get(name)
    if device is not None:
        # Each provider is a service device of its own subentry; the router's belongs to none.
        for subentry_id in device.config_entries_subentries.get(entry.entry_id, ()):
            if subentry_id is not None and subentry_id in subentries:
                return subentry_id
    folded = name.strip().casefold()
    matches = [
        key
        for key, subentry in subentries.items()
        if subentry.title.casefold() == folded
    ]
    exact = [key for key in matches if subentries[key].title == name]
    if found := exact or matches:
        return found[0]
    names = ", ".join(sorted(subentry.title for subentry in subentries.values()))
    raise _invalid("provider_unknown", name=name, names=names)


@dataclass(frozen=True, slots=True)
class _Call:
    """One validated analyze request and what its answer needs to be reported."""

    request: AIRequest
    json: bool


async def _async_build(
    hass: HomeAssistant,
    entry: AICleanerConfigEntry,
    data: Mapping[str, Any],
    *,
    is_admin: bool,
) -> _Call:
    """Check one analyze request against the entry, read its images, and build the router request."""
    # Taken before any await: the entry may unload while the images are read.
    runtime = entry.runtime_data
    prompt = data["prompt"].strip()
    if not prompt:
        raise _invalid("prompt_empty")
    for field, (low, high) in _RANGES.items():
        if field in data and not low <= data[field] <= high:
            raise _invalid(
                "value_out_of_range", field=field, min=f"{low:g}", max=f"{high:g}"
            )
    subentries = provider_subentries(entry)
    if not subentries:
        raise _invalid("no_providers")
    order = tuple(
        _provider_key(hass, entry, name) for name in data.get("provider") or []
    )
    allowed = {
        key
        for key, subentry in subentries.items()
        if (not order or key in order) and _may_use(subentry, is_admin=is_admin)
    }
    if not allowed:
        raise _invalid("providers_not_allowed")
    # A provider whose key cannot be read is not in the router (it has a repair issue).
    running = set(runtime.router.provider_names)
    if not any(
        key in running and subentries[key].data.get(CONF_ENABLED, True)
        for key in allowed
    ):
        raise _invalid("providers_disabled")
    images = await async_read_images(
        hass,
        paths=data.get("image_path") or [],
        cameras=data.get("camera_entity_id") or [],
        media_ids=data.get("media_content_id") or [],
    )
    router = runtime.router
    if images and not any(
        key in running
        and subentries[key].data.get(CONF_ENABLED, True)
        and router.provider_capabilities(key, data.get("model")).vision
        for key in allowed
    ):
        raise _invalid("no_vision_provider")
    wants_json = data["response_format"] == "json"
    request = AIRequest(
        prompt=prompt,
        system_prompt=data.get("system_prompt") or None,
        images=images,
        model=data.get("model") or None,
        json_output=wants_json,
        provider_order=order,
        allowed_providers=frozenset(allowed),
        strategy=data.get("strategy"),
        tags=frozenset(data.get("tags") or ()),
        local_only=data["local_only"],
        use_cache=data["use_cache"],
        timeout=data.get("timeout"),
        **({"max_tokens": data["max_tokens"]} if "max_tokens" in data else {}),
        **({"temperature": data["temperature"]} if "temperature" in data else {}),
    )
    return _Call(request, wants_json)


def _may_use(subentry: ConfigSubentry, *, is_admin: bool) -> bool:
    return is_admin or not subentry.data.get(CONF_ADMIN_ONLY, False)


def _response(
    response: AIResponse, names: Mapping[str, str], *, json: bool
) -> dict[str, Any]:
    """Return an answer as the action returns it."""
    result: dict[str, Any] = {
        "text": response.text,
        "provider": names.get(response.provider, response.provider),
        "model": response.model,
        "request_id": response.request_id,
        "tokens": {
            "input": response.usage.input_tokens,
            "output": response.usage.output_tokens,
        },
        "cost": response.cost,
        "cost_estimated": response.cost_estimated,
        "cost_source": response.cost_source.value,
        "latency_ms": round(response.latency_ms, 1),
        "cached": response.cached,
        "finish_reason": response.finish_reason,
        "attempts": [
            {
                "provider": names.get(attempt.provider, attempt.provider),
                "outcome": attempt.outcome.value,
                "category": attempt.category,
                "status": attempt.status,
                "latency_ms": round(attempt.latency_ms, 1),
            }
            for attempt in response.attempts
        ],
    }
    if json:
        result["data"] = response.data
    return result


def _fire_complete(
    hass: HomeAssistant,
    entry: AICleanerConfigEntry,
    request: AIRequest,
    response: AIResponse | None,
) -> None:
    """Tell the event bus a request ended: identifiers and figures, never its text or images.

    `device_id` ties it to the device of the provider that answered (the router's when none did),
    so that device's logbook lists it.
    """
    names = provider_names(entry)
    hass.bus.async_fire(
        EVENT_ANALYSIS_COMPLETE,
        {
            "device_id": async_device_id(
                hass,
                entry.entry_id,
                entry.entry_id if response is None else response.provider,
            ),
            "request_id": request.request_id,
            "provider": None
            if response is None
            else names.get(response.provider, response.provider),
            "model": None if response is None else response.model,
            "cost": 0.0 if response is None else response.cost,
            "latency_ms": None if response is None else round(response.latency_ms, 1),
            "cached": False if response is None else response.cached,
            "success": response is not None,
        },
    )


async def _async_is_admin(hass: HomeAssistant, call: ServiceCall) -> bool:
    """Whether the caller may use admin-only providers: an admin, or no user (an automation)."""
    user_id = call.context.user_id
    if user_id is None:
        return True
    user = await hass.auth.async_get_user(user_id)
    return user is not None and user.is_admin


async def _async_run(
    hass: HomeAssistant,
    entry: AICleanerConfigEntry,
    runtime: AICleanerRuntimeData,
    call: _Call,
) -> AIResponse:
    names = provider_names(entry)
    try:
        # On the router of the entry as loaded when the call began; refused once it unloads.
        response = await runtime.inflight.run(runtime.router.process(call.request))
    except AICleanerError as err:
        _fire_complete(hass, entry, call.request, None)
        raise as_ha_error(err, runtime.router, names) from err
    _fire_complete(hass, entry, call.request, response)
    return response


async def _async_analyze(call: ServiceCall) -> ServiceResponse:
    hass = call.hass
    entry = _loaded_entry(hass)
    runtime = entry.runtime_data
    built = await _async_build(
        hass, entry, call.data, is_admin=await _async_is_admin(hass, call)
    )
    response = await _async_run(hass, entry, runtime, built)
    return _response(response, provider_names(entry), json=built.json)


async def _async_analyze_batch(call: ServiceCall) -> ServiceResponse:
    """Answer many requests; each result is its answer or its error, in input order."""
    hass = call.hass
    entry = _loaded_entry(hass)
    runtime = entry.runtime_data
    is_admin = await _async_is_admin(hass, call)
    names = provider_names(entry)
    router = runtime.router
    limit = call.data.get("batch_size")
    built: list[_Call | HomeAssistantError] = []
    for data in call.data["requests"]:
        try:
            built.append(await _async_build(hass, entry, data, is_admin=is_admin))
        except HomeAssistantError as err:
            built.append(err)
    to_run = [item for item in built if isinstance(item, _Call)]
    # Items built while the entry unloaded never run on its old router: the batch is refused.
    outcomes = iter(
        await runtime.inflight.run(
            router.process_batch([item.request for item in to_run], limit)
        )
    )
    results: list[dict[str, Any]] = []
    for item in built:
        if isinstance(item, HomeAssistantError):
            results.append(_error_result(item, "invalid_input"))
            continue
        outcome = next(outcomes)
        if isinstance(outcome, AIResponse):
            _fire_complete(hass, entry, item.request, outcome)
            results.append(_response(outcome, names, json=item.json))
            continue
        _fire_complete(hass, entry, item.request, None)
        if isinstance(outcome, AICleanerError):
            category = (
                "invalid_input"
                if isinstance(outcome, BadRequestError)
                else _category(outcome)
            )
            results.append(_error_result(as_ha_error(outcome, router, names), category))
        else:
            results.append(
                _error_result(
                    HomeAssistantError(
                        translation_domain=DOMAIN,
                        translation_key="request_failed_unexpectedly",
                    ),
                    "unexpected",
                )
            )
    return {"results": cast("list[JsonValueType]", results)}


def _category(err: AICleanerError) -> str:
    if isinstance(err, AllProvidersFailed) and err.attempts:
        categories = {attempt.category for attempt in err.attempts}
        return str(categories.pop()) if len(categories) == 1 else "all_failed"
    return "no_provider"


def _error_result(err: HomeAssistantError, category: str) -> dict[str, Any]:
    return {"error": {"message": str(err), "category": category}}


async def _async_get_metrics(call: ServiceCall) -> ServiceResponse:
    """Return the router's performance, today's costs and the last 30 days from the ledger."""
    entry = _loaded_entry(call.hass)
    runtime = entry.runtime_data
    names = provider_names(entry)
    performance = runtime.router.get_performance_metrics()
    # Times in ms and shares in %, as everywhere else (the router counts seconds and 0–1).
    performance["overall_stats"] = in_ms_and_percent(performance["overall_stats"])
    performance["providers"] = {
        names.get(key, key): in_ms_and_percent(figures)
        for key, figures in performance["providers"].items()
    }
    today = runtime.router.get_cost_summary()
    today["provider_costs"] = {
        names.get(key, key): figures for key, figures in today["provider_costs"].items()
    }
    history: list[dict[str, Any]] = []
    total = 0.0
    for day, providers in runtime.ledger.days(HISTORY_DAYS_SHOWN).items():
        cost = sum(float(figures.get("cost", 0.0)) for figures in providers.values())
        total += cost
        history.append(
            {
                "date": day,
                "cost": cost,
                "providers": {
                    names.get(key, key): figures for key, figures in providers.items()
                },
            }
        )
    return cast(
        "ServiceResponse",
        {
            "performance": performance,
            "costs": {
                "today": today,
                "last_30_days": history,
                "total_last_30_days": total,
            },
        },
    )


async def _async_check_health(call: ServiceCall) -> ServiceResponse:
    """Make every provider's health call now; return the overall health and each provider's.

    `last_error` is a category (`auth`, `timeout`...), never the provider's own words.
    """
    entry = _loaded_entry(call.hass)
    data = await entry.runtime_data.coordinator.async_check_now()
    names = provider_names(entry)
    return {
        "overall_health": data.overall_health.value,
        "providers": {
            names.get(key, health.name): {
                "status": health.status.value,
                "latency_ms": None
                if health.latency_ms is None
                else round(health.latency_ms, 1),
                "breaker": health.stats.breaker_state,
                "last_error": health.last_error,
            }
            for key, health in data.providers.items()
        },
    }
