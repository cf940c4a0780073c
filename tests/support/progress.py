"""``--progress``: say what is running and how far along the run is.

With two xdist workers a run can print one dot in eight minutes (molecule, image builds, the
end-to-end test). With ``--progress`` the terminal also gets:

- a line when a test file starts (with xdist: on whichever worker), with the count of tests done:
  ``[05:12:07 +03:41] start tests/ansible/test_molecule.py (file 12/45) | 301/812 tests done``;
- with xdist, a line when a test that took ``--progress-slow`` seconds (default 30) ends;
- every ``--progress-every`` seconds (default 60) without any such line, what is running and
  for how long: ``[05:20:07 +11:41] running tests/ansible/test_molecule.py::test_molecule_scenario
  [docker-default] (4m10s) | 301/812 tests done (37%)``.

Without xdist pytest already names each file as it starts, so only the "running" lines are added.
"""

from __future__ import annotations

import os
import threading
import time

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("progress", "progress lines (tests/support/progress.py)")
    group.addoption("--progress", action="store_true", default=False,
                    help="print test files as they start and what is still running")
    group.addoption("--progress-every", type=float, default=60.0, metavar="SECONDS",
                    help="with --progress: say what runs after this long without a line (60)")
    group.addoption("--progress-slow", type=float, default=30.0, metavar="SECONDS",
                    help="with --progress and xdist: a line for each test that took this long (30)")


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}m{seconds:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


class Progress:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.every = config.getoption("progress_every")
        self.slow = config.getoption("progress_slow")
        self.xdist = bool(getattr(config.option, "numprocesses", None)) \
            and not hasattr(config, "workerinput")
        self.start = time.monotonic()
        self.lock = threading.Lock()
        self.total_tests = 0
        self.total_files = 0
        self.done = 0
        self.files: set[str] = set()
        self.running: dict[str, float] = {}
        self.last_line = time.monotonic()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, name="progress", daemon=True)

    # ---------------------------------------------------------------- output

    def line(self, text: str) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None:
            return
        now = time.monotonic()
        stamp = f"[{time.strftime('%H:%M:%S')} +{_clock(now - self.start)}]"
        with self.lock:
            self.last_line = now
            terminal = None if self.xdist else _terminal_fd(self.config)
            if terminal is not None:
                # Without xdist the line comes while a test runs, its output captured: write
                # past the capture, to the terminal's own descriptor.
                os.write(terminal, f"\n{stamp} {text}\n".encode())
            else:
                reporter.ensure_newline()
                reporter.write_line(f"{stamp} {text}")

    def tally(self) -> str:
        if not self.total_tests:
            return f"{self.done} tests done"
        return f"{self.done}/{self.total_tests} tests done ({100 * self.done // self.total_tests}%)"

    # ---------------------------------------------------------------- hooks

    def collected(self, nodeids: list[str]) -> None:
        with self.lock:
            self.total_tests = len(nodeids)
            self.total_files = len({n.split("::")[0] for n in nodeids})
        if not self.thread.is_alive():
            self.thread.start()

    def started(self, nodeid: str) -> None:
        now = time.monotonic()
        path = nodeid.split("::")[0]
        with self.lock:
            self.running[nodeid] = now
            first = path not in self.files
            self.files.add(path)
            count = len(self.files)
        if first and self.xdist:
            of = f"/{self.total_files}" if self.total_files else ""
            self.line(f"start {path} (file {count}{of}) | {self.tally()}")

    def finished(self, nodeid: str) -> None:
        now = time.monotonic()
        with self.lock:
            began = self.running.pop(nodeid, now)
            self.done += 1
        if self.xdist and now - began >= self.slow:
            self.line(f"took {_clock(now - began)}: {nodeid} | {self.tally()}")

    def _beat(self) -> None:
        while not self.stop.wait(min(5.0, self.every)):
            now = time.monotonic()
            with self.lock:
                quiet = now - self.last_line >= self.every
                running = sorted(self.running.items(), key=lambda kv: kv[1])
            if quiet and running:
                shown = ", ".join(f"{n} ({_clock(now - t)})" for n, t in running[:4])
                more = f" and {len(running) - 4} more" if len(running) > 4 else ""
                self.line(f"running {shown}{more} | {self.tally()}")


def _terminal_fd(config: pytest.Config) -> int | None:
    """The saved terminal descriptor of pytest's fd capture (None: no fd capture)."""
    capman = config.pluginmanager.get_plugin("capturemanager")
    out = getattr(getattr(capman, "_global_capturing", None), "out", None)
    fd = getattr(out, "targetfd_save", None)
    return fd if isinstance(fd, int) else None


_KEY = pytest.StashKey[Progress]()


def _progress(config: pytest.Config) -> Progress | None:
    return config.stash.get(_KEY, None)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    # Workers report to the controller, which prints; a worker prints nothing itself.
    if config.getoption("progress") and not hasattr(config, "workerinput"):
        config.stash[_KEY] = Progress(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    progress = _progress(config)
    if progress is not None:
        progress.stop.set()


def pytest_collection_finish(session: pytest.Session) -> None:
    progress = _progress(session.config)
    if progress is not None and not progress.xdist:
        progress.collected([item.nodeid for item in session.items])


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids: list[str]) -> None:
    progress = _progress(node.config)
    if progress is not None and not progress.total_tests:
        progress.collected(list(ids))


def pytest_runtest_logstart(nodeid: str, location) -> None:
    progress = _progress_of_any()
    if progress is not None:
        progress.started(nodeid)


def pytest_runtest_logfinish(nodeid: str, location) -> None:
    progress = _progress_of_any()
    if progress is not None:
        progress.finished(nodeid)


# The logstart/logfinish hooks get no config: the session's Progress is kept here too.
_current: list[Progress] = []


def _progress_of_any() -> Progress | None:
    return _current[-1] if _current else None


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    progress = _progress(session.config)
    if progress is not None:
        _current.append(progress)


def pytest_sessionfinish(session: pytest.Session) -> None:
    progress = _progress(session.config)
    if progress is not None:
        progress.stop.set()
        if progress in _current:
            _current.remove(progress)
