"""Router errors as Home Assistant exceptions: translated, saying what was tried, never upstream text.

One place for actions, and later the AI Task entity and repairs. A provider's own words can quote the
prompt, so only what the router classified goes into a message: each attempt's category and status.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .budget_repairs import usd
from .const import DOMAIN
from .router import Router
from .router.errors import (
    AICleanerError,
    AllProvidersFailed,
    BadRequestError,
    ErrorCategory,
)
from .router.models import Attempt

# How each category reads in a message about what was tried.
_REASONS: Final[Mapping[str, str]] = {
    ErrorCategory.AUTH: "API key rejected",
    ErrorCategory.RATE_LIMIT: "rate limited by the provider",
    ErrorCategory.OVERLOADED: "overloaded",
    ErrorCategory.PROVIDER: "server error",
    ErrorCategory.TIMEOUT: "timed out",
    ErrorCategory.NETWORK: "not reachable",
    ErrorCategory.BAD_REQUEST: "request refused",
    ErrorCategory.CONTENT_FILTER: "refused by its content filter",
    ErrorCategory.MALFORMED: "unreadable answer",
    ErrorCategory.EMPTY_RESPONSE: "empty answer",
    ErrorCategory.CONTEXT_LENGTH: "too long for its model",
    ErrorCategory.MODEL_ACCESS: "model not available to its key",
    ErrorCategory.QUOTA: "quota or credit spent",
    ErrorCategory.CUT_OFF: "answer cut off",
    ErrorCategory.WRONG_FORMAT: "answer in the wrong format",
    ErrorCategory.BUDGET: "daily budget spent",
    ErrorCategory.BREAKER_OPEN: "paused after repeated failures",
    ErrorCategory.RATE_LIMITED_LOCAL: "at its rate limit",
    ErrorCategory.DEADLINE: "out of time",
}


# A provider the caller may not use: left out of what the caller is told.
_NOT_ALLOWED: Final = "not allowed"
# Why a provider could not take a request at all, as the router says it (`refusals`), in words.
_REFUSALS: Final[Mapping[str, str]] = {
    "disabled": "is disabled",
    "not local": "is not local (the request is local only)",
    "no vision": "cannot read images",
}


def describe_attempt(attempt: Attempt, names: Mapping[str, str]) -> str:
    """One attempt in words: the provider's name, why it failed, and the HTTP status."""
    reason = _REASONS.get(attempt.category or "", attempt.category or attempt.outcome)
    status = f", HTTP {attempt.status}" if attempt.status is not None else ""
    return f"{names.get(attempt.provider, attempt.provider)}: {reason}{status}"


def as_ha_error(
    err: AICleanerError, router: Router, names: Mapping[str, str]
) -> HomeAssistantError:
    """Return the translated exception for a request the router could not answer.

    `names` maps provider keys to what people call them. The caller's own bad input (an image no
    provider takes) is a `ServiceValidationError`; everything else a `HomeAssistantError`.
    """
    if isinstance(err, BadRequestError):
        return ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="request_refused",
            translation_placeholders={
                "provider": names.get(err.provider, err.provider)
            },
        )
    if not isinstance(err, AllProvidersFailed):
        return HomeAssistantError(
            translation_domain=DOMAIN, translation_key="request_failed_unexpectedly"
        )
    attempts = err.attempts
    if attempts and all(a.category == ErrorCategory.BUDGET for a in attempts):
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="budget_exhausted",
            translation_placeholders={
                "budgets": _budgets(router, {a.provider for a in attempts}, names)
            },
        )
    if not attempts:
        # No provider could take the request at all (not local, no vision...): the request's own
        # demands were at fault, not a provider. Each provider's reason is named, except those the
        # caller may not use: a non-admin never learns an admin-only provider's name.
        return ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="no_provider_can_serve",
            translation_placeholders={
                "reasons": "; ".join(
                    f"{names.get(key, key)} {_REFUSALS.get(reason, reason)}"
                    for key, reason in sorted(
                        err.refusals.items(),
                        key=lambda item: names.get(item[0], item[0]),
                    )
                    if reason != _NOT_ALLOWED
                )
                or "none of the providers you may use can"
            },
        )
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="providers_failed",
        translation_placeholders={
            "attempts": "; ".join(describe_attempt(a, names) for a in attempts)
        },
    )


def _budgets(router: Router, keys: set[str], names: Mapping[str, str]) -> str:
    """Which budgets refused: each provider's own, or the global one."""
    summary = router.get_cost_summary()
    spent_out: list[str] = []
    for key in sorted(keys, key=lambda k: names.get(k, k)):
        costs = summary["provider_costs"].get(key, {})
        limit = costs.get("daily_budget")
        if limit is not None:
            spent_out.append(
                f"{names.get(key, key)} ({costs['total_cost']:.4f} of {usd(limit)} USD spent)"
            )
    global_limit = summary["global_daily_budget"]
    if global_limit is not None:
        spent_out.append(
            f"global ({summary['total_cost']:.4f} of {usd(global_limit)} USD spent)"
        )
    return "; ".join(spent_out)
