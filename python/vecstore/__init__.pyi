"""vecstore: vector search and RAG stores, from Python.

A C extension over the public C API (lib/vecstore.h). A store is the same
directory the vs-* programs read and write: a store made by ``vs-ingest``
opens here and gives the same hits as ``vs-query``, and the reverse.

Every call that searches, builds (commit) or embeds releases the GIL, so
threads search one store in parallel. Errors are exceptions of the
:class:`VecstoreError` family, one class per group of the library's status
list, with ``file``/``line``/``col``/``field``/``detail`` where the C side
knows them; bad input raises, it never crashes the interpreter.
"""

from collections.abc import Iterable, Mapping, Sequence
from os import PathLike
from types import TracebackType
from typing import Any, Literal, overload

import numpy as np
import numpy.typing as npt

__version__: str
"""The package version ("0.1.0")."""

def library_version() -> str:
    """Version of the linked C library (vs_version()), e.g. "0.1.0"."""

StrPath = str | PathLike[str]
Metadata = Mapping[str, Any]
Mode = Literal["auto", "vector", "text", "hybrid"]
Fusion = Literal["rrf", "weighted", "dbsf"]
Role = Literal["document", "query"]

# ---- errors ---------------------------------------------------------------

class VecstoreError(Exception):
    """Base of every vecstore error. str(err) is one line:
    "FILE:LINE: field 'FIELD': DETAIL" with the parts that are known.

    Attributes mirror the C library's struct vs_error."""

    status: int
    """The library status (VS_E_*: 9 for a dimension mismatch)."""
    name: str
    """The status's short stable name ("dimension", "locked", "filter")."""
    exit_code: int
    """The vs-* programs' exit code for this status (1..5)."""
    file: str | None
    """File the problem is in (a store path, a model file), or None."""
    line: int | None
    """1-based line, or the 1-based position of the bad item of a batch
    (the row of an upsert, the query of a batch, the text of an embed)."""
    col: int | None
    """1-based column (of a filter expression or a metadata JSON text)."""
    field: str | None
    """Field the problem is in ("vector", "id", "metadata"), or None."""
    detail: str
    """One sentence from the library, lowercase, no full stop."""

class UsageError(VecstoreError, ValueError):
    """A bad argument or option (status usage, config, unsupported)."""

class ClosedError(UsageError):
    """The store (or embedder, reranker) was closed, or is closing."""

class FilterError(UsageError):
    """A filter does not parse (status filter); ``col`` is the column."""

class InputError(VecstoreError, ValueError):
    """Bad input data (status data, json, line_too_long, field, mismatch,
    truncated, max_delete): a record the store refuses."""

class DimensionError(InputError):
    """A vector's length differs from the store's dimension (dimension)."""

class NonFiniteError(InputError):
    """A NaN or infinite number in a vector (nonfinite)."""

class MetadataError(InputError):
    """Metadata is not a JSON object (json); ``col`` is the column."""

class StoreError(VecstoreError):
    """A store problem (status store, version)."""

class NoStoreError(StoreError):
    """No store at the path (no_store); open(create=True) makes one."""

class LockedError(StoreError):
    """Another writer holds the store's lock (locked)."""

class CorruptError(StoreError):
    """A checksum failed or a file is damaged (corrupt)."""

class ExistsError(StoreError):
    """The store exists and exclusive creation was asked (exists)."""

class ResourceError(VecstoreError):
    """A system error: io, no_space, no_memory, internal."""

class RemoteError(VecstoreError):
    """A network or remote-service error (network, remote)."""

class NotFoundError(VecstoreError, LookupError):
    """A valid negative answer (not_found, empty, gate)."""

# ---- stores ---------------------------------------------------------------

class Hit:
    """One search hit. Plain data; compares equal by all its fields."""

    id: str
    """The record's id."""
    score: float
    """Higher is better: the metric's similarity (cosine: 1 - distance),
    BM25 in text mode, the fused score in hybrid mode."""
    rank: int
    """1-based rank."""
    text: str | None
    """The record's stored text (None when absent or with_text=False)."""
    doc_id: str | None
    """The document the record (a chunk) belongs to, or None."""
    distance: float | None
    """cosine: 1 - cos; l2: squared distance; None for dot and text hits."""
    qid: str
    """The query's id ("1", "2", ... by position unless given)."""
    score_vector: float | None
    """Hybrid: the vector side's score, None when that side missed it."""
    score_text: float | None
    """Hybrid: the text (BM25) side's score, None when that side missed it."""
    retrieval_rank: int | None
    """After Reranker.rerank: the rank before reranking; else None."""
    @property
    def metadata(self) -> dict[str, Any]:
        """The record's metadata (parsed from JSON on first access; {} when
        the record has none or with_metadata=False)."""
    @property
    def metadata_json(self) -> str | None:
        """The metadata as the stored JSON text, unparsed."""
    def to_dict(self) -> dict[str, Any]:
        """The hit as a dict with the vs-query hit record's field names."""

class StoreInfo:
    """Facts about the open generation of a store (Store.info())."""

    records: int
    """Live records."""
    tombstones: int
    """Dead rows kept until compaction (vs-index compact)."""
    generation: int
    segments: int
    dim: int
    """Vector dimension; 0 until the first vector of a new store."""
    metric: str
    """"cosine", "dot" or "l2"."""
    model: str | None
    """Pinned embedding model identity ("hash-v1:384"), or None."""
    has_text_index: bool
    """True: text and hybrid search are available."""
    hnsw_m: int
    """HNSW graph degree; 0 = no graphs (exact search only)."""
    writable: bool
    """True when opened for writing (holds the store's lock)."""

class Store:
    """An open store (a directory). Use as a context manager, or close().

    A Store may be shared by threads: searches run in parallel (the GIL is
    released), writes are serialised. A search sees the store as of the
    last commit. close() waits for the calls other threads are making to
    finish; calls after it raise ClosedError.
    """

    @property
    def path(self) -> str:
        """The store's directory."""
    @property
    def dim(self) -> int:
        """Vector dimension (0 until the first vector of a new store)."""
    @property
    def metric(self) -> str:
        """"cosine", "dot" or "l2"."""
    @property
    def model(self) -> str | None:
        """Pinned embedding model identity, or None."""
    @property
    def writable(self) -> bool:
        """True when opened for writing."""
    @property
    def closed(self) -> bool:
        """True after close()."""
    @property
    def autocommit(self) -> bool:
        """True: each upsert()/delete() call commits at its end."""

    def upsert(
        self,
        ids: str | Sequence[str],
        vectors: Any = None,
        *,
        texts: str | Sequence[str | None] | None = None,
        metadata: Metadata | Sequence[Metadata | None] | None = None,
        doc_ids: str | Sequence[str | None] | None = None,
    ) -> int:
        """Add or replace (same id) records; returns how many.

        ids: one id or a sequence of n ids (non-empty strings).
        vectors: any object with the buffer protocol holding float32 in C
            order, shape (n, d) or (d,) for one id: a numpy array is used
            without a copy. Other shapes of numbers (lists, float64 arrays)
            are converted to float32 first (a copy). None: the texts are
            embedded with the store's pinned model (or the embedder given
            to open()).
        texts: the text of each record (indexed for text search, returned
            with hits), or None.
        metadata: one dict per record (JSON-serialisable), or None.
        doc_ids: the document each record (a chunk) belongs to, or None.

        The call is all or nothing: a bad record raises (InputError with
        ``line`` = its 1-based row, ``field``) and nothing of the call is
        applied (ids, texts, metadata, dimension, NaN and, in a cosine
        store, zero vectors are checked before the first record; a zero
        vector in a normalised dot/l2 store is found only as it is applied,
        leaving the rows before it pending). Needs a writable store. Visible to searches after commit()
        (at once with autocommit). Releases the GIL while it works.
        """
    def delete(
        self, ids: str | Sequence[str] | None = None, *, filter: str | None = None
    ) -> int:
        """Delete records by id and/or every record matching a filter
        (docs/filter.md: 'lang = "en" AND year >= 2020'); returns how many
        were deleted (ids not present are not an error). At least one of
        ids and filter is required. Raises FilterError for a bad filter."""
    def commit(self) -> None:
        """Make pending changes durable as a new generation (builds HNSW
        graphs; releases the GIL) and visible to searches. Nothing pending:
        nothing to do. With autocommit=True (the default) upsert() and
        delete() call it themselves."""

    @overload
    def search(
        self,
        query: str,
        k: int = 10,
        *,
        filter: str | None = None,
        mode: Mode | None = None,
        ef: int | None = None,
        exact: bool = False,
        fusion: Fusion | None = None,
        alpha: float | None = None,
        rrf_k: float | None = None,
        depth: int | None = None,
        mmr: float | None = None,
        text: str | None = None,
        with_text: bool = True,
        with_metadata: bool = True,
        threads: int | None = None,
    ) -> list[Hit]: ...
    @overload
    def search(
        self,
        query: Sequence[str],
        k: int = 10,
        *,
        filter: str | None = None,
        mode: Mode | None = None,
        ef: int | None = None,
        exact: bool = False,
        fusion: Fusion | None = None,
        alpha: float | None = None,
        rrf_k: float | None = None,
        depth: int | None = None,
        mmr: float | None = None,
        text: str | Sequence[str] | None = None,
        with_text: bool = True,
        with_metadata: bool = True,
        threads: int | None = None,
    ) -> list[list[Hit]]: ...
    @overload
    def search(
        self,
        query: Any,
        k: int = 10,
        *,
        filter: str | None = None,
        mode: Mode | None = None,
        ef: int | None = None,
        exact: bool = False,
        fusion: Fusion | None = None,
        alpha: float | None = None,
        rrf_k: float | None = None,
        depth: int | None = None,
        mmr: float | None = None,
        text: str | Sequence[str] | None = None,
        with_text: bool = True,
        with_metadata: bool = True,
        threads: int | None = None,
    ) -> list[Hit] | list[list[Hit]]: ...
    def search(self, query: Any, k: int = 10, **options: Any) -> Any:
        """Search the store; hits best first.

        query:
          - a vector, shape (d,) (float32 buffer, numpy array, list):
            returns list[Hit];
          - a matrix, shape (m, d): m queries searched as one batch (in
            parallel), returns list[list[Hit]];
          - a str: embedded with the store's model and searched in the
            store's default mode (hybrid when the store has a text index,
            else vector): returns list[Hit];
          - a list of str: returns list[list[Hit]].
        k: hits per query (1..100000).
        filter: a filter expression (docs/filter.md), ANDed.
        mode: "auto" (default), "vector", "text" (BM25), "hybrid".
        ef: HNSW beam width (default 64); exact=True scans every row.
        fusion, alpha, rrf_k, depth: hybrid fusion (weighted default, as
            vs-query, alpha 0.5, the vector side's weight; rrf with k 60).
        mmr: MMR lambda 0..1 (diversify), None = off.
        text: with a vector query, the text of a hybrid query (one str, or
            one per row of a matrix).
        with_text, with_metadata: False leaves them out of the hits; with
            both False doc_id is left out too (no lookup per hit: about half
            the CPU of a single HNSW query).
        threads: bound of the library's threads for a batch (None = all).

        Raises DimensionError, NonFiniteError, FilterError, UsageError (bad
        k, mode; text search without a text index), ClosedError. Releases
        the GIL while it searches.

        A C-contiguous float32 query (numpy's default for float32 arrays)
        with plain keyword values is parsed and searched in C, with no
        Python frame and no copy (per call about 15,000 instructions over
        the C library's vs_db_search, bench/py/percall_ir.sh); any other
        query (a list, float64, a str) is converted in Python first.
        """
    def search_arrays(
        self,
        queries: Any,
        k: int = 10,
        *,
        filter: str | None = None,
        ef: int | None = None,
        exact: bool = False,
        threads: int | None = None,
    ) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.float32]]:
        """The fast path for benchmarks: vector search of a (m, d) float32
        matrix (or one (d,) vector, as m = 1) returning (ids, scores):
        ids an (m, k) object array of str (None where a query has fewer
        than k hits), scores an (m, k) float32 array (NaN there). No Hit
        objects, no text or metadata. A C-contiguous float32 query runs in
        C with no Python frame and writes both arrays in place; others are
        converted to float32 first."""

    def info(self) -> StoreInfo:
        """Facts about the open generation."""
    def __len__(self) -> int:
        """Live records of the open generation (info().records)."""
    def close(self) -> None:
        """Close the store: drop uncommitted changes (with autocommit=False),
        release the lock. Waits for calls of other threads to finish.
        Calling it again does nothing."""
    def __enter__(self) -> Store: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Commits pending changes when the block ended without an
        exception (autocommit=False), then closes."""

def open(
    path: StrPath,
    *,
    create: bool = False,
    dim: int | None = None,
    metric: Literal["cosine", "dot", "l2"] = "cosine",
    model: str | None = None,
    hnsw_m: int | None = None,
    hnsw_ef_construction: int | None = None,
    hnsw_seed: int | None = None,
    quant: Literal["none", "f16", "sq8", "binary"] | None = None,
    normalize: bool = False,
    analyzer: str | None = None,
    readonly: bool = False,
    exclusive: bool = False,
    lock_wait: float = 0.0,
    autocommit: bool = True,
    embedder: Embedder | None = None,
    vector_storage: Literal["float32", "f16"] | None = None,
) -> Store:
    """Open the store at path (a directory, as vs-ingest writes).

    create: make the store when it does not exist (exclusive=True: raise
        ExistsError when it does). The settings below apply only to a new
        store; an existing store keeps its own:
        dim (None: from the first vector), metric, model (the embedding
        model identity to pin, e.g. "hash-v1:384" or a model folder; texts
        are embedded with it), hnsw_m (graph degree, default 16; 0 = exact
        search only), hnsw_ef_construction (200), hnsw_seed (a fixed seed:
        one thread, same graph bytes), quant (vector codes in graphs),
        normalize (L2-normalise vectors of a dot/l2 store), analyzer (BM25
        analyzer spec; "none" = no text index), vector_storage ("f16":
        segments keep vectors as half floats, half the bytes, scores within
        f16 rounding; None/"float32" the default).
    readonly: search only; takes no lock (any number of readers next to a
        writer, e.g. vs-ingest). Otherwise the store's lock is taken
        (lock_wait seconds to wait for it; 0 = raise LockedError at once,
        naming the holder; < 0 = wait for ever).
    autocommit: each upsert()/delete() commits (default); False: call
        commit() (one generation for many calls: faster ingest).
    embedder: the Embedder used for texts without vectors and str queries
        (default: one opened from the store's pinned model when needed).

    Raises NoStoreError (no store and not create), LockedError,
    CorruptError, UsageError (bad settings; ``field`` names it).
    """

# ---- models ---------------------------------------------------------------

class Embedder:
    """An embedding model, by the names vs-embed takes:
    "hash" or "hash-v1:DIM" (built in, no files), a BERT or USE-lite model
    folder, "openai:MODEL[:DIM]", "cohere:...", "ollama:...", "azure:..."
    (keys from the environment), or a store's pinned model identity.

    Calls are serialised inside one Embedder (open one per thread to embed
    in parallel); the GIL is released while it embeds."""

    def __init__(
        self,
        name_or_path: StrPath = "hash",
        *,
        dim: int | None = None,
        cache: bool = True,
        cache_dir: StrPath | None = None,
        base_url: str | None = None,
        api_key_env: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> None:
        """dim: for "hash" (384 default) and API models with a size.
        cache/cache_dir: the embedding cache of model and API embedders.
        base_url, api_key_env, timeout (seconds), max_retries: API models.
        Raises UsageError (unknown model; missing API key: ``field``),
        CorruptError/ResourceError (model files)."""
    @property
    def dim(self) -> int:
        """Dimension of the vectors."""
    @property
    def identity(self) -> str:
        """Identity string pinned in a store ("hash-v1:384")."""
    @overload
    def embed(self, texts: str, *, role: Role = "document") -> npt.NDArray[np.float32]: ...
    @overload
    def embed(
        self, texts: Sequence[str], *, role: Role = "document"
    ) -> npt.NDArray[np.float32]: ...
    def embed(self, texts: Any, *, role: Role = "document") -> npt.NDArray[np.float32]:
        """Embed texts: a str gives shape (d,), a sequence of n str gives
        (n, d) float32, each row unit length. role "query" for questions
        (e5/bge prefixes, Cohere's input_type). Raises InputError for a
        text without letters or digits or invalid UTF-8 (``line`` = its
        1-based position), RemoteError for API failures."""
    def close(self) -> None:
        """Free the model now (also done when garbage-collected)."""
    def __enter__(self) -> Embedder: ...
    def __exit__(self, *exc: object) -> None: ...

class Reranker:
    """A reranker: "bm25" (no model), "cross-encoder" or "late-interaction"
    (model folder), "api" (an HTTP rerank endpoint). The GIL is released
    while it scores."""

    def __init__(
        self,
        method: Literal["bm25", "cross-encoder", "late-interaction", "api"] = "bm25",
        *,
        model: StrPath | None = None,
        url: str | None = None,
        api_key: str | None = None,
        analyzer: str | None = None,
        sigmoid: bool = False,
        threads: int | None = None,
    ) -> None:
        """model: the model folder (cross-encoder, late-interaction) or the
        API request's model; url: the API endpoint; sigmoid: cross-encoder
        scores as probabilities. Raises UsageError (missing model/url)."""
    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        """The method's score of each text against query (higher is better)."""
    def rerank(self, query: str, hits: Sequence[Hit], k: int | None = None) -> list[Hit]:
        """Hits re-sorted by their text's score against query (ties: the
        earlier rank first): new Hit objects with score and rank set anew
        and retrieval_rank the old rank; k keeps the first k. Raises
        InputError (field "text") for a hit without text."""
    def close(self) -> None: ...
    def __enter__(self) -> Reranker: ...
    def __exit__(self, *exc: object) -> None: ...

# ---- evaluation -----------------------------------------------------------

Run = StrPath | Mapping[str, Sequence[Hit | str]] | Sequence[Sequence[Hit]]
Qrels = StrPath | Mapping[str, Mapping[str, int]]

def evaluate(
    run: Run, qrels: Qrels, measures: str | Sequence[str] | None = None
) -> dict[str, float]:
    """Evaluate a run against relevance judgments with trec_eval's
    definitions (the same code as vs-eval). Returns {measure: mean over the
    evaluated queries}, named as trec_eval does ("ndcg_cut_10", "map",
    "recall_100", "recip_rank").

    run: a file (TREC run or NDJSON hits), {qid: [Hit or doc id, ...]}
        best first, or the list[list[Hit]] of a batch search (qids from
        the hits).
    qrels: a file (TREC qrels, BEIR TSV, NDJSON) or {qid: {doc_id: grade}}.
    measures: "ndcg@10,map,r@100,mrr" or a list of names; None = the
        default set of docs/eval.md.
    Raises UsageError (unknown measure), InputError (bad file: file, line).
    """

# ---- chunking -------------------------------------------------------------

class Chunk:
    """One chunk: the record vs-chunk writes."""

    id: str
    """"<doc_id>#<n>"."""
    doc_id: str
    chunk: int
    """Index in the document, from 0."""
    text: str
    start: int
    """Byte offset of the chunk in the document's UTF-8 text."""
    end: int
    source: str | None
    """The file, for chunk_file()."""
    metadata: dict[str, Any]
    """The document's metadata plus "headings" (Markdown) and "page" (PDF)."""
    def to_dict(self) -> dict[str, Any]:
        """The chunk as vs-chunk's record (a dict)."""

Splitter = Literal["fixed", "recursive", "sentence", "markdown"]

def chunk(
    text: str,
    *,
    doc_id: str = "doc",
    splitter: Splitter = "recursive",
    unit: Literal["chars", "words"] = "chars",
    size: int = 1000,
    overlap: int = 0,
    min_size: int | None = None,
    markdown: bool = False,
    metadata: Metadata | None = None,
) -> list[Chunk]:
    """Split a text into chunks exactly as vs-chunk does (docs: vs-chunk(1)).
    markdown=True parses headings (metadata "headings", the markdown
    splitter's sections). size, overlap and min_size are in units (code
    points or words); overlap < size; chunks smaller than min_size (None:
    size // 10, as vs-chunk) merge into a neighbour. metadata is merged
    into each chunk's. Raises UsageError for bad sizes (``field``)."""

def chunk_file(
    path: StrPath,
    *,
    doc_id: str | None = None,
    splitter: Splitter = "recursive",
    unit: Literal["chars", "words"] = "chars",
    size: int = 1000,
    overlap: int = 0,
    min_size: int | None = None,
) -> list[Chunk]:
    """Load a document (text, Markdown, HTML, PDF when the library has
    poppler) and split it as vs-chunk does; doc_id defaults to the path.
    Raises InputError (binary or non-UTF-8 file), ResourceError (cannot
    read), UsageError (PDF without poppler)."""
