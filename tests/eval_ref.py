#!/usr/bin/python3
"""An independent reference for vs-eval's trec_eval measures, used by the
tests as a cross-check. It reads a TREC run and qrels (TREC or BEIR TSV) and
prints trec_eval's layout for the measures given with -m (canonical names,
e.g. map P_10 ndcg_cut_10), per query with -q. Written from the measure
definitions (trec_eval's documentation), not from vs-eval's code.

Also: `eval_ref.py genrun QRELS SEED > run` makes a run with random scores
(including ties, unjudged and irrelevant documents) for every judged query.
"""
import math
import random
import sys


def read_qrels(path):
    q = {}
    with open(path) as f:
        lines = [l.rstrip("\n") for l in f if l.strip()]
    beir = lines and len(lines[0].split("\t")) == 3
    for l in lines:
        if beir:
            a = l.split("\t")
            if a[0] == "query-id":
                continue
            qid, doc, rel = a[0], a[1], int(a[2])
        else:
            qid, _, doc, rel = l.split()
            rel = int(rel)
        q.setdefault(qid, {})[doc] = rel
    return q


def read_run(path):
    r = {}
    tag = None
    with open(path) as f:
        for l in f:
            if not l.strip():
                continue
            qid, _, doc, _, score, t = l.split()
            tag = tag or t
            r.setdefault(qid, []).append((float(score), doc))
    return r, tag


def ranked(hits):
    # score descending, ties: docno descending
    return [d for s, d in sorted(hits, key=lambda x: (x[0], x[1]), reverse=True)]


def measures_for(docs, judg, level, names):
    rels = [judg.get(d, None) for d in docs]          # None = not in qrels
    judged_levels = [v for v in judg.values() if v >= 0]
    R = sum(1 for v in judged_levels if v >= level)
    N = sum(1 for v in judged_levels if v < level)
    isrel = [v is not None and v >= level for v in rels]
    out = {}

    def dcg(gains):
        return sum(g / math.log2(i + 2) for i, g in enumerate(gains) if g > 0)

    ideal = sorted([v for v in judged_levels if v > 0], reverse=True)
    gains = [v if (v is not None and v > 0) else 0 for v in rels]
    for name in names:
        base, _, cut = name.rpartition("_")
        k = int(cut) if cut.isdigit() else None
        if k is None:
            base = name
        if base == "num_ret":
            out[name] = len(docs)
        elif base == "num_rel":
            out[name] = R
        elif base == "num_rel_ret":
            out[name] = sum(isrel)
        elif base in ("map", "map_cut"):
            top = isrel if base == "map" else isrel[:k]
            s, hits = 0.0, 0
            for i, x in enumerate(top):
                if x:
                    hits += 1
                    s += hits / (i + 1)
            out[name] = s / R if R else 0.0
        elif base == "Rprec":
            out[name] = sum(isrel[:R]) / R if R and docs else 0.0
        elif base == "recip_rank":
            out[name] = next((1.0 / (i + 1) for i, x in enumerate(isrel) if x), 0.0)
        elif base == "bpref":
            s, nonrel = 0.0, 0
            for v in rels:
                if v is None or v < 0:
                    continue
                if v < level:
                    nonrel += 1
                else:
                    s += 1.0 - (min(nonrel, R) / min(N, R) if nonrel else 0.0)
            out[name] = s / R if R else 0.0
        elif base == "P":
            out[name] = sum(isrel[:k]) / k
        elif base == "recall":
            out[name] = sum(isrel[:k]) / R if R else 0.0
        elif base == "success":
            out[name] = 1.0 if any(isrel[:k]) else 0.0
        elif base == "judged":
            out[name] = sum(1 for v in rels[:k] if v is not None and v >= 0) / k
        elif base == "ndcg":
            i = dcg(ideal)
            out[name] = dcg(gains) / i if i > 0 else 0.0
        elif base == "ndcg_cut":
            i = dcg(ideal[:k])
            out[name] = dcg(gains[:k]) / i if i > 0 else 0.0
        else:
            raise SystemExit("eval_ref.py: unknown measure " + name)
    return out


COUNTS = ("num_ret", "num_rel", "num_rel_ret")


def fmt(name, qid, v):
    if name in COUNTS:
        return "%-22s\t%s\t%d" % (name, qid, v)
    return "%-22s\t%s\t%6.4f" % (name, qid, v)


def main(argv):
    if argv[1:2] == ["genrun"]:
        qrels = read_qrels(argv[2])
        rnd = random.Random(int(argv[3]))
        for qid in sorted(qrels):
            docs = list(qrels[qid]) + ["noise%d" % i for i in range(rnd.randint(0, 30))]
            rnd.shuffle(docs)
            for i, d in enumerate(docs[: rnd.randint(1, len(docs))]):
                score = round(rnd.random(), 1)   # coarse scores make ties
                print("%s Q0 %s %d %.1f ref" % (qid, d, i + 1, score))
        return
    args = argv[1:]
    per_query = "-q" in args
    complete = "-c" in args
    level = 1
    names = []
    files = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "-m":
            names.append(args[i + 1]); i += 2; continue
        if a == "-l":
            level = int(args[i + 1]); i += 2; continue
        if a in ("-q", "-c"):
            i += 1; continue
        files.append(a); i += 1
    qrels = read_qrels(files[0])
    run, tag = read_run(files[1])
    rows = []
    for qid in sorted(qrels):
        if qid not in run and not complete:
            continue
        docs = ranked(run.get(qid, []))
        rows.append((qid, measures_for(docs, qrels[qid], level, names)))
    if per_query:
        for qid, m in rows:
            for n in names:
                print(fmt(n, qid, m[n]))
    for n in names:
        vals = [m[n] for _, m in rows]
        v = sum(vals) if n in COUNTS else (sum(vals) / len(vals) if vals else 0.0)
        print(fmt(n, "all", v))


if __name__ == "__main__":
    main(sys.argv)
