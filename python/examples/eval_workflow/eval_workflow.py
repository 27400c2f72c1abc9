"""An evaluation workflow with a quality gate, for CI.

    python eval_workflow.py DATASET [--model hash] [--min ndcg_cut_10=0.5 ...]

DATASET is a BEIR folder (corpus.jsonl, queries.jsonl, qrels/test.tsv or
qrels.tsv), for example python/examples/data or SciFact. The corpus is
indexed into a fresh store (title and text, embedded with --model), every
query is searched in each of the modes vector, text (BM25) and hybrid, and
each run is evaluated with trec_eval's definitions (vecstore.evaluate, the
code of vs-eval). A table shows the measures per mode; then the gates:
each --min MEASURE=VALUE must hold for --gate-mode (default hybrid).

Exit status: 0 all gates hold, 1 a gate failed (the failing measures are
named on stderr), 2 usage, 3 bad data (as the vs-* programs).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

import vecstore

MEASURES = ["ndcg_cut_10", "recall_10", "recip_rank", "map"]
MODES = ["vector", "text", "hybrid"]


def read_jsonl(path: str) -> list[dict]:
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise ValueError(f"{path}:{n}: {e.msg}") from None
    return out


def qrels_path(dataset: str) -> str:
    for p in ("qrels/test.tsv", "qrels.tsv"):
        if os.path.exists(os.path.join(dataset, p)):
            return os.path.join(dataset, p)
    raise FileNotFoundError(f"{dataset}: no qrels/test.tsv or qrels.tsv")


def build(dataset: str, store_path: str, model: str) -> int:
    docs = read_jsonl(os.path.join(dataset, "corpus.jsonl"))
    with vecstore.open(store_path, create=True, model=model, autocommit=False) as store:
        store.upsert([d["_id"] for d in docs],
                     texts=[(d.get("title", "") + "\n" + d.get("text", "")).strip() for d in docs],
                     metadata=[{"title": d.get("title", "")} for d in docs])
    return len(docs)


def evaluate(dataset: str, store_path: str, k: int = 10) -> dict[str, dict[str, float]]:
    """{mode: {measure: value}} over the dataset's judged queries."""
    qrels = qrels_path(dataset)
    judged = set()
    with open(qrels, encoding="utf-8") as f:
        for line in f:
            p = line.split()
            if len(p) >= 3 and p[0] != "query-id":
                judged.add(p[0])
    queries = [q for q in read_jsonl(os.path.join(dataset, "queries.jsonl")) if q["_id"] in judged]
    table = {}
    with vecstore.open(store_path, readonly=True) as store:
        for mode in MODES:
            hits = store.search([q["text"] for q in queries], k, mode=mode)
            run = {q["_id"]: h for q, h in zip(queries, hits)}
            table[mode] = vecstore.evaluate(run, qrels, MEASURES)
    return table


def gates(table: dict[str, dict[str, float]], mode: str, mins: dict[str, float]) -> list[str]:
    """The failed gates, as 'measure value < minimum' lines."""
    return [f"{m} {table[mode].get(m, 0.0):.4f} < {v:.4f}" for m, v in mins.items()
            if table[mode].get(m, 0.0) < v]


def parse_min(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    if not sep or name not in MEASURES:
        raise argparse.ArgumentTypeError(f"'{text}': MEASURE=VALUE with MEASURE one of {', '.join(MEASURES)}")
    try:
        return name, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}': VALUE is not a number") from None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dataset")
    ap.add_argument("--model", default="hash")
    ap.add_argument("--store", help="keep the store here (default: a temporary folder)")
    ap.add_argument("--min", type=parse_min, action="append", default=[], metavar="MEASURE=VALUE")
    ap.add_argument("--gate-mode", choices=MODES, default="hybrid")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        store = a.store or os.path.join(tmp, "eval.vs")
        try:
            n = build(a.dataset, store, a.model)
            table = evaluate(a.dataset, store)
        except FileNotFoundError as e:
            print(f"eval_workflow: error: {e}", file=sys.stderr)
            return 2
        except ValueError as e:  # a line that is not JSON; vecstore's InputError too
            print(f"eval_workflow: error: {e}", file=sys.stderr)
            return getattr(e, "exit_code", 3)
        except vecstore.VecstoreError as e:
            print(f"eval_workflow: error: {e}", file=sys.stderr)
            return e.exit_code
    print(f"{a.dataset}: {n} documents, model {a.model}")
    print("%-8s" % "mode" + "".join("%13s" % m for m in MEASURES))
    for mode in MODES:
        print("%-8s" % mode + "".join("%13.4f" % table[mode][m] for m in MEASURES))
    failed = gates(table, a.gate_mode, dict(a.min))
    for f in failed:
        print(f"eval_workflow: gate failed ({a.gate_mode}): {f}", file=sys.stderr)
    if a.min and not failed:
        print(f"gates hold ({a.gate_mode}): " + ", ".join(f"{m} >= {v}" for m, v in a.min))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
