"""Shared fixtures of the tests of python/examples/ (run by make check through
tests/run.sh's Python section, with the package of BUILD/python on the
path), imported by each test file (`from ex_fixtures import ...`): not a
conftest.py, whose module name would shadow tests/python/conftest.py's.
Importing it puts each example's folder (python/examples/NAME/, holding
NAME.py) on sys.path, so each example imports as a module."""
import os
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
EXAMPLES = os.path.join(ROOT, "python", "examples")
DATA = os.path.join(EXAMPLES, "data")
for _name in sorted(os.listdir(EXAMPLES)):
    _dir = os.path.join(EXAMPLES, _name)
    if os.path.isfile(os.path.join(_dir, _name + ".py")) and _dir not in sys.path:
        sys.path.insert(0, _dir)


@pytest.fixture
def examples_dir():
    return EXAMPLES


@pytest.fixture
def data_dir():
    return DATA


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A scratch folder, also the current directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
