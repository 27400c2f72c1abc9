#!/usr/bin/python3
"""Reference for vs-query text and hybrid search on tiny stores (tests).

Usage: ref_hybrid.py DOCS QUERIES HITS [--fusion rrf|weighted|dbsf]
           [--alpha A] [--rrf-k K] [--k1 K1] [--b B] [--mode text|hybrid] [-k K]
           [--candidates C]

Documents must use lower-case words that are not stop words and separated
by spaces only, so that analyzing is splitting (stemming maps equal words to
equal terms, which does not change BM25). Recomputes BM25 (docs/bm25.md),
exact cosine, and the fusion (lib/vs_fuse.h) independently, then checks
the hit records (ids, ranks, score, score_text, score_vector) of HITS.
Hybrid search fuses the top max(C, k) of each side (C default 100, as
vs-query's --candidates); a hit outside a side's candidates has no score
from that side (null).
"""
import argparse, json, math, sys

ap = argparse.ArgumentParser()
ap.add_argument("docs"); ap.add_argument("queries"); ap.add_argument("hits")
ap.add_argument("--fusion", default="weighted"); ap.add_argument("--alpha", type=float, default=0.5)
ap.add_argument("--rrf-k", type=float, default=60.0); ap.add_argument("--k1", type=float, default=1.2)
ap.add_argument("--b", type=float, default=0.75); ap.add_argument("--mode", default="hybrid")
ap.add_argument("-k", type=int, default=10)
ap.add_argument("--candidates", type=int, default=100)
a = ap.parse_args()
docs = [json.loads(l) for l in open(a.docs) if l.strip()]
queries = [json.loads(l) for l in open(a.queries) if l.strip()]
hits = [json.loads(l) for l in open(a.hits) if l.strip()]

def norm(v):
    n = math.sqrt(sum(x * x for x in v))
    return [x / n for x in v]

toks = {d["id"]: d.get("text", "").split() for d in docs if "text" in d}
N = len(toks)
avgdl = sum(len(t) for t in toks.values()) / N

def bm25(q):
    out = {}
    for w in q.split():
        df = sum(1 for t in toks.values() if w in t)
        idf = math.log(1 + (N - df + 0.5) / (df + 0.5))
        for i, t in toks.items():
            tf = t.count(w)
            if tf:
                s = idf * tf * (a.k1 + 1) / (tf + a.k1 * (1 - a.b + a.b * len(t) / avgdl))
                out[i] = out.get(i, 0) + s
    return sorted(out.items(), key=lambda x: (-x[1], x[0]))

def vec(q):
    qv = norm(q["vector"])
    out = [(d["id"], sum(x * y for x, y in zip(qv, norm(d["vector"])))) for d in docs]
    return sorted(out, key=lambda x: (-x[1], x[0]))

def fuse(lists, w):
    sc = {}
    for li, (l, wi) in enumerate(zip(lists, w)):
        if not l:
            continue
        s = [x[1] for x in l]
        mu = sum(s) / len(s)
        sd = math.sqrt(sum((x - mu) ** 2 for x in s) / len(s))
        for r, (i, x) in enumerate(l, 1):
            if a.fusion == "rrf":
                v = 1 / (a.rrf_k + r)
            elif a.fusion == "weighted":
                v = 1.0 if max(s) == min(s) else (x - min(s)) / (max(s) - min(s))
            else:
                v = 1.0 if sd == 0 else min(1, max(0, (x - (mu - 3 * sd)) / (6 * sd)))
            sc[i] = sc.get(i, 0) + (wi if a.fusion == "rrf" else wi) * v
    return sorted(sc.items(), key=lambda x: (-x[1], x[0]))

bad = 0
for q in queries:
    got = [h for h in hits if h["qid"] == q["id"]]
    t = bm25(q["text"])
    cand = max(a.candidates, a.k)
    if a.mode == "text":
        want = t
    else:
        t = t[:cand]
        v = vec(q)[:cand]
        w = [1, 1] if a.fusion == "rrf" else [a.alpha, 1 - a.alpha]
        want = fuse([v, t], w)
    want = want[: a.k]
    ts, vs = dict(t), dict(vec(q)[:cand]) if "vector" in q else {}
    if [h["id"] for h in got] != [i for i, _ in want]:
        print("query %s: ids %s, reference %s" % (q["id"], [h["id"] for h in got], want))
        bad += 1
        continue
    for r, (h, (i, s)) in enumerate(zip(got, want), 1):
        ok = h["rank"] == r and abs(h["score"] - s) < 1e-6
        st = h["score_text"]
        ok = ok and ((st is None and i not in ts) or (st is not None and abs(st - ts[i]) < 1e-6))
        if a.mode == "hybrid":
            sv = h["score_vector"]
            ok = ok and ((sv is None and i not in vs) or (sv is not None and i in vs and abs(sv - vs[i]) < 1e-6))
        if not ok:
            print("query %s rank %d: %s, reference %s %s" % (q["id"], r, h, i, s))
            bad += 1
sys.exit(1 if bad else 0)
