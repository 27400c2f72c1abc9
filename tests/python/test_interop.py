"""Interop with the programs: a store written by vs-ingest opens in Python
and gives vs-query's hits, and a store written from Python gives the same
hits through vs-query (vector, filtered, text and hybrid)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import program, rows

import vecstore

N, D = 300, 16


def records() -> list[dict[str, Any]]:
    data = rows(N, D, seed=11)
    return [{"id": f"doc{i}", "vector": [float(x) for x in data[i]],
             "text": f"text {i} of topic{i % 7} about {'cats' if i % 2 else 'dogs'}",
             "metadata": {"n": i, "lang": "en" if i % 3 else "fr"}} for i in range(N)]


def run(args: list[str], stdin: str) -> str:
    p = subprocess.run(args, input=stdin, capture_output=True, text=True, check=False)
    assert p.returncode == 0, p.stderr
    return p.stdout


def vs_query(store: Path, queries: list[dict[str, Any]], *extra: str) -> list[list[tuple]]:
    out = run([program("vs-query"), str(store), *extra],
              "".join(json.dumps(q) + "\n" for q in queries))
    by_q: dict[str, list[tuple]] = {}
    for line in out.splitlines():
        h = json.loads(line)
        if "qid" in h and "id" in h:
            by_q.setdefault(h["qid"], []).append((h["id"], h["rank"], h["score"]))
    return [by_q.get(q["id"], []) for q in queries]


def py_hits(hits: list[list[vecstore.Hit]]) -> list[list[tuple]]:
    return [[(h.id, h.rank, h.score) for h in r] for r in hits]


def same(a: list[list[tuple]], b: list[list[tuple]]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert [h[:2] for h in x] == [h[:2] for h in y]
        np.testing.assert_allclose([h[2] for h in x], [h[2] for h in y], rtol=1e-6, atol=1e-7)


def queries() -> list[dict[str, Any]]:
    q = rows(6, D, seed=12)
    return [{"id": f"q{i}", "vector": [float(x) for x in q[i]]} for i in range(6)]


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("ing") / "kb.vs"
    run([program("vs-ingest"), str(store)], "".join(json.dumps(r) + "\n" for r in records()))
    return store


def qmatrix() -> np.ndarray:
    return np.array([q["vector"] for q in queries()], dtype=np.float32)


@pytest.mark.parametrize("extra", [[], ["--exact"], ["--ef", "16"]])
def test_vs_ingest_store_same_hits(ingested: Path, extra: list[str]) -> None:
    want = vs_query(ingested, queries(), "-k", "10", *extra)
    kw: dict[str, Any] = {"exact": "--exact" in extra}
    if "--ef" in extra:
        kw["ef"] = 16
    with vecstore.open(ingested, readonly=True) as s:
        assert len(s) == N
        got = py_hits(s.search(qmatrix(), k=10, **kw))
    same(got, want)


def test_vs_ingest_store_filter_and_fields(ingested: Path) -> None:
    want = vs_query(ingested, queries(), "-k", "5", "--filter", 'lang = "fr" AND n < 200')
    with vecstore.open(ingested, readonly=True) as s:
        res = s.search(qmatrix(), k=5, filter='lang = "fr" AND n < 200')
        same(py_hits(res), want)
        h = res[0][0]
        i = int(h.id[3:])
        assert h.text == records()[i]["text"] and h.metadata == records()[i]["metadata"]


def test_vs_ingest_store_hybrid(ingested: Path) -> None:
    qs = [dict(q, text="topic3 cats") for q in queries()]
    want = vs_query(ingested, qs, "-k", "10")
    with vecstore.open(ingested, readonly=True) as s:
        got = py_hits(s.search(qmatrix(), k=10, text=["topic3 cats"] * 6))
    same(got, want)


def test_python_store_same_hits_in_vs_query(tmp: Path) -> None:
    store = tmp / "py.vs"
    recs = records()
    with vecstore.open(store, create=True) as s:
        s.upsert([r["id"] for r in recs], np.array([r["vector"] for r in recs], np.float32),
                 texts=[r["text"] for r in recs], metadata=[r["metadata"] for r in recs])
        mine = py_hits(s.search(qmatrix(), k=10))
        mine_text = py_hits(s.search(["topic5 dogs"], k=5, mode="text"))
    same(vs_query(store, queries(), "-k", "10"), mine)
    same(vs_query(store, [{"id": "1", "text": "topic5 dogs"}], "-k", "5", "--mode", "text"),
         mine_text)
    info = json.loads(run([program("vs-index"), "info", str(store)], ""))
    assert (info["records"], info["dimension"], info["metric"]) == (N, D, "cosine")
    # a program can write to it once Python has closed it
    extra = {"id": "new", "vector": [1.0] + [0.0] * (D - 1)}
    run([program("vs-ingest"), str(store)], json.dumps(extra) + "\n")
    with vecstore.open(store, readonly=True) as s:
        assert len(s) == N + 1
