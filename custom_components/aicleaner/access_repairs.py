"""Repair issues for a provider that answers, but not for us: a model closed to its key, a spent quota.

Unlike a rejected key (`key_repairs`), neither says the key is wrong, so nothing asks for a new one:
- `model_access_<id>`: the provider said this key (its project or organisation) may not use the
  model (OpenAI's 403 "Project … does not have access to model …"). Requests fail over meanwhile.
- `quota_exhausted_<id>`: the provider said the account's quota or credit is spent (OpenAI
  `insufficient_quota`, Anthropic "credit balance is too low", Gemini's daily quota). The router
  pauses the provider for a long while and fails over meanwhile.
An issue appears after a request whose attempts say so, and goes when that provider answers again,
or when the entry is unloaded. Placeholders hold the provider's name and model, never upstream text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import CONF_MODEL, DOMAIN
from .router.errors import AICleanerError, ErrorCategory
from .router.models import AIResponse, AttemptOutcome
from .runtime import AICleanerConfigEntry

MODEL_ACCESS: Final = "model_access"
QUOTA_EXHAUSTED: Final = "quota_exhausted"
# The attempt category that raises each issue.
_RAISED_BY: Final = {
    ErrorCategory.MODEL_ACCESS: MODEL_ACCESS,
    ErrorCategory.QUOTA: QUOTA_EXHAUSTED,
}
ISSUE_KINDS: Final = (MODEL_ACCESS, QUOTA_EXHAUSTED)


def issue_id(kind: str, subentry_id: str) -> str:
    """Return the id of an access issue (`kind`: one of ISSUE_KINDS) of one provider subentry."""
    return f"{kind}_{subentry_id}"


@callback
def async_setup_access_checks(
    hass: HomeAssistant, entry: AICleanerConfigEntry
) -> Callable[[], None]:
    """Raise and clear the access issues from each request's attempts; return what undoes it."""

    @callback
    def _on_outcome(outcome: AIResponse | AICleanerError) -> None:
        attempts = getattr(outcome, "attempts", ())
        for attempt in attempts:
            kind = _RAISED_BY.get(attempt.category)
            subentry = entry.subentries.get(attempt.provider)
            if kind is not None and subentry is not None:
                ir.async_create_issue(
                    hass,
                    DOMAIN,
                    issue_id(kind, attempt.provider),
                    is_fixable=False,
                    is_persistent=False,
                    severity=ir.IssueSeverity.ERROR,
                    translation_key=kind,
                    translation_placeholders={
                        "name": subentry.title,
                        "model": str(subentry.data.get(CONF_MODEL) or ""),
                    },
                )
            elif attempt.outcome is AttemptOutcome.SUCCESS:
                # It answered: whatever closed it to us is over.
                for gone in ISSUE_KINDS:
                    ir.async_delete_issue(
                        hass, DOMAIN, issue_id(gone, attempt.provider)
                    )

    remove_listener = entry.runtime_data.router.add_listener(_on_outcome)

    @callback
    def _undo() -> None:
        remove_listener()
        for subentry_id in entry.subentries:
            for kind in ISSUE_KINDS:
                ir.async_delete_issue(hass, DOMAIN, issue_id(kind, subentry_id))

    return _undo
