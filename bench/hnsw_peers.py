#!/usr/bin/python3
"""hnsw_peers.py DATA QUERIES TRUTH D M EFC EFS...: Debian's python3-hnswlib
(pyhnswlib) and python3-faiss (IndexHNSWFlat, and IndexFlatL2 as the exact
reference) on the files of bench/hnsw.sh, timed as bench/hnsw_bench.c times
our library. Prints "engine.key value" lines with the keys of
`hnsw_bench run`:

  build_s_tT, build_cpu_s_tT, build_load_tT   build on T = 1 and 2 threads:
                        wall and process CPU seconds, load before/after
  efE_recall            recall@10
  efE_qps1, efE_cpuqps1 all queries in one call on 1 thread: queries per
                        wall second, and per CPU second of the calling
                        thread (time.thread_time: with one thread both
                        libraries search in the calling thread)
  efE_qps2              the same call on 2 threads (wall)
  efE_p50_us, efE_p99_us one query per call (the Python call included),
                        over the first HNSW_PY_LAT_NQ queries (default 1000)
  faissflat.exact_*     IndexFlatL2 (exact search), the same keys
  mem_bpv               faiss: graph bytes per vector (neighbour table,
                        offsets, levels); vectors excluded

Each timed pass is repeated HNSW_BENCH_REPS times (default 2), the best
kept. BLAS threads are pinned to one (faiss's exact search uses BLAS) so
that "1 thread" holds."""
import os
import sys
import time

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ.setdefault("OMP_NUM_THREADS", "2")
import numpy as np  # noqa: E402

K = 10
REPS = max(1, int(os.environ.get("HNSW_BENCH_REPS", "2")))
LAT_NQ = max(1, int(os.environ.get("HNSW_PY_LAT_NQ", "1000")))


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def recall(got, truth):
    hit = 0
    for g, t in zip(got, truth):
        hit += len(set(int(v) for v in g if v >= 0) & set(int(v) for v in t))
    return hit / truth.size


def out(engine, key, value):
    print(f"{engine}.{key} {value}", flush=True)


def build(engine, th, make, add):
    """make() -> a new index; add(idx, th) fills it on th threads."""
    idx = make()
    l0 = loadavg()
    t0, c0 = time.perf_counter(), time.process_time()
    add(idx, th)
    out(engine, f"build_s_t{th}", f"{time.perf_counter() - t0:.3f}")
    out(engine, f"build_cpu_s_t{th}", f"{time.process_time() - c0:.3f}")
    out(engine, f"build_load_t{th}", f"{l0}/{loadavg()}")
    return idx


def measure(engine, tag, q, truth, search, set_threads):
    """search(queries) -> labels (n x K); set_threads(t) before the calls;
    keys TAG_recall, TAG_qps1, ..."""
    set_threads(1)
    search(q[: min(len(q), 200)])  # warm
    q1 = c1 = 0.0
    labels = None
    for _ in range(REPS):
        t0, c0 = time.perf_counter(), time.thread_time()
        labels = search(q)
        c = time.thread_time() - c0
        q1 = max(q1, len(q) / (time.perf_counter() - t0))
        c1 = max(c1, len(q) / c) if c > 0 else c1
    out(engine, f"{tag}_recall", f"{recall(labels, truth):.4f}")
    out(engine, f"{tag}_qps1", f"{q1:.0f}")
    out(engine, f"{tag}_cpuqps1", f"{c1:.0f}")
    nl = min(len(q), LAT_NQ)
    lat = np.empty(nl)
    for i in range(nl):
        t0 = time.perf_counter()
        search(q[i : i + 1])
        lat[i] = time.perf_counter() - t0
    lat.sort()
    out(engine, f"{tag}_p50_us", f"{lat[nl // 2] * 1e6:.1f}")
    out(engine, f"{tag}_p99_us", f"{lat[int(nl * 0.99)] * 1e6:.1f}")
    set_threads(2)
    q2 = 0.0
    for _ in range(REPS):
        t0 = time.perf_counter()
        search(q)
        q2 = max(q2, len(q) / (time.perf_counter() - t0))
    out(engine, f"{tag}_qps2", f"{q2:.0f}")
    set_threads(1)


def run_hnswlib(x, q, truth, m, efc, efs):
    try:
        import hnswlib
    except ImportError:
        out("pyhnswlib", "missing", 1)
        return

    def make():
        idx = hnswlib.Index(space="l2", dim=x.shape[1])
        idx.init_index(max_elements=len(x), M=m, ef_construction=efc, random_seed=100)
        return idx

    def add(idx, th):
        idx.add_items(x, np.arange(len(x)), num_threads=th)

    build("pyhnswlib", 1, make, add)
    idx = build("pyhnswlib", 2, make, add)
    threads = [1]

    def search(qq):
        return idx.knn_query(qq, k=K, num_threads=threads[0])[0]

    def set_threads(t):
        threads[0] = t

    for ef in efs:
        idx.set_ef(ef)
        measure("pyhnswlib", f"ef{ef}", q, truth, search, set_threads)


def run_faiss(x, q, truth, m, efc, efs):
    try:
        import faiss
    except ImportError:
        out("faiss", "missing", 1)
        out("faissflat", "missing", 1)
        return
    d = x.shape[1]

    def make():
        idx = faiss.IndexHNSWFlat(d, m)
        idx.hnsw.efConstruction = efc
        return idx

    def add(idx, th):
        faiss.omp_set_num_threads(th)
        idx.add(x)

    build("faiss", 1, make, add)
    idx = build("faiss", 2, make, add)
    h = idx.hnsw
    graph = sum(faiss.vector_to_array(v).nbytes for v in (h.neighbors, h.offsets, h.levels))
    out("faiss", "mem_bpv", f"{graph / len(x):.2f}")

    def search(qq):
        return idx.search(qq, K)[1]

    for ef in efs:
        h.efSearch = ef
        measure("faiss", f"ef{ef}", q, truth, search, faiss.omp_set_num_threads)

    # exact reference: brute force, the same truth for every ef
    flat = faiss.IndexFlatL2(d)
    flat.add(x)

    def fsearch(qq):
        return flat.search(qq, K)[1]

    measure("faissflat", "exact", q, truth, fsearch, faiss.omp_set_num_threads)


def main():
    if len(sys.argv) < 8:
        sys.exit("usage: hnsw_peers.py DATA QUERIES TRUTH D M EFC EFS...")
    data, queries, truth_path = sys.argv[1:4]
    d, m, efc = (int(v) for v in sys.argv[4:7])
    efs = [int(v) for v in sys.argv[7:]]
    x = np.fromfile(data, dtype=np.float32).reshape(-1, d)
    q = np.fromfile(queries, dtype=np.float32).reshape(-1, d)
    truth = np.fromfile(truth_path, dtype=np.uint32).reshape(-1, K)
    run_hnswlib(x, q, truth, m, efc, efs)
    run_faiss(x, q, truth, m, efc, efs)


if __name__ == "__main__":
    main()
