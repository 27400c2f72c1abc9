"""Bad input raises the exception of its status, with file/line/field, and
never crashes the interpreter; a store refusing input is left as it was.
The inputs are those of the CLI tests (vs-ingest.bats, vs-query.bats):
wrong dimension, NaN, a bad filter, bad metadata, empty ids, a closed
store, a locked store, a missing store."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import rows

import vecstore


def test_wrong_dimension_leaves_store_unchanged(small: vecstore.Store) -> None:
    gen = small.info().generation
    with pytest.raises(vecstore.DimensionError) as ei:
        small.upsert(["x", "y"], np.ones((2, 3), np.float32))
    e = ei.value
    assert (e.status, e.name, e.exit_code, e.field) == (9, "dimension", 3, "vector")
    assert "3 numbers" in e.detail and "dimension 8" in e.detail
    assert isinstance(e, vecstore.InputError) and isinstance(e, ValueError)
    assert len(small) == 50 and small.info().generation == gen


def test_wrong_dimension_query(small: vecstore.Store) -> None:
    with pytest.raises(vecstore.DimensionError) as ei:
        small.search(np.ones(3, np.float32))
    assert ei.value.exit_code == 3


def test_nan_names_row_and_changes_nothing(small: vecstore.Store) -> None:
    v = rows(3, 8)
    v[2, 5] = np.nan
    with pytest.raises(vecstore.NonFiniteError) as ei:
        small.upsert(["n1", "n2", "n3"], v)
    assert ei.value.line == 3 and ei.value.field == "vector"
    assert "vector[5]" in str(ei.value)
    assert len(small) == 50  # n1 and n2 were not applied either
    assert small.search(rows(3, 8)[0], k=1)[0].id != "n1"


def test_infinite_query(small: vecstore.Store) -> None:
    q = np.ones(8, np.float32)
    q[0] = np.inf
    with pytest.raises(vecstore.NonFiniteError):
        small.search(q)


@pytest.mark.parametrize("expr", ['lang = ', 'n >> 3', '(lang = "en"', 'n IN [1,'])
def test_bad_filter(small: vecstore.Store, expr: str) -> None:
    with pytest.raises(vecstore.FilterError) as ei:
        small.search(rows(1, 8)[0], filter=expr)
    e = ei.value
    assert e.name == "filter" and e.exit_code == 2 and e.field == "filter" and e.col
    assert isinstance(e, vecstore.UsageError)


def test_bad_filter_in_delete_changes_nothing(small: vecstore.Store) -> None:
    with pytest.raises(vecstore.FilterError):
        small.delete(filter="n <")
    assert len(small) == 50


@pytest.mark.parametrize("meta", ['{"a":', "[1, 2]", 17, "not json"])
def test_bad_metadata(small: vecstore.Store, meta: object) -> None:
    with pytest.raises(vecstore.MetadataError) as ei:
        small.upsert(["m1", "m2"], rows(2, 8), metadata=[{"ok": 1}, meta])
    e = ei.value
    assert e.field == "metadata" and e.line == 2 and e.exit_code == 3
    assert len(small) == 50


def test_unserialisable_metadata(small: vecstore.Store) -> None:
    with pytest.raises(vecstore.MetadataError):
        small.upsert(["m1"], rows(1, 8), metadata=[{"x": object()}])
    with pytest.raises(vecstore.MetadataError):
        small.upsert(["m1"], rows(1, 8), metadata=[{"x": float("nan")}])


def test_zero_vector_in_cosine_store(small: vecstore.Store) -> None:
    v = rows(3, 8)
    v[1] = 0
    with pytest.raises(vecstore.InputError) as ei:
        small.upsert(["z1", "z2", "z3"], v)
    assert (ei.value.line, ei.value.field, ei.value.name) == (2, "vector", "data")
    small.upsert(["ok"], rows(1, 8, seed=3))  # commits: z1 must not come with it
    assert len(small) == 51


def test_empty_id(small: vecstore.Store) -> None:
    with pytest.raises(vecstore.InputError) as ei:
        small.upsert(["ok", ""], rows(2, 8))
    assert ei.value.field == "id" and ei.value.line == 2 and ei.value.name == "field"
    assert len(small) == 50


def test_id_with_nul(small: vecstore.Store) -> None:
    with pytest.raises(vecstore.InputError):
        small.upsert(["a\0b"], rows(1, 8))


def test_lone_surrogate(small: vecstore.Store) -> None:
    with pytest.raises(vecstore.InputError) as ei:
        small.upsert(["ok", "s"], rows(2, 8), texts=["fine", "bad \ud800"])
    assert (ei.value.field, ei.value.line, ei.value.name) == ("text", 2, "data")
    with pytest.raises(vecstore.InputError):
        small.upsert(["\udcff"], rows(1, 8))
    assert len(small) == 50


def test_count_mismatch(small: vecstore.Store) -> None:
    with pytest.raises(vecstore.UsageError):
        small.upsert(["a", "b", "c"], rows(2, 8))
    with pytest.raises(vecstore.UsageError):
        small.upsert(["a", "b"], rows(2, 8), texts=["only one"])


@pytest.mark.parametrize("bad", [np.ones((2, 2, 2), np.float32), "x" * 0, object(),
                                 np.array(["a", "b"])])
def test_bad_vector_objects(small: vecstore.Store, bad: object) -> None:
    with pytest.raises((vecstore.VecstoreError, TypeError, ValueError)):
        small.upsert(["a", "b"], bad)
    assert len(small) == 50


def test_bad_search_options(small: vecstore.Store) -> None:
    q = rows(1, 8)[0]
    for kw in ({"k": 0}, {"mode": "fuzzy"}, {"fusion": "max"}, {"alpha": 2.0},
               {"mmr": 3.0}, {"k": 100001}):
        with pytest.raises(vecstore.UsageError):
            small.search(q, **kw)


def test_text_search_without_text_index(tmp: Path) -> None:
    with vecstore.open(tmp / "nt.vs", create=True, dim=4, analyzer="none") as s:
        s.upsert(["a"], rows(1, 4), texts=["hello"])
        assert not s.info().has_text_index
        with pytest.raises(vecstore.UsageError) as ei:
            s.search("hello", mode="text")
        assert ei.value.name == "unsupported"


def test_text_query_without_model(small: vecstore.Store) -> None:
    with pytest.raises(vecstore.VecstoreError):
        small.search("apples", mode="vector")
    with pytest.raises(vecstore.UsageError):
        small.upsert(["t"], texts=["no model to embed me"])


def test_closed_store(small: vecstore.Store) -> None:
    small.close()
    small.close()  # twice is fine
    assert small.closed
    for call in (lambda: small.search(rows(1, 8)[0]), lambda: small.upsert(["a"], rows(1, 8)),
                 lambda: small.delete("a"), small.commit, small.info, lambda: len(small)):
        with pytest.raises(vecstore.ClosedError) as ei:
            call()
        assert isinstance(ei.value, vecstore.UsageError) and ei.value.exit_code == 2


def test_no_store(tmp: Path) -> None:
    with pytest.raises(vecstore.NoStoreError) as ei:
        vecstore.open(tmp / "missing.vs")
    assert ei.value.exit_code == 4 and isinstance(ei.value, vecstore.StoreError)


def test_exists_exclusive(tmp: Path) -> None:
    vecstore.open(tmp / "x.vs", create=True, dim=2).close()
    with pytest.raises(vecstore.ExistsError):
        vecstore.open(tmp / "x.vs", create=True, exclusive=True)


def test_locked_by_another_writer(tmp: Path) -> None:
    with vecstore.open(tmp / "l.vs", create=True, dim=2):
        with pytest.raises(vecstore.LockedError) as ei:
            vecstore.open(tmp / "l.vs")
        assert ei.value.exit_code == 4
        with vecstore.open(tmp / "l.vs", readonly=True) as r:  # readers need no lock
            assert len(r) == 0


def test_readonly_refuses_writes(small: vecstore.Store) -> None:
    with vecstore.open(small.path, readonly=True) as r, pytest.raises(vecstore.UsageError):
        r.upsert(["a"], rows(1, 8))


def test_bad_config(tmp: Path) -> None:
    with pytest.raises(vecstore.UsageError) as ei:
        vecstore.open(tmp / "c.vs", create=True, metric="hamming")
    assert ei.value.field == "metric" and ei.value.name == "config"
    with pytest.raises(vecstore.UsageError) as ei:
        vecstore.open(tmp / "c2.vs", create=True, hnsw_m=1)
    assert ei.value.field == "hnsw_m"
    assert not (tmp / "c.vs").exists()


def test_corrupt_store(small: vecstore.Store, tmp: Path) -> None:
    small.close()
    segs = [p for p in Path(small.path).rglob("*") if p.is_file() and p.stat().st_size > 200
            and "manifest" not in p.name.lower() and "lock" not in p.name.lower()]
    assert segs
    for p in segs:
        b = bytearray(p.read_bytes())
        for i in range(100, len(b), 97):
            b[i] ^= 0xFF
        p.write_bytes(bytes(b))
    with pytest.raises(vecstore.StoreError) as ei:
        s = vecstore.open(small.path, readonly=True)
        s.search(rows(1, 8)[0], k=5, exact=True)
    assert ei.value.exit_code == 4


def test_unknown_embedder_and_reranker() -> None:
    with pytest.raises(vecstore.UsageError):
        vecstore.Embedder("no-such-model-anywhere")
    with pytest.raises(vecstore.UsageError):
        vecstore.Reranker("cross-encoder")  # needs a model
    with pytest.raises(vecstore.InputError) as ei:
        vecstore.Reranker("bm25").rerank("q", [vecstore.Hit("a", 1.0, 1)])
    assert ei.value.field == "text"


def test_embed_bad_text() -> None:
    e = vecstore.Embedder("hash", dim=16)
    with pytest.raises(vecstore.InputError) as ei:
        e.embed(["fine", ""])
    assert ei.value.line == 2
    with pytest.raises(vecstore.UsageError):
        e.embed(["x"], role="answer")
    e.close()
    with pytest.raises(vecstore.ClosedError):
        e.embed(["x"])


def test_evaluate_errors(tmp: Path) -> None:
    with pytest.raises(vecstore.UsageError):
        vecstore.evaluate({"q": ["a"]}, {"q": {"a": 1}}, "no_such_measure")
    (tmp / "qrels").write_text("q1 0 a\n")  # a field short
    with pytest.raises(vecstore.InputError) as ei:
        vecstore.evaluate({"q1": ["a"]}, tmp / "qrels")
    assert ei.value.file and ei.value.line == 1


def test_chunk_errors(tmp: Path) -> None:
    with pytest.raises(vecstore.UsageError) as ei:
        vecstore.chunk("text", size=4, overlap=4)
    assert ei.value.field == "overlap"
    with pytest.raises(vecstore.UsageError):
        vecstore.chunk("text", splitter="magic")
    with pytest.raises(vecstore.ResourceError) as ei2:
        vecstore.chunk_file(tmp / "nope.txt")
    assert ei2.value.file and "nope.txt" in ei2.value.file
    (tmp / "bin.txt").write_bytes(b"a\0b\xff")
    with pytest.raises(vecstore.InputError):
        vecstore.chunk_file(tmp / "bin.txt")


def test_error_message_one_line(small: vecstore.Store) -> None:
    with pytest.raises(vecstore.VecstoreError) as ei:
        small.upsert(["a"], rows(1, 8), metadata=['{"a": }'])
    msg = str(ei.value)
    assert "\n" not in msg and "field 'metadata'" in msg and "item 1" in msg
    assert json.dumps(msg)  # plain text
