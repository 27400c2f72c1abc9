"""Two Python threads searching one Store against one thread: queries per
second (wall) and per CPU second, for single-query calls (search_arrays
and search: the GIL is taken twice per call) and for batches.

    PYTHONPATH=build/python python python/tools/threads_speedup.py [ROWS] [DIM]

Prints one JSON line per case with the load average. On a shared machine
wall-clock speedup depends on the other load; CPU time per query shows
whether the threads slowed each other (GIL or lock contention shows as
more CPU per query or less wall speedup with idle cores)."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time

import numpy as np

import vecstore


def run(fn, nthreads: int, calls: int) -> tuple[float, float]:
    barrier = threading.Barrier(nthreads + 1)

    def work() -> None:
        barrier.wait()
        for _ in range(calls):
            fn()

    ts = [threading.Thread(target=work) for _ in range(nthreads)]
    for t in ts:
        t.start()
    c0, w0 = time.process_time(), time.perf_counter()
    barrier.wait()
    for t in ts:
        t.join()
    return time.perf_counter() - w0, time.process_time() - c0


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    d = int(sys.argv[2]) if len(sys.argv) > 2 else 128
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, d), dtype=np.float32)
    q = rng.standard_normal((64, d), dtype=np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        s = vecstore.open(os.path.join(tmp, "t.vs"), create=True, hnsw_m=16, hnsw_seed=1)
        s.upsert([str(i) for i in range(n)], x)
        i = [0]

        def one_arrays() -> None:
            i[0] += 1
            s.search_arrays(q[i[0] % 64], k=10, threads=1)

        def one_hits() -> None:
            i[0] += 1
            s.search(q[i[0] % 64], k=10, threads=1, with_text=False, with_metadata=False)

        def batch() -> None:
            s.search_arrays(q, k=10, threads=1)

        for name, fn, calls, per in (("single search_arrays", one_arrays, 3000, 1),
                                     ("single search", one_hits, 3000, 1),
                                     ("batch of 64", batch, 60, 64)):
            run(fn, 1, calls // 10)  # warm
            w1, c1 = run(fn, 1, calls)
            w2, c2 = run(fn, 2, calls)
            print(json.dumps({
                "case": name, "rows": n, "dim": d, "queries_1": calls * per,
                "qps_1": round(calls * per / w1), "qps_2": round(2 * calls * per / w2),
                "speedup_wall": round(w1 / w2 * 2, 2),
                "cpu_us_per_query_1": round(c1 / (calls * per) * 1e6, 1),
                "cpu_us_per_query_2": round(c2 / (2 * calls * per) * 1e6, 1),
                "load": os.getloadavg()[0]}))
        s.close()


if __name__ == "__main__":
    main()
