"""ann.py ENGINE DATA QUERIES TRUTH D WORKDIR PARAMS...: one approximate
nearest-neighbour engine, through the Python API a user would call, on the
raw float32 files of bench/py/run.sh (DATA n x D rows, QUERIES m x D, TRUTH
m x 10 uint32 row numbers of the exact top 10 by L2). One engine per
process, so that its memory figures are its own. Prints "key value" lines:

  engine, version, kernel   what ran (faiss: get_compile_options())
  param                     the name of the swept search parameter
  build_s, build_cpu_s      index build on 2 threads: wall seconds and CPU
                            seconds of the process (user + system)
  build_load                1-minute load average before/after the build
  build_limit_s             the wall seconds the build may take (PYB_BUILD_LIMIT,
                            default 1200): a build still running then is
                            stopped (faulthandler's watchdog thread, which
                            runs while the engine's C code holds the GIL) and
                            the process exits 1 with no build_s line; the
                            report lists the engine as not finishing its build
  mem_mb                    resident memory growth from the loaded data to
                            after the build and the queries (MiB)
  disk_bytes                the index saved to WORKDIR (bytes of its files)
  values                    the settings swept, in order: the engine's list
                            (or PARAMS), then its extra settings (graph
                            engines: ef 384, 512; ScaNN: 3/4 and all of the
                            leaves) one at a time while no setting so far
                            reached recall@10 PYB_EXTRA_UNTIL (default
                            0.995; printed again as it grows, the last line
                            holds)
  pV_recall                 recall@10 at parameter value V
  pV_cpuqps1                queries per CPU second of the process, all
                            queries in one batch call on 1 thread
  pV_qps1, pV_qps2          queries per wall second on 1 and 2 threads
  pV_passes                 passes over the query set per timed rep, on 1
                            thread / on 2 (see Timing below)

Engines (graph degree 16, construction beam 200 where the engine has them):
  vecstore       vecstore.open(create, metric l2, hnsw_m 16) + upsert +
                 commit; Store.search_arrays(ef=V, threads=T)
  vecstore-sq8   the same with quant="sq8" (graph walked with 8-bit codes);
                 ef 56, 80, 96, 112 as well (around recall 0.95 and 0.99)
  faiss          faiss.IndexHNSWFlat, efSearch=V, omp threads
  hnswlib        hnswlib.Index(space l2), set_ef(V), knn_query(num_threads)
  usearch        usearch.index.Index(metric l2sq, f32), expansion_search=V
  usearch-i8     the same with dtype i8 (vectors stored as 8-bit integers)
  ngt            ngtpy ANNG (edge_size_for_creation 16), epsilon=V,
                 batch_search (NGT's threads: OMP_NUM_THREADS)
  scann          ScaNN tree (sqrt(n) leaves) + asymmetric hashing (lut16)
                 + exact reorder; V = "L/R": leaves_to_search L,
                 pre_reorder_num_neighbors R (class Scann says why both);
                 L 3, 10, 30, 50% of the leaves, R 100, 200, 400, 800, and
                 300 at the fewest leaves (where synth crosses 0.99)
Timing, the same for every engine and setting: per setting a warm-up of 100 queries,
then one pass over the whole query set (its labels give the recall) that
sizes a rep: a rep is as many whole passes over the query set as take
PYB_MIN_CPU (default 0.3) CPU seconds on 1 thread (wall seconds on 2; at
most 1000 passes), so that a small set (scifact: 1,109 queries, ~30 ms a
pass) is timed over a third of a second rather than one scheduler tick.
BENCH_REPS (default 3) reps on 1 thread, then as many on 2; the best rep
is kept (the machine is shared: other work only ever adds time).

ann.py race E1,E2,... DATA QUERIES TRUTH D WORKDIR: the 1-thread figures
again with the engines' reps alternated in one process (race(); run.sh
does this for PYB_RACE, default "vecstore faiss hnswlib", and reports
those engines' cpuqps1 and qps1 from it). The
passes per rep are printed as pV_passes (1 thread / 2 threads). BLAS is
pinned to one thread so that "1 thread" holds."""
import faulthandler
import os
import resource
import sys
import time

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ.setdefault("OMP_NUM_THREADS", "2")
import numpy as np  # noqa: E402

K = 10
BUILD_LIMIT = float(os.environ.get("PYB_BUILD_LIMIT", "1200"))
REPS = max(1, int(os.environ.get("BENCH_REPS", "3")))
MIN_CPU = float(os.environ.get("PYB_MIN_CPU", "0.3"))
RACE_REPS = max(1, int(os.environ.get("PYB_RACE_REPS", "5")))
EXTRA_UNTIL = float(os.environ.get("PYB_EXTRA_UNTIL", "0.995"))


def out(key, value):
    print(f"{key} {value}", flush=True)


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def passes_for(sec):
    """Passes over the query set that make a timed rep last MIN_CPU
    seconds, from one pass that took sec."""
    if sec <= 0:
        return 100
    return max(1, min(1000, int(-(-MIN_CPU // sec))))


def du(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total


def recall(labels, truth):
    hit = 0
    for g, t in zip(labels, truth):
        hit += len(set(int(v) for v in g if v >= 0) & set(int(v) for v in t))
    return hit / truth.size


class Engine:
    """make(x) builds on 2 threads; save(dir) -> path; search(q, v, t) ->
    (m, K) int labels, -1 where missing."""

    param = "ef"
    # 24 and 48: recall 0.95 and 0.99 fall between 16 and 32 and between 32
    # and 64 on scifact and aniso; the rate at equal recall (report.py) is
    # read on a straight line between the two settings around it, each with
    # its own noise: closer settings, two more timed points near the target
    values = [10, 16, 24, 32, 48, 64, 128, 256]
    # tried after values, in order, only while no setting so far reached
    # recall@10 EXTRA_UNTIL (sets where 0.99 needs a wider beam, e.g. aniso
    # and scifact; synth stops at values)
    extra = [384, 512]
    version = "-"
    kernel = "-"

    def labels(self, raw):
        return raw


class Vecstore(Engine):
    def __init__(self, quant=None):
        import vecstore
        self.vs = vecstore
        self.quant = quant
        self.version = vecstore.__version__
        self.kernel = "sq8 codes" if quant else "float32"
        if quant:
            # recall 0.95 falls between ef 48 and 64 and 0.99 between 64
            # (0.970) and 128 (0.996) on synth: 56, 80, 96, 112 bracket both
            # closely, as 24 and 48 do for the float32 engines (the rate at
            # equal recall is read on a straight line between the settings
            # around it, which underestimates a concave curve over a wide gap)
            self.values = sorted(set(Engine.values) | {56, 80, 96, 112})

    def make(self, x, work):
        path = os.path.join(work, "store.vs")
        s = self.vs.open(path, create=True, dim=x.shape[1], metric="l2", hnsw_m=16,
                         hnsw_ef_construction=200, quant=self.quant, analyzer="none",
                         autocommit=False)
        s.upsert([str(i) for i in range(len(x))], x)
        s.commit()
        self.s = s
        self.path = path

    def save(self, work):
        return self.path

    def search(self, q, v, t):
        return self.s.search_arrays(q, K, ef=v, threads=t)[0]

    def labels(self, ids):
        # the ids are str (row numbers here): converted outside the timing
        lab = np.full(ids.shape, -1, dtype=np.int64)
        for i, row in enumerate(ids):
            for j, s in enumerate(row):
                if s is not None:
                    lab[i, j] = int(s)
        return lab


class Faiss(Engine):
    def __init__(self):
        import faiss
        self.f = faiss
        self.version = faiss.__version__
        self.kernel = faiss.get_compile_options().replace(" ", "+")

    def make(self, x, work):
        self.f.omp_set_num_threads(2)
        self.idx = self.f.IndexHNSWFlat(x.shape[1], 16)
        self.idx.hnsw.efConstruction = 200
        self.idx.add(x)

    def save(self, work):
        p = os.path.join(work, "faiss.index")
        self.f.write_index(self.idx, p)
        return p

    def search(self, q, v, t):
        self.f.omp_set_num_threads(t)
        self.idx.hnsw.efSearch = v
        return self.idx.search(q, K)[1]


class Hnswlib(Engine):
    def __init__(self):
        import hnswlib
        self.h = hnswlib
        self.version = getattr(hnswlib, "__version__", "0.8.0")

    def make(self, x, work):
        self.idx = self.h.Index(space="l2", dim=x.shape[1])
        self.idx.init_index(max_elements=len(x), M=16, ef_construction=200, random_seed=100)
        self.idx.add_items(x, np.arange(len(x)), num_threads=2)

    def save(self, work):
        p = os.path.join(work, "hnswlib.bin")
        self.idx.save_index(p)
        return p

    def search(self, q, v, t):
        self.idx.set_ef(max(v, K))
        return self.idx.knn_query(q, k=K, num_threads=t)[0]


class Usearch(Engine):
    def __init__(self, dtype="f32"):
        import usearch
        from usearch.index import Index
        self.Index = Index
        self.dtype = dtype
        self.version = usearch.__version__

    def make(self, x, work):
        self.idx = self.Index(ndim=x.shape[1], metric="l2sq", dtype=self.dtype, connectivity=16,
                              expansion_add=200, expansion_search=64)
        self.idx.add(np.arange(len(x)), x, threads=2)
        self.kernel = "%s %s" % (self.dtype, getattr(self.idx, "hardware_acceleration", "-"))

    def save(self, work):
        p = os.path.join(work, "usearch.bin")
        self.idx.save(p)
        return p

    def search(self, q, v, t):
        self.idx.expansion_search = v
        m = self.idx.search(q, K, threads=t)
        lab = np.asarray(m.keys, dtype=np.int64).reshape(len(q), K)
        cnt = np.asarray(m.counts).reshape(-1)
        for i, c in enumerate(cnt):
            lab[i, c:] = -1
        return lab


class Ngt(Engine):
    param = "epsilon"
    values = [0.0, 0.02, 0.05, 0.1, 0.2, 0.4]
    extra = []

    def __init__(self):
        import ngtpy
        self.n = ngtpy
        try:
            from importlib.metadata import version
            self.version = version("ngt")
        except Exception:  # noqa: BLE001 - the version is informative only
            self.version = "-"

    def make(self, x, work):
        self.path = os.path.join(work, "ngt")
        self.n.create(self.path, x.shape[1], edge_size_for_creation=16,
                      edge_size_for_search=40, distance_type="L2", object_type="Float")
        self.idx = self.n.Index(self.path)
        self.idx.batch_insert(x, num_threads=2)
        self.idx.save()

    def save(self, work):
        return self.path

    def search(self, q, v, t):
        os.environ["OMP_NUM_THREADS"] = str(t)
        self.idx.set(epsilon=v)
        lab = np.full((len(q), K), -1, dtype=np.int64)
        if t == 1:
            for i, row in enumerate(q):
                r = self.idx.search(row, size=K, with_distance=False)
                lab[i, : len(r)] = r
            return lab
        from concurrent.futures import ThreadPoolExecutor
        half = len(q) // 2

        def part(lo, hi):
            for i in range(lo, hi):
                r = self.idx.search(q[i], size=K, with_distance=False)
                lab[i, : len(r)] = r

        with ThreadPoolExecutor(2) as ex:
            list(ex.map(lambda a: part(*a), [(0, half), (half, len(q))]))
        return lab


class Scann(Engine):
    """ScaNN's tree + asymmetric hashing + exact reorder, as its docs advise
    for ~100k rows: sqrt(n) leaves, 2 dimensions per AH block (lut16, the
    fast path), no anisotropic threshold (it is meant for dot product; for
    squared L2 the builder leaves it NaN). The AH codes here are not
    residual (ScaNN allows residual AH only for dot product), so recall is
    capped by the reorder count, not by the leaves searched: the sweep is
    over both, setting "L/R" = leaves searched / candidates reordered."""
    param = "leaves/reorder"

    def __init__(self):
        from scann import scann_ops_pybind
        self.sp = scann_ops_pybind
        try:
            from importlib.metadata import version
            self.version = version("scann")
        except Exception:  # noqa: BLE001
            self.version = "-"
        self.kernel = "tree + AH lut16 (2 dims/block) + float reorder"

    def make(self, x, work):
        n = len(x)
        leaves = max(4, int(n ** 0.5))
        ls = sorted({max(1, int(leaves * f)) for f in (0.03, 0.1, 0.3, 0.5)})
        # and 300 at the fewest leaves, between 200 and 400, where its
        # recall crosses 0.99 on synth (as vecstore-sq8's ef 80-112)
        self.values = [f"{l}/{r}" for l in ls
                       for r in ((100, 200, 300, 400, 800) if l == ls[0] else (100, 200, 400, 800))]
        # more leaves while 0.99 is not reached (scifact: 35 of 71 gave 0.984)
        more = sorted({max(1, int(leaves * f)) for f in (0.75, 1.0)} - set(ls))
        self.extra = [f"{l}/{r}" for l in more for r in (200, 800)]
        self.searcher = (self.sp.builder(x, K, "squared_l2")
                         .tree(num_leaves=leaves, num_leaves_to_search=ls[0],
                               training_sample_size=min(n, 100000))
                         .score_ah(2)
                         .reorder(800).build())

    def save(self, work):
        p = os.path.join(work, "scann")
        os.makedirs(p, exist_ok=True)
        self.searcher.serialize(p)
        return p

    def search(self, q, v, t):
        leaves, reorder = (int(a) for a in v.split("/"))
        if t == 1:
            lab, _ = self.searcher.search_batched(q, leaves_to_search=leaves,
                                                  pre_reorder_num_neighbors=reorder)
        else:
            self.searcher.set_num_threads(t)
            lab, _ = self.searcher.search_batched_parallel(q, leaves_to_search=leaves,
                                                           pre_reorder_num_neighbors=reorder)
        return np.asarray(lab, dtype=np.int64)


ENGINES = {
    "vecstore": lambda: Vecstore(),
    "vecstore-sq8": lambda: Vecstore("sq8"),
    "faiss": Faiss,
    "hnswlib": Hnswlib,
    "usearch": Usearch,
    "usearch-i8": lambda: Usearch("i8"),
    "ngt": Ngt,
    "scann": Scann,
}


def timed_rep(eng, q, v, passes):
    """One rep on 1 thread: (wall seconds, CPU seconds) of passes passes."""
    t0, c0 = time.perf_counter(), cpu()
    for _ in range(passes):
        eng.search(q, v, 1)
    return time.perf_counter() - t0, cpu() - c0


def sweep(values, extra, measure, grown=None):
    """measure(v) for each setting v of values (it returns v's recall),
    then the extra settings one at a time, appended to values, while none
    reached recall EXTRA_UNTIL; grown(values) after each append."""
    top = 0.0
    i = 0
    while i < len(values) or (extra and top < EXTRA_UNTIL):
        if i == len(values):
            values.append(extra.pop(0))
            if grown:
                grown(values)
        v = values[i]
        i += 1
        top = max(top, measure(v))


def first_pass(eng, q, v):
    """A warm-up, then one pass over the whole query set on 1 thread: its
    labels (for the recall) and the passes a timed rep takes: enough to
    take MIN_CPU CPU seconds, so that a rep of a small set (scifact: 1,109
    queries, ~30 ms a pass) is not a few scheduler ticks."""
    eng.search(q[: min(len(q), 100)], v, 1)  # warm
    c0 = cpu()
    lab = eng.search(q, v, 1)
    return lab, passes_for(cpu() - c0)


def race(names, x, q, truth, work):
    """ann.py race E1,E2,... DATA QUERIES TRUTH D WORKDIR: the engines built
    in one process (one after the other, as usual) and their settings found
    (the values, then the extras, as main does), then their timed reps
    alternated (PYB_RACE_REPS reps, default 5, the best kept): rep r of
    setting i of every engine, then setting i + 1, ..., then rep r + 1, on 1
    thread and then on 2, so that each engine's best rep comes from the same
    minutes as the others' (a shared machine's load moves from minute to
    minute: engines timed in turn, each in its own process, saw different
    loads). Prints "ENGINE key value" lines: values, pV_recall, pV_passes,
    pV_qps1, pV_cpuqps1, pV_qps2 (run.sh puts them in place of the
    engine's own: the recall and the speeds of one graph)."""
    engs = []
    for name in names:
        try:
            eng = ENGINES[name]()
        except ImportError:
            continue
        w = os.path.join(work, name)
        os.makedirs(w, exist_ok=True)
        eng.make(x, w)
        pts = []

        def measure(v, eng=eng, pts=pts):
            lab, p1 = first_pass(eng, q, v)
            t0 = time.perf_counter()
            eng.search(q, v, 2)
            p2 = passes_for(time.perf_counter() - t0)
            rc = recall(eng.labels(lab), truth)
            pts.append({"v": v, "p1": p1, "p2": p2, "rc": rc, "q1": 0.0, "c1": 0.0, "q2": 0.0})
            return rc

        sweep(list(eng.values), list(eng.extra), measure)
        engs.append((name, eng, pts))
    # rep r of setting i of every engine, one engine after the other, then
    # setting i + 1: the engines' figures at one setting come from reps
    # taken within a second or two of each other
    for t in (1, 2):
        for _ in range(RACE_REPS):
            for i in range(max(len(pts) for _, _, pts in engs)):
                for name, eng, pts in engs:
                    if i >= len(pts):
                        continue
                    p = pts[i]
                    if t == 1:
                        w, c = timed_rep(eng, q, p["v"], p["p1"])
                        p["q1"] = max(p["q1"], p["p1"] * len(q) / w)
                        p["c1"] = max(p["c1"], p["p1"] * len(q) / c) if c > 0 else p["c1"]
                    else:
                        t0 = time.perf_counter()
                        for _ in range(p["p2"]):
                            eng.search(q, p["v"], 2)
                        w = time.perf_counter() - t0
                        p["q2"] = max(p["q2"], p["p2"] * len(q) / w)
    for name, eng, pts in engs:
        print(f"{name} values {','.join(str(p['v']) for p in pts)}")
        for p in pts:
            v = p["v"]
            print(f"{name} p{v}_recall {p['rc']:.4f}")
            print(f"{name} p{v}_passes {p['p1']}/{p['p2']}")
            print(f"{name} p{v}_qps1 {p['q1']:.0f}")
            print(f"{name} p{v}_cpuqps1 {p['c1']:.0f}")
            print(f"{name} p{v}_qps2 {p['q2']:.0f}")
        print(f"{name} race_load {loadavg()}", flush=True)


def main():
    if len(sys.argv) == 8 and sys.argv[1] == "race":
        d = int(sys.argv[6])
        race(sys.argv[2].split(","),
             np.fromfile(sys.argv[3], dtype=np.float32).reshape(-1, d),
             np.fromfile(sys.argv[4], dtype=np.float32).reshape(-1, d),
             np.fromfile(sys.argv[5], dtype=np.uint32).reshape(-1, K), sys.argv[7])
        return
    if len(sys.argv) < 7 or sys.argv[1] not in ENGINES:
        sys.exit("usage: ann.py ENGINE DATA QUERIES TRUTH D WORKDIR [VALUES...], or"
                 " ann.py race ENGINE,ENGINE... DATA QUERIES TRUTH D WORKDIR; ENGINE: "
                 + ", ".join(ENGINES))
    name, data, queries, truth_path, d, work = sys.argv[1:7]
    d = int(d)
    x = np.fromfile(data, dtype=np.float32).reshape(-1, d)
    q = np.fromfile(queries, dtype=np.float32).reshape(-1, d)
    truth = np.fromfile(truth_path, dtype=np.uint32).reshape(-1, K)
    try:
        eng = ENGINES[name]()
    except ImportError as e:
        out("engine", name)
        out("missing", str(e).replace(" ", "_"))
        return
    out("engine", name)
    out("version", eng.version)
    out("param", eng.param)
    os.makedirs(work, exist_ok=True)
    base = rss_mb()
    l0 = loadavg()
    out("build_limit_s", f"{BUILD_LIMIT:.0f}")
    t0, c0 = time.perf_counter(), cpu()
    if BUILD_LIMIT > 0:
        # exits the process (status 1 from faulthandler; the report reads
        # the missing build_s) with the stack on stderr (the run's log)
        faulthandler.dump_traceback_later(BUILD_LIMIT, exit=True)
    eng.make(x, work)
    faulthandler.cancel_dump_traceback_later()
    out("build_s", f"{time.perf_counter() - t0:.3f}")
    out("build_cpu_s", f"{cpu() - c0:.3f}")
    out("build_load", f"{l0}/{loadavg()}")
    out("kernel", eng.kernel)
    out("disk_bytes", du(eng.save(work)))
    given = len(sys.argv) > 7
    values = [type(eng.values[0])(v) for v in sys.argv[7:]] if given else list(eng.values)
    out("values", ",".join(str(v) for v in values))
    extra = [] if given else list(eng.extra)

    def measure(v):
        # reps sized by a first pass (first_pass); the same for 2 threads
        # in wall seconds
        lab, passes1 = first_pass(eng, q, v)
        best1 = bestc = best2 = 0.0
        for _ in range(REPS):
            w, c = timed_rep(eng, q, v, passes1)
            best1 = max(best1, passes1 * len(q) / w)
            bestc = max(bestc, passes1 * len(q) / c) if c > 0 else bestc
        t0 = time.perf_counter()
        eng.search(q, v, 2)
        passes2 = passes_for(time.perf_counter() - t0)
        for _ in range(REPS):
            t0 = time.perf_counter()
            for _ in range(passes2):
                eng.search(q, v, 2)
            best2 = max(best2, passes2 * len(q) / (time.perf_counter() - t0))
        out(f"p{v}_passes", f"{passes1}/{passes2}")
        rc = recall(eng.labels(lab), truth)
        out(f"p{v}_recall", f"{rc:.4f}")
        out(f"p{v}_qps1", f"{best1:.0f}")
        out(f"p{v}_cpuqps1", f"{bestc:.0f}")
        out(f"p{v}_qps2", f"{best2:.0f}")
        return rc

    sweep(values, extra, measure, lambda vs: out("values", ",".join(str(v) for v in vs)))
    out("mem_mb", f"{rss_mb() - base:.1f}")


if __name__ == "__main__":
    main()
