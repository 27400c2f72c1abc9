"""report.py TMP SETS: the tables of bench/py/run.sh from the "key value"
files it left in TMP: SET.ann.ENGINE (bench/py/ann.py), e2e.ENGINE
(bench/py/e2e.py) and percall (percall.c and percall.py). Ratios are
vecstore's figure over the other engine's (> 1: vecstore ahead)."""
import math
import os
import sys

ANN = ["vecstore", "vecstore-sq8", "faiss", "hnswlib", "usearch", "usearch-i8", "ngt", "scann"]
E2E = ["vecstore-cli", "vecstore-py", "chromadb", "lancedb"]


def keys(path):
    kv = {}
    if os.path.exists(path):
        for line in open(path):
            p = line.rstrip("\n").split(" ", 1)
            if len(p) == 2:
                kv[p[0]] = p[1]
    return kv


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def fmt(v, spec="%.2f"):
    return "-" if v is None else spec % v


def ratio(a, b):
    return None if a is None or b is None or b <= 0 else a / b


def curve(kv, field):
    pts = []
    for v in kv.get("values", "").split(","):
        r, q = num(kv.get(f"p{v}_recall")), num(kv.get(f"p{v}_{field}"))
        if r is not None and q:
            pts.append((v, r, q))
    return pts


def frontier(pts):
    """The settings no other setting beats on both recall and QPS, by
    rising recall (an engine swept over two parameters, like ScaNN's
    leaves and reorder count, gets its best setting at each recall)."""
    out = []
    for p in sorted(pts, key=lambda p: (p[1], -p[2])):
        beaten = any(o[1] >= p[1] and o[2] >= p[2] and (o[1] > p[1] or o[2] > p[2]) for o in pts)
        if not beaten and not any(o[1] == p[1] and o[2] == p[2] for o in out):
            out.append(p)
    return out


def at_recall(pts, target):
    """(qps, how): on the engine's frontier (frontier()), interpolated
    between the two successive settings that bracket target, log-linear in
    QPS, linear in recall; when the lowest-recall frontier setting already
    reaches target, its figure (a lower bound)."""
    pts = frontier(pts)
    if not pts:
        return None, "-"
    if pts[0][1] >= target:
        return pts[0][2], "%s>=" % pts[0][0]
    for (v1, r1, q1), (v2, r2, q2) in zip(pts, pts[1:]):
        if r1 < target <= r2:
            f = (target - r1) / (r2 - r1)
            return math.exp(math.log(q1) + f * (math.log(q2) - math.log(q1))), "%s-%s" % (v1, v2)
    return None, "not reached"


def ann_set(tmp, name, rows):
    P = print
    e = {eng: keys(f"{tmp}/{name}.ann.{eng}") for eng in ANN}
    e = {k: v for k, v in e.items() if v}
    P()
    P(f"-- {name}: approximate search, k 10, L2 ({rows})")
    for eng, kv in e.items():
        if "missing" in kv:
            P(f"{eng}: not installed ({kv['missing'].replace('_', ' ')})")
        elif "build_timeout" in kv:
            P(f"{eng}: did not finish its build within {kv['build_limit_s']} s (stopped; "
              "PYB_BUILD_LIMIT)")
        elif "build_s" not in kv:
            P(f"{eng}: failed (see the log)")
    e = {k: v for k, v in e.items() if "build_s" in v}
    if not e:
        return
    P("build on 2 threads (wall s, CPU s of the process, load before/after), memory growth, index on disk")
    P("%-13s %-9s %9s %9s %12s %8s %10s %9s  %s" % ("engine", "version", "build_s", "build_cpu",
      "load", "mem_MiB", "disk_B/vec", "cpu_x", "kernel"))
    n = num(rows.split(" x ")[0]) or 1
    oc = num(e.get("vecstore", {}).get("build_cpu_s"))
    for eng, kv in e.items():
        P("%-13s %-9s %9s %9s %12s %8s %10s %9s  %s" % (
            eng, kv.get("version", "-"), kv["build_s"], kv.get("build_cpu_s", "-"),
            kv.get("build_load", "-"), kv.get("mem_mb", "-"),
            fmt(ratio(num(kv.get("disk_bytes")), n), "%.1f"),
            fmt(ratio(num(kv.get("build_cpu_s")), oc)), kv.get("kernel", "-")))
    P("cpu_x: this engine's build CPU seconds over vecstore's (> 1: vecstore builds with less CPU)")
    P("per setting (ef; ngt: epsilon; scann: leaves searched/candidates reordered): recall@10, queries")
    P("per CPU second on")
    P("1 thread (cpuqps1), per wall second on 1 and 2 threads")
    P("%-13s %-9s %7s %9s %9s %9s" % ("engine", "setting", "recall", "cpuqps1", "qps1", "qps2"))
    for eng, kv in e.items():
        for v in kv.get("values", "").split(","):
            if f"p{v}_recall" in kv:
                P("%-13s %-9s %7s %9s %9s %9s" % (eng, v, kv[f"p{v}_recall"], kv.get(f"p{v}_cpuqps1"),
                  kv.get(f"p{v}_qps1"), kv.get(f"p{v}_qps2")))
    for field, what in (("cpuqps1", "queries per CPU second, 1 thread"),
                        ("qps2", "queries per wall second, 2 threads")):
        P(f"at equal recall@10 ({what}; interpolated; 'V>=' the lowest setting already reaches it):")
        P("%-13s %9s %-11s %7s %7s %9s %-11s %7s %7s" % ("engine", "@0.95", "setting",
          "vs/this", "sq8/this", "@0.99", "setting", "vs/this", "sq8/this"))
        res = {eng: [at_recall(curve(kv, field), t) for t in (0.95, 0.99)] for eng, kv in e.items()}
        none = [(None, "-"), (None, "-")]
        ours, sq8 = res.get("vecstore", none), res.get("vecstore-sq8", none)
        for eng in e:
            cols = []
            for i in range(2):
                q, how = res[eng][i]
                cols += [fmt(q, "%.0f"), how, fmt(ratio(ours[i][0], q)), fmt(ratio(sq8[i][0], q))]
            P("%-13s %9s %-11s %7s %7s %9s %-11s %7s %7s" % tuple([eng] + cols))
    P("vs/this: vecstore (float32 HNSW) over this engine; sq8/this: vecstore with sq8 codes")
    P("(quant sq8) over this engine (> 1: vecstore ahead)")


def e2e(tmp, rows):
    e = {eng: keys(f"{tmp}/e2e.{eng}") for eng in E2E}
    e = {k: v for k, v in e.items() if v}
    if not e:
        return
    P = print
    P()
    P(f"-- end to end: ingest {rows} records (id, vector, text, metadata) into a new persisted")
    P("collection, then all queries with their hits' text and metadata (wall s, CPU s of the")
    P("process and its children)")
    for eng, kv in e.items():
        if "missing" in kv:
            P(f"{eng}: not installed ({kv['missing'].replace('_', ' ')})")
        elif "query_s" not in kv:
            P(f"{eng}: failed (see the log)")
    e = {k: v for k, v in e.items() if "query_s" in v}
    P("%-13s %-9s %-7s %9s %10s %12s %8s %9s %7s %11s %8s" % ("engine", "version", "setting",
      "ingest_s", "ingest_cpu", "load", "query_s", "query_cpu", "recall", "disk_B", "mem_MiB"))
    for eng, kv in e.items():
        P("%-13s %-9s %-7s %9s %10s %12s %8s %9s %7s %11s %8s" % (
            eng, kv.get("version", "-"), kv.get("setting", "-"), kv["ingest_s"], kv["ingest_cpu_s"],
            kv.get("ingest_load", "-"), kv["query_s"], kv["query_cpu_s"], kv["recall"],
            kv["disk_bytes"], kv.get("mem_mb", "-")))
    for ours in ("vecstore-cli", "vecstore-py"):
        o = e.get(ours)
        if not o:
            continue
        for eng in ("chromadb", "lancedb"):
            kv = e.get(eng)
            if not kv:
                continue
            g = lambda d, k: num(d.get(k))
            P("%s over %s (CPU seconds; wall in brackets): ingest %s (%s), query %s (%s)" % (
                ours, eng, fmt(ratio(g(kv, "ingest_cpu_s"), g(o, "ingest_cpu_s"))),
                fmt(ratio(g(kv, "ingest_s"), g(o, "ingest_s"))),
                fmt(ratio(g(kv, "query_cpu_s"), g(o, "query_cpu_s"))),
                fmt(ratio(g(kv, "query_s"), g(o, "query_s")))))
    P("(> 1: vecstore ahead; goal >= 3 against chromadb and lancedb)")


def percall(tmp):
    kv = keys(f"{tmp}/percall")
    if "c_p50_us" not in kv:
        return
    P = print
    P()
    P("-- per-call overhead of one query (k 10, %s, 1 thread, no text or metadata, %s queries)" % (
      kv.get("setting", "-"), kv.get("n", "-")))
    P("%-40s %9s %9s %9s %12s %12s" % ("call", "p50_us", "mean_us", "cpu_us", "p50 - C", "cpu - C"))
    for tag, what, base in (("c", "C: vs_db_search (bench/py/percall.c)", None),
                            ("c_ids", "C: the same, ids_only", None),
                            ("py_arrays", "Python: Store.search_arrays(v)", "c_ids"),
                            ("py_hits", "Python: Store.search(v) -> list[Hit]", "c")):
        if f"{tag}_p50_us" not in kv:
            continue
        diff = []
        for f in ("p50_us", "cpu_us"):
            mine, c = num(kv.get(f"{tag}_{f}")), num(kv.get(f"{base or 'c'}_{f}"))
            diff.append("-" if not base or mine is None or c is None else fmt(mine - c))
        P("%-40s %9s %9s %9s %12s %12s" % (what, kv.get(f"{tag}_p50_us", "-"),
          kv.get(f"{tag}_mean_us", "-"), kv.get(f"{tag}_cpu_us", "-"), diff[0], diff[1]))
    P("(- C: search_arrays against the C call with ids_only, search against the plain C call;")
    P("goal: the binding's single query within 10 us of the C library's)")


def main():
    tmp = sys.argv[1]
    for s in sys.argv[2:]:
        name, rows = s.split("=", 1)
        ann_set(tmp, name, rows.replace("_", " "))
    e2e(tmp, os.environ.get("E2E_ROWS", "-"))
    percall(tmp)


if __name__ == "__main__":
    main()
