#!/usr/bin/python3
"""hnsw_peers.py DATA QUERIES TRUTH D M EFC THREADS EFS...: Debian's
python3-hnswlib and python3-faiss (IndexHNSWFlat) on the files of
bench/hnsw.sh. Prints "engine.key value" lines: build seconds with THREADS
threads, then per ef recall@10 and queries/s with 1 thread (one batch of all
queries, so the Python call overhead is paid once)."""
import sys
import time

import numpy as np

K = 10


def recall(got, truth):
    hit = 0
    for g, t in zip(got, truth):
        hit += len(set(int(v) for v in g if v >= 0) & set(int(v) for v in t))
    return hit / truth.size


def main():
    data, queries, truth_path = sys.argv[1:4]
    d, m, efc, threads = (int(v) for v in sys.argv[4:8])
    efs = [int(v) for v in sys.argv[8:]]
    x = np.fromfile(data, dtype=np.float32).reshape(-1, d)
    q = np.fromfile(queries, dtype=np.float32).reshape(-1, d)
    truth = np.fromfile(truth_path, dtype=np.uint32).reshape(-1, K)
    try:
        import hnswlib
        idx = hnswlib.Index(space="l2", dim=d)
        idx.init_index(max_elements=len(x), M=m, ef_construction=efc, random_seed=100)
        t0 = time.perf_counter()
        idx.add_items(x, np.arange(len(x)), num_threads=threads)
        print(f"pyhnswlib.build_s_t{threads} {time.perf_counter() - t0:.3f}")
        for ef in efs:
            idx.set_ef(ef)
            best = 0.0
            for _ in range(2):
                t0 = time.perf_counter()
                labels, _ = idx.knn_query(q, k=K, num_threads=1)
                best = max(best, len(q) / (time.perf_counter() - t0))
            print(f"pyhnswlib.ef{ef}_recall {recall(labels, truth):.4f}")
            print(f"pyhnswlib.ef{ef}_qps1 {best:.0f}")
    except ImportError:
        print("pyhnswlib.missing 1")
    try:
        import faiss
        faiss.omp_set_num_threads(threads)
        idx = faiss.IndexHNSWFlat(d, m)
        idx.hnsw.efConstruction = efc
        t0 = time.perf_counter()
        idx.add(x)
        print(f"faiss.build_s_t{threads} {time.perf_counter() - t0:.3f}")
        faiss.omp_set_num_threads(1)
        for ef in efs:
            idx.hnsw.efSearch = ef
            best = 0.0
            for _ in range(2):
                t0 = time.perf_counter()
                _, labels = idx.search(q, K)
                best = max(best, len(q) / (time.perf_counter() - t0))
            print(f"faiss.ef{ef}_recall {recall(labels, truth):.4f}")
            print(f"faiss.ef{ef}_qps1 {best:.0f}")
    except ImportError:
        print("faiss.missing 1")


if __name__ == "__main__":
    main()
