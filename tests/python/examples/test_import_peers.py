"""python/examples/import_peers/import_peers.py on files written by the real chromadb and
faiss-cpu from PyPI (scripts/venv.sh examples): the store gets every record
and answers as the source does."""
import numpy as np
import pytest

from ex_fixtures import data_dir, examples_dir, workdir  # noqa: F401 (fixtures)
import import_peers
import vecstore

chromadb = pytest.importorskip("chromadb")
faiss = pytest.importorskip("faiss")


@pytest.fixture
def vectors():
    return np.random.default_rng(7).standard_normal((1200, 24)).astype(np.float32)


def test_chroma_collection(workdir, vectors):
    client = chromadb.PersistentClient(path="chroma")
    col = client.create_collection("notes", configuration={"hnsw": {"space": "cosine"}})
    n = len(vectors)
    col.add(ids=[f"n{i}" for i in range(n)], embeddings=vectors,
            documents=[f"note {i}" for i in range(n)],
            metadatas=[{"i": i, "even": i % 2 == 0, "tag": f"t{i % 3}"} for i in range(n)])
    # a batch larger than one page of the import (BATCH)
    assert import_peers.main(["chroma", "chroma", "notes", "kb.vs"]) == 0
    with vecstore.open("kb.vs", readonly=True) as s:
        assert len(s) == n and s.metric == "cosine" and s.dim == 24
        for q in (3, 600, 1199):
            exact = s.search(vectors[q], 5, exact=True)
            assert exact[0].id == f"n{q}" and exact[0].text == f"note {q}"
            assert exact[0].metadata == {"i": q, "even": q % 2 == 0, "tag": f"t{q % 3}"}
            ref = col.query(query_embeddings=vectors[q:q + 1], n_results=5)["ids"][0]
            assert [h.id for h in exact][:3] == ref[:3]
        assert {h.id for h in s.search(vectors[0], 50, filter='tag = "t1"')} <= {f"n{i}" for i in range(1, n, 3)}


def test_chroma_missing_collection_is_exit_3(workdir, capsys):
    chromadb.PersistentClient(path="chroma")
    assert import_peers.main(["chroma", "chroma", "nope", "kb.vs"]) == 3
    assert "import_peers: error: " in capsys.readouterr().err


def test_faiss_idmap(workdir, vectors):
    idx = faiss.IndexIDMap(faiss.IndexHNSWFlat(24, 16))
    idx.add_with_ids(vectors, np.arange(5000, 5000 + len(vectors)))
    faiss.write_index(idx, "f.index")
    assert import_peers.main(["faiss", "f.index", "kb.vs"]) == 0
    with vecstore.open("kb.vs", readonly=True) as s:
        assert len(s) == len(vectors) and s.metric == "l2"
        flat = faiss.IndexFlatL2(24)
        flat.add(vectors)
        _, ref = flat.search(vectors[:20], 10)
        ids, _ = s.search_arrays(vectors[:20], 10, exact=True)
        assert [[int(i) for i in row] for row in ids] == (ref + 5000).tolist()


def test_faiss_flat_ip_with_ids_file(workdir, vectors):
    idx = faiss.IndexFlatIP(24)
    idx.add(vectors)
    faiss.write_index(idx, "ip.index")
    with open("ids.txt", "w") as f:
        f.writelines(f"doc-{i}\n" for i in range(len(vectors)))
    assert import_peers.main(["faiss", "ip.index", "kb.vs", "--ids", "ids.txt"]) == 0
    with vecstore.open("kb.vs", readonly=True) as s:
        assert s.metric == "dot"
        _, ref = idx.search(vectors[:5], 5)
        got = s.search(vectors[:5], 5, exact=True)
        assert [[h.id for h in row] for row in got] == [[f"doc-{i}" for i in r] for r in ref]


def test_faiss_ids_count_mismatch_is_exit_3(workdir, vectors, capsys):
    idx = faiss.IndexFlatL2(24)
    idx.add(vectors)
    faiss.write_index(idx, "f.index")
    open("ids.txt", "w").write("one\ntwo\n")
    assert import_peers.main(["faiss", "f.index", "kb.vs", "--ids", "ids.txt"]) == 3
    assert "1200 vectors but 2 ids" in capsys.readouterr().err
    assert not (workdir / "kb.vs").exists()
