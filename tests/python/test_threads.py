"""Threads: the GIL is released around searches, commits, upserts and
embedding (a test that fails if it is held), one Store shared by threads
searching and writing, close() while another thread searches."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from conftest import rows

import vecstore


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """20,000 x 64 rows, exact search only: a batch search takes long enough
    for another thread to look at it."""
    path = tmp_path_factory.mktemp("big") / "big.vs"
    s = vecstore.open(path, create=True, hnsw_m=0)
    s.upsert([f"r{i}" for i in range(20000)], rows(20000, 64, seed=2))
    yield s
    s.close()


def seen_running(handle: Any, work: Callable[[], Any], tries: int = 20) -> bool:
    """Run work in a thread (up to tries times) while this thread watches
    handle.busy(): busy is 1 only between the GIL's release and its
    re-acquisition inside the call, so a call that held the GIL throughout
    is never seen running."""
    for _ in range(tries):
        t = threading.Thread(target=work)
        t.start()
        seen = False
        while t.is_alive():
            if handle.busy() > 0:
                seen = True
        t.join()
        if seen:
            return True
    return False


def test_search_releases_gil(big: vecstore.Store) -> None:
    q = rows(400, 64, seed=3)
    assert seen_running(big._db, lambda: big.search(q, k=10, exact=True, threads=1))


def test_search_arrays_releases_gil(big: vecstore.Store) -> None:
    q = rows(400, 64, seed=3)
    assert seen_running(big._db, lambda: big.search_arrays(q, k=10, exact=True, threads=1))


def test_upsert_and_commit_release_gil(tmp: Path) -> None:
    s = vecstore.open(tmp / "w.vs", create=True, hnsw_m=16)
    data = rows(2000, 32, seed=4)
    n = [0]

    def write() -> None:
        n[0] += 1
        s.upsert([f"{n[0]}-{i}" for i in range(2000)], data)  # builds the graph

    assert seen_running(s._db, write)
    s.close()


def test_embed_releases_gil() -> None:
    e = vecstore.Embedder("hash", dim=384)
    texts = [f"some words to hash number {i} " * 20 for i in range(3000)]
    assert seen_running(e._enc, lambda: e.embed(texts))


def test_python_thread_progresses_during_search(big: vecstore.Store) -> None:
    """A pure-Python counter thread keeps counting while the main thread is
    inside one long search call."""
    q = rows(500, 64, seed=5)
    inside = threading.Event()
    done = threading.Event()
    counts: list[int] = []

    def count() -> None:
        inside.wait()
        c = 0
        while not done.is_set():
            c += 1
            if big._db.busy() > 0 and c % 1000 == 0:
                counts.append(c)

    t = threading.Thread(target=count)
    t.start()
    ok = False
    for _ in range(10):
        inside.set()
        big.search(q, k=5, exact=True, threads=1)
        if counts:
            ok = True
            break
    done.set()
    t.join()
    assert ok, "no Python code ran while a search was in the library"


def test_threads_share_one_store(big: vecstore.Store) -> None:
    q = rows(64, 64, seed=6)
    want = [[h.id for h in r] for r in big.search(q, k=5, exact=True)]
    errors: list[BaseException] = []
    got: dict[int, list[list[str]]] = {}

    def worker(i: int) -> None:
        try:
            for _ in range(5):
                got[i] = [[h.id for h in r] for r in big.search(q, k=5, exact=True)]
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors
    assert all(v == want for v in got.values()) and len(got) == 4


def test_search_while_writing(tmp: Path) -> None:
    s = vecstore.open(tmp / "rw.vs", create=True, dim=16, hnsw_m=8)
    s.upsert([f"a{i}" for i in range(500)], rows(500, 16))
    stop = threading.Event()
    errors: list[BaseException] = []
    sizes: list[int] = []

    def reader() -> None:
        q = rows(1, 16, seed=9)[0]
        while not stop.is_set():
            try:
                hits = s.search(q, k=10)
                sizes.append(len(hits))
            except BaseException as e:  # noqa: BLE001
                errors.append(e)
                return

    ts = [threading.Thread(target=reader) for _ in range(2)]
    for t in ts:
        t.start()
    for b in range(10):
        s.upsert([f"b{b}-{i}" for i in range(100)], rows(100, 16, seed=b + 20))
        s.delete([f"a{b}"])
    stop.set()
    for t in ts:
        t.join()
    assert not errors and sizes and all(n == 10 for n in sizes)
    assert len(s) == 500 + 1000 - 10
    s.close()


def test_close_waits_for_running_search(tmp: Path) -> None:
    s = vecstore.open(tmp / "c.vs", create=True, hnsw_m=0)
    s.upsert([f"r{i}" for i in range(20000)], rows(20000, 64, seed=2))
    q = rows(1000, 64, seed=7)
    result: list[Any] = []
    started = threading.Event()

    def search() -> None:
        started.set()
        try:
            result.append(len(s.search(q, k=3, exact=True, threads=1)))
        except vecstore.ClosedError as e:  # closed before it started: allowed
            result.append(e)

    t = threading.Thread(target=search)
    t.start()
    started.wait()
    while t.is_alive() and s._db.busy() == 0:
        pass
    s.close()  # waits for the search, then frees the handle
    t.join()
    assert result and (result[0] == 1000 or isinstance(result[0], vecstore.ClosedError))
    with pytest.raises(vecstore.ClosedError):
        s.search(q[0])


def test_concurrent_upserts_serialised(tmp: Path) -> None:
    s = vecstore.open(tmp / "u.vs", create=True, dim=8)
    errors: list[BaseException] = []

    def writer(w: int) -> None:
        try:
            for b in range(5):
                s.upsert([f"w{w}-{b}-{i}" for i in range(50)], rows(50, 8, seed=w * 10 + b))
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    ts = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors and len(s) == 3 * 5 * 50
    s.close()


def test_numpy_input_unchanged(big: vecstore.Store) -> None:
    q = rows(3, 64, seed=8)
    before = q.copy()
    big.search(q, k=3)
    np.testing.assert_array_equal(q, before)


def _omp_env(extra: dict[str, str]) -> str:
    """libgomp's report of its settings (OMP_DISPLAY_ENV=VERBOSE) in a new
    interpreter that imports vecstore."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("OMP_")}
    env.update(extra, OMP_DISPLAY_ENV="VERBOSE")
    r = subprocess.run([sys.executable, "-c", "import vecstore"], env=env,
                       capture_output=True, text=True, check=True)
    return r.stderr


def test_openmp_threads_wait_passively_unless_told() -> None:
    # idle OpenMP threads sleep instead of spinning between a search's
    # batches (vecstore sets OMP_WAIT_POLICY before libgomp loads; unset,
    # libgomp also reports PASSIVE but spins 300000 rounds) ...
    assert "GOMP_SPINCOUNT = '0'" in _omp_env({})
    # ... and the caller's setting wins
    assert "OMP_WAIT_POLICY = 'ACTIVE'" in _omp_env({"OMP_WAIT_POLICY": "ACTIVE"})
