"""Router requests in flight for one loaded entry: an unload waits for them before the last save.

Each request runs in its own task, so an unload can wait for it (within `UNLOAD_WAIT`) and then
cancel what is left: a cancelled call commits its reservation, an upper bound of its cost, to the
router. Either way every call's cost is in the router before the ledger's last save. Once closed,
no new request starts on this (old) router.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, Final

from homeassistant.exceptions import HomeAssistantError

from .const import DOMAIN, LOGGER

# Seconds an unload waits for requests in flight before it cancels them.
UNLOAD_WAIT: Final = 10.0
# Seconds a cancelled request gets to settle its cost.
CANCEL_WAIT: Final = 2.0


def not_loaded() -> HomeAssistantError:
    """Return the error of a request that found its entry unloaded (reloaded, disabled, deleted)."""
    return HomeAssistantError(
        translation_domain=DOMAIN, translation_key="unloaded_during_request"
    )


class InFlight:
    """Runs router calls as tasks it can wait for and cancel at unload."""

    def __init__(self) -> None:
        """Start open, with nothing in flight."""
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    @property
    def closed(self) -> bool:
        """Whether the entry unloaded: no new request may start."""
        return self._closed

    def __len__(self) -> int:
        """Return the number of calls in flight."""
        return len(self._tasks)

    async def run[T](self, call: Coroutine[Any, Any, T]) -> T:
        """Run one router call; refused (`not_loaded`) once the entry is unloading."""
        if self._closed:
            call.close()
            raise not_loaded()
        task = asyncio.get_running_loop().create_task(call)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        try:
            # A caller cancelled while waiting cancels its call too (Task.cancel does).
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if task.cancelled() and (current is None or not current.cancelling()):
                # Cancelled by the unload, not by the caller: say so, as an error.
                raise not_loaded() from None
            raise

    async def async_close(self) -> None:
        """Refuse new calls, wait for those in flight, then cancel and settle what is left."""
        self._closed = True
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=UNLOAD_WAIT)
        if not pending:
            return
        LOGGER.warning(
            "Unloading with %d requests still running after %.0f s; they are cancelled and "
            "their reserved cost is booked",
            len(pending),
            UNLOAD_WAIT,
        )
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=CANCEL_WAIT)
