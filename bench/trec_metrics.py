#!/usr/bin/python3
"""trec_metrics.py RUN QRELS: nDCG@10 and recall@100 of a TREC run against
BEIR qrels (query-id, corpus-id, score; a header line is skipped). Queries
with relevant judgments but no hits count as 0; gains are the relevance
values themselves (linear gain, as trec_eval's ndcg_cut, which BEIR uses).
Prints one JSON object: {"ndcg@10": x, "recall@100": y, "queries": n}."""
import json
import math
import sys


def load_qrels(path):
    qrels = {}
    with open(path) as f:
        for i, line in enumerate(f):
            parts = line.split()
            if len(parts) < 3 or (i == 0 and not parts[2].lstrip('-').isdigit()):
                continue
            rel = int(parts[2])
            qrels.setdefault(parts[0], {})[parts[1]] = rel
    return qrels


def load_run(path):
    run = {}
    with open(path) as f:
        for line in f:
            q, _, d, _, s, _ = line.split()
            run.setdefault(q, []).append((float(s), d))
    for q in run:  # order by score, ties by doc id descending as trec_eval
        run[q].sort(key=lambda x: (-x[0], x[1]), reverse=False)
    return run


def main():
    qrels = load_qrels(sys.argv[2])
    run = load_run(sys.argv[1])
    ndcg = rec = 0.0
    n = 0
    for q, rels in qrels.items():
        positives = {d: r for d, r in rels.items() if r > 0}
        if not positives:
            continue
        n += 1
        docs = [d for _, d in run.get(q, [])]
        dcg = sum(positives.get(d, 0) / math.log2(i + 2)
                  for i, d in enumerate(docs[:10]))
        ideal = sorted(positives.values(), reverse=True)[:10]
        idcg = sum(r / math.log2(i + 2) for i, r in enumerate(ideal))
        ndcg += dcg / idcg
        rec += len(set(docs[:100]) & set(positives)) / len(positives)
    print(json.dumps({"ndcg@10": round(ndcg / n, 4),
                      "recall@100": round(rec / n, 4), "queries": n}))


if __name__ == "__main__":
    main()
