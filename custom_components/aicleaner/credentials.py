"""API keys at rest: Fernet tokens in config entry data, the data key in a private Store file.

Keys are decrypted only to build provider clients. A fingerprint (a short hash) identifies a key in
diagnostics without revealing it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
import hashlib
import os
from typing import Any, Final, TypedDict

from cryptography.fernet import Fernet, InvalidToken
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.singleton import singleton
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey
from yarl import URL

from .const import CONF_API_KEY_SET_AT, DOMAIN, LOGGER
from .providers.locality import is_private_host

STORAGE_KEY: Final = f"{DOMAIN}.credentials"
STORAGE_VERSION: Final = 1
DATA_CREDENTIALS: HassKey[CredentialVault] = HassKey(f"{DOMAIN}_credentials")


class _StoredKey(TypedDict):
    key: str


class CredentialError(HomeAssistantError):
    """A stored API key cannot be decrypted (the key file was lost or replaced)."""


def fingerprint(secret: str) -> str:
    """Return a short, non-reversible identifier of a key, safe to show."""
    return hashlib.sha256(secret.encode()).hexdigest()[:12]


class CredentialVault:
    """Encrypts and decrypts API keys with one Fernet key per Home Assistant installation."""

    def __init__(self, fernet: Fernet) -> None:
        """Use the given Fernet instance."""
        self._fernet = fernet

    def encrypt(self, secret: str) -> str:
        """Encrypt a key for storage in config entry data."""
        return self._fernet.encrypt(secret.encode()).decode()

    def key_data(self, secret: str) -> dict[str, str]:
        """Return the subentry data of a newly set key: its token and when it was set (UTC)."""
        return {
            CONF_API_KEY: self.encrypt(secret),
            CONF_API_KEY_SET_AT: dt_util.utcnow().isoformat(),
        }

    def decrypt(self, token: str) -> str:
        """Decrypt a stored key."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except (InvalidToken, ValueError) as err:
            raise CredentialError(
                translation_domain=DOMAIN, translation_key="credential_unreadable"
            ) from err


def key_set_at(data: Mapping[str, Any]) -> datetime | None:
    """Return when the subentry's key was set, if recorded."""
    value = data.get(CONF_API_KEY_SET_AT)
    return dt_util.parse_datetime(value) if isinstance(value, str) else None


def sends_key_in_clear(base_url: str | None) -> bool:
    """Tell whether a key sent to `base_url` would cross the internet unencrypted.

    Plain http is fine on this machine or the home network (a LAN Ollama or LocalAI), never to a
    public host: anyone on the way could read the key.
    """
    if not base_url:
        return False
    try:
        scheme = URL(base_url).scheme
    except ValueError:
        return False
    return scheme == "http" and not is_private_host(base_url)


@singleton(DATA_CREDENTIALS, async_=True)
async def async_get_vault(hass: HomeAssistant) -> CredentialVault:
    """Return the installation's vault, creating and saving its data key on first use.

    `singleton` makes concurrent first calls share one load, so only one data key is ever made.
    """
    # private=True: the file is written with mode 0600.
    store: Store[_StoredKey] = Store(
        hass, STORAGE_VERSION, STORAGE_KEY, private=True, atomic_writes=True
    )
    stored = await store.async_load()
    fernet = _fernet(stored)
    if fernet is None:
        if stored is not None:
            await _async_set_aside(hass, store)
        stored = {"key": Fernet.generate_key().decode()}
        await store.async_save(stored)
        fernet = Fernet(stored["key"].encode())
    return CredentialVault(fernet)


def _fernet(stored: Any) -> Fernet | None:
    """Return the saved data key, or None when there is none or it cannot be one."""
    try:
        return Fernet(stored["key"].encode())
    except AttributeError, KeyError, TypeError, ValueError:
        return None


async def _async_set_aside(hass: HomeAssistant, store: Store[_StoredKey]) -> None:
    """Keep an unusable data key file for recovery and start a new one, never failing setup.

    The keys it encrypted cannot be read any more: each of those providers gets the repair issue
    that asks for its key again (`key_repairs`), the others keep working.
    """
    kept = f"{store.path}.unreadable.{dt_util.utcnow().strftime('%Y%m%dT%H%M%S')}"
    try:
        await hass.async_add_executor_job(os.replace, store.path, kept)
    except FileNotFoundError:
        kept = "(not on disk)"
    LOGGER.error(
        "The API key store could not be read; it was set aside as %s and a new one started",
        kept,
    )
