#!/usr/bin/python3
"""fts5_bench.py DATASET_DIR RUN_OUT [DEPTH] [REPEAT]: the SQLite FTS5 peer of
bm25_bench. Indexes title + " " + text of corpus.jsonl into an in-memory FTS5
table (tokenize='porter unicode61', its stemming analyzer), runs the judged
test queries as an OR of their quoted tokens ordered by bm25() (FTS5's
k1 = 1.2, b = 0.75), writes the TREC run of the first pass to RUN_OUT and
prints timings as one JSON object."""
import json
import re
import sqlite3
import sys
import time


def main():
    d, out = sys.argv[1], sys.argv[2]
    depth = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    repeat = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    docs = []
    with open(d + "/corpus.jsonl") as f:
        for line in f:
            o = json.loads(line)
            docs.append((o["_id"], (o.get("title") or "") + " " + (o.get("text") or "")))
    judged = set()
    with open(d + "/qrels/test.tsv") as f:
        next(f)
        for line in f:
            judged.add(line.split()[0])
    queries = []
    with open(d + "/queries.jsonl") as f:
        for line in f:
            o = json.loads(line)
            if o["_id"] in judged:
                queries.append((o["_id"], o["text"]))
    db = sqlite3.connect(":memory:")
    t0 = time.process_time()
    db.execute("CREATE VIRTUAL TABLE docs USING fts5(body, tokenize='porter unicode61')")
    with db:
        db.executemany("INSERT INTO docs(rowid, body) VALUES (?, ?)",
                       ((i, t) for i, (_, t) in enumerate(docs)))
    t_index = time.process_time() - t0
    # FTS5 query: every word token quoted (so no operator or column syntax)
    exprs = []
    for qid, text in queries:
        toks = re.findall(r"\w+", text)
        exprs.append((qid, " OR ".join('"%s"' % t for t in toks)))
    sql = "SELECT rowid, bm25(docs) FROM docs WHERE docs MATCH ? ORDER BY rank LIMIT ?"
    t_query = 0.0
    n = 0
    with open(out, "w") as f:
        for r in range(repeat):
            for qid, e in exprs:
                t1 = time.process_time()
                rows = db.execute(sql, (e, depth)).fetchall() if e else []
                t_query += time.process_time() - t1
                n += 1
                if r == 0:
                    for rank, (rowid, score) in enumerate(rows, 1):
                        # bm25() is lower-is-better: negate for the run
                        f.write("%s Q0 %s %d %.6f fts5\n" % (qid, docs[rowid][0], rank, -score))
    print(json.dumps({"docs": len(docs), "index_s": round(t_index, 4), "queries": n,
                      "query_s": round(t_query, 4), "qps": round(n / t_query, 1),
                      "sqlite": sqlite3.sqlite_version, "depth": depth}))


if __name__ == "__main__":
    main()
