"""e2e.py ENGINE DATA QUERIES TRUTH D WORKDIR EF [BIN]: end to end, as an
application uses a vector database: ingest n records (id, vector, text,
metadata) into a new persisted collection, then answer the queries with
their stored text and metadata. One engine per process. Prints "key value"
lines:

  engine, version, setting   what ran
  ingest_s, ingest_cpu_s     wall and CPU seconds (process, and children for
                             the programs) from the records in memory (or in
                             an NDJSON file for the programs) to a durable,
                             searchable collection
  ingest_load                1-minute load average before/after
  query_s, query_cpu_s       all queries, wall and CPU seconds, hits with
                             their text and metadata
  recall                     recall@10 against the exact top 10
  disk_bytes                 the collection's files
  mem_mb                     resident memory growth of the process

Engines:
  vecstore-py    the Python package: open(create, l2, hnsw_m 16), one
                 upsert() of all records + commit(); search() of the query
                 matrix (2 threads) with ef EF, Hit objects with text and
                 metadata
  vecstore-cli   the programs: vs-index create, vs-ingest < records.ndjson,
                 vs-query -k 10 --ef EF --threads 2 --mode vector < queries
                 (BIN: the programs' folder); the NDJSON files are written
                 before the timing
  chromadb       chromadb.PersistentClient, a collection with HNSW space l2,
                 max_neighbors 16, ef_construction 200, ef_search EF; add()
                 in batches of the client's maximum; query() of all
                 query embeddings in one call
  lancedb        lancedb.connect, create_table from a pyarrow table, an
                 IVF_HNSW_SQ index (l2, m 16, ef_construction 200); one
                 search(vector).limit(10).ef(EF) per query (its API)
Texts are "record I about topic I mod 97" and metadata {"n": I, "group":
"gI mod 10"}, the same for every engine."""
import json
import os
import resource
import subprocess
import sys
import time

os.environ["OPENBLAS_NUM_THREADS"] = "1"
import numpy as np  # noqa: E402

K = 10


def out(key, value):
    print(f"{key} {value}", flush=True)


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def cpu():
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        r = resource.getrusage(who)
        total += r.ru_utime + r.ru_stime
    return total


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def du(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total


def texts(n):
    return [f"record {i} about topic {i % 97}" for i in range(n)]


def metas(n):
    return [{"n": i, "group": f"g{i % 10}"} for i in range(n)]


def recall(labels, truth):
    hit = 0
    for g, t in zip(labels, truth):
        hit += len(set(int(v) for v in g) & set(int(v) for v in t))
    return hit / truth.size


def vecstore_py(x, q, work, ef, binpath):
    import vecstore
    out("version", vecstore.__version__)
    ids, tx, md = [str(i) for i in range(len(x))], texts(len(x)), metas(len(x))
    path = os.path.join(work, "py.vs")

    def ingest():
        with vecstore.open(path, create=True, dim=x.shape[1], metric="l2", hnsw_m=16,
                           hnsw_ef_construction=200, autocommit=False) as s:
            s.upsert(ids, x, texts=tx, metadata=md)
            s.commit()

    def query():
        with vecstore.open(path, readonly=True) as s:
            hits = s.search(q, K, mode="vector", ef=ef, threads=2)
        return [[int(h.id) for h in row if h.text and h.metadata] for row in hits]

    return path, ingest, query


def vecstore_cli(x, q, work, ef, binpath):
    out("version", subprocess.run([os.path.join(binpath, "vs-index"), "--version"],
                                  capture_output=True, text=True).stdout.split()[-1])
    path = os.path.join(work, "cli.vs")
    rec, qf, hits = (os.path.join(work, n) for n in ("records.ndjson", "queries.ndjson", "hits.ndjson"))
    with open(rec, "w") as f:
        for i, (v, t, m) in enumerate(zip(x, texts(len(x)), metas(len(x)))):
            f.write(json.dumps({"id": str(i), "vector": [float(a) for a in v], "text": t,
                                "metadata": m}) + "\n")
    with open(qf, "w") as f:
        for i, v in enumerate(q):
            f.write(json.dumps({"id": f"q{i}", "vector": [float(a) for a in v]}) + "\n")

    def run(args, stdin, stdout):
        with open(stdin) as i, open(stdout, "w") as o:
            subprocess.run([os.path.join(binpath, args[0])] + args[1:], stdin=i, stdout=o, check=True)

    def ingest():
        subprocess.run([os.path.join(binpath, "vs-index"), "create", "--metric", "l2",
                        "--hnsw-m", "16", "--ef-construction", "200", path], check=True)
        run(["vs-ingest", "-q", path], rec, os.devnull)

    def query():
        run(["vs-query", "-q", path, "-k", str(K), "--ef", str(ef), "--threads", "2",
             "--mode", "vector"], qf, hits)
        got = [[] for _ in q]
        for line in open(hits):
            h = json.loads(line)
            if "qid" in h and "id" in h and "text" in h and "metadata" in h:
                got[int(h["qid"][1:])].append(int(h["id"]))
        return got

    return path, ingest, query


def chroma(x, q, work, ef, binpath):
    import chromadb
    out("version", chromadb.__version__)
    path = os.path.join(work, "chroma")
    ids, tx, md = [str(i) for i in range(len(x))], texts(len(x)), metas(len(x))

    def ingest():
        client = chromadb.PersistentClient(path=path)
        col = client.create_collection("bench", configuration={"hnsw": {
            "space": "l2", "max_neighbors": 16, "ef_construction": 200, "ef_search": ef}})
        b = client.get_max_batch_size()
        for lo in range(0, len(x), b):
            hi = min(len(x), lo + b)
            col.add(ids=ids[lo:hi], embeddings=x[lo:hi], documents=tx[lo:hi], metadatas=md[lo:hi])

    def query():
        client = chromadb.PersistentClient(path=path)
        col = client.get_collection("bench")
        r = col.query(query_embeddings=q, n_results=K, include=["documents", "metadatas", "distances"])
        return [[int(i) for i, d, m in zip(ri, rd, rm) if d and m]
                for ri, rd, rm in zip(r["ids"], r["documents"], r["metadatas"])]

    return path, ingest, query


def lance(x, q, work, ef, binpath):
    import lancedb
    import pyarrow as pa
    out("version", lancedb.__version__)
    path = os.path.join(work, "lance")
    n, d = x.shape
    tx, md = texts(n), metas(n)

    def ingest():
        db = lancedb.connect(path)
        vec = pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), d)
        tbl = db.create_table("bench", pa.table({
            "id": pa.array([str(i) for i in range(n)]), "vector": vec, "text": pa.array(tx),
            "n": pa.array([m["n"] for m in md]), "group": pa.array([m["group"] for m in md])}))
        tbl.create_index(metric="l2", index_type="IVF_HNSW_SQ", m=16, ef_construction=200,
                         num_partitions=max(1, n // 50000))

    def query():
        tbl = lancedb.connect(path).open_table("bench")
        got = []
        for v in q:
            rows = tbl.search(v).limit(K).ef(ef).select(["id", "text", "n", "group", "_distance"]).to_list()
            got.append([int(r["id"]) for r in rows if r["text"]])
        return got

    return path, ingest, query


ENGINES = {"vecstore-py": vecstore_py, "vecstore-cli": vecstore_cli, "chromadb": chroma,
           "lancedb": lance}


def main():
    if len(sys.argv) < 8 or sys.argv[1] not in ENGINES:
        sys.exit("usage: e2e.py ENGINE DATA QUERIES TRUTH D WORKDIR EF [BIN]; ENGINE: "
                 + ", ".join(ENGINES))
    name, data, queries, truth_path, d, work, ef = sys.argv[1:8]
    binpath = sys.argv[8] if len(sys.argv) > 8 else "build/bin"
    d, ef = int(d), int(ef)
    x = np.fromfile(data, dtype=np.float32).reshape(-1, d)
    q = np.fromfile(queries, dtype=np.float32).reshape(-1, d)
    truth = np.fromfile(truth_path, dtype=np.uint32).reshape(-1, K)
    os.makedirs(work, exist_ok=True)
    out("engine", name)
    try:
        path, ingest, query = ENGINES[name](x, q, work, ef, binpath)
    except ImportError as e:
        out("missing", str(e).replace(" ", "_"))
        return
    out("setting", f"ef{ef}")
    base = rss_mb()
    l0 = loadavg()
    t0, c0 = time.perf_counter(), cpu()
    ingest()
    out("ingest_s", f"{time.perf_counter() - t0:.3f}")
    out("ingest_cpu_s", f"{cpu() - c0:.3f}")
    out("ingest_load", f"{l0}/{loadavg()}")
    out("disk_bytes", du(path))
    t0, c0 = time.perf_counter(), cpu()
    got = query()
    out("query_s", f"{time.perf_counter() - t0:.3f}")
    out("query_cpu_s", f"{cpu() - c0:.3f}")
    out("recall", f"{recall(got, truth):.4f}")
    out("mem_mb", f"{rss_mb() - base:.1f}")


if __name__ == "__main__":
    main()
