"""scripts/mutate.py, the mutation tester: which mutants it makes, what it skips, what it touches."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path
import sys
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "mutate.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("aicleaner_mutate", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


mutate = _load()

SOURCE = '''\
"""A tiny module."""

LIMIT: int = 3


class Box:
    __slots__ = ("items", "size")

    def __init__(self) -> None:
        self.items: list[int] = []
        self.size = 0

    def add(self, item: int) -> bool:
        if item > LIMIT and not self.full():
            return False
        self.items.append(item)
        self.size += 1
        return True

    def full(self) -> bool:
        return self.size >= 2 or max(self.items, default=0) == 9

    def order(self) -> list[int]:
        return sorted(self.items)
'''


def described(mutants: list[object]) -> set[tuple[str, str, str]]:
    return {(m.function, m.original, m.mutated) for m in mutants}  # type: ignore[attr-defined]


def test_generates_the_expected_mutants_of_a_small_module() -> None:
    mutants = mutate.generate(SOURCE, "box.py")
    assert described(mutants) == {
        ("<module>", "LIMIT: int = 3", "LIMIT: int = 4"),
        ("Box.__init__", "self.size = 0", "self.size = 1"),
        ("Box.add", "item > LIMIT", "item >= LIMIT"),
        (
            "Box.add",
            "item > LIMIT and (not self.full())",
            "item > LIMIT or not self.full()",
        ),
        ("Box.add", "not self.full()", "self.full()"),
        ("Box.add", "return False", "return True"),
        ("Box.add", "self.items.append(item)", "pass"),
        ("Box.add", "self.size += 1", "self.size -= 1"),
        ("Box.add", "self.size += 1", "self.size += 2"),
        ("Box.add", "self.size += 1", "self.size += 0"),
        ("Box.add", "self.size += 1", "pass"),
        ("Box.add", "return True", "return False"),
        (
            "Box.full",
            "return self.size >= 2 or max(self.items, default=0) == 9",
            "return None",
        ),
        (
            "Box.full",
            "self.size >= 2 or max(self.items, default=0) == 9",
            "self.size >= 2 and max(self.items, default=0) == 9",
        ),
        ("Box.full", "self.size >= 2", "self.size > 2"),
        ("Box.full", "self.size >= 2", "self.size >= 3"),
        ("Box.full", "max(self.items, default=0)", "min(self.items, default=0)"),
        ("Box.full", "max(self.items, default=0)", "max(self.items, default=1)"),
        (
            "Box.full",
            "max(self.items, default=0) == 9",
            "max(self.items, default=0) != 9",
        ),
        (
            "Box.full",
            "max(self.items, default=0) == 9",
            "max(self.items, default=0) == 10",
        ),
        ("Box.order", "return sorted(self.items)", "return None"),
        ("Box.order", "sorted(self.items)", "self.items"),
    }
    # Sorted by line, each with the line of the change.
    assert [m.line for m in mutants] == sorted(m.line for m in mutants)
    assert {m.line for m in mutants if m.function == "Box.order"} == {24}


def test_every_mutant_compiles_and_changes_only_what_it_describes() -> None:
    original = ast.dump(ast.parse(SOURCE))
    for mutant in mutate.generate(SOURCE, "box.py"):
        changed = mutate.mutated_source(SOURCE, mutant)
        compile(changed, "box.py", "exec")
        assert ast.dump(ast.parse(changed)) != original
        assert mutant.mutated in changed
    # Generating and applying never alters the source it was given.
    assert ast.dump(ast.parse(SOURCE)) == original


def test_identical_mutants_in_one_function_are_numbered() -> None:
    source = "def f(a):\n    a.x = 1\n    a.y()\n    a.y()\n"
    drops = [m for m in mutate.generate(source, "f.py") if m.original == "a.y()"]
    assert [(m.line, m.occurrence) for m in drops] == [(3, 1), (4, 2)]
    # Logging calls are not state updates: dropping them is never proposed.
    logged = "def f(a):\n    _LOGGER.debug('x')\n"
    assert mutate.generate(logged, "f.py") == []


def test_equivalents_file_is_parsed_with_occurrences(tmp_path: Path) -> None:
    listed = tmp_path / "equivalents.txt"
    listed.write_text(
        "# module :: function :: original :: mutated :: reason\n"
        "\n"
        "box.py :: Box.full :: self.size >= 2 :: self.size > 2 :: never 3 items\n"
        "f.py :: f#2 :: a.y() :: pass :: the second call is idempotent\n",
        encoding="utf-8",
    )
    entries = mutate.load_equivalents(listed)
    assert [entry.key for entry in entries] == [
        ("box.py", "Box.full", "self.size >= 2", "self.size > 2", 1),
        ("f.py", "f", "a.y()", "pass", 2),
    ]
    assert entries[1].reason == "the second call is idempotent"
    listed.write_text("box.py :: Box.full :: a :: b\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="expected"):
        mutate.load_equivalents(listed)


def test_resolve_accepts_a_tail_of_a_target_path() -> None:
    assert list(mutate.resolve(["limits.py"])) == [
        "custom_components/aicleaner/router/limits.py"
    ]
    assert mutate.resolve(["providers/base.py"]) == {
        "custom_components/aicleaner/providers/base.py": "tests/providers"
    }
    assert len(mutate.resolve([])) == len(mutate.TARGETS)
    with pytest.raises(SystemExit, match="not a mutation target"):
        mutate.resolve(["nothing.py"])


TINY_MODULE = """\
def clamp(value, low):
    if value < low:
        return low
    return value


def countdown(n):
    while n > 0:
        n -= 1
    return n
"""

TINY_TESTS = """\
from pkg.tiny import clamp, countdown


def test_clamp():
    assert clamp(1, 2) == 2
    assert clamp(3, 2) == 3


def test_countdown():
    assert countdown(3) == 0
"""


@pytest.fixture
def tiny_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository with one module and its tests; pytest there loads no plugins (fast)."""
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "pkg" / "__init__.py").write_text("", encoding="utf-8")
    (repo / "pkg" / "tiny.py").write_text(TINY_MODULE, encoding="utf-8")
    (repo / "tests").mkdir()
    (repo / "tests" / "test_tiny.py").write_text(TINY_TESTS, encoding="utf-8")
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    return repo


def test_runner_kills_mutants_skips_equivalents_and_restores_the_module(
    tiny_repo: Path,
) -> None:
    mutants = [
        m for m in mutate.generate(TINY_MODULE, "pkg/tiny.py") if m.function == "clamp"
    ]
    assert described(mutants) == {
        ("clamp", "value < low", "value <= low"),
        ("clamp", "return low", "return None"),
        ("clamp", "return value", "return None"),
    }
    equivalent = next(m for m in mutants if m.mutated == "value <= low")
    runner = mutate.Runner(tiny_repo, min_timeout=5)
    report = runner.mutate_file(
        "pkg/tiny.py",
        "tests",
        mutants,
        {
            equivalent.key: mutate.Equivalent(
                equivalent.key, "clamp(2, 2) is 2 either way"
            )
        },
    )
    assert (report.run, report.killed, report.survived, report.equivalent) == (
        2,
        2,
        [],
        1,
    )
    assert (tiny_repo / "pkg" / "tiny.py").read_text(encoding="utf-8") == TINY_MODULE
    # Without the listing it survives, and is reported as such.
    report = runner.mutate_file("pkg/tiny.py", "tests", [equivalent], {})
    assert report.survived == [equivalent]
    assert "score 0.0 % raw" in report.lines()[0]
    assert "pkg/tiny.py:2 clamp: `value < low` -> `value <= low`" in report.lines()[1]


def test_a_mutant_that_hangs_counts_as_killed_by_timeout(tiny_repo: Path) -> None:
    (hangs,) = [
        m
        for m in mutate.generate(TINY_MODULE, "pkg/tiny.py")
        if (m.original, m.mutated) == ("n -= 1", "n += 1")
    ]
    report = mutate.Runner(tiny_repo, min_timeout=1).mutate_file(
        "pkg/tiny.py", "tests", [hangs], {}
    )
    assert (report.killed, report.timed_out) == (1, 1)
    assert (tiny_repo / "pkg" / "tiny.py").read_text(encoding="utf-8") == TINY_MODULE


def test_module_is_restored_when_the_run_is_interrupted(tiny_repo: Path) -> None:
    mutants = mutate.generate(TINY_MODULE, "pkg/tiny.py")[:1]

    def interrupt(_line: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        mutate.Runner(tiny_repo).mutate_file(
            "pkg/tiny.py", "tests", mutants, {}, progress=interrupt
        )
    assert (tiny_repo / "pkg" / "tiny.py").read_text(encoding="utf-8") == TINY_MODULE


def test_main_mutates_a_copy_and_never_writes_to_the_tree(
    tiny_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Only clamp's mutants run (countdown's would hang until the timeout).
    listed = tiny_repo / "equivalents.txt"
    listed.write_text(
        "pkg/tiny.py :: clamp :: value < low :: value <= low :: clamp(2, 2) is 2 either way\n"
        + "".join(
            f"pkg/tiny.py :: countdown{'#' + str(m.occurrence) if m.occurrence > 1 else ''}"
            f" :: {m.original} :: {m.mutated} :: not under test here\n"
            for m in mutate.generate(TINY_MODULE, "pkg/tiny.py")
            if m.function == "countdown"
        ),
        encoding="utf-8",
    )
    before = {
        path: (path.read_bytes(), path.stat().st_mtime_ns)
        for path in tiny_repo.rglob("*")
        if path.is_file()
    }
    monkeypatch.setattr(mutate, "REPO_ROOT", tiny_repo)
    monkeypatch.setattr(mutate, "EQUIVALENTS_FILE", listed)
    monkeypatch.setattr(mutate, "TARGETS", {"pkg/tiny.py": "tests"})
    assert mutate.main([]) == 0
    out = capsys.readouterr().out
    assert "pkg/tiny.py: 2 run, 2 killed (0 by timeout), 0 survived" in out
    after = {
        path: (path.read_bytes(), path.stat().st_mtime_ns)
        for path in tiny_repo.rglob("*")
        if path.is_file()
    }
    assert after == before


def test_the_modules_own_tests_run_first_and_alone_then_the_others(
    tiny_repo: Path,
) -> None:
    runner = mutate.Runner(tiny_repo)
    (only,) = runner.test_commands("pkg/tiny.py", "tests")
    assert only[-1] == "tests/test_tiny.py"
    (tiny_repo / "tests" / "test_other.py").write_text(
        "from pkg.tiny import clamp\n\n\ndef test_other():\n    assert clamp(0, 5) == 5\n",
        encoding="utf-8",
    )
    own, rest = runner.test_commands("pkg/tiny.py", "tests")
    assert own[-1] == "tests/test_tiny.py"
    assert rest[-2:] == ["tests", "--ignore=tests/test_tiny.py"]
    # A mutant only the other file catches is still killed.
    (tiny_repo / "tests" / "test_tiny.py").write_text(
        "def test_nothing():\n    pass\n", encoding="utf-8"
    )
    (low,) = [
        m
        for m in mutate.generate(TINY_MODULE, "pkg/tiny.py")
        if m.original == "return low"
    ]
    report = runner.mutate_file("pkg/tiny.py", "tests", [low], {})
    assert (report.killed, report.survived) == (1, [])
