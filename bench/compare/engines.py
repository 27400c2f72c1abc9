"""engines.py ENGINE DATA QUERIES TRUTH D WORKDIR EF [BIN]: bench/py/e2e.py's
end-to-end run (ingest records with text and metadata into a new persisted
collection, answer the queries with their text and metadata back; the same
"key value" lines) with two more engines for the comparison guides
(docs/compare/):

  faiss       faiss-cpu's IndexHNSWFlat (M 16, efConstruction 200, efSearch
              EF), as an application uses it: FAISS keeps vectors only, so
              the ids, texts and metadata go to a JSON file beside the index
              (faiss.write_index); the query reads both back and answers
              with 2 OpenMP threads
  sqlite-vec  a vec0 virtual table (float[D], the text as an auxiliary
              column, the metadata as JSON text) in one SQLite file; every
              KNN query is a full scan (sqlite-vec 0.1 has no ANN index).
              sqlite-vec's Python package ships vec0.so, which needs a
              sqlite3 module that loads extensions: Debian's python3 has one
              (the venv's interpreter does not), so bench/compare/run.sh runs
              this engine with /usr/bin/python3 and VS_SQLITE_VEC naming the
              vec0 library

Other engine names are e2e.py's (vecstore-cli, vecstore-py, chromadb,
lancedb)."""
import json
import os
import sqlite3
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "py"))
import e2e  # noqa: E402
from e2e import K, metas, out, texts  # noqa: E402


def faiss_hnsw(x, q, work, ef, binpath):
    import faiss
    out("version", faiss.__version__)
    path = os.path.join(work, "faiss")
    n, d = x.shape

    def ingest():
        os.makedirs(path, exist_ok=True)
        faiss.omp_set_num_threads(2)
        index = faiss.IndexHNSWFlat(d, 16)
        index.hnsw.efConstruction = 200
        index.add(x)
        faiss.write_index(index, os.path.join(path, "index.faiss"))
        with open(os.path.join(path, "docs.json"), "w") as f:
            json.dump({"ids": [str(i) for i in range(n)], "texts": texts(n), "metadata": metas(n)}, f)
            f.flush()
            os.fsync(f.fileno())

    def query():
        faiss.omp_set_num_threads(2)
        index = faiss.read_index(os.path.join(path, "index.faiss"))
        index.hnsw.efSearch = ef
        with open(os.path.join(path, "docs.json")) as f:
            docs = json.load(f)
        _, labels = index.search(q, K)
        return [[int(docs["ids"][i]) for i in row if i >= 0 and docs["texts"][i] and docs["metadata"][i]]
                for row in labels]

    return path, ingest, query


def sqlite_vec(x, q, work, ef, binpath):
    lib = os.environ.get("VS_SQLITE_VEC", "")
    if not lib:
        raise ImportError("VS_SQLITE_VEC (the path of sqlite-vec's vec0 library) is not set")
    path = os.path.join(work, "sqlite-vec")
    db = os.path.join(path, "vec.db")
    n, d = x.shape

    def connect():
        c = sqlite3.connect(db)
        c.enable_load_extension(True)
        c.load_extension(lib)
        return c

    os.makedirs(path, exist_ok=True)
    c = connect()
    out("version", c.execute("SELECT vec_version()").fetchone()[0])
    c.close()

    def ingest():
        c = connect()
        c.execute(f"CREATE VIRTUAL TABLE items USING vec0(embedding float[{d}], +text text, +metadata text)")
        tx, md = texts(n), metas(n)
        with c:
            c.executemany("INSERT INTO items(rowid, embedding, text, metadata) VALUES (?, ?, ?, ?)",
                          ((i, x[i].tobytes(), tx[i], json.dumps(md[i])) for i in range(n)))
        c.close()

    def query():
        c = connect()
        got = []
        for v in q:
            rows = c.execute("SELECT rowid, distance, text, metadata FROM items "
                             "WHERE embedding MATCH ? AND k = ?", (v.tobytes(), K)).fetchall()
            got.append([int(r[0]) for r in rows if r[2] and json.loads(r[3])])
        c.close()
        return got

    return path, ingest, query


e2e.ENGINES.update({"faiss": faiss_hnsw, "sqlite-vec": sqlite_vec})

if __name__ == "__main__":
    e2e.main()
