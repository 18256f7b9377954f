"""An Assist agent's own daily budget for paid providers: reserve an upper bound, then settle it.

Each model call of a turn reserves the most it can cost on the dearest paid provider it may use,
before it is routed; a call that cannot reserve is routed to free providers only. The reservation is
settled at what the router booked for the answer, or kept whole when the call was cancelled or cut
with no answer, as the router books it then: the agent never spends past its budget, even with
several conversations at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date


class AgentBudget:
    """What one agent spent today and holds reserved; the day rolls at local midnight."""

    def __init__(self, limit: float, today: Callable[[], date]) -> None:
        """Start empty; `today` gives the local date."""
        self.limit = limit
        self._today = today
        self._day = today()
        self.spent = 0.0
        self.reserved = 0.0

    def _roll(self) -> None:
        day = self._today()
        if day != self._day:
            self._day = day
            self.spent = 0.0
            # Reservations of calls still running belong to yesterday's spend.
            self.reserved = 0.0

    def spent_today(self) -> float:
        """Return what the agent spent today, settled calls only."""
        self._roll()
        return self.spent

    def reserve(self, amount: float) -> float | None:
        """Hold `amount` if it fits in what is left today; return the held amount, or None."""
        self._roll()
        if self.spent + self.reserved + amount > self.limit:
            return None
        self.reserved += amount
        return amount

    def settle(self, held: float | None, cost: float) -> None:
        """End a call: free what it held and count what it cost (a free provider's: 0)."""
        self._roll()
        if held is not None:
            self.reserved = max(0.0, self.reserved - held)
        self.spent += cost

    def restore(self, day: date, spent: float) -> None:
        """Take back what was spent today before a restart (ignored when the day is past)."""
        if day == self._today():
            self._day = day
            self.spent = max(self.spent, spent)
