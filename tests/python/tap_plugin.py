"""A small pytest plugin that writes TAP (one "ok N - name" line per test)
for tests/run.sh's counting: loaded with -p tap_plugin when VS_PYTEST_TAP
names a file, which gets the TAP stream (pytest's own report stays on the
terminal). Skips are "ok N - name # SKIP reason"; a failure in setup or
teardown counts as "not ok" too."""

from __future__ import annotations

import os
from typing import Any

import pytest

_state: dict[str, Any] = {"n": 0, "out": None, "failed": set()}


def pytest_configure(config: pytest.Config) -> None:
    path = os.environ.get("VS_PYTEST_TAP")
    if path:
        _state["out"] = open(path, "w", encoding="utf-8")  # noqa: SIM115


def _emit(line: str) -> None:
    out = _state["out"]
    if out is not None:
        out.write(line + "\n")
        out.flush()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    name = report.nodeid.replace("#", "")
    if report.when == "call" or (report.when == "setup" and not report.passed):
        _state["n"] += 1
        n = _state["n"]
        if report.skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
            if hasattr(report, "wasxfail"):
                _emit(f"not ok {n} - {name} # TODO xfail")
            else:
                _emit(f"ok {n} - {name} # SKIP {reason}")
        elif report.passed:
            _emit(f"ok {n} - {name}")
        else:
            _state["failed"].add(report.nodeid)
            _emit(f"not ok {n} - {name}")
            for ln in str(report.longrepr).splitlines()[-15:]:
                _emit(f"#   {ln}")
    elif report.when == "teardown" and report.failed and report.nodeid not in _state["failed"]:
        _state["n"] += 1
        _emit(f"not ok {_state['n']} - {name} (teardown)")


def pytest_unconfigure(config: pytest.Config) -> None:
    if _state["out"] is not None:
        _emit(f"1..{_state['n']}")
        _state["out"].close()
        _state["out"] = None
