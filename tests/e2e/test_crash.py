"""A real `hass` under traffic: a restart keeps every answered cost, a SIGKILL loses at most 2 s.

Client threads call `aicleaner.analyze` over REST without pause and note each answer's cost and the
moment it came back. The ledger is then read back from the restarted process (`get_metrics`) and from
`.storage/aicleaner.ledger`, and compared with those answers: an answer that came back before the
stop (or more than `LOSS_BOUND` seconds before the kill) must be in it, and no call may be counted
twice. The kill rounds print the loss window they measured (`-s` shows it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
import json
import math
import os
from pathlib import Path
import signal
import threading
import time
from typing import Self
import urllib.error

import pytest
import pytest_socket

from custom_components.aicleaner.providers.pricing import openai_price
from custom_components.aicleaner.storage import STORAGE_KEY

from .hass_process import HassProcess, HttpError, provider_simulator

PROVIDER = "OpenAI (simulated)"
MODEL = "gpt-5.4-mini"
# Every call asks for at most this many output tokens, which bounds what a call in flight reserves.
MAX_TOKENS = 64
# Most input tokens one call can carry: its short prompt, the default system prompt, formatting.
INPUT_BOUND = 4_000
# Most a single call can be charged: its reservation (a billed failure or a cancelled call commits
# that; an answered call commits its actual cost, which is lower).
CALL_BOUND = openai_price(MODEL).cost(INPUT_BOUND, MAX_TOKENS)
# The bound: a SIGKILL loses at most the last 2 s of ledger updates.
LOSS_BOUND = 2.0
THREADS = 3
# Float sums of the same costs in another order differ in the last bits.
EPSILON = 1e-9
# Seconds of traffic before each SIGKILL: three phases against the ledger's save timer.
KILL_AFTER = (2.3, 3.1, 3.7)


@dataclass(frozen=True, slots=True)
class Call:
    """One `aicleaner.analyze` call as the client saw it (monotonic seconds)."""

    sent: float
    returned: float
    # The answer's cost; None when the call failed.
    cost: float | None
    # Whether the request may have reached hass (False: the connection was refused).
    reached: bool


class Traffic:
    """Client threads calling `aicleaner.analyze` back to back until stopped."""

    def __init__(self, hass: HassProcess, tag: str) -> None:
        self._hass = hass
        self._tag = tag
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.calls: list[Call] = []
        self._threads = [
            threading.Thread(target=self._run, args=(number,), daemon=True)
            for number in range(THREADS)
        ]

    def __enter__(self) -> Self:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop the threads and wait for their last calls to end."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def _run(self, number: int) -> None:
        count = 0
        while not self._stop.is_set():
            count += 1
            sent = time.monotonic()
            cost: float | None = None
            reached = True
            try:
                cost = float(
                    self._hass.request(
                        "POST",
                        "/api/services/aicleaner/analyze?return_response",
                        {
                            "prompt": f"{self._tag} {number}-{count}: what needs cleaning?",
                            "provider": PROVIDER,
                            "use_cache": False,
                            "max_tokens": MAX_TOKENS,
                        },
                    )["service_response"]["cost"]
                )
            except urllib.error.URLError as err:
                reached = not isinstance(err.reason, ConnectionRefusedError)
            except HttpError, OSError:
                pass
            call = Call(sent, time.monotonic(), cost, reached)
            with self._lock:
                self.calls.append(call)
            if cost is None:
                time.sleep(0.05)  # hass is stopping or starting: do not spin

    def answered(self) -> list[Call]:
        """The answered calls, in the order they came back."""
        with self._lock:
            calls = [call for call in self.calls if call.cost is not None]
        return sorted(calls, key=lambda call: call.returned)

    def wait_for_answers(self, count: int, timeout: float = 30.0) -> None:
        """Wait until `count` calls have been answered."""
        deadline = time.monotonic() + timeout
        while len(self.answered()) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"fewer than {count} answers in {timeout}s")
            time.sleep(0.05)


def total(calls: list[Call]) -> float:
    """The cost of the answered calls among `calls`."""
    return math.fsum(call.cost for call in calls if call.cost is not None)


@dataclass(frozen=True, slots=True)
class Spend:
    """What the ledger holds over the days it keeps: cost and calls counted."""

    cost: float
    requests: int


def ledger_in_hass(hass: HassProcess) -> Spend:
    """The ledger as the running hass reports it (`aicleaner.get_metrics`, last 30 days)."""
    costs = hass.request(
        "POST", "/api/services/aicleaner/get_metrics?return_response", {}
    )["service_response"]["costs"]
    days = costs["last_30_days"]
    return Spend(
        cost=math.fsum(day["cost"] for day in days),
        requests=sum(
            int(figures.get("requests", 0))
            for day in days
            for figures in day["providers"].values()
        ),
    )


def ledger_on_disk(config_dir: Path) -> Spend:
    """The ledger file as a restarted hass will read it, every day and provider."""
    path = config_dir / ".storage" / STORAGE_KEY
    days = json.loads(path.read_text(encoding="utf-8"))["data"]["days"]
    figures = [values for providers in days.values() for values in providers.values()]
    return Spend(
        cost=math.fsum(float(values["cost"]) for values in figures),
        requests=sum(int(values["requests"]) for values in figures),
    )


def wait_for_aicleaner(hass: HassProcess, timeout: float = 90.0) -> Spend:
    """Wait until the entry is loaded again (its actions answer); return the ledger it loaded."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return ledger_in_hass(hass)
        except HttpError, OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def assert_nothing_counted_twice(
    gained: Spend, calls: list[Call], answered: list[Call]
) -> None:
    """Each call that may have reached hass counted once at most, at its reservation at most.

    An answered call is charged its answer's cost; one whose answer was lost (in flight at the stop
    or kill) at most its reservation.
    """
    reached = sum(call.reached for call in calls)
    assert gained.requests <= reached, (gained, reached)
    unanswered = reached - len(answered)
    assert gained.cost <= total(answered) + unanswered * CALL_BOUND + EPSILON, (
        gained,
        total(answered),
        unanswered,
    )


def add_openai(hass: HassProcess, sim_port: int) -> None:
    """Add AICleaner and one OpenAI provider (the simulator, no limits) through the config flows."""
    flow = hass.request(
        "POST", "/api/config/config_entries/flow", {"handler": "aicleaner"}
    )
    entry = hass.request(
        "POST", f"/api/config/config_entries/flow/{flow['flow_id']}", {}
    )["result"]
    flow = hass.request(
        "POST",
        "/api/config/config_entries/subentries/flow",
        {"handler": [entry["entry_id"], "openai"]},
    )
    path = f"/api/config/config_entries/subentries/flow/{flow['flow_id']}"
    step = hass.request(
        "POST",
        path,
        {
            "name": PROVIDER,
            "base_url": f"http://127.0.0.1:{sim_port}/openai/v1",
            "api_key": "sk-crash-test",
        },
    )
    assert step.get("step_id") == "settings", step
    done = hass.request(
        "POST", path, {"model": MODEL, "enabled": True, "priority": 1, "weight": 1}
    )
    assert done["type"] == "create_entry", done


@pytest.fixture(scope="module")
def hass_with_openai(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HassProcess]:
    """A real hass with AICleaner and a simulated OpenAI, restarted once so all of it is on disk."""
    pytest_socket.enable_socket()
    with provider_simulator(record=False) as sim_port:
        hass = HassProcess(config_dir=tmp_path_factory.mktemp("hass-crash"))
        try:
            hass.start(timeout=180)
            hass.onboard()
            add_openai(hass, sim_port)
            # The owner's token and the entry are written with a delay: a kill before that would
            # lose them, which is not what these tests are about.
            hass.restart(timeout=180)
            wait_for_aicleaner(hass)
            yield hass
        finally:
            hass.stop()


def test_a_restart_under_traffic_keeps_every_answered_cost(
    hass_with_openai: HassProcess, socket_enabled: None
) -> None:
    hass = hass_with_openai
    before = wait_for_aicleaner(hass)

    with Traffic(hass, "restart") as traffic:
        traffic.wait_for_answers(30)
        hass.wait_until_running()
        stop_began = time.monotonic()
        hass.stop()
        old_gone = time.monotonic()
        hass.start(timeout=180)
        hass.wait_until_running(timeout=180)
        wait_for_aicleaner(hass)
        # The new process serves too, then the traffic ends.
        served_after = len(traffic.answered())
        traffic.wait_for_answers(served_after + 10)
    after = ledger_in_hass(hass)

    answered = traffic.answered()
    gained = Spend(after.cost - before.cost, after.requests - before.requests)
    old = [call for call in answered if call.returned < old_gone]
    new = [call for call in answered if call.returned >= old_gone]
    assert all(call.sent >= old_gone for call in new)
    before_stop = [call for call in answered if call.returned < stop_began]
    assert before_stop
    assert new
    restored = gained.cost - total(new)
    # The bound: nothing answered before the stop began is lost...
    assert restored + EPSILON >= total(before_stop), (restored, total(before_stop))
    # ...nor anything answered while hass was stopping (its final write comes after).
    assert restored + EPSILON >= total(old), (restored, total(old))
    assert gained.requests >= len(answered)
    assert_nothing_counted_twice(gained, traffic.calls, answered)
    print(
        f"\nrestart: {len(answered)} answers, {len(before_stop)} before the stop, "
        f"{len(old) - len(before_stop)} while stopping, {len(new)} after; "
        f"kept ${restored:.6f} of ${total(old):.6f} answered by the old process"
    )


def test_a_sigkill_under_traffic_loses_at_most_the_last_two_seconds(
    hass_with_openai: HassProcess, socket_enabled: None
) -> None:
    hass = hass_with_openai
    windows: list[float] = []
    for round_number, kill_after in enumerate(KILL_AFTER):
        before = wait_for_aicleaner(hass)
        assert hass.process is not None
        with Traffic(hass, f"kill{round_number}") as traffic:
            traffic.wait_for_answers(1)
            time.sleep(
                kill_after
            )  # traffic runs until the kill (no timing is asserted)
            killed_at = time.monotonic()
            killed_at_wall = time.time()
            os.kill(hass.process.pid, signal.SIGKILL)
            hass.process.wait(timeout=10)
        saved = ledger_on_disk(hass.config_dir)
        saved_at_wall = (hass.config_dir / ".storage" / STORAGE_KEY).stat().st_mtime

        hass.start(timeout=180)
        restored = wait_for_aicleaner(hass)
        # The restarted hass holds exactly what the file held at the kill.
        assert restored.cost == pytest.approx(saved.cost, abs=EPSILON)
        assert restored.requests == saved.requests

        answered = traffic.answered()
        gained = Spend(saved.cost - before.cost, saved.requests - before.requests)
        due = [call for call in answered if call.returned < killed_at - LOSS_BOUND]
        assert due, "no answer came back more than 2 s before the kill"
        # The bound: every answer older than 2 s at the kill is in the ledger.
        assert gained.cost + EPSILON >= total(due), (
            f"round {round_number}: the ledger gained ${gained.cost:.6f}, but the answers "
            f"returned over {LOSS_BOUND} s before the kill cost ${total(due):.6f}"
        )
        assert_nothing_counted_twice(gained, traffic.calls, answered)

        # The measured loss window: from the first answer (in return order) the ledger cannot
        # hold, to the kill.
        kept = 0.0
        first_lost = killed_at
        for call in answered:
            assert call.cost is not None
            kept += call.cost
            if kept > gained.cost + EPSILON:
                first_lost = call.returned
                break
        window = killed_at - first_lost
        windows.append(window)
        lost = [call for call in answered if call.returned >= first_lost]
        print(
            f"\nkill {round_number}: {len(answered)} answers in "
            f"{killed_at - answered[0].sent:.1f} s; lost the last {window:.2f} s "
            f"({len(lost)} answers, ${total(lost):.6f}); "
            f"the file was {killed_at_wall - saved_at_wall:.2f} s old at the kill"
        )
    assert max(windows) <= LOSS_BOUND
    print(f"\nloss windows: {', '.join(f'{w:.2f} s' for w in windows)}")
