"""Session-wide secrets check (issue 14): no API key, nor its ciphertext, in anything the suite sees.

A pytest plugin (registered in `tests/conftest.py`). For the whole session it watches every channel
through which a key could reach a person or a log file, and checks each string it sees against every
key the tests used, at the moment it sees it (nothing is stored but the hits and the counts):

- log:         every log record that reaches the root logger (message, arguments, exception text);
               `custom_components.aicleaner` logs at DEBUG for the session, as it does when a user
               turns debug logging on to report a problem;
- state:       every state written (`state_changed` / `state_reported`) and every state left at the
               end of each test that used `hass`;
- event:       every other event fired on any Home Assistant bus;
- response:    every action's response and every exception an action raised;
- diagnostics: every diagnostics dump and system health section of AICleaner;
- exception:   every exception a test raised or caught with `pytest.raises` (message, repr, the
               translation placeholders, the `__cause__`/`__context__` chain);
- flow:        every config, options, subentry or repair flow step as the frontend would receive it;
- repair:      every repair issue left at the end of each test that used `hass`.

The keys are learned where they pass: every key given to a provider client, every key encrypted or
decrypted by `CredentialVault` (and the Fernet tokens, the ciphertexts, it produced or read), plus the
`"sk-..."` literals written in the tests. A key of `WHOLE_WORD_LENGTH` characters or more is found
anywhere; a shorter one ("sk-1", the helpers' key) only as a whole word, not inside another one; one
shorter than `MIN_SECRET_LENGTH` ("k") cannot be searched for and is named in the report instead.

`tests/test_zz_no_secret_leaked.py` runs last and asserts what was found.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
import contextlib
from dataclasses import dataclass, field
import functools
import hashlib
import logging
from pathlib import Path
import re
import threading
import time
from types import TracebackType
from typing import Any, Final

import pytest

KINDS: Final = (
    "log",
    "state",
    "event",
    "response",
    "diagnostics",
    "exception",
    "flow",
    "repair",
)
MIN_SECRET_LENGTH: Final = 4
WHOLE_WORD_LENGTH: Final = 8
# A Fernet token is the URL-safe base64 of 0x80 then a 64-bit timestamp: it starts with "gAAAAA".
_TOKEN_RE: Final = re.compile(r"gAAAAA[A-Za-z0-9_\-]{10,}=*")
_LITERAL_RE: Final = re.compile(r"""["'](sk-[A-Za-z0-9_\-.]+)["']""")
_EXCERPT: Final = 70
_MAX_HITS_KEPT: Final = 200
_MAX_SEEN: Final = 300_000
TESTS_DIR: Final = Path(__file__).resolve().parent
LAST_MARK: Final = "secrets_check_last"


def fingerprint(secret: str) -> str:
    """Name a secret in a report without printing it."""
    return hashlib.sha256(secret.encode()).hexdigest()[:12]


def describe(secret: str, *, ciphertext: bool) -> str:
    """What a report shows of a secret: its kind, fingerprint, first characters and length."""
    what = "ciphertext" if ciphertext else "key"
    return f"{what}#{fingerprint(secret)} ({secret[:4]}…, {len(secret)} chars)"


@dataclass(frozen=True)
class Hit:
    """A secret found in something the suite saw."""

    kind: str
    test: str
    source: str
    secret: str
    excerpt: str

    def __str__(self) -> str:
        return f"[{self.kind}] {self.secret} in {self.test} ({self.source}): {self.excerpt}"


@dataclass(repr=False)  # a repr would print the keys
class SecretsCollector:
    """Learns the keys, checks every string it is shown, keeps the hits and the counts."""

    keys: set[str] = field(default_factory=set)
    ciphertexts: set[str] = field(default_factory=set)
    checked: Counter[str] = field(default_factory=Counter)
    # Strings searched: a repeat of one already searched for the same secrets is only counted.
    distinct: Counter[str] = field(default_factory=Counter)
    hit_count: Counter[str] = field(default_factory=Counter)
    hits: list[Hit] = field(default_factory=list)
    current: str = "(outside any test)"
    tests_run: int = 0
    hass_tests: int = 0
    deselected: int = 0
    installed: list[str] = field(default_factory=list)
    log_handler: logging.Handler | None = None
    # Seconds spent building and checking strings: the check's own cost.
    spent: float = 0.0
    _by_prefix: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _words: dict[str, re.Pattern[str]] = field(default_factory=dict)
    _seen: set[tuple[str, int]] = field(default_factory=set)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    # -- the secrets -------------------------------------------------------------------------------

    def add_key(self, key: object) -> None:
        """Learn a key the tests use."""
        if not isinstance(key, str) or not key or key in self.keys:
            return
        with self._lock:
            self.keys.add(key)
            searchable = sorted(k for k in self.keys if len(k) >= MIN_SECRET_LENGTH)
            by_prefix: dict[str, list[str]] = {}
            for k in searchable:
                by_prefix.setdefault(k[:MIN_SECRET_LENGTH], []).append(k)
            self._by_prefix = {p: tuple(ks) for p, ks in by_prefix.items()}
            if len(key) >= MIN_SECRET_LENGTH and len(key) < WHOLE_WORD_LENGTH:
                self._words[key] = re.compile(
                    rf"(?<![A-Za-z0-9_\-]){re.escape(key)}(?![A-Za-z0-9_\-])"
                )
            # A string seen before may hold the new key: check everything again from now on.
            self._seen.clear()

    def add_ciphertext(self, token: object) -> None:
        """Learn a Fernet token that holds a key."""
        if isinstance(token, str) and token and token not in self.ciphertexts:
            with self._lock:
                self.ciphertexts.add(token)
                self._seen.clear()

    @property
    def short_keys(self) -> list[str]:
        """Keys too short to search for."""
        return sorted(k for k in self.keys if len(k) < MIN_SECRET_LENGTH)

    # -- checking ----------------------------------------------------------------------------------

    def _find(self, text: str) -> list[tuple[str, bool]]:
        found: list[tuple[str, bool]] = []
        for prefix, keys in self._by_prefix.items():
            if prefix in text:
                found.extend(
                    (k, False)
                    for k in keys
                    if k in text
                    and (k not in self._words or self._words[k].search(text))
                )
        if "gAAAAA" in text and self.ciphertexts:
            for match in _TOKEN_RE.finditer(text):
                run = match.group()
                # Whole, or cut short (a truncated token still identifies the key's record).
                found.extend(
                    (token, True)
                    for token in self.ciphertexts
                    if run in token or token in run
                )
        return found

    def check(self, kind: str, text: str, source: str = "") -> None:
        """Check one string seen through the channel `kind`."""
        with self._lock:
            self.checked[kind] += 1
            seen = (kind, hash(text))
            if seen in self._seen:
                return
            if len(self._seen) >= _MAX_SEEN:
                self._seen.clear()
            self._seen.add(seen)
            self.distinct[kind] += 1
            found = self._find(text)
            for secret, is_ciphertext in found:
                self.hit_count[kind] += 1
                if len(self.hits) < _MAX_HITS_KEPT:
                    self.hits.append(
                        Hit(
                            kind,
                            self.current,
                            source[:120],
                            describe(secret, ciphertext=is_ciphertext),
                            _excerpt(text, secret, is_ciphertext),
                        )
                    )

    def check_exception(self, kind: str, err: BaseException, source: str) -> None:
        """Check an exception: message, repr, placeholders and its whole chain."""
        for text in exception_texts(err):
            self.check(kind, text, source)

    def timed(self) -> _Timer:
        """Count the time of a `with` block in `spent`."""
        return _Timer(self)

    def report(self) -> str:
        """The counts, for the final test's message."""
        short = ", ".join(str(len(k)) for k in self.short_keys) or "none"
        per_channel = ", ".join(
            f"{k} {self.checked[k]} ({self.distinct[k]} searched)" for k in KINDS
        )
        return (
            f"{self.tests_run} tests ran ({self.hass_tests} with hass); "
            f"{len(self.keys)} keys learned, {len(self.ciphertexts)} ciphertexts; "
            f"keys too short to search, by length: {short}\n"
            f"strings seen per channel (the rest were repeats): {per_channel}; "
            f"time spent checking: {self.spent:.2f} s"
        )


class _Timer:
    __slots__ = ("_seen", "_start")

    def __init__(self, seen: SecretsCollector) -> None:
        self._seen = seen
        self._start = 0.0

    def __enter__(self) -> None:
        self._start = time.perf_counter()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._seen.spent += time.perf_counter() - self._start


def _excerpt(text: str, secret: str, is_ciphertext: bool) -> str:
    index = text.find(secret)
    if index < 0:  # a truncated ciphertext: show where the token starts
        index = text.find("gAAAAA")
    start = max(index - _EXCERPT, 0)
    piece = text[start : index + len(secret) + _EXCERPT]
    mask = "«CIPHERTEXT»" if is_ciphertext else "«KEY»"
    piece = piece.replace(secret, mask)
    if is_ciphertext:
        piece = _TOKEN_RE.sub(mask, piece)
    return piece.replace("\n", "⏎")


def exception_texts(err: BaseException) -> Iterator[str]:
    """Everything an exception can show: str, repr, placeholders, notes, its cause and context."""
    seen: set[int] = set()
    pending: list[BaseException] = [err]
    while pending and len(seen) < 20:
        exc = pending.pop()
        if id(exc) in seen:
            continue
        seen.add(id(exc))
        with contextlib.suppress(Exception):
            yield f"{type(exc).__name__}: {exc}"
        with contextlib.suppress(Exception):
            yield repr(exc)
        for attr in ("translation_placeholders", "__notes__"):
            value = getattr(exc, attr, None)
            if value:
                yield f"{attr}={value!r}"
        if isinstance(exc, BaseExceptionGroup):
            pending.extend(exc.exceptions)
        pending.extend(
            linked for linked in (exc.__cause__, exc.__context__) if linked is not None
        )


# -- the collector of this session --------------------------------------------------------------

_COLLECTOR: SecretsCollector | None = None
_UNDO: list[Callable[[], None]] = []


def collector() -> SecretsCollector | None:
    """The session's collector, None when the plugin is not active."""
    return _COLLECTOR


_PATCHED: list[tuple[Any, str, Any, str]] = []


def _patch(owner: Any, name: str, make: Callable[[Any], Any], label: str) -> None:
    original = getattr(owner, name)
    wrapper = make(original)
    setattr(owner, name, wrapper)
    _PATCHED.append((owner, name, wrapper, label))
    _UNDO.append(lambda: setattr(owner, name, original))
    assert _COLLECTOR is not None
    _COLLECTOR.installed.append(label)


def not_watching() -> list[str]:
    """The channels no longer watched: a wrapper replaced since the session started."""
    return [
        label
        for owner, name, wrapper, label in _PATCHED
        if getattr(owner, name, None) is not wrapper
    ]


class _Handler(logging.Handler):
    """Checks every log record that reaches the root logger."""

    def __init__(self, seen: SecretsCollector) -> None:
        super().__init__(logging.NOTSET)
        self._seen = seen
        self._formatter = logging.Formatter()

    def emit(self, record: logging.LogRecord) -> None:
        with self._seen.timed():
            self._emit(record)

    def _emit(self, record: logging.LogRecord) -> None:
        try:
            source = f"{record.name} {record.levelname}"
            self._seen.check("log", record.getMessage(), source)
            if record.args:
                self._seen.check("log", repr(record.args), source)
            if record.exc_info and record.exc_info[1] is not None:
                self._seen.check(
                    "log", self._formatter.formatException(record.exc_info), source
                )
                self._seen.check_exception("log", record.exc_info[1], source)
            if record.exc_text:
                self._seen.check("log", record.exc_text, source)
            if record.stack_info:
                self._seen.check("log", record.stack_info, source)
        except Exception:
            self._seen.check("log", f"{record.msg!r} {record.args!r}", record.name)


def _install(seen: SecretsCollector) -> None:
    # Imported when the session starts: importing this module (conftest.py) stays cheap.
    from homeassistant import core as ha_core, data_entry_flow

    from custom_components.aicleaner import credentials, diagnostics, system_health
    from custom_components.aicleaner.providers import base

    handler = _Handler(seen)
    root = logging.getLogger()
    root.addHandler(handler)
    _UNDO.append(lambda: root.removeHandler(handler))
    seen.installed.append("root log handler")
    seen.log_handler = handler
    integration = logging.getLogger("custom_components.aicleaner")
    level = integration.level
    integration.setLevel(logging.DEBUG)
    _UNDO.append(lambda: integration.setLevel(level))

    # Keys and ciphertexts, learned where they pass.
    def encrypt(original: Callable[..., str]) -> Callable[..., str]:
        @functools.wraps(original)
        def wrapper(self: Any, secret: str) -> str:
            token = original(self, secret)
            seen.add_key(secret)
            seen.add_ciphertext(token)
            return token

        return wrapper

    def decrypt(original: Callable[..., str]) -> Callable[..., str]:
        @functools.wraps(original)
        def wrapper(self: Any, token: str) -> str:
            secret = original(self, token)
            seen.add_key(secret)
            seen.add_ciphertext(token)
            return secret

        return wrapper

    def provider_init(original: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(original)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> None:
            seen.add_key(kwargs.get("api_key"))
            original(self, *args, **kwargs)

        return wrapper

    _patch(credentials.CredentialVault, "encrypt", encrypt, "CredentialVault.encrypt")
    _patch(credentials.CredentialVault, "decrypt", decrypt, "CredentialVault.decrypt")
    _patch(base.BaseProvider, "__init__", provider_init, "BaseProvider.__init__")

    # Every event on every bus: one dispatch point, the fired and the queued ones alike.
    state_events = {ha_core.EVENT_STATE_CHANGED, ha_core.EVENT_STATE_REPORTED}

    def dispatch(original: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(original)
        def wrapper(
            self: Any, event_type: Any, event_data: Any, *args: Any, **kwargs: Any
        ) -> None:
            with seen.timed():
                if event_type in state_events and event_data:
                    seen.check("state", repr(event_data.get("new_state")), event_type)
                else:
                    seen.check("event", f"{event_type} {event_data!r}", str(event_type))
            original(self, event_type, event_data, *args, **kwargs)

        return wrapper

    _patch(ha_core.EventBus, "_async_dispatch", dispatch, "EventBus._async_dispatch")

    # Every action's response or error.
    def service_call(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        async def wrapper(
            self: Any, domain: str, service: str, *args: Any, **kwargs: Any
        ) -> Any:
            source = f"{domain}.{service}"
            try:
                response = await original(self, domain, service, *args, **kwargs)
            except BaseException as err:
                with seen.timed():
                    seen.check_exception("response", err, source)
                raise
            with seen.timed():
                seen.check("response", repr(response), source)
            return response

        return wrapper

    _patch(
        ha_core.ServiceRegistry,
        "async_call",
        service_call,
        "ServiceRegistry.async_call",
    )

    # Every flow step, as the frontend receives it (without the entry data it stores).
    def flow_step(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        async def wrapper(self: Any, flow: Any, step_id: str, *args: Any) -> Any:
            source = f"{getattr(flow, 'handler', '?')} {step_id}"
            try:
                result = await original(self, flow, step_id, *args)
            except BaseException as err:
                with seen.timed():
                    seen.check_exception("flow", err, source)
                raise
            with seen.timed():
                _check_flow(seen, result, args[0] if args else None, source)
            return result

        return wrapper

    _patch(
        data_entry_flow.FlowManager,
        "_async_handle_step",
        flow_step,
        "FlowManager._async_handle_step",
    )

    # AICleaner's diagnostics and system health: module attributes, looked up when called (and
    # patched before any test module imports them by name).
    def dump(kind_source: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def make(original: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(original)
            async def wrapper(*args: Any, **kwargs: Any) -> Any:
                result = await original(*args, **kwargs)
                with seen.timed():
                    seen.check("diagnostics", repr(result), kind_source)
                return result

            return wrapper

        return make

    _patch(
        diagnostics,
        "async_get_config_entry_diagnostics",
        dump("config entry diagnostics"),
        "diagnostics.async_get_config_entry_diagnostics",
    )
    _patch(
        system_health,
        "system_health_info",
        dump("system health"),
        "system_health.system_health_info",
    )

    # Every exception a test expected: pytest.raises and pytest.RaisesGroup.
    from _pytest import raises as pytest_raises

    def raises_exit(original: Callable[..., bool]) -> Callable[..., bool]:
        @functools.wraps(original)
        def wrapper(self: Any, exc_type: Any, exc_val: Any, exc_tb: Any) -> bool:
            if isinstance(exc_val, BaseException):
                with seen.timed():
                    seen.check_exception("exception", exc_val, "pytest.raises")
            return original(self, exc_type, exc_val, exc_tb)

        return wrapper

    _patch(pytest_raises.RaisesExc, "__exit__", raises_exit, "pytest.raises")
    _patch(pytest_raises.RaisesGroup, "__exit__", raises_exit, "pytest.RaisesGroup")


def _check_flow(
    seen: SecretsCollector, result: Any, user_input: Any, source: str
) -> None:
    """A flow step's result as the frontend receives it, without the entry data it stores."""
    from homeassistant.helpers.data_entry_flow import _BaseFlowManagerView

    try:
        shown: Any = _BaseFlowManagerView._prepare_result_json(None, result)  # type: ignore[arg-type]
    except Exception:
        shown = {k: v for k, v in result.items() if k not in ("data", "context")}
    typed = _typed(user_input)
    if typed:
        shown = _without_echo(shown, typed)
    seen.check("flow", repr(shown), source)


def _typed(user_input: Any) -> dict[str, set[str]]:
    """What the user typed in this step, field by field (sections flattened)."""
    typed: dict[str, set[str]] = {}
    pending = [user_input]
    while pending:
        current = pending.pop()
        if isinstance(current, dict):
            for name, value in current.items():
                if isinstance(value, str) and value:
                    typed.setdefault(str(name), set()).update({value, value.strip()})
                elif isinstance(value, dict):
                    pending.append(value)
    return typed


def _without_echo(shown: Any, typed: dict[str, set[str]]) -> Any:
    """The form without the values it hands back to the user who just typed them.

    After an error a form keeps what was typed, as Home Assistant's flows do (a key field is a
    password field): that is the user's own input going back to the same user, not a leak. Any
    other value, a stored key filled into a form say, is still checked.
    """
    if isinstance(shown, list):
        return [_without_echo(item, typed) for item in shown]
    if not isinstance(shown, dict):
        return shown
    out = {key: _without_echo(value, typed) for key, value in shown.items()}
    values = typed.get(str(out.get("name")), set())
    if values:
        for holder, key in (
            (out, "default"),
            (out.get("description"), "suggested_value"),
        ):
            if isinstance(holder, dict) and holder.get(key) in values:
                holder[key] = "(what the user typed)"
    return out


def _literal_keys(paths: set[Path]) -> Iterator[str]:
    """The "sk-..." literals written in these files."""
    for path in paths:
        with contextlib.suppress(OSError, UnicodeDecodeError):
            yield from _LITERAL_RE.findall(path.read_text(encoding="utf-8"))


# -- hooks -------------------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    """Start collecting: patch the channels for the whole session."""
    global _COLLECTOR  # noqa: PLW0603 - one collector per session
    config.addinivalue_line(
        "markers", f"{LAST_MARK}: the secrets check, run after every other test"
    )
    if (
        _COLLECTOR is not None
    ):  # configured twice in one process (an in-process inner run)
        return
    _COLLECTOR = SecretsCollector()
    _install(_COLLECTOR)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Undo the patches."""
    global _COLLECTOR  # noqa: PLW0603
    while _UNDO:
        _UNDO.pop()()
    _PATCHED.clear()
    _COLLECTOR = None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Run the secrets check last; learn the key literals of the test files collected."""
    last = [item for item in items if item.get_closest_marker(LAST_MARK)]
    if last:
        items[:] = [item for item in items if item not in last] + last
    if _COLLECTOR is not None:
        files = {item.path for item in items}
        files.update(TESTS_DIR.glob("**/*.py"))
        for key in _literal_keys(files):
            _COLLECTOR.add_key(key)


def pytest_deselected(items: list[pytest.Item]) -> None:
    """Count deselected tests (a run with -k is not a full run)."""
    if _COLLECTOR is not None:
        _COLLECTOR.deselected += len(items)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    """Name the test every hit is found in."""
    if _COLLECTOR is not None:
        _COLLECTOR.current = item.nodeid
        if not item.get_closest_marker(LAST_MARK):
            _COLLECTOR.tests_run += 1
    try:
        return (yield)
    finally:
        if _COLLECTOR is not None:
            _COLLECTOR.current = "(between tests)"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    """After a test that used hass: every state and repair issue it left."""
    try:
        return (yield)
    finally:
        hass = getattr(item, "funcargs", {}).get("hass")
        if _COLLECTOR is not None and hass is not None:
            _COLLECTOR.hass_tests += 1
            with _COLLECTOR.timed():
                _snapshot(_COLLECTOR, hass)


def _snapshot(seen: SecretsCollector, hass: Any) -> None:
    from homeassistant.helpers import issue_registry as ir

    with contextlib.suppress(Exception):
        for state in hass.states.async_all():
            seen.check(
                "state",
                f"{state.entity_id}={state.state} {dict(state.attributes)!r}",
                "states at the end of the test",
            )
    with contextlib.suppress(Exception):
        for issue in ir.async_get(hass).issues.values():
            seen.check("repair", repr(issue), "issue registry at the end of the test")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Every exception raised out of a test (failures, errors, skips)."""
    report = yield
    if (
        _COLLECTOR is not None
        and call.excinfo is not None
        and not item.get_closest_marker(LAST_MARK)
    ):
        with _COLLECTOR.timed():
            _COLLECTOR.check_exception("exception", call.excinfo.value, call.when)
    return report


def is_full_run(config: pytest.Config) -> bool:
    """Tell whether this session runs the whole of tests/ (no selection, no worker split)."""
    if getattr(config, "workerinput", None) is not None:
        return False
    option = config.option
    if (
        getattr(option, "keyword", "")
        or getattr(option, "markexpr", "")
        or getattr(option, "deselect", None)
        or getattr(option, "ignore", None)
        or getattr(option, "ignore_glob", None)
        or getattr(option, "lf", False)
        or getattr(option, "failedfirst", False)
    ):
        return False
    if _COLLECTOR is not None and _COLLECTOR.deselected:
        return False
    base = config.invocation_params.dir
    targets = {(base / arg.split("::")[0]).resolve() for arg in config.args}
    return bool(targets) and targets <= {TESTS_DIR, TESTS_DIR.parent}


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line of counts at the end of the run."""
    if _COLLECTOR is not None and _COLLECTOR.tests_run:
        terminalreporter.write_sep("-", "secrets check")
        terminalreporter.write_line(_COLLECTOR.report())
        if _COLLECTOR.hits:
            terminalreporter.write_line(f"hits: {dict(_COLLECTOR.hit_count)}")
