#!/usr/bin/python3
"""Brute-force reference for vs-query, in numpy (float64).

  ref_search.py --docs DOCS --queries QUERIES --metric cosine|dot|l2
                [-k N] [--filter EXPR] [--normalize] [--check HITS] [--tol T]

DOCS: the live records of the store (id, vector, metadata...), NDJSON.
QUERIES: query records (id, vector, optional k and filter).
Without --check, prints the reference hits (qid, id, rank, score) as NDJSON.
With --check HITS (vs-query's output), compares and exits 1 on a mismatch:
the same number of hits per query; scores equal rank by rank within --tol;
each hit's reported score equal to the reference score of that id within
--tol; with --tol 0 (exact data such as small integers) the same ids in the
same order, ties broken by id.

Filters use a small evaluator for the subset of the filter language the
tests use: = != < <= > >= IN [...] NOT IN [...] EXISTS AND OR NOT ( ).
"""
import argparse
import json
import re
import sys

import numpy as np

TOKEN = re.compile(r'\s*(?:(\d+(?:\.\d+)?)|("(?:[^"\\]|\\.)*")|(<=|>=|!=|=|<|>|\(|\)|\[|\]|,)|([A-Za-z_][A-Za-z0-9_.]*))')


def tokenize(s):
    out, pos = [], 0
    s = s.strip()
    while pos < len(s):
        m = TOKEN.match(s, pos)
        if not m or m.end() == pos:
            raise ValueError("cannot tokenize filter at %d: %r" % (pos, s))
        num, st, op, word = m.groups()
        if num is not None:
            out.append(("lit", float(num)))
        elif st is not None:
            out.append(("lit", json.loads(st)))
        elif op is not None:
            out.append(("op", op))
        else:
            up = word.upper()
            if up in ("AND", "OR", "NOT", "IN", "EXISTS"):
                out.append(("kw", up))
            else:
                out.append(("path", word))
        pos = m.end()
    out.append(("end", None))
    return out


def resolve(doc, path):
    segs = path.split(".")
    meta = doc.get("metadata")
    v = meta.get(segs[0], KeyError) if isinstance(meta, dict) else KeyError
    if v is KeyError:
        v = doc.get(segs[0], KeyError)
    for s in segs[1:]:
        if isinstance(v, dict):
            v = v.get(s, KeyError)
        else:
            return KeyError
    return v


def num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def eq(a, b):
    if num(a) and num(b):
        return a == b
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    return False


def cmp(a, op, b):
    if op == "=":
        return eq(a, b)
    if op == "!=":
        return not eq(a, b)
    if not ((num(a) and num(b)) or (isinstance(a, str) and isinstance(b, str))):
        return False
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


class Parser:
    def __init__(self, s):
        self.t = tokenize(s)
        self.i = 0

    def peek(self):
        return self.t[self.i]

    def take(self):
        tok = self.t[self.i]
        self.i += 1
        return tok

    def parse(self):
        f = self.orx()
        assert self.peek()[0] == "end", self.peek()
        return f

    def orx(self):
        f = self.andx()
        while self.peek() == ("kw", "OR"):
            self.take()
            a, b = f, self.andx()
            f = lambda d, a=a, b=b: a(d) or b(d)
        return f

    def andx(self):
        f = self.unary()
        while self.peek() == ("kw", "AND"):
            self.take()
            a, b = f, self.unary()
            f = lambda d, a=a, b=b: a(d) and b(d)
        return f

    def unary(self):
        if self.peek() == ("kw", "NOT"):
            self.take()
            a = self.unary()
            return lambda d: not a(d)
        if self.peek() == ("op", "("):
            self.take()
            f = self.orx()
            assert self.take() == ("op", ")")
            return f
        kind, path = self.take()
        assert kind == "path", (kind, path)
        neg = False
        if self.peek() == ("kw", "NOT"):
            self.take()
            neg = True
        kind, op = self.take()
        if (kind, op) == ("kw", "EXISTS"):
            f = lambda d: resolve(d, path) is not KeyError
        elif (kind, op) == ("kw", "IN"):
            assert self.take() == ("op", "[")
            vals = []
            while self.peek() != ("op", "]"):
                vals.append(self.take()[1])
                if self.peek() == ("op", ","):
                    self.take()
            self.take()
            def f(d, vals=vals):
                v = resolve(d, path)
                return v is not KeyError and any(eq(v, x) for x in vals)
        else:
            lit = self.take()[1]
            def f(d, op=op, lit=lit):
                v = resolve(d, path)
                return v is not KeyError and cmp(v, op, lit)
        if neg:
            g = f
            return lambda d: not g(d)
        return f


def compile_filter(s):
    return Parser(s).parse() if s else (lambda d: True)


def read(path):
    with open(path) as fp:
        return [json.loads(l) for l in fp if l.strip()]


def normalize(m):
    n = np.linalg.norm(m, axis=1, keepdims=True)
    return (m / n).astype(np.float32).astype(np.float64)


def reference(args):
    docs = read(args.docs)
    queries = read(args.queries)
    ids = [d["id"] for d in docs]
    X = np.array([d["vector"] for d in docs], dtype=np.float32).astype(np.float64)
    if args.normalize and len(docs):
        X = normalize(X)
    gfilter = compile_filter(args.filter)
    out = {}
    for q in queries:
        v = np.array([q["vector"]], dtype=np.float32).astype(np.float64)
        if args.normalize:
            v = normalize(v)
        v = v[0]
        qf = compile_filter(q.get("filter"))
        k = q.get("k", args.k)
        allowed = [i for i, d in enumerate(docs) if gfilter(d) and qf(d)]
        if args.metric == "l2":
            s = -((X[allowed] - v) ** 2).sum(axis=1) if allowed else np.array([])
        else:
            s = X[allowed] @ v if allowed else np.array([])
        order = sorted(range(len(allowed)), key=lambda j: (-s[j], ids[allowed[j]]))[:k]
        scores = {ids[allowed[j]]: float(s[j]) for j in range(len(allowed))}
        out[str(q["id"])] = ([(ids[allowed[j]], float(s[j])) for j in order], scores)
    return out


def check(args, ref):
    got = {}
    for h in read(args.check):
        got.setdefault(h["qid"], []).append(h)
    bad = 0
    for qid, (hits, scores) in ref.items():
        mine = got.get(qid, [])
        if len(mine) != len(hits):
            print("query %s: %d hits, reference %d" % (qid, len(mine), len(hits)))
            bad += 1
            continue
        for i, (h, (rid, rs)) in enumerate(zip(mine, hits)):
            if h["rank"] != i + 1:
                print("query %s: rank %s at position %d" % (qid, h["rank"], i + 1))
                bad += 1
            if abs(h["score"] - rs) > args.tol:
                print("query %s rank %d: score %r, reference %r" % (qid, i + 1, h["score"], rs))
                bad += 1
            if h["id"] not in scores or abs(scores[h["id"]] - h["score"]) > args.tol:
                print("query %s rank %d: id %s is not a match with score %r" %
                      (qid, i + 1, h["id"], h["score"]))
                bad += 1
            if args.tol == 0 and h["id"] != rid:
                print("query %s rank %d: id %s, reference %s" % (qid, i + 1, h["id"], rid))
                bad += 1
            if args.metric == "cosine" and abs(h["distance"] - (1 - h["score"])) > 1e-6:
                print("query %s rank %d: distance %r is not 1 - score" % (qid, i + 1, h["distance"]))
                bad += 1
            if args.metric == "l2" and h["distance"] != -h["score"]:
                print("query %s rank %d: distance %r is not -score" % (qid, i + 1, h["distance"]))
                bad += 1
            if args.metric == "dot" and "distance" in h:
                print("query %s: dot hits have no distance" % qid)
                bad += 1
        if len({h["id"] for h in mine}) != len(mine):
            print("query %s: duplicate ids" % qid)
            bad += 1
    extra = set(got) - set(ref)
    if extra:
        print("hits for unknown queries: %s" % sorted(extra))
        bad += 1
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--metric", required=True, choices=["cosine", "dot", "l2"])
    ap.add_argument("-k", type=int, default=10)
    ap.add_argument("--filter")
    ap.add_argument("--normalize", action="store_true")
    ap.add_argument("--check")
    ap.add_argument("--tol", type=float, default=1e-5)
    args = ap.parse_args()
    ref = reference(args)
    if args.check:
        sys.exit(check(args, ref))
    for qid, (hits, _) in ref.items():
        for i, (did, s) in enumerate(hits):
            print(json.dumps({"qid": qid, "id": did, "rank": i + 1, "score": s}))


if __name__ == "__main__":
    main()
