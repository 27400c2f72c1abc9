"""Store.search and Store.search_arrays are the C base's vectorcall methods
(vecstore._vecstore.StoreBase): a float32 C-contiguous query is searched
there with no Python frame; every other query goes to the Python
implementation (Store._search_py / _search_arrays_py). Both must give the
same results and the same errors; a float32 query must not reach Python."""

from __future__ import annotations

import inspect
import sys
from typing import Any

import numpy as np
import pytest
from conftest import rows

import vecstore


@pytest.fixture
def no_python_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the Python implementations fail: only the C path may run."""
    def boom(*a: Any, **kw: Any) -> None:
        raise AssertionError("the Python search path ran")
    monkeypatch.setattr(vecstore.Store, "_search_py", boom)
    monkeypatch.setattr(vecstore.Store, "_search_arrays_py", boom)


# the Python implementations, kept before no_python_path replaces them
_ORIG_SEARCH = vecstore.Store._search_py
_ORIG_ARRAYS = vecstore.Store._search_arrays_py

KEYWORDS: list[dict[str, Any]] = [
    {},
    {"mode": "vector", "ef": 40, "threads": 1, "with_text": False, "with_metadata": False},
    {"exact": True, "filter": "lang = 'en'"},
    {"mode": "auto", "fusion": "rrf", "rrf_k": 30.0, "alpha": 0.5, "depth": 20},
    {"mmr": 0.5, "with_text": False},
]


@pytest.mark.parametrize("kw", KEYWORDS)
def test_c_path_equals_python_path(small: vecstore.Store, kw: dict[str, Any],
                                   no_python_path: None) -> None:
    q = rows(3, 8, seed=11)
    for query in (q[0], q):
        got = small.search(query, 5, **kw)
        ref = _ORIG_SEARCH(small, query, 5, **kw)
        assert got == ref
        if query.ndim == 1:
            assert all(type(h) is vecstore.Hit for h in got)
        else:
            assert len(got) == 3 and all(len(r) == 5 for r in got)


def test_arrays_c_path_equals_python_path(small: vecstore.Store, no_python_path: None) -> None:
    q = rows(4, 8, seed=12)
    for query, kw in ((q, {}), (q[1], {"ef": 20, "threads": 1}),
                      (q, {"exact": True, "filter": "n < 10"})):
        ids, scores = small.search_arrays(query, 6, **kw)
        rids, rscores = _ORIG_ARRAYS(small, query, 6, **kw)
        assert ids.dtype == object and scores.dtype == np.float32
        assert ids.shape == rids.shape == scores.shape == (len(np.atleast_2d(query)), 6)
        assert ids.tolist() == rids.tolist()
        assert np.array_equal(scores, rscores, equal_nan=True)


def test_arrays_pad_missing_hits(small: vecstore.Store, no_python_path: None) -> None:
    # 10 records match the filter: slots past them are None and NaN
    ids, scores = small.search_arrays(rows(2, 8, seed=13), 12, filter="n < 10", exact=True)
    for r in range(2):
        assert all(isinstance(i, str) for i in ids[r, :10])
        assert ids[r, 10:].tolist() == [None, None]
        assert np.isnan(scores[r, 10:]).all() and not np.isnan(scores[r, :10]).any()


def test_arrays_repeated_ids_decoded_once(small: vecstore.Store, tmp_path: Any,
                                          no_python_path: None) -> None:
    # 6000 hits of 50 ids: equal ids are one str object, the same ids (and
    # scores) as the Python path's
    q = rows(300, 8, seed=15)
    ids, scores = small.search_arrays(q, 20)
    rids, rscores = _ORIG_ARRAYS(small, q, 20)
    assert ids.tolist() == rids.tolist()
    assert np.array_equal(scores, rscores, equal_nan=True)
    flat = ids.ravel().tolist()
    first: dict[str, str] = {}
    for x in flat:
        first.setdefault(x, x)
    assert len(first) <= 50 < len(flat)
    assert all(first[x] is x for x in flat)
    # ids alike in their first bytes, non-ASCII ones, and one byte apart
    s = vecstore.open(tmp_path / "ids.vs", create=True, dim=8)
    names = [f"id-{i:03d}" for i in range(20)] + [f"é{i}ß" for i in range(20)] + ["a", "b"]
    s.upsert(names, rows(len(names), 8, seed=16))
    q = rows(40, 8, seed=17)
    for k in (1, 7, 50):
        ids, scores = s.search_arrays(q, k)
        rids, rscores = _ORIG_ARRAYS(s, q, k)
        assert ids.tolist() == rids.tolist()
        assert np.array_equal(scores, rscores, equal_nan=True)
    s.close()


def test_arrays_reference_counts(small: vecstore.Store) -> None:
    # each slot's None reference is swapped for an id's: None's count is back
    # where it was once the arrays are gone
    q = rows(8, 8, seed=14)
    small.search_arrays(q, 5)
    before = sys.getrefcount(None)
    for _ in range(50):
        ids, scores = small.search_arrays(q, 5)
        del ids, scores
    assert abs(sys.getrefcount(None) - before) < 10


@pytest.mark.parametrize("query", [
    lambda q: q[0].tolist(),                        # a list
    lambda q: q[0].astype(np.float64),              # another dtype
    lambda q: q[:, ::2].reshape(-1)[:8],            # float32 but not C-contiguous
    lambda q: np.asfortranarray(q[:2]),             # a Fortran-order matrix
    lambda q: q[0].astype(">f4"),                   # big-endian float32
])
def test_other_queries_take_the_python_path(small: vecstore.Store, query: Any) -> None:
    q = np.repeat(rows(2, 8, seed=15), 2, axis=1)[:, :8].copy()
    x = query(q)
    want = small.search(np.ascontiguousarray(x, dtype=np.float32), 4)
    assert small.search(x, 4) == want
    ids, _ = small.search_arrays(x, 4)
    wids, _ = small.search_arrays(np.ascontiguousarray(x, dtype=np.float32), 4)
    assert ids.tolist() == wids.tolist()


def test_errors_match_the_python_path(small: vecstore.Store) -> None:
    v = rows(1, 8, seed=16)[0]
    cases: list[tuple[dict[str, Any], type[BaseException]]] = [
        ({"k": 0}, vecstore.UsageError),
        ({"ef": -1}, vecstore.UsageError),
        ({"mode": "nope"}, vecstore.UsageError),
        ({"fusion": "nope"}, vecstore.UsageError),
        ({"alpha": 2.0}, vecstore.UsageError),
        ({"filter": "n <"}, vecstore.FilterError),
        ({"filter": "a\0b"}, ValueError),
        ({"bogus": 1}, TypeError),
        ({"k": None}, TypeError),
    ]
    for kw, exc in cases:
        with pytest.raises(exc):
            small.search(v, **kw)
        with pytest.raises(exc):
            _ORIG_SEARCH(small, v, **kw)
    with pytest.raises(TypeError):
        small.search(v, 3, "extra")  # type: ignore[call-arg]
    with pytest.raises(vecstore.DimensionError):
        small.search(v[:5])
    with pytest.raises(vecstore.DimensionError):
        small.search_arrays(v[:5])
    with pytest.raises(TypeError):
        small.search_arrays(v, mode="vector")  # not a search_arrays keyword
    small.close()
    with pytest.raises(vecstore.ClosedError):
        small.search(v)
    with pytest.raises(vecstore.ClosedError):
        small.search_arrays(v)


def test_signatures() -> None:
    s = inspect.signature(vecstore.Store.search)
    assert list(s.parameters)[:3] == ["self", "query", "k"]
    assert s.parameters["k"].default == 10
    assert s.parameters["with_text"].default is True
    a = inspect.signature(vecstore.Store.search_arrays)
    assert list(a.parameters) == ["self", "queries", "k", "filter", "ef", "exact", "threads"]
    assert a.parameters["filter"].kind is inspect.Parameter.KEYWORD_ONLY
