"""Import a Chroma collection or a FAISS index (with its ids) into a store.

    python import_peers.py chroma PERSIST_DIR COLLECTION STORE
    python import_peers.py faiss INDEX_FILE STORE [--ids IDS_FILE]

chroma: a chromadb.PersistentClient folder; every record of COLLECTION
    (id, embedding, document, metadata) becomes a record of the store. The
    collection's space gives the store's metric (l2 -> l2, cosine -> cosine,
    ip -> dot).
faiss: a file written by faiss.write_index. Ids come from an IndexIDMap /
    IndexIDMap2 wrapper (its int64 ids, as decimal strings), else from
    IDS_FILE (one id a line, in the index's row order), else the row
    numbers. The vectors are read back with reconstruct_n (exact for Flat
    and HNSW*Flat indexes; IVF indexes get a direct map first; PQ/SQ
    indexes give their decoded approximations, said on stderr). METRIC_L2
    gives an l2 store, METRIC_INNER_PRODUCT a dot store.
STORE is created (its settings from the source) or, when it exists,
upserted into (its dimension and metric must match). Exit status: 0 done,
2 usage, 3 bad input (the source is unreadable or does not fit the store),
4 store error.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np

import vecstore

BATCH = 5000
CHROMA_METRIC = {"l2": "l2", "cosine": "cosine", "ip": "dot"}


def _open(store_path: str, dim: int, metric: str) -> vecstore.Store:
    return vecstore.open(store_path, create=True, dim=dim, metric=metric, autocommit=False)


def import_chroma(persist_dir: str, collection: str, store_path: str) -> int:
    """Copy every record of a persisted Chroma collection into the store;
    returns how many."""
    import chromadb

    client = chromadb.PersistentClient(path=persist_dir)
    col = client.get_collection(collection)
    space = (col.configuration.get("hnsw") or {}).get("space") or "l2"
    metric = CHROMA_METRIC.get(space)
    if metric is None:
        raise ValueError(f"{persist_dir}: collection '{collection}' has space '{space}'")
    total = col.count()
    n = 0
    store = None
    try:
        for offset in range(0, total, BATCH):
            got = col.get(limit=BATCH, offset=offset,
                          include=["embeddings", "documents", "metadatas"])
            emb = np.asarray(got["embeddings"], dtype=np.float32)
            if store is None:
                store = _open(store_path, emb.shape[1], metric)
            n += store.upsert(list(got["ids"]), emb, texts=got["documents"],
                              metadata=[dict(m) if m else None for m in got["metadatas"]])
        if store is not None:
            store.commit()
    finally:
        if store is not None:
            store.close()
    return n


def import_faiss(index_path: str, store_path: str, ids: Sequence[str] | None = None) -> int:
    """Copy the vectors of a FAISS index file into the store under their
    ids (see the module's text); returns how many."""
    import faiss

    index = faiss.read_index(index_path)
    inner, row_ids = index, None
    if isinstance(index, (faiss.IndexIDMap, faiss.IndexIDMap2)):
        inner = faiss.downcast_index(index.index)
        row_ids = [str(int(i)) for i in faiss.vector_to_array(index.id_map)]
    n = inner.ntotal
    if row_ids is None:
        row_ids = list(ids) if ids is not None else [str(i) for i in range(n)]
    elif ids is not None:
        raise ValueError(f"{index_path}: the index has its own ids (IndexIDMap); --ids is not used with it")
    if len(row_ids) != n:
        raise ValueError(f"{index_path}: {n} vectors but {len(row_ids)} ids")
    if index.metric_type == faiss.METRIC_L2:
        metric = "l2"
    elif index.metric_type == faiss.METRIC_INNER_PRODUCT:
        metric = "dot"
    else:
        raise ValueError(f"{index_path}: metric type {index.metric_type} has no vecstore metric")
    ivf = faiss.try_extract_index_ivf(inner)
    if ivf is not None:
        ivf.make_direct_map()
    if "PQ" in type(inner).__name__ or "SQ" in type(inner).__name__ or "Scalar" in type(inner).__name__:
        print(f"import_peers: {index_path}: {type(inner).__name__} stores codes: the vectors are "
              "their decoded approximations", file=sys.stderr)
    with _open(store_path, index.d, metric) as store:
        for lo in range(0, n, BATCH):
            hi = min(n, lo + BATCH)
            store.upsert(row_ids[lo:hi], inner.reconstruct_n(lo, hi - lo))
        store.commit()
    return n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="source", required=True)
    c = sub.add_parser("chroma", help="a chromadb.PersistentClient collection")
    c.add_argument("persist_dir")
    c.add_argument("collection")
    c.add_argument("store")
    f = sub.add_parser("faiss", help="a faiss.write_index file")
    f.add_argument("index")
    f.add_argument("store")
    f.add_argument("--ids", help="a file of ids, one a line, in the index's row order")
    a = ap.parse_args(argv)
    try:
        if a.source == "chroma":
            n = import_chroma(a.persist_dir, a.collection, a.store)
        else:
            ids = None
            if a.ids:
                with open(a.ids, encoding="utf-8") as fh:
                    ids = [line.rstrip("\n") for line in fh]
            n = import_faiss(a.index, a.store, ids)
    except vecstore.VecstoreError as e:
        print(f"import_peers: error: {e}", file=sys.stderr)
        return e.exit_code
    except (ValueError, RuntimeError, OSError) as e:
        print(f"import_peers: error: {e}", file=sys.stderr)
        return 3
    except Exception as e:  # noqa: BLE001 - chromadb's own errors (no such collection)
        if type(e).__module__.startswith("chromadb"):
            print(f"import_peers: error: {e}", file=sys.stderr)
            return 3
        raise
    print(f"imported {n} records into {a.store}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
