"""Test a provider's connection with its free model-list call and name the form error a failure shows."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .const import LOGGER
from .credentials import sends_key_in_clear
from .providers import PROVIDER_CLASSES, create_provider
from .router.errors import (
    AuthError,
    BadRequestError,
    MalformedResponseError,
    NetworkError,
    ProviderError,
    ProviderTimeoutError,
)

# Errors of the connection test that the base URL field shows.
URL_ERRORS = frozenset({"invalid_base_url", "key_in_clear"})


async def async_test_provider(
    hass: HomeAssistant,
    kind: str,
    *,
    api_key: str | None,
    base_url: str | None,
    model: str = "",
) -> tuple[str | None, tuple[str, ...]]:
    """Test a provider with its free model-list call; return the form error (or None) and its models.

    A key is never sent over plain http to a public host ("key_in_clear"): the test refuses before
    any request goes out. Shared by the provider flow and the key repair flow.
    """
    if api_key and sends_key_in_clear(
        base_url or PROVIDER_CLASSES[kind].default_base_url
    ):
        return "key_in_clear", ()
    try:
        provider = create_provider(
            kind,
            async_get_clientsession(hass),
            name="setup",
            model=model,
            api_key=api_key,
            base_url=base_url,
        )
    except ValueError:
        return "invalid_base_url", ()
    try:
        health = await provider.health()
    except ProviderError as err:
        LOGGER.debug(
            "Testing %s failed: %s%s",
            kind,
            err.category,
            "" if err.status is None else f" (HTTP {err.status})",
        )
        return connection_error(err), ()
    except Exception:  # noqa: BLE001 - the flow must show an error, not crash
        LOGGER.exception("Unexpected error while testing %s", kind)
        return "unknown", ()
    return None, health.models


def connection_error(err: ProviderError) -> str:
    """Name the form error of a failed connection test: what the user should look at."""
    if isinstance(err, AuthError):
        return "invalid_auth"
    if isinstance(err, (NetworkError, ProviderTimeoutError)):
        return "cannot_connect"
    if isinstance(err, (BadRequestError, MalformedResponseError)):
        # Something answered, but not as this provider's API would: a 404 or 405, a redirect, an
        # HTML page, JSON of another shape. The base URL's path is wrong.
        return "wrong_endpoint"
    # Rate limited, overloaded or failing: the right API, unable to answer now.
    return "provider_unavailable"
