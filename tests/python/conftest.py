"""Fixtures of the vecstore package's tests (tests/python/). tests/run.sh
builds the extension into BUILD/python (make python-ext) and runs pytest
with PYTHONPATH there and the programs of BUILD/bin on PATH."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))  # tap_plugin, helpers

import vecstore  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    return tmp_path


def rows(n: int, d: int, seed: int = 1) -> np.ndarray:
    """n random unit rows of dimension d, float32."""
    x = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


@pytest.fixture
def small(tmp_path: Path) -> Iterator[vecstore.Store]:
    """A store of 50 records, dim 8, cosine, with texts and metadata."""
    s = vecstore.open(tmp_path / "small.vs", create=True, dim=8)
    ids = [f"r{i}" for i in range(50)]
    texts = [f"record {i} about {'apples' if i % 2 else 'pears'} and topic{i % 5}"
             for i in range(50)]
    meta = [{"n": i, "lang": "en" if i % 3 else "de"} for i in range(50)]
    s.upsert(ids, rows(50, 8), texts=texts, metadata=meta)
    yield s
    s.close()


def program(name: str) -> str:
    """The path of a vs-* program (BUILD/bin on PATH), or skip."""
    p = shutil.which(name)
    if not p:
        pytest.skip(f"{name} not on PATH (tests/run.sh puts BUILD/bin there)")
    return p
