#!/usr/bin/python3
"""Peers for bench/exact.sh: faiss IndexFlatIP and numpy on the same data.

  exact_peers.py DATA.f32 QUERIES.f32 DIM THREADS

Prints "key value" lines: single-query and batch QPS of faiss and numpy
(best of 3), and the first query's top-10 ids (to compare answers).
"""
import sys
import time

import numpy as np


def best_of(fn, reps=3):
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    dpath, qpath, d, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    x = np.fromfile(dpath, dtype=np.float32).reshape(-1, d)
    q = np.fromfile(qpath, dtype=np.float32).reshape(-1, d)
    k, ns = 10, min(50, len(q))
    try:
        import faiss
        faiss.omp_set_num_threads(threads)
        index = faiss.IndexFlatIP(d)
        index.add(x)
        t = best_of(lambda: [index.search(q[i:i + 1], k) for i in range(ns)])
        print("faiss_single_qps %.1f" % (ns / t))
        t = best_of(lambda: index.search(q, k))
        print("faiss_batch_qps %.1f" % (len(q) / t))
        _, ids = index.search(q[:1], k)
        print("faiss_top0 " + " ".join(str(i) for i in ids[0]))
    except ImportError:
        print("faiss_single_qps nan")
        print("faiss_batch_qps nan")

    def np_search(qs):
        s = qs @ x.T
        part = np.argpartition(-s, k, axis=1)[:, :k]
        rows = np.arange(len(qs))[:, None]
        order = np.argsort(-s[rows, part], axis=1, kind="stable")
        return part[rows, order]

    t = best_of(lambda: [np_search(q[i:i + 1]) for i in range(ns)])
    print("numpy_single_qps %.1f" % (ns / t))
    t = best_of(lambda: [np_search(q[s:s + 250]) for s in range(0, len(q), 250)])
    print("numpy_batch_qps %.1f" % (len(q) / t))
    print("numpy_top0 " + " ".join(str(i) for i in np_search(q[:1])[0]))


if __name__ == "__main__":
    main()
