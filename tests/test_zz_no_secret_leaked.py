"""The session-wide secrets check (issue 14), run after every other test of the session.

`tests/secrets_collector.py` watched every log record, state, event, action response, diagnostics
dump, exception, flow step and repair issue of the session; this test asserts none held a key the
tests used, nor the ciphertext of one, and that the watching really happened.
"""

from __future__ import annotations

import logging

import pytest

from tests.secrets_collector import (
    KINDS,
    LAST_MARK,
    collector,
    is_full_run,
    not_watching,
)

# What a full run of tests/ checks at the least: about half of what one checked when this was written
# (log 55,220, state 20,834, event 23,941, response 8,606, diagnostics 4 - the two dumps and the two
# system health sections -, exception 2,017, flow 202, repair 41). A collector that silently stopped
# seeing a channel fails here.
FULL_RUN_FLOORS = {
    "log": 25_000,
    "state": 10_000,
    "event": 10_000,
    "response": 4_000,
    "diagnostics": 2,
    "exception": 1_000,
    "flow": 100,
    "repair": 20,
}


@getattr(pytest.mark, LAST_MARK)
def test_no_secret_leaked(request: pytest.FixtureRequest) -> None:
    """No key, nor its ciphertext, in anything the session logged, showed, fired or raised."""
    seen = collector()
    assert seen is not None, (
        "tests/secrets_collector.py is not registered (conftest.py)"
    )
    # Every channel is still watched: no wrapper was replaced, the log handler is still there.
    assert len(seen.installed) == 11, seen.installed
    assert not not_watching(), f"no longer watched: {not_watching()}"
    assert seen.log_handler in logging.getLogger().handlers
    if seen.tests_run == 0:
        pytest.skip("no other test ran in this session: nothing to check")
    counts = seen.report()
    # Plain numbers and strings in the assertion: pytest's introspection shows only those.
    hits = sum(seen.hit_count.values())
    found = "\n".join(str(hit) for hit in seen.hits)
    assert hits == 0, f"secrets leaked ({dict(seen.hit_count)}):\n{found}\n{counts}"
    if seen.hass_tests:
        # Any test with hass fires events (the start of Home Assistant at least).
        assert seen.checked["event"] > 0, counts
    if is_full_run(request.config):
        assert len(seen.keys) >= 10, counts
        short = {
            kind: seen.checked[kind]
            for kind in KINDS
            if seen.checked[kind] < FULL_RUN_FLOORS[kind]
        }
        assert not short, f"channels that saw too little: {short}\n{counts}"
