"""vecstore: vector search and RAG stores, from Python.

The API and its documentation are in vecstore/__init__.pyi (and
python/README.md). This module turns keywords into the positional calls of
the C extension (vecstore._vecstore, over lib/vecstore.h), builds Hit
objects and converts inputs (the float32 buffers go through untouched).
"""

from __future__ import annotations

import builtins
import json
import math
import os
import tempfile
import threading
from collections.abc import Mapping
from typing import Any

import numpy as np

# OpenMP's idle threads sleep between a search's batches instead of spinning
# (libgomp otherwise spins 300,000 rounds each time: a 1000-query search on 2
# threads spent about a tenth of its CPU seconds there). libgomp reads it once,
# when it is loaded (with _vecstore, below, unless another module loaded it
# before); a value the caller set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from . import _vecstore  # noqa: E402
from ._errors import (
    ClosedError,
    CorruptError,
    DimensionError,
    ExistsError,
    FilterError,
    InputError,
    LockedError,
    MetadataError,
    NonFiniteError,
    NoStoreError,
    NotFoundError,
    RemoteError,
    ResourceError,
    StoreError,
    UsageError,
    VecstoreError,
    make_error,
    usage,
)

__version__ = "1.0.0"

__all__ = [
    "__version__", "library_version", "open", "Store", "StoreInfo", "Hit",
    "Embedder", "Reranker", "evaluate", "chunk", "chunk_file", "Chunk",
    "VecstoreError", "UsageError", "ClosedError", "FilterError", "InputError",
    "DimensionError", "NonFiniteError", "MetadataError", "StoreError",
    "NoStoreError", "LockedError", "CorruptError", "ExistsError",
    "ResourceError", "RemoteError", "NotFoundError",
]

_vecstore.set_error_factory(make_error)

_MODES = {None: 0, "auto": 0, "vector": 1, "text": 2, "hybrid": 3}
# None: weighted, the default of vs-query and the C API
_FUSIONS = {None: 1, "rrf": 0, "weighted": 1, "dbsf": 2}
_ROLES = {"document": 0, "query": 1}
_NAN = float("nan")


def library_version() -> str:
    """Version of the linked C library."""
    return str(_vecstore.version())


# ---- values -----------------------------------------------------------------


class Hit(_vecstore.HitBase):
    """One search hit (see __init__.pyi). Its fields are the C base's
    slots: Store.search fills them in C without calling __init__."""

    __slots__ = ()

    def __init__(self, id: str, score: float, rank: int, text: str | None = None,
                 metadata_json: str | None = None, doc_id: str | None = None,
                 distance: float | None = None, qid: str = "1",
                 score_vector: float | None = None, score_text: float | None = None,
                 retrieval_rank: int | None = None) -> None:
        self.id = id
        self.score = score
        self.rank = rank
        self.text = text
        self._meta_json = metadata_json
        self.doc_id = doc_id
        self.distance = distance
        self.qid = qid
        self.score_vector = score_vector
        self.score_text = score_text
        self.retrieval_rank = retrieval_rank
        self._meta: dict[str, Any] | None = None

    # metadata: a property of the C base (the JSON read in C, json.loads
    # for any form it does not read)

    @property
    def metadata_json(self) -> str | None:
        return self._meta_json

    def _fields(self) -> tuple[Any, ...]:
        return (self.id, self.score, self.rank, self.text, self._meta_json, self.doc_id,
                self.distance, self.qid, self.score_vector, self.score_text,
                self.retrieval_rank)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"qid": self.qid, "id": self.id, "rank": self.rank,
                             "score": self.score}
        for name in ("distance", "score_vector", "score_text", "retrieval_rank",
                     "doc_id", "text"):
            v = getattr(self, name)
            if v is not None:
                d[name] = v
        if self._meta_json is not None:
            d["metadata"] = self.metadata
        return d

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Hit):
            return NotImplemented
        return self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Hit(id={self.id!r}, score={self.score:.6g}, rank={self.rank})"


_vecstore.set_hit_type(Hit)


class StoreInfo:
    """Facts about the open generation of a store."""

    __slots__ = ("records", "tombstones", "generation", "segments", "dim", "metric",
                 "model", "has_text_index", "hnsw_m", "writable")

    def __init__(self, t: tuple[Any, ...]) -> None:
        (self.records, self.tombstones, self.generation, self.segments, self.dim,
         self.metric, self.model, hti, self.hnsw_m, w) = t
        self.has_text_index = bool(hti)
        self.writable = bool(w)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.__slots__)
        return f"StoreInfo({fields})"


def _as_f32(x: Any, what: str = "vectors") -> Any:
    """x itself when it is a C-contiguous float32 buffer of 1 or 2
    dimensions (no copy), else a float32 numpy array made from it."""
    try:
        m = memoryview(x)
    except TypeError:
        m = None
    if m is not None:
        ok = m.format in ("f", "<f", "=f") and m.c_contiguous and m.ndim in (1, 2)
        m.release()
        if ok:
            return x
    try:
        a = np.ascontiguousarray(x, dtype=np.float32)
    except (TypeError, ValueError) as e:
        raise usage(f"{what} must be numbers of shape (d,) or (n, d): {e}", what) from None
    if a.ndim not in (1, 2):
        raise usage(f"{what} must have shape (d,) or (n, d), not {a.shape}", what)
    return a


def _ndim(x: Any) -> int:
    with memoryview(x) as m:
        return m.ndim


def _per_record(v: Any, n: int, name: str, single: bool) -> tuple[Any, ...] | None:
    if v is None:
        return None
    if single or isinstance(v, (str, Mapping)):
        v = [v]
    t = tuple(v)
    if len(t) != n:
        raise usage(f"{name} must have one item per id ({n}), not {len(t)}", name)
    return t


def _meta_json(m: Any, i: int) -> str | None:
    if m is None:
        return None
    if isinstance(m, str):  # JSON text, as vs-ingest reads it
        try:
            v = json.loads(m)
        except json.JSONDecodeError as e:
            raise MetadataError(f"metadata does not parse: {e.msg}", status=6, name="json",
                                line=i, col=e.colno, field="metadata") from None
        if not isinstance(v, dict):
            raise MetadataError("metadata is not a JSON object", status=6, name="json",
                                line=i, col=1, field="metadata")
        return m
    if not isinstance(m, Mapping):
        raise MetadataError(f"metadata must be a dict, not {type(m).__name__}", status=6,
                            name="json", line=i, field="metadata")
    try:
        return json.dumps(dict(m), ensure_ascii=False, allow_nan=False,
                          separators=(",", ":"))
    except (TypeError, ValueError) as e:
        raise MetadataError(f"metadata is not JSON: {e}", status=6, name="json", line=i,
                            field="metadata") from None


# ---- stores -----------------------------------------------------------------


class Store(_vecstore.StoreBase):
    """An open store (see __init__.pyi). search and search_arrays are the C
    base's: a float32 vector query runs there with no Python frame; any
    other query comes back to _search_py / _search_arrays_py below."""

    def __init__(self, db: Any, path: str, autocommit: bool,
                 embedder: Embedder | None) -> None:
        self._db = db
        self._path = path
        self._autocommit = autocommit
        self._embedder = embedder
        self._own_embedder = False
        self._lock = threading.Lock()

    # properties
    @property
    def path(self) -> str:
        return self._path

    @property
    def dim(self) -> int:
        return int(self.info().dim)

    @property
    def metric(self) -> str:
        return str(self.info().metric)

    @property
    def model(self) -> str | None:
        m = self.info().model
        return str(m) if m else None

    @property
    def writable(self) -> bool:
        return self.info().writable

    @property
    def closed(self) -> bool:
        return bool(self._db.closed())

    @property
    def autocommit(self) -> bool:
        return self._autocommit

    def _text_embedder(self) -> Embedder:
        if self._embedder is not None:
            return self._embedder
        with self._lock:
            if self._embedder is None:
                model = self.info().model
                if not model:
                    raise usage("the store pins no model: pass vectors, or open() with "
                                "embedder=", "vectors")
                self._embedder = Embedder(model)
                self._own_embedder = True
        return self._embedder

    def upsert(self, ids: Any, vectors: Any = None, *, texts: Any = None,
               metadata: Any = None, doc_ids: Any = None) -> int:
        single = isinstance(ids, str)
        ids_t = (ids,) if single else tuple(ids)
        n = len(ids_t)
        texts_t = _per_record(texts, n, "texts", single)
        meta_t = _per_record(metadata, n, "metadata", single)
        if meta_t is not None:
            meta_t = tuple(_meta_json(m, i + 1) for i, m in enumerate(meta_t))
        docs_t = _per_record(doc_ids, n, "doc_ids", single)
        if vectors is None:
            if texts_t is None or any(t is None for t in texts_t):
                raise usage("upsert needs vectors, or a text for every record", "vectors")
            vectors = self._text_embedder().embed(list(texts_t), role="document")
        else:
            vectors = _as_f32(vectors)
            if not single and _ndim(vectors) == 1 and n != 1:
                raise usage(f"{n} ids need vectors of shape (n, d)", "vectors")
        return int(self._db.upsert(ids_t, vectors, texts_t, meta_t, docs_t,
                                   self._autocommit))

    def delete(self, ids: Any = None, *, filter: str | None = None) -> int:
        if ids is None and filter is None:
            raise usage("delete needs ids or a filter", "ids")
        ids_t = None if ids is None else ((ids,) if isinstance(ids, str) else tuple(ids))
        return int(self._db.delete(ids_t, filter, self._autocommit))

    def commit(self) -> None:
        self._db.commit()

    def _queries(self, query: Any, text: Any) -> tuple[Any, Any, int, bool]:
        """(vectors or None, texts tuple or None, nq, single)"""
        if isinstance(query, str):
            if text is not None:
                raise usage("text= goes with a vector query, not a str", "text")
            return self._text_query((query,)), (query,), 1, True
        if isinstance(query, (list, tuple)) and query and all(
                isinstance(q, str) for q in query):
            texts = tuple(query)
            return self._text_query(texts), texts, len(texts), False
        vectors = _as_f32(query, "query")
        single = _ndim(vectors) == 1
        with memoryview(vectors) as m:
            nq = 1 if single else m.shape[0]
        texts_t = None
        if text is not None:
            texts_t = (text,) if isinstance(text, str) else tuple(text)
            if len(texts_t) != nq:
                raise usage(f"text must have one item per query ({nq})", "text")
        return vectors, texts_t, nq, single

    def _text_query(self, texts: tuple[str, ...]) -> Any:
        """The query vectors of texts when open() was given an embedder;
        None lets the library embed them with the store's model."""
        if self._embedder is None:
            return None
        return self._embedder.embed(list(texts), role="query")

    def _search_py(self, query: Any, k: int = 10, *, filter: str | None = None,
               mode: str | None = None, ef: int | None = None, exact: bool = False,
               fusion: str | None = None, alpha: float | None = None,
               rrf_k: float | None = None, depth: int | None = None,
               mmr: float | None = None, text: Any = None, with_text: bool = True,
               with_metadata: bool = True, threads: int | None = None) -> Any:
        if mode not in _MODES:
            raise usage(f"mode must be auto, vector, text or hybrid, not {mode!r}", "mode")
        if fusion not in _FUSIONS:
            raise usage(f"fusion must be rrf, weighted or dbsf, not {fusion!r}", "fusion")
        vectors, texts, nq, single = self._queries(query, text)
        if mode == "text" and vectors is not None and texts is not None:
            vectors = None
        rows = self._db.search(
            vectors, texts, nq, int(k), filter, _MODES[mode], int(ef or 0), bool(exact),
            _FUSIONS[fusion], _NAN if rrf_k is None else float(rrf_k),
            _NAN if alpha is None else float(alpha), int(depth or 0),
            -1.0 if mmr is None else float(mmr), int(threads or 0), bool(with_text),
            bool(with_metadata), bool(with_text or with_metadata))
        return rows[0] if single else rows

    def _search_arrays_py(self, queries: Any, k: int = 10, *, filter: str | None = None,
                      ef: int | None = None, exact: bool = False,
                      threads: int | None = None) -> tuple[Any, Any]:
        vectors = _as_f32(queries, "queries")
        with memoryview(vectors) as m:
            nq = 1 if m.ndim == 1 else m.shape[0]
        ids, scores = self._db.search_arrays(
            vectors, None, nq, int(k), filter, 1, int(ef or 0), bool(exact), 0, _NAN, _NAN,
            0, -1.0, int(threads or 0), False, False, False)
        return (np.array(ids, dtype=object).reshape(nq, int(k)),
                np.frombuffer(scores, dtype=np.float32).reshape(nq, int(k)))

    def info(self) -> StoreInfo:
        return StoreInfo(self._db.info())

    def __len__(self) -> int:
        return int(self.info().records)

    def close(self) -> None:
        self._db.close()
        if self._own_embedder and self._embedder is not None:
            self._embedder.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if exc_type is None and not self._autocommit and not self.closed \
                    and self.info().writable:
                self.commit()
        finally:
            self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else ("writable" if self.writable else "read-only")
        return f"<vecstore.Store {self._path!r} {state}>"


def open(path: Any, *, create: bool = False, dim: int | None = None,
         metric: str = "cosine", model: str | None = None, hnsw_m: int | None = None,
         hnsw_ef_construction: int | None = None, hnsw_seed: int | None = None,
         quant: str | None = None, normalize: bool = False, analyzer: str | None = None,
         readonly: bool = False, exclusive: bool = False, lock_wait: float = 0.0,
         autocommit: bool = True, embedder: Embedder | None = None,
         vector_storage: str | None = None) -> Store:
    path = os.fspath(path)
    if readonly and (create or exclusive):
        raise usage("readonly cannot create a store", "readonly")
    if exclusive and not create:
        raise usage("exclusive needs create=True", "exclusive")
    flags = 0 if readonly else _vecstore.DB_WRITE
    if create:
        flags |= _vecstore.DB_CREATE
    if exclusive:
        flags |= _vecstore.DB_EXCL
    pin = model
    own = False
    if create and model is not None and embedder is None and not builtins.isinstance(
            model, bytes):
        # pin the identity the embedder gives ("hash" -> "hash-v1:384")
        embedder = Embedder(model, dim=dim)
        own = True
    if create and embedder is not None:
        pin = embedder.identity
        if dim is None:
            dim = embedder.dim
    if create and dim is not None and int(dim) < 0:
        raise usage("dim must be >= 0", "dim")
    db = _vecstore.db_open(
        path, flags, int(dim or 0), metric, bool(normalize), pin, analyzer,
        -1 if hnsw_m is None else int(hnsw_m), int(hnsw_ef_construction or 0),
        int(hnsw_seed or 0), quant, float(lock_wait), vector_storage)
    s = Store(db, path, autocommit, embedder)
    s._own_embedder = own
    return s


# ---- models -----------------------------------------------------------------


class Embedder:
    """An embedding model (see __init__.pyi)."""

    def __init__(self, name_or_path: Any = "hash", *, dim: int | None = None,
                 cache: bool = True, cache_dir: Any = None, base_url: str | None = None,
                 api_key_env: str | None = None, timeout: float | None = None,
                 max_retries: int | None = None) -> None:
        name = os.fspath(name_or_path)
        self._enc = _vecstore.encoder_open(
            name, int(dim or 0), bool(cache),
            None if cache_dir is None else os.fspath(cache_dir), base_url, api_key_env,
            0 if timeout is None else max(1, int(timeout * 1000)),
            -1 if max_retries is None else int(max_retries))

    @property
    def dim(self) -> int:
        return int(self._enc.dim())

    @property
    def identity(self) -> str:
        return str(self._enc.identity())

    def embed(self, texts: Any, *, role: str = "document") -> Any:
        if role not in _ROLES:
            raise usage(f"role must be document or query, not {role!r}", "role")
        single = isinstance(texts, str)
        t = (texts,) if single else tuple(texts)
        out = np.empty((len(t), self._enc.dim()), dtype=np.float32)
        self._enc.embed(t, _ROLES[role], out)
        return out[0] if single else out

    def close(self) -> None:
        self._enc.close()

    def __enter__(self) -> Embedder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<vecstore.Embedder {self.identity!r}>"


class Reranker:
    """A reranker (see __init__.pyi)."""

    def __init__(self, method: str = "bm25", *, model: Any = None, url: str | None = None,
                 api_key: str | None = None, analyzer: str | None = None,
                 sigmoid: bool = False, threads: int | None = None) -> None:
        self._rr = _vecstore.reranker_open(
            method, None if model is None else os.fspath(model), url, api_key, analyzer,
            bool(sigmoid), int(threads or 0))

    def score(self, query: str, texts: Any) -> list[float]:
        return list(self._rr.score(query, tuple(texts)))

    def rerank(self, query: str, hits: Any, k: int | None = None) -> list[Hit]:
        hits = list(hits)
        for i, h in enumerate(hits):
            if h.text is None:
                raise InputError(f"hit '{h.id}' has no text (search with with_text=True)",
                                 status=8, name="field", line=i + 1, field="text")
        scores = self.score(query, [h.text for h in hits])
        order = sorted(range(len(hits)), key=lambda i: (-scores[i], hits[i].rank))
        if k is not None:
            order = order[:k]
        out = []
        for r, i in enumerate(order, 1):
            h = hits[i]
            out.append(Hit(h.id, scores[i], r, h.text, h.metadata_json, h.doc_id,
                           h.distance, h.qid, h.score_vector, h.score_text, h.rank))
        return out

    def close(self) -> None:
        self._rr.close()

    def __enter__(self) -> Reranker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---- evaluation -------------------------------------------------------------


def _is_path(x: Any) -> bool:
    return isinstance(x, (str, os.PathLike))


def _write_run(run: Any, path: str) -> None:
    lines = []
    if isinstance(run, Mapping):
        items = run.items()
    else:
        items = []
        for i, hits in enumerate(run):
            hits = list(hits)
            qid = hits[0].qid if hits and isinstance(hits[0], Hit) else str(i + 1)
            items.append((qid, hits))
    for qid, hits in items:
        for r, h in enumerate(hits, 1):
            if isinstance(h, Hit):
                doc, score = h.id, h.score
            else:
                doc, score = str(h), float(len(hits) - r + 1)
            if any(c.isspace() for c in str(qid) + doc):
                raise usage(f"ids in a run cannot hold white space: {doc!r}", "run")
            lines.append(f"{qid} Q0 {doc} {r} {score:.9g} vecstore\n")
    with builtins.open(path, "w", encoding="utf-8") as f:
        f.writelines(lines)


def _write_qrels(qrels: Mapping[str, Mapping[str, int]], path: str) -> None:
    with builtins.open(path, "w", encoding="utf-8") as f:
        for qid, docs in qrels.items():
            for doc, rel in docs.items():
                f.write(f"{qid} 0 {doc} {int(rel)}\n")


def evaluate(run: Any, qrels: Any, measures: Any = None) -> dict[str, float]:
    if measures is not None and not isinstance(measures, str):
        measures = ",".join(measures)
    with tempfile.TemporaryDirectory(prefix="vecstore-eval-") as tmp:
        if _is_path(run):
            run_path = os.fspath(run)
        else:
            run_path = os.path.join(tmp, "run.trec")
            _write_run(run, run_path)
        if _is_path(qrels):
            qrels_path = os.fspath(qrels)
        else:
            qrels_path = os.path.join(tmp, "qrels.trec")
            _write_qrels(qrels, qrels_path)
        pairs, _nq = _vecstore.evaluate(qrels_path, run_path, measures)
    return {str(name): (float(v) if not math.isnan(v) else v) for name, v in pairs}


# ---- chunking ---------------------------------------------------------------

from ._chunk import Chunk, chunk, chunk_file  # noqa: E402
