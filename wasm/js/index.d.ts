/**
 * vecstore for JavaScript: the vecstore C core compiled to WebAssembly.
 *
 * One store lives in memory inside a WebAssembly instance. It has the same
 * format as a store the `vs-ingest` program writes (docs/store-format.md):
 * `save()` gives it as one byte array, a POSIX tar of the store directory's
 * files (`tar -xf` it and `vs-query` opens the directory), and `load()`
 * reads such a tar back (also `tar -cf` of a directory `vs-ingest` wrote),
 * or the files of a store directory.
 *
 * Every method that can fail throws {@link VecStoreError}; a failed call
 * changes nothing, and the store stays usable.
 *
 * Importing the package does no network access and instantiates nothing:
 * the WebAssembly module is compiled at the first `create`/`load`/`open`.
 *
 * @packageDocumentation
 */

/** Similarity of a store: `cosine` (default), `dot` product, squared `l2`. */
export type Metric = "cosine" | "dot" | "l2";

/** How {@link VecStore.search} ranks. */
export type SearchMode =
  /** `hybrid` when the store has a text index and the query is a string,
   *  else `vector` (the default). */
  | "auto"
  /** Nearest vectors (a string query is embedded with the store's model). */
  | "vector"
  /** BM25 over the text index. */
  | "text"
  /** Vector and BM25 results, fused (see {@link SearchOptions.fusion}). */
  | "hybrid";

/** Status names of the C library's pinned list (lib/vecstore.h). */
export type StatusName =
  | "usage" | "config" | "filter" | "unsupported" | "data" | "json"
  | "line_too_long" | "field" | "dimension" | "nonfinite" | "mismatch"
  | "store" | "no_store" | "locked" | "corrupt" | "version" | "exists"
  | "io" | "no_space" | "no_memory" | "network" | "remote" | "internal"
  | "not_found" | "empty" | "gate" | "truncated" | "max_delete";

/** Settings of a new store ({@link VecStore.create}). */
export interface CreateOptions {
  /** Vector dimension, 1..65536. Required unless `model` gives it. */
  dim?: number;
  /** Default `"cosine"`. */
  metric?: Metric;
  /** L2-normalise vectors of a `dot` or `l2` store (cosine stores always
   *  compare unit vectors). Default false. */
  normalize?: boolean;
  /** Embedding model pinned in the store, used to embed records that come
   *  without a vector and string queries. Only the built-in hash embedder
   *  runs in WebAssembly: `"hash"` (dimension `dim`, default 384) or its
   *  identity `"hash-v1:DIM"`. Default: none (every record needs a vector;
   *  string queries need `mode: "text"`). */
  model?: string;
  /** BM25 text index over the records' `text`: `true` (default analyzer,
   *  the default), `false` (no text index: no text or hybrid search) or an
   *  analyzer spec string (docs/text.md, e.g. `"lang=en,stem=1"`). */
  text?: boolean | string;
  /** HNSW graph degree M (2..1024); 0 = no graphs, exact search only.
   *  Default 16. */
  hnswM?: number;
  /** HNSW build beam width; default 200. */
  efConstruction?: number;
  /** Seed of the HNSW build (same rows give the same graph); default 1. */
  seed?: number;
  /** Vector codes inside the graphs: `"none"` (float32, default), `"f16"`,
   *  `"sq8"` or `"binary"` (needs `hnswM` > 0). */
  quant?: "none" | "f16" | "sq8" | "binary";
  /** How the store's segments keep the vectors (what `save()` and
   *  `persist()` write): `"float32"` (default) or `"f16"` (IEEE half
   *  floats: half the bytes; searches read them widened to float32, so
   *  scores are within f16 rounding). Fixed at create; `vs-index create
   *  --vector-storage f16` makes the same stores. */
  vectorStorage?: "float32" | "f16";
}

/** Metadata of a record: a JSON object. */
export type Metadata = { [key: string]: unknown };

/** One record for {@link VecStore.upsert}. */
export interface VecRecord {
  /** Non-empty; a record with an id already stored replaces it. */
  id: string;
  /** `dim` finite numbers. May be left out when the store has a `model`
   *  and the record has `text`: the text is then embedded. */
  vector?: Float32Array | number[];
  /** Text indexed for text search and returned with hits. */
  text?: string;
  /** A JSON object, filterable (docs/filter.md). */
  metadata?: Metadata;
  /** The document the record (a chunk) belongs to. */
  docId?: string;
}

/** Options of {@link VecStore.search}. */
export interface SearchOptions {
  /** Hits to return, 1..100000; default 10. */
  k?: number;
  /** A filter over metadata in the language of docs/filter.md, e.g.
   *  `lang = "en" AND year >= 2020`. */
  filter?: string;
  /** Default `"auto"`. */
  mode?: SearchMode;
  /** HNSW beam width; default 64 (raised to k when smaller). */
  ef?: number;
  /** true: exact scan of every vector (ignore the graphs). */
  exact?: boolean;
  /** Hybrid fusion: weighted min-max (default, as vs-query), reciprocal
   *  rank fusion, or distribution-based. */
  fusion?: "rrf" | "weighted" | "dbsf";
  /** Weight of the vector side for `weighted`/`dbsf`, 0..1; default 0.5. */
  alpha?: number;
  /** RRF constant; default 60. */
  rrfK?: number;
  /** true: hits carry `id`, `score`, `rank` and `distance` only: no
   *  stored record (text, metadata, document id) is read and no JSON is
   *  made, the fastest search; `score` and `distance` are the engine's
   *  float32 values. Default false. */
  idsOnly?: boolean;
}

/** One search result. */
export interface Hit {
  id: string;
  /** Higher is better: the metric's similarity, BM25 in text mode, the
   *  fused score in hybrid mode. */
  score: number;
  /** 1-based. */
  rank: number;
  /** The record's text, when it has one. */
  text?: string;
  /** The record's metadata, when it has some. */
  metadata?: Metadata;
  /** cosine: 1 - cos; l2: squared distance (absent for dot and text hits). */
  distance?: number;
  /** The record's document id, when it has one. */
  docId?: string;
}

/** Facts about a store ({@link VecStore.info}). */
export interface StoreInfo {
  records: number;
  tombstones: number;
  generation: number;
  segments: number;
  dim: number;
  metric: Metric;
  /** Pinned model identity, `""` for none. */
  model: string;
  hasTextIndex: boolean;
  hnswM: number;
}

/** One file of a store directory (its name, e.g. `"MANIFEST"` or
 *  `"seg-00000001.vseg"`) and its bytes. */
export interface StoreFile {
  name: string;
  bytes: Uint8Array;
}

/**
 * A vector store in memory. Create one with {@link VecStore.create},
 * {@link VecStore.load} or {@link VecStore.open}; free its memory with
 * {@link VecStore.close} when done (a closed store throws "usage").
 */
export declare class VecStore {
  private constructor();

  /** A new, empty store. Throws "config" for bad options. */
  static create(options: CreateOptions): Promise<VecStore>;

  /** A store from the bytes {@link VecStore.save} returned (a POSIX tar of
   *  a store directory, so also `tar -cf - -C kb.vs .` of a store written by
   *  `vs-ingest`), or from the files of a store directory (as
   *  {@link StoreFile}s). Checksums are verified: throws "corrupt",
   *  "version" or "data" for bytes that are not a store. */
  static load(bytes: Uint8Array | ArrayBuffer | StoreFile[]): Promise<VecStore>;

  /** Browsers: the store persisted under `name` with {@link persist}
   *  (IndexedDB; wasm/js/persist.js). Throws "no_store" when there is none,
   *  "unsupported" where IndexedDB is missing (Node, edge runtimes). */
  static open(name: string): Promise<VecStore>;

  /** The version of the C library ("0.1.0"). */
  static version(): Promise<string>;

  /** Add or replace records (one record or an array); they are visible to
   *  the next search. All or nothing: a bad record throws ("field",
   *  "dimension", "nonfinite", "json", "data") with `index` set to its
   *  position, and none of the call's records is stored. Returns the
   *  number upserted. */
  upsert(records: VecRecord | VecRecord[]): number;

  /** Delete by id (one or an array; missing ids are not an error) or every
   *  record a filter matches. Returns the number deleted. Throws "filter"
   *  for a filter that does not parse (with `col`). */
  delete(ids: string | string[] | { filter: string }): number;

  /** The k best records for a vector, or for a string (text search, or
   *  embedded with the store's model). Throws "dimension", "filter",
   *  "unsupported" (text search without a text index), "field" (a string
   *  query with no text index and no model). */
  search(query: Float32Array | number[] | string, options?: SearchOptions): Hit[];

  /** Embed texts with the store's model (vectors of unit length). Throws
   *  "unsupported" when the store has none. */
  embed(texts: string[]): Float32Array[];

  /** The store as one byte array: a POSIX (ustar) tar of its directory's
   *  files (MANIFEST and the segments), for {@link VecStore.load}, or
   *  `mkdir kb.vs && tar -xf bytes.tar -C kb.vs && vs-query kb.vs`. */
  save(): Uint8Array;

  /** The files of the store's current generation, as a store directory
   *  holds them (what persistence layers write as immutable blobs). */
  files(): StoreFile[];

  /** Browsers: write the store to IndexedDB under `name` (one blob per
   *  immutable segment file; segments already stored are not written
   *  again), then switch the name to this generation atomically. */
  persist(name: string): Promise<void>;

  info(): StoreInfo;

  /** Number of live records. */
  readonly size: number;

  /** Free the store's memory. Later calls throw "usage". */
  close(): void;
}

/** Every error the package throws. */
export declare class VecStoreError extends Error {
  /** The status name ("dimension", "filter", ...). */
  readonly status: StatusName;
  /** The status number of lib/vecstore.h (VS_E_*). */
  readonly code: number;
  /** The field concerned ("vector", "metadata", "id"), when known. */
  readonly field?: string;
  /** 1-based column in a filter or JSON text, when known. */
  readonly col?: number;
  /** 0-based position of the bad record or id in the call's array. */
  readonly index?: number;
  /** The C library's one-sentence detail. */
  readonly detail: string;
}

/** Whether this runtime runs the SIMD128 build (else the scalar one). */
export declare function simdSupported(): boolean;

/** Options of {@link init}. */
export interface InitOptions {
  /** The module: a `WebAssembly.Module` (edge runtimes such as workerd
   *  import `.wasm` files as modules: `import wasm from
   *  "vecstore/vecstore.wasm"`), its bytes, or a URL (relative to the
   *  package's index.js). */
  wasm?: WebAssembly.Module | ArrayBuffer | ArrayBufferView | URL | string;
  /** true: `wasm` is `dist/vecstore-scalar.wasm`, the build without
   *  SIMD128. Default false. */
  scalar?: boolean;
  /** `"en"` (default): the modules with the English (and Porter) stemmer
   *  only; a store whose analyzer names another language fails with
   *  "config". `"all"`: `dist/vecstore-all.wasm`, Snowball's 29 languages
   *  (SIMD128 only; about 70 KB more gzipped). With `wasm`, says which
   *  module that is. */
  languages?: "en" | "all";
}

/** Where the WebAssembly module comes from, when not from the file next to
 *  the package's index.js (bundlers that rename assets, edge runtimes), or
 *  which module to load (`languages`). Call before the first store; throws
 *  "usage" after. A module that cannot be fetched, compiled or instantiated
 *  makes the first create/load/open reject with VecStoreError (status
 *  "unsupported", or "io" for a failed fetch). */
export declare function init(options: InitOptions): void;

/** The distance kernels of the loaded module, `"simd128"` or `"scalar"`;
 *  null until the first store is made. */
export declare function kernels(): "simd128" | "scalar" | null;
