"""Daily budgets per provider and overall: reserve before a call, commit or release after it.

Every check-and-reserve runs without an `await`, so concurrent requests on one event loop cannot
both take the last dollars: spent + reserved never exceeds a limit as long as no call costs more
than its reservation. The router therefore reserves an upper bound of each call's cost (see
`estimate.py`), and charges that reservation for a failed call the provider billed (the error
class says so: `ProviderError.billed`). The ledger of the current day exports to plain data and
restores from it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

# Float sums of many small costs drift; a limit is met when within this many USD.
_EPSILON = 1e-9
# Past days whose spend is kept, in case the clock comes back to them.
_HISTORY_DAYS = 3

# The figures a ledger entry keeps per provider and day, as exported: its cost and these counts.
COUNT_FIELDS = ("input_tokens", "output_tokens", "requests", "failures")
LEDGER_FIELDS = ("cost", *COUNT_FIELDS)


@dataclass(slots=True)
class LedgerEntry:
    """Spend of one provider on one day: every call made, failed ones included."""

    cost: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    requests: int = 0
    failures: int = 0
    # Estimated cost of calls in flight.
    reserved: float = 0.0

    @property
    def tokens(self) -> int:
        """Input and output tokens together."""
        return self.input_tokens + self.output_tokens

    def settled(self) -> LedgerEntry:
        """Return a copy without what is in flight."""
        return LedgerEntry(
            self.cost,
            self.input_tokens,
            self.output_tokens,
            self.requests,
            self.failures,
        )


@dataclass(frozen=True, slots=True)
class Reservation:
    """Estimated cost set aside for one call."""

    provider: str
    amount: float


class BudgetLedger:
    """Today's spend per provider against optional per-provider and global daily limits."""

    __slots__ = (
        "_day",
        "_entries",
        "_global_limit",
        "_history",
        "_limits",
        "_today",
        "_total_cost",
        "_total_reserved",
    )

    def __init__(
        self,
        limits: Mapping[str, float | None],
        global_limit: float | None,
        today: Callable[[], date],
    ) -> None:
        """`today` returns the current date in the router's time zone."""
        self._limits = dict(limits)
        self._global_limit = global_limit
        self._today = today
        self._day = today()
        self._entries: dict[str, LedgerEntry] = {}
        self._total_cost = 0.0
        self._total_reserved = 0.0
        self._history: dict[date, tuple[dict[str, LedgerEntry], float]] = {}

    @property
    def day(self) -> date:
        """The day the ledger currently counts."""
        self._roll()
        return self._day

    @property
    def total_cost(self) -> float:
        """Cost committed today over every provider."""
        self._roll()
        return self._total_cost

    @property
    def global_limit(self) -> float | None:
        """The global daily limit in USD, if any."""
        return self._global_limit

    def set_limits(
        self, limits: Mapping[str, float | None], global_limit: float | None
    ) -> None:
        """Change the limits; spend so far stays."""
        self._limits = dict(limits)
        self._global_limit = global_limit

    def limit(self, provider: str) -> float | None:
        """Return the provider's daily limit in USD, if any."""
        return self._limits.get(provider)

    def entry(self, provider: str) -> LedgerEntry:
        """Today's spend of `provider`."""
        self._roll()
        entry = self._entries.get(provider)
        if entry is None:
            entry = self._entries[provider] = LedgerEntry()
        return entry

    def remaining(self, provider: str) -> float | None:
        """USD left today for `provider` under both limits, or None when neither applies."""
        entry = self.entry(provider)
        left: float | None = None
        limit = self._limits.get(provider)
        if limit is not None:
            left = limit - entry.cost - entry.reserved
        if self._global_limit is not None:
            global_left = self._global_limit - self._total_cost - self._total_reserved
            left = global_left if left is None else min(left, global_left)
        return None if left is None else max(0.0, left)

    def reserve(self, provider: str, amount: float) -> Reservation | None:
        """Set `amount` USD aside for one call, or return None when a limit would be exceeded."""
        entry = self.entry(provider)
        limit = self._limits.get(provider)
        if (
            limit is not None
            and entry.cost + entry.reserved + amount > limit + _EPSILON
        ):
            return None
        # The overall budget stops only calls that cost money: a free (local) provider keeps
        # serving once it is spent, as the overall budget's repair says.
        if (
            self._global_limit is not None
            and amount > 0
            and self._total_cost + self._total_reserved + amount
            > self._global_limit + _EPSILON
        ):
            return None
        entry.reserved += amount
        self._total_reserved += amount
        return Reservation(provider, amount)

    def commit(
        self,
        reservation: Reservation,
        cost: float,
        input_tokens: int,
        output_tokens: int,
        *,
        failed: bool = False,
    ) -> None:
        """Replace a reservation by the cost of the call it covered (a billed failure too)."""
        entry = self.entry(reservation.provider)
        self._unreserve(entry, reservation.amount)
        entry.cost += cost
        entry.input_tokens += input_tokens
        entry.output_tokens += output_tokens
        entry.requests += 1
        entry.failures += failed
        self._total_cost += cost

    def release(self, reservation: Reservation) -> None:
        """Drop the reservation of a call that failed without being billed."""
        entry = self.entry(reservation.provider)
        self._unreserve(entry, reservation.amount)
        entry.requests += 1
        entry.failures += 1

    def export(self) -> dict[str, Any]:
        """Export the ledger as plain data: today's and the kept past days' spend.

        Reservations in flight are not spend and are left out.
        """
        self._roll()
        return {
            "day": self._day.isoformat(),
            "providers": _export_entries(self._entries),
            "history": {
                day.isoformat(): _export_entries(entries)
                for day, (entries, _) in sorted(self._history.items())
            },
        }

    def restore(self, data: Mapping[str, Any]) -> bool:
        """Merge an exported ledger; return whether it held spend of a day this ledger keeps.

        Each figure becomes the larger of the recorded and the restored one, so spend never
        decreases: not when calls were booked before the restore, nor when a state is restored
        twice (adding would count it twice). Every day the data covers is merged, today's into
        today and earlier ones into the kept days, so a clock stepping back finds them again.
        When the data's latest day is later than the clock's (a device that booted with its clock
        behind, with no real-time clock), the ledger moves to that day and stays there until the
        clock catches up: a wrong clock must never grant a day's budget twice.
        """
        self._roll()
        days: dict[date, Mapping[str, Any]] = {}
        try:
            days[date.fromisoformat(str(data.get("day")))] = data.get("providers") or {}
            for day, providers in dict(data.get("history") or {}).items():
                days.setdefault(date.fromisoformat(str(day)), providers or {})
        except ValueError:
            return False
        latest = max(days)
        self._day = max(self._day, latest)
        kept_from = self._day - timedelta(days=_HISTORY_DAYS)
        loaded = False
        for day, providers in days.items():
            if day == self._day:
                self._merge(self._entries, providers)
                self._total_cost = sum(entry.cost for entry in self._entries.values())
            # Otherwise an earlier day: none is later, since self._day is the latest.
            elif day >= kept_from:
                kept = self._history.get(day)
                entries = {} if kept is None else kept[0]
                self._merge(entries, providers)
                self._history[day] = (
                    entries,
                    sum(entry.cost for entry in entries.values()),
                )
            else:
                continue
            loaded = True
        return loaded

    def _merge(
        self, entries: dict[str, LedgerEntry], providers: Mapping[str, Any]
    ) -> None:
        for name, values in dict(providers).items():
            entry = entries.setdefault(str(name), LedgerEntry())
            entry.cost = max(entry.cost, float(values.get("cost", 0.0)))
            for field in COUNT_FIELDS:
                setattr(
                    entry, field, max(getattr(entry, field), int(values.get(field, 0)))
                )

    def _unreserve(self, entry: LedgerEntry, amount: float) -> None:
        entry.reserved = max(0.0, entry.reserved - amount)
        self._total_reserved = max(0.0, self._total_reserved - amount)

    def _roll(self) -> None:
        """Follow the date; calls in flight keep their reservations.

        The last three days' spend (`_HISTORY_DAYS`) is kept by date, so a wall clock that jumps
        (NTP, a user testing a date, a DST or time zone change) and comes back finds that day's
        spend again instead of a fresh budget. An earlier day this ledger never counted is not started: stepping the clock
        back must not grant a budget twice.
        """
        today = self._today()
        if today == self._day:
            return
        history = self._history
        if today < self._day and today not in history:
            return
        history[self._day] = (
            {name: entry.settled() for name, entry in self._entries.items()},
            self._total_cost,
        )
        entries, total_cost = history.pop(today, ({}, 0.0))
        for name, entry in self._entries.items():
            if entry.reserved > 0:
                entries.setdefault(name, LedgerEntry()).reserved = entry.reserved
        self._entries = entries
        self._total_cost = total_cost
        self._day = today
        while len(history) > _HISTORY_DAYS:
            del history[min(history)]


def _export_entries(entries: Mapping[str, LedgerEntry]) -> dict[str, dict[str, Any]]:
    return {
        name: {field: getattr(entry, field) for field in LEDGER_FIELDS}
        for name, entry in entries.items()
    }
