"""The fast tier: ``pytest --fast`` (``make test-fast``).

It runs what needs no test bed: the spec, rendering, writing and matrix checks. Left out:

- tests marked ``slow``, ``docker``, ``postgres``, ``s3`` or ``heavy`` (deselected, so they still count in
  the summary line);
- test-bed tools (Docker, checkov, molecule: ``skips.TESTBED_TOOLS``): ``skips.require`` skips the
  test, whatever this machine has;
- test files that are not even imported: those that import a heavy module (``HEAVY``) at their
  top level, and those whose module-level ``pytestmark`` names one of the marks above. Reading
  the file's syntax tree decides it, so a new file of either kind stays out by itself.

A guard fails the run where a heavy module gets imported anyway (by a helper, a conftest, a
test): the collection report of the file, or the report of the test phase, that imported it
fails and names the module. Without ``--fast`` none of this is active.
"""

from __future__ import annotations

import ast
import functools
import sys
from pathlib import Path

import pytest

from .skips import FAST_TIER

# Marks whose tests need the test bed (or take long): not in the fast tier.
EXCLUDED_MARKS = ("slow", "docker", "postgres", "s3", "heavy")
# Top-level packages whose import alone takes seconds and hundreds of MiB.
HEAVY = ("torch", "tensorflow", "keras", "jax", "mlflow", "lightning", "pytorch_lightning",
         "transformers", "accelerate", "sklearn")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--fast", action="store_true", default=False,
                     help="the fast tier: no test bed, no Docker, no heavy imports "
                          f"(deselects marks {', '.join(EXCLUDED_MARKS)}; see tests/support/tiers.py)")


def fast(config: pytest.Config) -> bool:
    return bool(config.getoption("fast", default=False))


def heavy_loaded() -> frozenset[str]:
    return frozenset(name for name in HEAVY if name in sys.modules)


@functools.cache
def why_left_out(path: Path) -> str | None:
    """Why the fast tier does not import the test file ``path`` (None: it does)."""
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError):
        return None  # let the collection report the problem
    for node in _module_level(tree.body):
        if isinstance(node, ast.Import):
            roots = [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots = [node.module.split(".")[0]]
        else:
            roots = []
        for root in roots:
            if root in HEAVY:
                return f"imports {root}"
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in targets):
                marks = {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}
                for mark in EXCLUDED_MARKS:
                    if mark in marks:
                        return f"pytestmark {mark}"
    return None


def _module_level(body: list[ast.stmt]):
    """Statements run at import: the module body, including inside if/try/with blocks."""
    for node in body:
        yield node
        if isinstance(node, ast.If | ast.With):
            yield from _module_level(node.body)
            yield from _module_level(getattr(node, "orelse", []))
        elif isinstance(node, ast.Try):
            for part in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from _module_level(part)


def _is_test_file(path: Path, config: pytest.Config) -> bool:
    patterns = config.getini("python_files")
    return path.suffix == ".py" and any(path.match(p) for p in patterns)


def pytest_configure(config: pytest.Config) -> None:
    FAST_TIER["active"] = fast(config)
    if fast(config) and heavy_loaded():
        raise pytest.UsageError(
            f"--fast: {', '.join(sorted(heavy_loaded()))} imported before the tests were collected "
            "(by a plugin or conftest); the fast tier must not import it")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if fast(config) and _is_test_file(collection_path, config) and why_left_out(collection_path):
        return True
    return None


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    if not fast(config):
        return None
    roots = [Path(a.split("::")[0]) for a in config.args] or [config.rootpath]
    files = sorted({p for root in roots
                    for p in ([root] if root.is_file() else root.rglob("test_*.py"))
                    if _is_test_file(p, config)})
    left = [(p, why_left_out(p)) for p in files if why_left_out(p)]
    lines = [f"fast tier: marks {', '.join(EXCLUDED_MARKS)} deselected; "
             f"{len(left)} of {len(files)} test files not imported:"]
    lines += [f"  {p.relative_to(config.rootpath) if p.is_relative_to(config.rootpath) else p} "
              f"({why})" for p, why in left]
    return lines


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not fast(config):
        return
    keep, drop = [], []
    for item in items:
        (drop if any(item.get_closest_marker(m) for m in EXCLUDED_MARKS) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


# --------------------------------------------------------------------------- the guard


def pytest_collection_finish(session: pytest.Session) -> None:
    session.config.stash[_SEEN] = heavy_loaded()  # what collection imported has failed already


def _fail(report: pytest.CollectReport | pytest.TestReport, new: frozenset[str], what: str) -> None:
    report.outcome = "failed"
    report.longrepr = (f"fast tier: {what} imported {', '.join(sorted(new))}; import it inside the "
                       f"tests that need it, and mark them (one of {', '.join(EXCLUDED_MARKS)})")


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    before = heavy_loaded()
    report = yield
    if fast(collector.config):
        new = heavy_loaded() - before
        if new:
            _fail(report, new, f"collecting {collector.nodeid or collector.path}")
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if fast(item.config):
        seen = item.config.stash.get(_SEEN, frozenset())
        new = heavy_loaded() - seen
        if new:
            item.config.stash[_SEEN] = seen | new
            _fail(report, new, f"the {call.when} of {item.nodeid}")
    return report


_SEEN = pytest.StashKey[frozenset]()
