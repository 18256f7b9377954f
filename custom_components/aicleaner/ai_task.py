"""The AI Task entity: `ai_task.generate_data` served by the router, structured answers validated.

A task becomes one router request (strategies, failover, budgets, breakers and cache all apply);
attachments become the request's images. With a `structure`, the provider is asked for JSON and the
answer is validated against it: an answer that does not validate counts as a failed attempt, and the
task goes back to the router without the provider that gave it. That retry lives here, not in
`router/`: the structure is a Home Assistant schema (selectors), and the router's one loop stays about
transport failures; each pass is an ordinary routed request, so the next provider is still chosen by
the strategy and admitted by its breaker, limits and budget.
"""

from __future__ import annotations

from contextvars import ContextVar
from functools import partial
import json
import time
from typing import Any, Final

from homeassistant.components import ai_task, conversation
from homeassistant.core import Context, HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import llm
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
import probatio

from .const import CONF_ADMIN_ONLY, CONF_ENABLED, DOMAIN
from .entity import AICleanerEntity
from .error_messages import as_ha_error
from .image_inputs import read_image_file
from .router.errors import AICleanerError, AllProvidersFailed, ErrorCategory
from .router.models import AIRequest, AIResponse, Attempt, AttemptOutcome, ImageInput
from .runtime import AICleanerConfigEntry, AICleanerRuntimeData
from .services import provider_names
from .subentries import provider_subentries

PARALLEL_UPDATES = 0

AI_TASK: Final = EntityDescription(key="ai_task", name=None)
# Room for a structured answer: a JSON object of several fields.
MAX_TOKENS: Final = 2048
# The caller of the task running in the current asyncio task (set at the start of its call).
_TASK_CONTEXT: ContextVar[Context | None] = ContextVar(
    "aicleaner_ai_task_context", default=None
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: AICleanerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the router's AI Task entity."""
    async_add_entities([AICleanerTaskEntity(entry.runtime_data.coordinator, AI_TASK)])


def structure_instruction(structure: probatio.Schema) -> str:
    """Tell the model the shape of the JSON object the structure accepts."""
    schema = probatio.to_openapi(
        structure,
        custom_serializer=llm.selector_serializer,
        openapi_version="3.1.0",
    )
    return (
        "Answer with one JSON object that matches this JSON schema: "
        f"{json.dumps(schema, separators=(',', ':'), sort_keys=True)}"
    )


class AICleanerTaskEntity(ai_task.AITaskEntity, AICleanerEntity):
    """Generates data with whichever provider the router picks."""

    _attr_supported_features = (
        ai_task.AITaskEntityFeature.GENERATE_DATA
        | ai_task.AITaskEntityFeature.SUPPORT_ATTACHMENTS
    )

    async def _async_generate_data(
        self,
        task: ai_task.GenDataTask,
        chat_log: conversation.ChatLog,
    ) -> ai_task.GenDataTaskResult:
        """Answer the task; with a structure, only with data that validates against it."""
        # The caller of this task, never the entity's `_context`: the entity is shared, and a
        # concurrent task replaces that at its own start (see `async_set_context`).
        caller = _TASK_CONTEXT.get()
        entry = self.coordinator.config_entry
        # Taken before any await: the entry may unload meanwhile (its calls are then refused).
        runtime = entry.runtime_data
        router = runtime.router
        names = provider_names(entry)
        images = await self._async_images(task.attachments or [])
        structure = task.structure
        remaining = await self._async_allowed(entry, runtime, caller)
        # One deadline for every pass, as for a single request.
        deadline = time.monotonic() + router.config.request_timeout
        tried: list[Attempt] = []
        while True:
            request = AIRequest(
                prompt=task.instructions,
                system_prompt=None
                if structure is None
                else structure_instruction(structure),
                images=images,
                max_tokens=MAX_TOKENS,
                json_output=structure is not None,
                allowed_providers=frozenset(remaining),
                tags=frozenset({"ai_task"}),
                timeout=max(deadline - time.monotonic(), 1.0),
            )
            try:
                response = await runtime.inflight.run(router.process(request))
            except AICleanerError as err:
                failure = err
                if tried and isinstance(err, AllProvidersFailed):
                    failure = AllProvidersFailed(
                        request.request_id, (*tried, *err.attempts)
                    )
                raise as_ha_error(failure, router, names) from err
            data = _validated(structure, response)
            if data is not _INVALID:
                break
            # Never served again from the cache: the next identical task would fail the same way.
            router.forget(request)
            # The provider answered, but not with the asked structure: the next one may.
            tried += [a for a in response.attempts if a.provider != response.provider]
            tried.append(
                Attempt(
                    response.provider,
                    AttemptOutcome.ERROR,
                    ErrorCategory.WRONG_FORMAT,
                    latency_ms=response.latency_ms,
                )
            )
            remaining.discard(response.provider)
            if not remaining:
                failure = AllProvidersFailed(request.request_id, tuple(tried))
                raise as_ha_error(failure, router, names) from None
        chat_log.async_add_assistant_content_without_tools(
            conversation.AssistantContent(
                agent_id=self.entity_id, content=response.text
            )
        )
        return ai_task.GenDataTaskResult(
            conversation_id=chat_log.conversation_id, data=data
        )

    @callback
    def async_set_context(self, context: Context) -> None:
        """Keep the caller of the task starting now in its own asyncio task, then as HA does.

        HA sets the context of each task's call on the entity; a task that awaits would read a
        later task's there. A context variable is per asyncio task: each task keeps its own.
        """
        _TASK_CONTEXT.set(context)
        super().async_set_context(context)

    async def _async_allowed(
        self,
        entry: AICleanerConfigEntry,
        runtime: AICleanerRuntimeData,
        caller: Context | None,
    ) -> set[str]:
        """Return the enabled providers the caller may use (admin-only ones: an admin or no user)."""
        user_id = None if caller is None else caller.user_id
        user = None if user_id is None else await self.hass.auth.async_get_user(user_id)
        is_admin = user_id is None or (user is not None and user.is_admin)
        running = set(runtime.router.provider_names)
        allowed = {
            key
            for key, subentry in provider_subentries(entry).items()
            if key in running
            and subentry.data.get(CONF_ENABLED, True)
            and (is_admin or not subentry.data.get(CONF_ADMIN_ONLY, False))
        }
        if not allowed:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="providers_disabled"
            )
        return allowed

    async def _async_images(
        self, attachments: list[conversation.Attachment]
    ) -> tuple[ImageInput, ...]:
        """Read each attachment as an image; the AI Task integration resolved them to files."""
        images: list[ImageInput] = []
        for attachment in attachments:
            if not attachment.mime_type.startswith("image/"):
                raise ServiceValidationError(
                    translation_domain=DOMAIN,
                    translation_key="attachment_not_image",
                    translation_placeholders={
                        "media_content_id": attachment.media_content_id,
                        "mime_type": attachment.mime_type,
                    },
                )
            # Files HA resolved itself (a snapshot, a media folder): no allowlist applies.
            images.append(
                await self.hass.async_add_executor_job(
                    partial(
                        read_image_file,
                        self.hass,
                        str(attachment.path),
                        check_allowlist=False,
                    )
                )
            )
        return tuple(images)


_INVALID: Final = object()


def _validated(structure: probatio.Schema | None, response: AIResponse) -> Any:
    """Return the task's data: the text, or the JSON the structure accepts; else `_INVALID`."""
    if structure is None:
        return response.text
    if not isinstance(response.data, dict):
        return _INVALID
    try:
        return structure(response.data)
    except Exception:  # noqa: BLE001 - selectors written for people's input raise more than Invalid
        # e.g. a `target` selector given a number raises TypeError: the answer does not validate.
        return _INVALID
