"""percall.py STORE QUERIES D EF N [arrays|hits]: the Python side of the per-call overhead
of one query, on the store and queries bench/py/percall.c times through the
C library (same k 10, ef, 1 thread, no text or metadata). Prints:

  py_arrays_p50_us, py_arrays_mean_us, py_arrays_cpu_us
        Store.search_arrays(vector, 10, ef=EF, threads=1): the fast path
  py_hits_p50_us, py_hits_mean_us, py_hits_cpu_us
        Store.search(vector, 10, mode="vector", ef=EF, threads=1,
        with_text=False, with_metadata=False): a list of Hit objects

Each is timed over the first N queries after a warm-up pass (CPU: the
calling thread's time.thread_time). A sixth argument runs only that one
(bench/py/percall_ir.sh counts its instructions under callgrind)."""
import sys
import time

import numpy as np
import vecstore


def timed(call, q):
    for row in q:
        call(row)
    lat = np.empty(len(q))
    c0 = time.thread_time()
    for i, row in enumerate(q):
        t0 = time.perf_counter()
        call(row)
        lat[i] = time.perf_counter() - t0
    cpu = time.thread_time() - c0
    return np.median(lat) * 1e6, lat.mean() * 1e6, cpu / len(q) * 1e6


def main():
    if len(sys.argv) not in (6, 7) or sys.argv[6:] not in ([], ["arrays"], ["hits"]):
        sys.exit("usage: percall.py STORE QUERIES D EF N [arrays|hits]")
    only = "py_" + sys.argv[6] if len(sys.argv) == 7 else None
    path, queries, d, ef, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    q = np.fromfile(queries, dtype=np.float32).reshape(-1, d)[:n]
    with vecstore.open(path, readonly=True) as s:
        for tag, call in (
            ("py_arrays", lambda v: s.search_arrays(v, 10, ef=ef, threads=1)),
            ("py_hits", lambda v: s.search(v, 10, mode="vector", ef=ef, threads=1,
                                           with_text=False, with_metadata=False)),
        ):
            if only and tag != only:
                continue
            p50, mean, cpu = timed(call, q)
            print(f"{tag}_p50_us {p50:.2f}\n{tag}_mean_us {mean:.2f}\n{tag}_cpu_us {cpu:.2f}", flush=True)


if __name__ == "__main__":
    main()
