"""Stores from Python: open/create, upsert, delete, filter, search (vector,
matrix, text, hybrid), Hit fields, info, commit, context manager."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from conftest import rows

import vecstore


def test_version() -> None:
    # the repository's one version (VERSION, scripts/version.sh)
    want = (Path(__file__).resolve().parents[2] / "VERSION").read_text().strip()
    assert vecstore.__version__ == want
    assert vecstore.library_version() == want


def test_create_and_info(tmp: Path) -> None:
    with vecstore.open(tmp / "a.vs", create=True, dim=4, metric="l2", hnsw_m=8) as s:
        info = s.info()
        assert (info.records, info.dim, info.metric, info.hnsw_m) == (0, 4, "l2", 8)
        assert info.writable and info.has_text_index
        assert s.dim == 4 and s.metric == "l2" and s.model is None and s.writable
        assert len(s) == 0
        assert s.path == str(tmp / "a.vs")
    assert (tmp / "a.vs").is_dir()


def test_upsert_and_len(small: vecstore.Store) -> None:
    assert len(small) == 50
    assert small.info().generation >= 1


def test_upsert_single_id(tmp: Path) -> None:
    with vecstore.open(tmp / "a.vs", create=True) as s:
        assert s.upsert("one", [1.0, 0.0, 0.0], texts="a text", metadata={"k": 1}) == 1
        assert len(s) == 1 and s.dim == 3
        h = s.search([1.0, 0.0, 0.0], k=1)[0]
        assert (h.id, h.text, h.metadata) == ("one", "a text", {"k": 1})


def test_upsert_replaces_same_id(small: vecstore.Store) -> None:
    v = np.zeros(8, np.float32)
    v[0] = 1
    small.upsert(["r1"], v[None, :], texts=["replaced"], metadata=[{"n": -1}])
    assert len(small) == 50
    hit = small.search(v, k=1)[0]
    assert (hit.id, hit.text, hit.metadata) == ("r1", "replaced", {"n": -1})


def test_vector_search_hits(small: vecstore.Store) -> None:
    q = rows(50, 8)[7]
    hits = small.search(q, k=5)
    assert len(hits) == 5
    h = hits[0]
    assert h.id == "r7" and h.rank == 1 and h.qid == "1"
    assert h.score == pytest.approx(1.0, abs=1e-5)
    assert h.distance == pytest.approx(0.0, abs=1e-5)
    assert h.text == "record 7 about apples and topic2"
    assert h.metadata == {"n": 7, "lang": "en"}
    assert [x.rank for x in hits] == [1, 2, 3, 4, 5]
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:]))


def test_search_matches_numpy_exact(small: vecstore.Store) -> None:
    data = rows(50, 8)
    q = rows(1, 8, seed=9)[0]
    hits = small.search(q, k=10, exact=True)
    want = np.argsort(-(data @ q), kind="stable")[:10]
    assert [h.id for h in hits] == [f"r{i}" for i in want]
    for h, i in zip(hits, want):
        assert h.score == pytest.approx(float(data[i] @ q), abs=1e-5)


def test_matrix_search(small: vecstore.Store) -> None:
    q = rows(50, 8)[[3, 4, 5]]
    res = small.search(q, k=2)
    assert len(res) == 3 and all(len(r) == 2 for r in res)
    assert [r[0].id for r in res] == ["r3", "r4", "r5"]
    assert [r[0].qid for r in res] == ["1", "2", "3"]


def test_list_input_is_converted(small: vecstore.Store) -> None:
    q = rows(50, 8)[3]
    assert small.search(q.tolist(), k=1)[0].id == "r3"
    assert small.search(q.astype(np.float64), k=1)[0].id == "r3"
    noncontig = np.repeat(rows(50, 8), 2, axis=1)[:, ::2]
    assert not noncontig.flags.c_contiguous
    assert small.search(noncontig[3], k=1)[0].id == "r3"


def test_filter_search(small: vecstore.Store) -> None:
    hits = small.search(rows(1, 8, 3)[0], k=50, filter='lang = "de" AND n < 20')
    assert sorted(int(h.id[1:]) for h in hits) == [0, 3, 6, 9, 12, 15, 18]
    assert all(h.metadata["lang"] == "de" for h in hits)


def test_text_search(small: vecstore.Store) -> None:
    hits = small.search("topic3", k=3, mode="text")
    assert hits and all("topic3" in h.text for h in hits)
    assert hits[0].distance is None and hits[0].score_text is not None


def test_hybrid_search_vector_and_text(small: vecstore.Store) -> None:
    q = rows(50, 8)[2]
    hits = small.search(q, k=5, text="topic2 pears", mode="hybrid")
    assert hits[0].id == "r2"
    assert hits[0].score_vector is not None and hits[0].score_text is not None
    w = small.search(q, k=5, text="topic2 pears", mode="hybrid", fusion="weighted", alpha=0.9)
    assert w[0].id == "r2"


def test_text_query_embeds_with_store_model(tmp: Path) -> None:
    with vecstore.open(tmp / "m.vs", create=True, model="hash") as s:
        assert s.model == "hash-v1:384" and s.dim == 384
        s.upsert(["a", "b", "c"], texts=["the cat sat on the mat", "stock markets fell",
                                         "a dog in the park"])
        hits = s.search("cat on a mat", k=3)
        assert hits[0].id == "a"
        assert hits[0].score_vector is not None  # hybrid: both sides
        batch = s.search(["markets", "dog park"], k=1)
        assert [b[0].id for b in batch] == ["b", "c"]
        assert s.search("cat on a mat", k=1, mode="vector")[0].id == "a"


def test_search_arrays(small: vecstore.Store) -> None:
    q = rows(50, 8)[[1, 2]]
    ids, scores = small.search_arrays(q, k=3)
    assert ids.shape == (2, 3) and scores.shape == (2, 3) and scores.dtype == np.float32
    assert list(ids[:, 0]) == ["r1", "r2"]
    hits = small.search(q, k=3)
    assert [[h.id for h in r] for r in hits] == ids.tolist()
    np.testing.assert_allclose(scores, [[h.score for h in r] for r in hits], rtol=1e-6)


def test_search_arrays_pads_short_results(small: vecstore.Store) -> None:
    ids, scores = small.search_arrays(rows(1, 8)[0], k=5, filter="n = 4")
    assert ids.shape == (1, 5)
    assert ids[0, 0] == "r4" and list(ids[0, 1:]) == [None] * 4
    assert all(math.isnan(x) for x in scores[0, 1:])


def test_with_text_and_metadata_off(small: vecstore.Store) -> None:
    h = small.search(rows(50, 8)[1], k=1, with_text=False, with_metadata=False)[0]
    assert h.id == "r1" and h.text is None and h.metadata == {} and h.metadata_json is None


def test_hit_to_dict_and_eq(small: vecstore.Store) -> None:
    a = small.search(rows(50, 8)[1], k=2)
    b = small.search(rows(50, 8)[1], k=2)
    assert a == b
    d = a[0].to_dict()
    assert d["id"] == "r1" and d["rank"] == 1 and d["metadata"] == {"n": 1, "lang": "en"}
    assert "qid" in d and "score" in d and "distance" in d


def test_doc_id_round_trip(tmp: Path) -> None:
    with vecstore.open(tmp / "d.vs", create=True) as s:
        s.upsert(["a#0", "a#1"], rows(2, 4), doc_ids=["a", "a"])
        assert {h.doc_id for h in s.search(rows(2, 4)[0], k=2)} == {"a"}


def test_delete_by_id_and_filter(small: vecstore.Store) -> None:
    assert small.delete(["r0", "r1", "nope"]) == 2
    assert len(small) == 48
    assert small.delete("r2") == 1
    assert small.delete(filter="n >= 40") == 10
    assert len(small) == 37
    ids = {h.id for h in small.search(rows(1, 8)[0], k=50)}
    assert "r0" not in ids and "r45" not in ids and "r3" in ids


def test_autocommit_false_and_commit(tmp: Path) -> None:
    s = vecstore.open(tmp / "b.vs", create=True, dim=4, autocommit=False)
    s.upsert(["a", "b"], rows(2, 4))
    assert len(s) == 0  # not committed yet
    s.commit()
    assert len(s) == 2
    s.upsert(["c"], rows(1, 4, 2))
    s.close()  # dropped: not committed
    with vecstore.open(tmp / "b.vs", readonly=True) as r:
        assert len(r) == 2


def test_context_manager_commits(tmp: Path) -> None:
    with vecstore.open(tmp / "c.vs", create=True, dim=4, autocommit=False) as s:
        s.upsert(["a"], rows(1, 4))
    assert s.closed
    with vecstore.open(tmp / "c.vs", readonly=True) as r:
        assert len(r) == 1 and not r.writable


def test_context_manager_exception_does_not_commit(tmp: Path) -> None:
    with pytest.raises(RuntimeError):
        with vecstore.open(tmp / "e.vs", create=True, dim=4, autocommit=False) as s:
            s.upsert(["a"], rows(1, 4))
            raise RuntimeError("boom")
    with vecstore.open(tmp / "e.vs", readonly=True) as r:
        assert len(r) == 0


def test_reopen_keeps_settings(tmp: Path) -> None:
    with vecstore.open(tmp / "s.vs", create=True, dim=4, metric="dot", hnsw_m=0):
        pass
    with vecstore.open(tmp / "s.vs", metric="l2") as s:  # ignored: exists
        assert s.metric == "dot" and s.info().hnsw_m == 0


def test_hnsw_and_exact_agree(tmp: Path) -> None:
    data = rows(2000, 16, seed=4)
    with vecstore.open(tmp / "h.vs", create=True, hnsw_m=16, hnsw_seed=7) as s:
        s.upsert([str(i) for i in range(2000)], data)
        q = rows(20, 16, seed=5)
        approx = s.search(q, k=10, ef=200)
        exact = s.search(q, k=10, exact=True)
        found = sum(len({h.id for h in a} & {h.id for h in e}) for a, e in zip(approx, exact))
        assert found >= 190  # recall@10 >= 0.95


def test_mmr_changes_order(small: vecstore.Store) -> None:
    q = rows(50, 8)[4]
    plain = small.search(q, k=5)
    diverse = small.search(q, k=5, mmr=0.1)
    assert plain[0].id == diverse[0].id == "r4"
    assert len(diverse) == 5


def test_embedder(tmp: Path) -> None:
    with vecstore.Embedder("hash", dim=64) as e:
        assert e.dim == 64 and e.identity == "hash-v1:64"
        m = e.embed(["hello world", "another text"])
        assert m.shape == (2, 64) and m.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(m, axis=1), 1.0, rtol=1e-5)
        one = e.embed("hello world", role="query")
        assert one.shape == (64,)
        np.testing.assert_allclose(one, m[0], rtol=1e-6)  # hash: no role prefix


def test_open_with_embedder(tmp: Path) -> None:
    e = vecstore.Embedder("hash", dim=32)
    with vecstore.open(tmp / "e.vs", create=True, embedder=e) as s:
        assert s.model == "hash-v1:32" and s.dim == 32
        s.upsert(["a", "b"], texts=["red apples", "blue sky"])
        assert s.search("apples", k=1)[0].id == "a"


def test_reranker_bm25(small: vecstore.Store) -> None:
    r = vecstore.Reranker("bm25")
    sc = r.score("apples topic1", ["apples and topic1", "pears", "apples"])
    assert sc[0] > sc[2] > sc[1] == 0.0
    hits = small.search(rows(50, 8)[0], k=10)
    rr = r.rerank("apples topic1", hits, k=3)
    assert len(rr) == 3 and [h.rank for h in rr] == [1, 2, 3]
    assert all(h.retrieval_rank is not None for h in rr)
    assert rr[0].score >= rr[1].score >= rr[2].score


def test_evaluate_dicts_and_hits(small: vecstore.Store, tmp: Path) -> None:
    res = vecstore.evaluate({"q1": ["d1", "d2", "d3"], "q2": ["d9"]},
                            {"q1": {"d2": 1}, "q2": {"d9": 2}}, ["map", "mrr"])
    assert res["map"] == pytest.approx((0.5 + 1.0) / 2)
    assert res["recip_rank"] == pytest.approx(0.75)
    batch = small.search(rows(50, 8)[[1, 2]], k=5)
    res = vecstore.evaluate(batch, {"1": {"r1": 1}, "2": {"r2": 1}}, "ndcg@10")
    assert res["ndcg_cut_10"] == pytest.approx(1.0)


def test_evaluate_files(tmp: Path) -> None:
    (tmp / "run.trec").write_text("q1 Q0 a 1 2.0 x\nq1 Q0 b 2 1.0 x\n")
    (tmp / "qrels.trec").write_text("q1 0 b 1\n")
    assert vecstore.evaluate(tmp / "run.trec", tmp / "qrels.trec", "mrr") == {
        "recip_rank": pytest.approx(0.5)}


def test_chunk_text() -> None:
    text = "First paragraph here.\n\nSecond one, a bit longer than that."
    ch = vecstore.chunk(text, doc_id="d", size=25, min_size=0, metadata={"src": "t"})
    assert [c.id for c in ch][:2] == ["d#0", "d#1"]
    assert ch[0].text == "First paragraph here." and ch[0].start == 0
    assert text.encode()[ch[1].start:ch[1].end].decode() == ch[1].text
    assert ch[0].metadata["src"] == "t" and ch[0].to_dict()["doc_id"] == "d"


def test_chunk_markdown_headings() -> None:
    ch = vecstore.chunk("# A\n\nx y.\n\n## B\n\nz.\n", markdown=True, splitter="markdown",
                        size=100)
    assert [c.metadata["headings"] for c in ch] == [["A"], ["A", "B"]]


def test_chunk_file(tmp: Path) -> None:
    p = tmp / "doc.txt"
    p.write_text("alpha beta gamma delta")
    ch = vecstore.chunk_file(p, splitter="fixed", unit="words", size=2)
    assert [c.text for c in ch] == ["alpha beta", "gamma delta"]
    assert ch[0].doc_id == str(p) and ch[0].source == str(p)


def test_vector_storage_f16(tmp: Path) -> None:
    # vector_storage="f16": the segment keeps half floats (about half the
    # bytes of a float32 store's), searches give the float32 store's hits
    # with scores within f16 rounding, an unknown kind is a UsageError (VS_E_CONFIG)
    x = rows(300, 64)
    paths = {}
    for kind in ("float32", "f16"):
        with vecstore.open(tmp / f"{kind}.vs", create=True, dim=64, hnsw_m=0,
                           vector_storage=kind) as s:
            s.upsert([f"r{i}" for i in range(300)], x)
        paths[kind] = tmp / f"{kind}.vs"
    size = {k: sum(f.stat().st_size for f in p.glob("seg-*.vseg")) for k, p in paths.items()}
    assert size["f16"] < 0.6 * size["float32"]
    assert '"version": 2' in (paths["f16"] / "MANIFEST").read_text()
    with vecstore.open(paths["float32"], readonly=True) as a, \
            vecstore.open(paths["f16"], readonly=True) as b:
        ha, hb = a.search(x[5], k=5), b.search(x[5], k=5)
        assert [h.id for h in ha][:1] == [h.id for h in hb][:1] == ["r5"]
        for h, g in zip(ha, hb):
            assert abs(h.score - g.score) < 2e-3
    with pytest.raises(vecstore.UsageError) as e:
        vecstore.open(tmp / "bad.vs", create=True, dim=4, vector_storage="f8")
    assert e.value.field == "vector_storage"
