"""Mutation testing of the money- and safety-critical modules, with a small ast-based mutator.

    scripts/mutate                      every module of TARGETS
    scripts/mutate limits.py cache.py   only these (a path, or any unambiguous tail of one)
    scripts/mutate --list limits.py     print the mutants without running anything

Each mutant changes one thing in one module (a comparison, min/max, a number, and/or, a `not`,
an arithmetic operator, a dropped state update, a returned value; `__init__`'s `self.x = ...`
lines only get their value changed, never dropped) and runs the module's tests with
`pytest -x`, its own test file first and then the others: a failing test (or a run that hangs
past the timeout) kills it, a green run means no test noticed the change. Everything runs in a
temporary copy of the repository made once per run: the working tree is never written to, so
other people may edit it meanwhile.

Equivalent mutants (no test can kill them: the behaviour is the same) are listed in
scripts/mutate_equivalent.txt with a reason, by module, function, original and mutated source text,
so they are skipped and reported apart. Not part of scripts/test: it takes minutes.
"""

from __future__ import annotations

import argparse
import ast
from collections.abc import Callable, Iterator, Mapping, Sequence
import copy
from dataclasses import dataclass, field
import os
from pathlib import Path
import shutil
import signal
import subprocess
import sys
import tempfile
import time

REPO_ROOT = Path(__file__).resolve().parent.parent
EQUIVALENTS_FILE = REPO_ROOT / "scripts" / "mutate_equivalent.txt"

# Module -> the tests that guard it (a directory; the module's own test file runs first).
TARGETS: dict[str, str] = {
    "custom_components/aicleaner/router/budget.py": "tests/router",
    "custom_components/aicleaner/router/breaker.py": "tests/router",
    "custom_components/aicleaner/router/limits.py": "tests/router",
    "custom_components/aicleaner/router/cache.py": "tests/router",
    # The router, split in three modules: the serving loop, the attempts, and reporting (its
    # export and restore carry the spend across a restart), and the slot that guards a provider.
    "custom_components/aicleaner/router/router.py": "tests/router",
    "custom_components/aicleaner/router/attempts.py": "tests/router",
    "custom_components/aicleaner/router/reporting.py": "tests/router",
    "custom_components/aicleaner/router/slot.py": "tests/router",
    "custom_components/aicleaner/router/estimate.py": "tests/router",
    "custom_components/aicleaner/providers/pricing.py": "tests/providers",
    "custom_components/aicleaner/providers/base.py": "tests/providers",
    "custom_components/aicleaner/providers/gateway_cost.py": "tests/providers/test_answer_cost.py",
    # Whose fault is it: the error taxonomy and the classification of every API's error answers.
    "custom_components/aicleaner/router/errors.py": "tests/router",
    "custom_components/aicleaner/providers/classify.py": "tests/providers",
    # A gateway's published prices become the price override that setup suggests.
    "custom_components/aicleaner/providers/gateway.py": "tests/providers",
}
PYTEST_ARGS = ("-x", "-q", "-p", "no:cacheprovider")
# Copied into the temporary repository: what the tests need, not history or caches.
_COPY_IGNORE = shutil.ignore_patterns(
    ".git",
    ".hypothesis",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".coverage",
    "__pycache__",
    "config",
    "node_modules",
)
# Calls whose statement is dropped as a state update; logging calls change no state.
_LOGGER_NAMES = frozenset({"_LOGGER", "LOGGER", "logger", "log", "logging"})
# A call of one of these with one argument is also replaced by its argument.
_UNWRAPPED_CALLS = frozenset({"sorted", "reversed", "abs"})

_COMPARE_SWAPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}
_ARITHMETIC_SWAPS: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
}

type _Apply = Callable[[ast.AST], ast.AST]


@dataclass(frozen=True, slots=True)
class Mutant:
    """One change to one module, described by stable source text rather than only a line."""

    path: str
    line: int
    function: str
    # The smallest expression or statement around the change, before and after it.
    original: str
    mutated: str
    # Which of the identical (function, original, mutated) mutants of this module it is, from 1.
    occurrence: int
    # Position of the changed node in ast.walk order, and how to change it.
    index: int = field(compare=False, repr=False)
    apply: _Apply = field(compare=False, repr=False)

    @property
    def key(self) -> tuple[str, str, str, str, int]:
        """Identity used by the equivalents file: survives edits elsewhere in the module."""
        return (self.path, self.function, self.original, self.mutated, self.occurrence)

    def describe(self) -> str:
        """`path:line function: original -> mutated`."""
        return f"{self.path}:{self.line} {self.function}: `{self.original}` -> `{self.mutated}`"


@dataclass(frozen=True, slots=True)
class Equivalent:
    """A listed equivalent mutant and why no test can kill it."""

    key: tuple[str, str, str, str, int]
    reason: str


def _parents(tree: ast.AST) -> dict[int, ast.AST]:
    return {
        id(child): node
        for node in ast.walk(tree)
        for child in ast.iter_child_nodes(node)
    }


def _function_name(node: ast.AST, parents: Mapping[int, ast.AST]) -> str:
    names: list[str] = []
    current: ast.AST | None = node
    while current is not None:
        if isinstance(current, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.append(current.name)
        current = parents.get(id(current))
    return ".".join(reversed(names)) or "<module>"


def _skipped(node: ast.AST, parents: Mapping[int, ast.AST]) -> bool:
    """Whether `node` sits where a change means nothing at run time (annotations, __slots__)."""
    child: ast.AST = node
    parent = parents.get(id(child))
    while parent is not None:
        if isinstance(parent, ast.arg) and child is parent.annotation:
            return True
        if (
            isinstance(parent, ast.FunctionDef | ast.AsyncFunctionDef)
            and child is parent.returns
        ):
            return True
        if isinstance(parent, ast.AnnAssign) and child is parent.annotation:
            return True
        if isinstance(parent, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "__slots__"
            for target in parent.targets
        ):
            return True
        child, parent = parent, parents.get(id(parent))
    return False


def _shown(node: ast.AST, parents: Mapping[int, ast.AST]) -> ast.AST:
    """Return the node whose text describes a change of `node`: a number shows its expression."""
    if not isinstance(node, ast.Constant):
        return node
    parent = parents.get(id(node))
    while parent is not None and not isinstance(parent, ast.expr | ast.stmt):
        parent = parents.get(id(parent))
    return parent or node


def _set_attr(attr: str, value: object) -> _Apply:
    def apply(node: ast.AST) -> ast.AST:
        setattr(node, attr, copy.deepcopy(value))
        return node

    return apply


def _set_compare_op(position: int, op: type[ast.cmpop]) -> _Apply:
    def apply(node: ast.AST) -> ast.AST:
        assert isinstance(node, ast.Compare)
        node.ops[position] = op()
        return node

    return apply


def _pass(node: ast.AST) -> ast.AST:
    return ast.copy_location(ast.Pass(), node)


def _operand(node: ast.AST) -> ast.AST:
    assert isinstance(node, ast.UnaryOp)
    return node.operand


def _first_argument(node: ast.AST) -> ast.AST:
    assert isinstance(node, ast.Call)
    return node.args[0]


def _is_state_update(node: ast.stmt) -> bool:
    """Tell assignments to an attribute or item, deletions, and calls made for their effect."""
    if isinstance(node, ast.Assign):
        return any(
            isinstance(target, ast.Attribute | ast.Subscript) for target in node.targets
        )
    if isinstance(node, ast.AugAssign | ast.AnnAssign):
        return isinstance(node.target, ast.Attribute | ast.Subscript)
    if isinstance(node, ast.Delete):
        return True
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        func = node.value.func
        while isinstance(func, ast.Attribute):
            func = func.value
        return not (isinstance(func, ast.Name) and func.id in _LOGGER_NAMES)
    return False


def _initialises(node: ast.AST, parents: Mapping[int, ast.AST]) -> bool:
    """Tell an assignment of `self.x` in `__init__`: dropping one says nothing about the tests.

    The attribute is then either read before it is set (any test that builds the object fails)
    or always set before it is read (an equivalent mutant). Its initial value is still mutated.
    """
    parent = parents.get(id(node))
    return (
        isinstance(node, ast.Assign | ast.AnnAssign)
        and isinstance(parent, ast.FunctionDef)
        and parent.name == "__init__"
        and all(
            isinstance(target, ast.Attribute)
            and isinstance(target.value, ast.Name)
            and target.value.id == "self"
            for target in (
                node.targets if isinstance(node, ast.Assign) else [node.target]
            )
        )
    )


def _changes(node: ast.AST) -> Iterator[_Apply]:
    """Every way of mutating `node` itself."""
    if isinstance(node, ast.Compare):
        for position, op in enumerate(node.ops):
            swap = _COMPARE_SWAPS.get(type(op))
            if swap is not None:
                yield _set_compare_op(position, swap)
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        name = node.func.id
        if name in ("min", "max"):
            yield _set_attr("func", ast.Name("max" if name == "min" else "min"))
        if name in _UNWRAPPED_CALLS and len(node.args) == 1 and not node.keywords:
            yield _first_argument
    elif (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    ):
        yield _set_attr("value", node.value + 1)
        if node.value == 1:
            yield _set_attr("value", type(node.value)(0))
    elif isinstance(node, ast.BoolOp):
        yield _set_attr("op", ast.Or() if isinstance(node.op, ast.And) else ast.And())
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield _operand
    elif isinstance(node, ast.BinOp | ast.AugAssign):
        swap_op = _ARITHMETIC_SWAPS.get(type(node.op))
        if swap_op is not None:
            yield _set_attr("op", swap_op())
    elif isinstance(node, ast.Return):
        value = node.value
        if isinstance(value, ast.Constant) and isinstance(value.value, bool):
            yield _set_attr("value", ast.Constant(not value.value))
        elif value is not None and not (
            isinstance(value, ast.Constant) and value.value is None
        ):
            yield _set_attr("value", ast.Constant(None))
    if isinstance(node, ast.stmt) and _is_state_update(node):
        yield _pass


def generate(source: str, path: str) -> list[Mutant]:
    """Every mutant of the module `source` (found at `path`, relative to the repository)."""
    tree = ast.parse(source)
    parents = _parents(tree)
    mutants: list[Mutant] = []
    seen: dict[tuple[str, str, str], int] = {}
    for index, node in enumerate(ast.walk(tree)):
        if _skipped(node, parents):
            continue
        for apply in _changes(node):
            if apply is _pass and _initialises(node, parents):
                continue
            shown = _shown(node, parents)
            before = ast.unparse(shown)
            # Apply the change to a copy of the shown node to describe it.
            shown_copy = copy.deepcopy(shown)
            target = (
                shown_copy
                if shown is node
                else next(
                    n
                    for n, o in zip(ast.walk(shown_copy), ast.walk(shown), strict=True)
                    if o is node
                )
            )
            changed = apply(target)
            after = ast.unparse(
                changed
                if target is shown_copy
                else _replace(shown_copy, target, changed)
            )
            if after == before:
                continue
            function = _function_name(node, parents)
            occurrence = seen.get((function, before, after), 0) + 1
            seen[(function, before, after)] = occurrence
            mutants.append(
                Mutant(
                    path,
                    getattr(node, "lineno", 0),
                    function,
                    before.splitlines()[0],
                    after.splitlines()[0] if after else "",
                    occurrence,
                    index,
                    apply,
                )
            )
    mutants.sort(key=lambda mutant: mutant.line)
    return mutants


def _replace(root: ast.AST, old: ast.AST, new: ast.AST) -> ast.AST:
    """Put `new` where `old` is inside `root`; return the (possibly new) root."""
    if old is new:
        return root
    if root is old:
        return new
    for parent in ast.walk(root):
        for name, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, name, new)
                return root
            if isinstance(value, list) and any(item is old for item in value):
                value[[item is old for item in value].index(True)] = new
                return root
    raise ValueError("node not found")


def mutated_source(source: str, mutant: Mutant) -> str:
    """Return the module's source with `mutant` applied."""
    tree = ast.parse(source)
    node = next(n for i, n in enumerate(ast.walk(tree)) if i == mutant.index)
    mutated = _replace(tree, node, mutant.apply(node))
    return ast.unparse(ast.fix_missing_locations(mutated)) + "\n"


def load_equivalents(path: Path) -> list[Equivalent]:
    """Read `module :: function[#n] :: original :: mutated :: reason` lines; # starts a comment."""
    if not path.exists():
        return []
    entries: list[Equivalent] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = [part.strip() for part in line.split(" :: ")]
        if len(parts) != 5 or not parts[4]:
            raise SystemExit(
                f"{path}:{number}: expected 'module :: function :: original :: mutated :: reason'"
            )
        module, function, original, mutated, reason = parts
        occurrence = 1
        if "#" in function:
            function, _, count = function.partition("#")
            occurrence = int(count)
        entries.append(
            Equivalent((module, function, original, mutated, occurrence), reason)
        )
    return entries


@dataclass(slots=True)
class FileReport:
    """What happened to the mutants of one module."""

    path: str
    killed: int = 0
    timed_out: int = 0
    survived: list[Mutant] = field(default_factory=list)
    equivalent: int = 0
    # Listed equivalents that were run anyway (--include-equivalents) and killed: not equivalent.
    wrongly_listed: list[Mutant] = field(default_factory=list)
    # Tests that failed before any mutation, left out of every mutant's run.
    left_out: list[str] = field(default_factory=list)

    @property
    def run(self) -> int:
        """Mutants run."""
        return self.killed + len(self.survived)

    def lines(self) -> list[str]:
        """Return the summary and the surviving mutants, for printing."""
        total = self.run + self.equivalent
        raw = 100.0 * self.killed / total if total else 100.0
        real = 100.0 * self.killed / self.run if self.run else 100.0
        out = [
            (
                f"{self.path}: {self.run} run, {self.killed} killed"
                f" ({self.timed_out} by timeout), {len(self.survived)} survived,"
                f" {self.equivalent} equivalent skipped;"
                f" score {raw:.1f} % raw, {real:.1f} % without equivalents"
            )
        ]
        out.extend(
            f"  left out, failing before mutation: {test}" for test in self.left_out
        )
        out.extend(f"  survived: {mutant.describe()}" for mutant in self.survived)
        out.extend(
            f"  listed as equivalent but killed: {mutant.describe()}"
            for mutant in self.wrongly_listed
        )
        return out


class Runner:
    """Runs a module's tests in a copy of the repository, one mutant at a time."""

    def __init__(
        self,
        root: Path,
        env: Mapping[str, str] | None = None,
        *,
        min_timeout: float = 10.0,
    ) -> None:
        """`root` is the copy to mutate, never the working tree.

        A mutant's tests may run `min_timeout` seconds plus three times as long as they took
        unmutated; past that the mutant counts as killed (it hangs).
        """
        self.root = root
        self.min_timeout = min_timeout
        self.env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **(env or {})}

    def test_commands(self, module: str, tests: str) -> list[list[str]]:
        """Pytest stages for `module`: its own test file alone, then the rest of `tests`.

        Most mutants die in their module's own tests; running that file alone first spares
        collecting the whole directory for each of them.
        """
        own = Path(tests) / f"test_{Path(module).stem}.py"
        pytest = [sys.executable, "-m", "pytest", *PYTEST_ARGS]
        if not (self.root / own).exists():
            return [[*pytest, tests]]
        others = (self.root / tests).rglob("test_*.py")
        if all(path == self.root / own for path in others):
            return [[*pytest, str(own)]]
        return [[*pytest, str(own)], [*pytest, tests, f"--ignore={own}"]]

    def run_tests(
        self, command: Sequence[str], timeout: float, output: list[str] | None = None
    ) -> bool | None:
        """Return True if the tests pass, False if they fail, None if they ran past `timeout`.

        The tests' output is appended to `output` when one is given, else discarded.
        """
        with tempfile.TemporaryFile("w+", encoding="utf-8") as log:
            with subprocess.Popen(
                command,
                cwd=self.root,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log if output is not None else subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            ) as process:
                try:
                    passed: bool | None = process.wait(timeout) == 0
                except subprocess.TimeoutExpired:
                    passed = None
                finally:
                    if process.poll() is None:
                        os.killpg(process.pid, signal.SIGKILL)
                        process.wait()
            if output is not None:
                log.seek(0)
                output.append(log.read())
        return passed

    def baseline(
        self, module: str, tests: str
    ) -> tuple[list[tuple[list[str], float]], list[str]]:
        """Return the stages testing mutants of `module` with their timeouts, and the tests left out.

        Tests that already fail without any mutation (someone is editing the tree) are
        deselected, so that they do not kill every mutant; they are reported.
        """
        stages: list[tuple[list[str], float]] = []
        left_out: list[str] = []
        for command in self.test_commands(module, tests):
            # Without -x, to find every test that fails already.
            full = [arg for arg in command if arg != "-x"] + ["-rfE"]
            output: list[str] = []
            started = time.monotonic()
            passed = self.run_tests(full, timeout=900, output=output)
            timeout = self.min_timeout + 3 * (time.monotonic() - started)
            if passed is True:
                stages.append((command, timeout))
                continue
            broken = sorted(
                {
                    line.split()[1]
                    for line in output[0].splitlines()
                    if line.startswith(("FAILED ", "ERROR ")) and len(line.split()) > 1
                }
            )
            if not broken:
                tail = "\n".join(output[0].splitlines()[-30:])
                raise SystemExit(
                    f"{module}: its tests fail before any mutation:\n{tail}"
                )
            command += [
                f"--deselect={test}" if "::" in test else f"--ignore={test}"
                for test in broken
            ]
            if self.run_tests(command, timeout=900) is not True:
                raise SystemExit(
                    f"{module}: its tests fail before any mutation: {command}"
                )
            stages.append((command, timeout))
            left_out += broken
        return stages, left_out

    def run_stages(self, stages: Sequence[tuple[list[str], float]]) -> bool | None:
        """Run the stages in order until one fails or hangs; return as `run_tests` does."""
        for command, timeout in stages:
            passed = self.run_tests(command, timeout)
            if passed is not True:
                return passed
        return True

    def mutate_file(
        self,
        module: str,
        tests: str,
        mutants: Sequence[Mutant],
        equivalents: Mapping[tuple[str, str, str, str, int], Equivalent],
        *,
        include_equivalents: bool = False,
        progress: Callable[[str], None] = lambda _: None,
    ) -> FileReport:
        """Run every mutant of `module`; the module's text is restored whatever happens."""
        report = FileReport(module)
        target = self.root / module
        original = target.read_text(encoding="utf-8")
        stages, report.left_out = self.baseline(module, tests)
        try:
            for number, mutant in enumerate(mutants, 1):
                listed = mutant.key in equivalents
                if listed and not include_equivalents:
                    report.equivalent += 1
                    continue
                target.write_text(mutated_source(original, mutant), encoding="utf-8")
                passed = self.run_stages(stages)
                verdict = {True: "survived", False: "killed", None: "timeout"}[passed]
                progress(f"[{number}/{len(mutants)}] {verdict}: {mutant.describe()}")
                if listed:
                    report.equivalent += 1
                    if passed is not True:
                        report.wrongly_listed.append(mutant)
                elif passed is True:
                    report.survived.append(mutant)
                else:
                    report.killed += 1
                    report.timed_out += passed is None
        finally:
            target.write_text(original, encoding="utf-8")
        return report


def resolve(names: Sequence[str]) -> dict[str, str]:
    """Return the targets named (a path or a tail of one), every target when none is."""
    if not names:
        return dict(TARGETS)
    chosen: dict[str, str] = {}
    for name in names:
        tail = name.removeprefix("./").lstrip("/")
        matches = [m for m in TARGETS if m == tail or m.endswith("/" + tail)]
        if len(matches) != 1:
            raise SystemExit(
                f"{name}: {'ambiguous' if matches else 'not a mutation target'};"
                f" targets: {', '.join(TARGETS)}"
            )
        chosen[matches[0]] = TARGETS[matches[0]]
    return chosen


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: Sequence[str] | None = None) -> int:
    """Run mutation testing; exit 1 when a non-equivalent mutant survived."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "files", nargs="*", help="modules to mutate (default: all targets)"
    )
    parser.add_argument(
        "--list", action="store_true", help="print the mutants, run nothing"
    )
    parser.add_argument(
        "--include-equivalents",
        action="store_true",
        help="run the listed equivalents too, to check the list",
    )
    args = parser.parse_args(argv)
    targets = resolve(args.files)
    listed = load_equivalents(EQUIVALENTS_FILE)
    equivalents = {entry.key: entry for entry in listed}
    generated = {
        module: generate((REPO_ROOT / module).read_text(encoding="utf-8"), module)
        for module in targets
    }
    keys = {mutant.key for mutants in generated.values() for mutant in mutants}
    for entry in listed:
        if entry.key[0] in targets and entry.key not in keys:
            print(
                f"stale equivalent (no such mutant now): {' :: '.join(map(str, entry.key))}"
            )
    if args.list:
        for mutants in generated.values():
            for mutant in mutants:
                flag = " (equivalent)" if mutant.key in equivalents else ""
                occurrence = f" #{mutant.occurrence}" if mutant.occurrence > 1 else ""
                print(f"{mutant.describe()}{occurrence}{flag}")
        return 0
    reports: list[FileReport] = []
    # A terminated run cleans up like an interrupted one (a background job ignores Ctrl-C).
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        with tempfile.TemporaryDirectory(prefix="aicleaner-mutate-") as tmp:
            root = Path(tmp) / "repo"
            shutil.copytree(REPO_ROOT, root, ignore=_COPY_IGNORE)
            runner = Runner(root)
            for module, tests in targets.items():
                print(
                    f"{module}: {len(generated[module])} mutants, tests {tests}",
                    flush=True,
                )
                report = runner.mutate_file(
                    module,
                    tests,
                    generated[module],
                    equivalents,
                    include_equivalents=args.include_equivalents,
                    progress=lambda line: print("  " + line, flush=True),
                )
                reports.append(report)
                print("\n".join(report.lines()), flush=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
    print("\nSummary")
    for report in reports:
        print("\n".join(report.lines()))
    return 1 if any(r.survived or r.wrongly_listed for r in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
