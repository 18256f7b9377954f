"""The `image_path` matrix: every path that is not a readable image is refused, and never read.

Each case goes through `aicleaner.analyze` (Home Assistant's service layer, the executor, the
allowlist) against the simulator. "Never read" is proved by a process-wide audit hook (PEP 578)
that records every `open` (builtin, `io`, `os.open`) and every directory listing, in every
thread: a refused path must not appear in it, not even opened. A control case (a text file in
the allowed folder, which must be opened to be found not to be an image) proves the hook sees
the reads it is meant to see.

The matrix runs twice: with the allowlist of one folder (the allowlist refuses most cases), and
with `/` allowlisted (only the file checks stand between a path and a read: `/proc` files,
devices, FIFOs and sockets must still never be opened). A FIFO would block an `open()` without a
writer and a device such as `/dev/zero` would never end: every call runs under a 5 s timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
import contextlib
import errno
from io import BytesIO
import os
from pathlib import Path
import socket
import sys
from typing import Any
from unittest.mock import patch

from homeassistant.components.media_source import PlayMedia
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from PIL import Image
import pytest

from custom_components.aicleaner.image_inputs import MAX_IMAGE_BYTES
from tests.simulator import SimulatorServer

from .conftest import Setup, analyze

CALL_TIMEOUT = 5.0
_AUDITED = frozenset({"open", "os.listdir", "os.scandir"})
# Paths opened (or listed) while a test records; None when no test does.
_opened: list[str] | None = None


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _opened is None or event not in _AUDITED or not args:
        return
    target = args[0]
    if isinstance(target, str | bytes | os.PathLike):
        _opened.append(os.fsdecode(target))


_HOOK_INSTALLED = False


@contextlib.contextmanager
def recording_opens() -> Iterator[list[str]]:
    """Record every path opened or listed by any thread of this process, inside the block."""
    global _opened, _HOOK_INSTALLED  # noqa: PLW0603 - one audit hook per process
    if not _HOOK_INSTALLED:
        # An audit hook cannot be removed: it is installed once and idles between tests.
        sys.addaudithook(_audit)
        _HOOK_INSTALLED = True
    _opened = []
    try:
        yield _opened
    finally:
        _opened = None


def _jpeg() -> bytes:
    buffer = BytesIO()
    Image.new("RGB", (32, 24), "white").save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """tmp/allowed (the allowlist) and tmp/outside, with a real picture outside."""
    (tmp_path / "allowed").mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.jpg").write_bytes(_jpeg())
    return tmp_path


def _make(tree: Path, case: str) -> str:
    """Create what `case` needs; return the path the action is given."""
    allowed = tree / "allowed"
    secret = tree / "outside" / "secret.jpg"
    if case == "dotdot":
        return f"{allowed}/../outside/secret.jpg"
    if case == "dotdot_deep":
        (allowed / "sub").mkdir()
        return f"{allowed}/sub/../../outside/secret.jpg"
    if case == "relative_dotdot":
        return os.path.relpath(secret)
    if case == "outside":
        return str(secret)
    if case == "etc_passwd":
        return "/etc/passwd"
    if case == "symlink_out":
        (allowed / "link.jpg").symlink_to(secret)
        return str(allowed / "link.jpg")
    if case == "symlink_dir_out":
        (allowed / "dirlink").symlink_to(tree / "outside")
        return str(allowed / "dirlink" / "secret.jpg")
    if case == "symlink_to_dev_zero":
        (allowed / "zero.jpg").symlink_to("/dev/zero")
        return str(allowed / "zero.jpg")
    if case == "symlink_to_proc":
        (allowed / "env.jpg").symlink_to("/proc/self/environ")
        return str(allowed / "env.jpg")
    if case == "symlink_loop":
        (allowed / "loop.jpg").symlink_to(allowed / "loop.jpg")
        return str(allowed / "loop.jpg")
    if case == "symlink_dangling":
        (allowed / "dangling.jpg").symlink_to(allowed / "gone.jpg")
        return str(allowed / "dangling.jpg")
    if case in {"proc_environ", "proc_mem", "dev_zero", "dev_urandom"}:
        return {
            "proc_environ": "/proc/self/environ",
            "proc_mem": "/proc/self/mem",
            "dev_zero": "/dev/zero",
            "dev_urandom": "/dev/urandom",
        }[case]
    if case == "fifo":
        os.mkfifo(allowed / "pipe.jpg")
        return str(allowed / "pipe.jpg")
    if case == "socket":
        # A bound Unix socket leaves its node behind when closed.
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(str(allowed / "sock.jpg"))
        return str(allowed / "sock.jpg")
    if case == "directory":
        (allowed / "photos").mkdir()
        (allowed / "photos" / "a.jpg").write_bytes(_jpeg())
        return str(allowed / "photos")
    if case == "missing":
        return str(allowed / "nope.jpg")
    if case == "nul_byte":
        return f"{allowed}/a\x00.jpg"
    if case == "too_long":
        return str(allowed / ("a" * 5000))
    if case == "empty":
        (allowed / "empty.jpg").touch()
        return str(allowed / "empty.jpg")
    if case == "huge_sparse":
        with (allowed / "huge.jpg").open("wb") as handle:
            handle.truncate(1 << 36)  # 64 GiB of nothing, on any file system with holes
        return str(allowed / "huge.jpg")
    if case == "just_over_limit":
        with (allowed / "over.jpg").open("wb") as handle:
            handle.truncate(MAX_IMAGE_BYTES + 1)
        return str(allowed / "over.jpg")
    raise AssertionError(case)


# case: (refusal with the allowlist of one folder, refusal with "/" allowlisted); "allowed": a
# readable picture that the wider allowlist lets through (not a case for this matrix).
MATRIX: dict[str, tuple[str, str]] = {
    "dotdot": ("path_not_allowed", "allowed"),
    "dotdot_deep": ("path_not_allowed", "allowed"),
    "relative_dotdot": ("path_not_allowed", "allowed"),
    "outside": ("path_not_allowed", "allowed"),
    "etc_passwd": ("path_not_allowed", "not_an_image"),
    "symlink_out": ("path_not_allowed", "allowed"),
    "symlink_dir_out": ("path_not_allowed", "allowed"),
    "symlink_to_dev_zero": ("path_not_allowed", "path_not_file"),
    "symlink_to_proc": ("path_not_allowed", "image_empty"),
    "symlink_loop": ("path_missing", "path_missing"),
    "symlink_dangling": ("path_missing", "path_missing"),
    "proc_environ": ("path_not_allowed", "image_empty"),
    "proc_mem": ("path_not_allowed", "image_empty"),
    "dev_zero": ("path_not_allowed", "path_not_file"),
    "dev_urandom": ("path_not_allowed", "path_not_file"),
    "fifo": ("path_not_file", "path_not_file"),
    "socket": ("path_not_file", "path_not_file"),
    "directory": ("path_not_file", "path_not_file"),
    "missing": ("path_missing", "path_missing"),
    "nul_byte": ("path_missing", "path_missing"),
    "too_long": ("path_missing", "path_missing"),
    "empty": ("image_empty", "image_empty"),
    "huge_sparse": ("image_too_large", "image_too_large"),
    "just_over_limit": ("image_too_large", "image_too_large"),
}


@pytest.fixture
async def one_provider(setup_reliable: Setup) -> None:
    await setup_reliable(("anthropic", "Claude", {}))


async def _refused(
    hass: HomeAssistant, path: str, **data: Any
) -> tuple[str, list[str]]:
    """Call analyze with `path`; return the refusal's key and what was opened meanwhile."""
    with recording_opens() as opened, pytest.raises(ServiceValidationError) as raised:
        async with asyncio.timeout(CALL_TIMEOUT):
            await analyze(hass, prompt="look", image_path=path, **data)
    err = raised.value
    assert err.translation_domain == "aicleaner"
    # Translated: the message is the one of strings.json, naming what was refused.
    assert str(err)
    assert "{" not in str(err)
    return str(err.translation_key), opened


def _touches(opened: list[str], path: str) -> list[str]:
    """The recorded opens of `path`, of what it resolves to, or of anything under it."""
    names = {path}
    with contextlib.suppress(OSError, ValueError):
        names.add(os.path.realpath(path))
    return [
        seen
        for seen in opened
        if seen in names or any(seen.startswith(f"{name}/") for name in names)
    ]


@pytest.mark.usefixtures("one_provider")
@pytest.mark.parametrize("case", list(MATRIX))
async def test_a_path_that_is_no_readable_image_is_refused_without_being_read(
    hass: HomeAssistant, simulator: SimulatorServer, tree: Path, case: str
) -> None:
    path = _make(tree, case)
    for scope, allowlist in (("folder", str(tree / "allowed")), ("root", "/")):
        expected = MATRIX[case][scope == "root"]
        if expected == "allowed":
            continue  # with "/" allowlisted, a real picture outside the folder is allowed
        hass.config.allowlist_external_dirs = {allowlist}
        key, opened = await _refused(hass, path)
        assert key == expected, scope
        if expected == "not_an_image":
            # /etc/passwd, once the user allowlisted "/", is a regular file: read, then refused.
            assert _touches(opened, path), scope
        else:
            assert _touches(opened, path) == [], scope
    assert simulator.sim.request_count("anthropic") == 0


@pytest.mark.usefixtures("one_provider")
async def test_the_open_recorder_sees_a_file_that_is_read(
    hass: HomeAssistant, simulator: SimulatorServer, tree: Path
) -> None:
    """The control: a text file in the folder is opened and read before it is refused."""
    hass.config.allowlist_external_dirs = {str(tree / "allowed")}
    notes = tree / "allowed" / "notes.jpg"
    notes.write_text("not a picture")
    key, opened = await _refused(hass, str(notes))
    assert key == "not_an_image"
    assert _touches(opened, str(notes)) == [str(notes)]
    # And a real picture in the folder is read and sent.
    picture = tree / "allowed" / "room.jpg"
    picture.write_bytes(_jpeg())
    answer = await analyze(hass, prompt="look", image_path=str(picture))
    assert answer["provider"] == "Claude"
    assert simulator.sim.request_count("anthropic") == 1


@pytest.mark.usefixtures("one_provider")
async def test_a_fifo_never_blocks_and_no_reader_ever_opens_it(
    hass: HomeAssistant, tree: Path
) -> None:
    """A FIFO has no end: an open() waits for a writer, a read for data that may never come.

    The refusal comes at once (well within the timeout), nothing in the process opened the FIFO,
    and afterwards no reader holds it: a writer that will not wait finds none (ENXIO).
    """
    hass.config.allowlist_external_dirs = {str(tree / "allowed")}
    fifo = _make(tree, "fifo")
    for _ in range(3):
        key, opened = await _refused(hass, fifo)
        assert key == "path_not_file"
        assert _touches(opened, fifo) == []
    # ENXIO: no process has the FIFO open for reading.
    with pytest.raises(OSError, match="No such device or address") as no_reader:
        os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    assert no_reader.value.errno == errno.ENXIO


@pytest.mark.usefixtures("one_provider")
@pytest.mark.parametrize(
    ("make", "key"),
    [
        (lambda tree: _make(tree, "fifo"), "path_not_file"),
        (lambda tree: "/dev/zero", "path_not_file"),
        (lambda tree: "/proc/self/environ", "image_empty"),
        (lambda tree: _make(tree, "directory"), "path_not_file"),
    ],
    ids=["fifo", "dev_zero", "proc_environ", "directory"],
)
async def test_media_sources_have_no_allowlist_and_still_never_open_a_special_file(
    hass: HomeAssistant,
    simulator: SimulatorServer,
    tree: Path,
    make: Callable[[Path], str],
    key: str,
) -> None:
    """A media source names its own files (no allowlist applies): only the file checks stand."""
    path = make(tree)
    with (
        patch(
            "homeassistant.components.media_source.async_resolve_media",
            return_value=PlayMedia("/media/local/x.jpg", "image/jpeg", path=Path(path)),
        ),
        recording_opens() as opened,
        pytest.raises(ServiceValidationError) as raised,
    ):
        async with asyncio.timeout(CALL_TIMEOUT):
            await analyze(
                hass, prompt="look", media_content_id="media-source://media_source/x"
            )
    assert raised.value.translation_key == key
    assert _touches(opened, path) == []
    assert simulator.sim.request_count("anthropic") == 0


@pytest.mark.usefixtures("one_provider")
async def test_a_file_swapped_for_a_fifo_after_the_check_is_refused_on_its_descriptor(
    hass: HomeAssistant, tree: Path
) -> None:
    """The time-of-check, time-of-use race: the checks are made again on what was opened."""
    hass.config.allowlist_external_dirs = {str(tree / "allowed")}
    picture = tree / "allowed" / "room.jpg"
    picture.write_bytes(_jpeg())
    real_open = os.open

    def swap_then_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if os.fsdecode(path) == str(picture):
            picture.unlink()
            os.mkfifo(picture)
        return real_open(path, flags, *args, **kwargs)

    with patch("custom_components.aicleaner.image_inputs.os.open", swap_then_open):
        key, _ = await _refused(hass, str(picture))
    assert key == "path_not_file"
