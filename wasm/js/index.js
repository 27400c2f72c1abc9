// vecstore for JavaScript: the loader and the VecStore class over the
// WebAssembly module (dist/vecstore.wasm, built by `make wasm`). The types
// and every name's documentation are in index.d.ts.
//
// One module instance serves every store of the page or process: each store
// is a directory of the module's in-memory filesystem (/vs/1, /vs/2, ...)
// in the format the vs-* programs read and write. The module is compiled at
// the first create/load/open, never at import, and nothing here touches the
// network except fetching the package's own .wasm file in browsers.
//
// Three builds of the module ship: dist/vecstore.wasm with SIMD128 and
// dist/vecstore-scalar.wasm without, for runtimes that lack SIMD128 (the
// loader asks WebAssembly.validate), both with the English stemmer only,
// and dist/vecstore-all.wasm (SIMD128, Snowball's 29 languages) chosen by
// init({ languages: "all" }). Each has its own JS glue, imported only when
// chosen.

const STATUS_NAMES = [
  "ok", "usage", "config", "filter", "unsupported", "data", "json",
  "line_too_long", "field", "dimension", "nonfinite", "mismatch", "store",
  "no_store", "locked", "corrupt", "version", "exists", "io", "no_space",
  "no_memory", "network", "remote", "internal", "not_found", "empty", "gate",
  "truncated", "max_delete",
];
const MODES = { auto: 0, vector: 1, text: 2, hybrid: 3 };
const FUSIONS = { rrf: 0, weighted: 1, dbsf: 2 };
const METRICS = ["cosine", "dot", "l2"];
const QUANTS = ["none", "f16", "sq8", "binary"];
const VSTORES = ["float32", "f16"];

export class VecStoreError extends Error {
  constructor(status, detail, extra = {}) {
    const code = typeof status === "number" ? status : STATUS_NAMES.indexOf(status);
    const name = typeof status === "number" ? STATUS_NAMES[status] ?? "unknown" : status;
    const where = extra.field ? ` (${extra.field})` : "";
    super(`${name}${where}: ${detail}`);
    this.name = "VecStoreError";
    this.status = name;
    this.code = code;
    this.detail = detail;
    if (extra.field) this.field = extra.field;
    if (extra.col) this.col = extra.col;
    if (extra.index !== undefined) this.index = extra.index;
  }
}

// ---- the module ----

let wasmOverride = null; // set by init()
let wasmScalar = false;
let allLanguages = false; // init({ languages: "all" }): vecstore-all.wasm
let modulePromise = null;

export function init(options = {}) {
  if (modulePromise) throw new VecStoreError("usage", "init() must come before the first store");
  if (options === null || typeof options !== "object") {
    throw new VecStoreError("usage", "init() takes an options object");
  }
  const { wasm, scalar = false, languages = "en" } = options;
  if (languages !== "en" && languages !== "all") {
    throw new VecStoreError("usage", `languages is "en" or "all", not '${languages}'`, { field: "languages" });
  }
  if ((wasm === undefined || wasm === null) && languages === "en") {
    throw new VecStoreError("usage", "init() needs { wasm } or { languages: \"all\" }", { field: "wasm" });
  }
  if (languages === "all" && scalar === true) {
    throw new VecStoreError("usage", "the all-languages module is a SIMD128 build: no scalar one ships", { field: "scalar" });
  }
  wasmOverride = wasm ?? null;
  wasmScalar = scalar === true;
  allLanguages = languages === "all";
}

/** The kernels the module runs: "simd128" or "scalar" (after the first
 *  store; null before). */
export function kernels() {
  return loadedKernels;
}
let loadedKernels = null;

// The base of a URL given to init({ wasm }): a variable, so that bundlers
// that resolve `new URL(x, import.meta.url)` at build time (Next.js's
// Turbopack: "Can't resolve <dynamic>") leave this run-time one alone; the
// package's own module URLs below keep the literal form they resolve.
const BASE = import.meta.url;

async function compileWasm(simd) {
  const src = wasmOverride;
  if (src instanceof WebAssembly.Module) return src;
  if (src instanceof ArrayBuffer || ArrayBuffer.isView(src)) return WebAssembly.compile(src);
  const url = src
    ? new URL(/* webpackIgnore: true */ /* turbopackIgnore: true */ String(src), BASE)
    : allLanguages
      ? new URL("./dist/vecstore-all.wasm", import.meta.url)
      : simd
        ? new URL("./dist/vecstore.wasm", import.meta.url)
        : new URL("./dist/vecstore-scalar.wasm", import.meta.url);
  if (url.protocol === "file:") {
    // Node (and Deno/Bun): read the file; the name is a variable so that
    // browser bundlers do not try to resolve a Node built-in
    const fsName = "node:fs/promises";
    const { readFile } = await import(/* @vite-ignore */ /* webpackIgnore: true */ fsName);
    return WebAssembly.compile(await readFile(url));
  }
  const resp = await fetch(url);
  if (!resp.ok) throw new VecStoreError("io", `cannot fetch ${url}: HTTP ${resp.status}`);
  if (WebAssembly.compileStreaming && resp.headers.get("content-type") === "application/wasm") {
    return WebAssembly.compileStreaming(resp);
  }
  return WebAssembly.compile(await resp.arrayBuffer());
}

// Any failure to fetch, compile or instantiate the module (a runtime
// without WebAssembly, bytes that are not the module, an import that does
// not match, a trap while it starts) rejects with VecStoreError: the glue
// would otherwise wait for ever on an instantiation that failed.
function loadError(e) {
  if (e instanceof VecStoreError) return e;
  const what = e instanceof WebAssembly.CompileError ? "cannot compile"
    : e instanceof WebAssembly.LinkError ? "cannot link"
      : e instanceof WebAssembly.RuntimeError ? "trapped while starting" : "cannot load";
  return new VecStoreError("unsupported", `the WebAssembly module ${what}: ${e && e.message ? e.message : String(e)}`);
}

function getModule() {
  if (!modulePromise) {
    modulePromise = (async () => {
      if (allLanguages && !wasmOverride && !simdSupported()) {
        throw new VecStoreError("unsupported", "the all-languages module needs SIMD128, which this runtime lacks");
      }
      // a module given to init() is the SIMD128 build unless it says scalar
      const simd = allLanguages || (wasmOverride ? !wasmScalar : simdSupported());
      const factory = (allLanguages ? await import("./dist/vecstore-all.mjs")
        : simd ? await import("./dist/vecstore.mjs") : await import("./dist/vecstore-scalar.mjs")).default;
      const wasm = await compileWasm(simd);
      let fail;
      const failed = new Promise((resolve, reject) => { fail = reject; });
      const M = await Promise.race([failed, factory({
        instantiateWasm(imports, done) {
          WebAssembly.instantiate(wasm, imports).then((inst) => done(inst), (e) => fail(e));
          return {};
        },
        // the glue would otherwise resolve its own URL from import.meta.url,
        // which some edge runtimes leave undefined; index.js fetched it already
        locateFile: (p) => p,
        print: () => {},
        printErr: () => {},
      })]);
      M.FS.mkdir("/vs");
      loadedKernels = M._vsw_simd_level() === 4 ? "simd128" : "scalar";
      return M;
    })().catch((e) => {
      throw loadError(e);
    });
    modulePromise.catch(() => { modulePromise = null; });
  }
  return modulePromise;
}

// A module of one function using one SIMD128 instruction (i8x16.splat),
// checked by WebAssembly.validate.
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123,
  3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);
export function simdSupported() {
  try {
    return WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

// ---- memory helpers: strings and arrays in the module's memory ----

class Scratch {
  constructor(M) {
    this.M = M;
    this.ptrs = [];
  }
  str(s) {
    if (s === undefined || s === null) return 0;
    const M = this.M;
    const n = M.lengthBytesUTF8(s) + 1;
    const p = M._vsw_malloc(n);
    if (!p) throw new VecStoreError("no_memory", "out of memory");
    this.ptrs.push(p);
    M.stringToUTF8(s, p, n);
    return p;
  }
  f32(v) {
    const M = this.M;
    const p = M._vsw_malloc(Math.max(v.length, 1) * 4);
    if (!p) throw new VecStoreError("no_memory", "out of memory");
    this.ptrs.push(p);
    M.HEAPF32.set(v, p >>> 2); // HEAPF32 read after malloc: memory may have grown
    return p;
  }
  free() {
    for (const p of this.ptrs) this.M._vsw_free(p);
    this.ptrs = [];
  }
}

function lastError(M, extra = {}) {
  const status = M._vsw_err_status() || 23;
  const field = M.UTF8ToString(M._vsw_err_field());
  const detail = M.UTF8ToString(M._vsw_err_detail()) || STATUS_NAMES[status] || "failed";
  const col = M._vsw_err_col();
  return new VecStoreError(status, detail, { field: field || undefined, col: col || undefined, ...extra });
}

function takeJson(M, p) {
  if (!p) return null;
  const s = M.UTF8ToString(p);
  M._vsw_free(p);
  return JSON.parse(s);
}

// vsw_search_ids's block (wasm/src/vsw.c): uint32 n, n entries of
// { float32 score, float32 distance or NaN, uint32 rank, uint32 id bytes },
// then the ids' bytes. Read through views made after the call (memory may
// have grown), freed here.
function takeIdHits(M, p) {
  if (!p) throw lastError(M);
  try {
    const u32 = M.HEAPU32, f32 = M.HEAPF32, u8 = M.HEAPU8;
    const n = u32[p >>> 2];
    const hits = new Array(n);
    let at = p + 4 + n * 16;
    for (let i = 0, e = (p + 4) >>> 2; i < n; i++, e += 4) {
      const len = u32[e + 3];
      let id = "";
      // ASCII ids (the usual case) without a TextDecoder call
      let ascii = true;
      for (let j = at; j < at + len; j++) if (u8[j] > 127) { ascii = false; break; }
      if (ascii) for (let j = at; j < at + len; j++) id += String.fromCharCode(u8[j]);
      else id = dec.decode(u8.subarray(at, at + len));
      at += len;
      const hit = { id, score: f32[e], rank: u32[e + 2] };
      const d = f32[e + 1];
      if (!Number.isNaN(d)) hit.distance = d;
      hits[i] = hit;
    }
    return hits;
  } finally {
    M._vsw_free(p);
  }
}

// ---- tar (ustar): the byte form of a store directory ----

const enc = new TextEncoder();
const dec = new TextDecoder();

function octal(buf, off, len, v) {
  const s = v.toString(8).padStart(len - 1, "0");
  buf.set(enc.encode(s), off);
  buf[off + len - 1] = 0;
}

function tarWrite(files) {
  let total = 1024;
  for (const f of files) total += 512 + Math.ceil(f.bytes.length / 512) * 512;
  const out = new Uint8Array(total);
  let off = 0;
  for (const f of files) {
    const h = out.subarray(off, off + 512);
    const name = enc.encode(f.name);
    if (name.length > 100) throw new VecStoreError("usage", `file name too long for tar: ${f.name}`);
    h.set(name, 0);
    octal(h, 100, 8, 0o644);
    octal(h, 108, 8, 0);
    octal(h, 116, 8, 0);
    octal(h, 124, 12, f.bytes.length);
    octal(h, 136, 12, 0);
    h.fill(32, 148, 156);
    h[156] = 48; // '0': a regular file
    h.set(enc.encode("ustar\0" + "00"), 257);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += h[i];
    h.set(enc.encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
    out.set(f.bytes, off + 512);
    off += 512 + Math.ceil(f.bytes.length / 512) * 512;
  }
  return out;
}

function tarField(h, off, len) {
  let end = off;
  while (end < off + len && h[end] !== 0) end++;
  return dec.decode(h.subarray(off, end));
}

function tarRead(bytes) {
  const files = [];
  let off = 0;
  while (off + 512 <= bytes.length) {
    const h = bytes.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
    const want = parseInt(tarField(h, 148, 8).trim(), 8);
    if (sum !== want) throw new VecStoreError("corrupt", `not a store (tar header checksum fails at byte ${off})`);
    const sizeField = tarField(h, 124, 12).trim();
    const size = parseInt(sizeField || "0", 8);
    if (!Number.isSafeInteger(size) || off + 512 + size > bytes.length) {
      throw new VecStoreError("corrupt", `not a store (tar entry at byte ${off} runs past the end)`);
    }
    const type = String.fromCharCode(h[156] || 48);
    let name = tarField(h, 0, 100);
    const prefix = tarField(h, 345, 155);
    if (prefix && dec.decode(h.subarray(257, 262)) === "ustar") name = prefix + "/" + name;
    if (type === "0" || type === "7") {
      files.push({ name: name.replace(/^\.\//, ""), bytes: bytes.slice(off + 512, off + 512 + size) });
    }
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

// The files of a manifest's generation: MANIFEST and every segment and
// deletion file it names.
function manifestFiles(text) {
  const body = text.slice(0, text.lastIndexOf("\nxxh64 ") + 1);
  let m;
  try {
    m = JSON.parse(body);
  } catch {
    throw new VecStoreError("corrupt", "MANIFEST is not the expected JSON");
  }
  const names = [];
  for (const s of m.segments ?? []) {
    names.push(s.file);
    if (s.del) names.push(s.del);
  }
  return names;
}

// ---- the store ----

let nextDir = 1;
const SAFE_NAME = /^(MANIFEST|seg-[0-9]{8}\.vseg|del-[0-9]{8}-[0-9]{8}\.vdel)$/;

function asVector(v, field = "vector", index) {
  if (v instanceof Float32Array) return v;
  if (Array.isArray(v)) return Float32Array.from(v);
  throw new VecStoreError("field", "a vector is a Float32Array or an array of numbers", { field, index });
}

export class VecStore {
  #M;
  #db;
  #dir;
  #enc = 0; // the model's encoder, opened at first need
  #info;

  constructor(M, db, dir, token) {
    if (token !== CONSTRUCT) throw new VecStoreError("usage", "use VecStore.create, load or open");
    this.#M = M;
    this.#db = db;
    this.#dir = dir;
    this.#info = takeJson(M, M._vsw_info(db));
  }

  static async version() {
    const M = await getModule();
    return M.UTF8ToString(M._vsw_version());
  }

  static async create(options = {}) {
    if (options === null || typeof options !== "object") {
      throw new VecStoreError("usage", "create() takes an options object");
    }
    const { dim = 0, metric = "cosine", normalize = false, model, text = true,
      hnswM = 16, efConstruction = 0, quant = "none", vectorStorage = "float32" } = options;
    const seed = options.seed ?? (hnswM > 0 ? 1 : 0);
    if (!Number.isInteger(dim) || dim < 0 || dim > 65536) {
      throw new VecStoreError("config", "dim must be an integer 1..65536", { field: "dim" });
    }
    if (!METRICS.includes(metric)) {
      throw new VecStoreError("config", `unknown metric '${metric}' (cosine, dot, l2)`, { field: "metric" });
    }
    if (!QUANTS.includes(quant)) {
      throw new VecStoreError("config", `unknown quant '${quant}' (none, f16, sq8, binary)`, { field: "quant" });
    }
    if (!VSTORES.includes(vectorStorage)) {
      throw new VecStoreError("config", `unknown vectorStorage '${vectorStorage}' (float32, f16)`, { field: "vectorStorage" });
    }
    if (!Number.isInteger(hnswM) || !Number.isInteger(efConstruction) || !Number.isInteger(seed) || seed < 0) {
      throw new VecStoreError("config", "hnswM, efConstruction and seed are integers", { field: "hnswM" });
    }
    let modelId = "";
    if (model !== undefined && model !== null) {
      if (typeof model !== "string") throw new VecStoreError("config", "model is a string", { field: "model" });
      modelId = model === "hash" ? `hash-v1:${dim || 384}` : model;
    }
    const analyzer = text === false ? "none" : text === true ? "" : String(text);
    const M = await getModule();
    if (!dim && modelId) {
      // the model gives the dimension
      const e = openEncoder(M, modelId);
      const d = M._vsw_encoder_dim(e);
      M._vsw_encoder_free(e);
      return VecStore.create({ ...options, dim: d });
    }
    if (!dim) throw new VecStoreError("config", "create() needs dim (or a model)", { field: "dim" });
    const dir = `/vs/${nextDir++}`;
    const s = new Scratch(M);
    try {
      const db = M._vsw_open(s.str(dir), 1, dim, s.str(metric), normalize ? 1 : 0, s.str(modelId),
        s.str(analyzer), hnswM, efConstruction, seed, s.str(quant === "none" ? "" : quant),
        s.str(vectorStorage));
      if (!db) throw lastError(M);
      return new VecStore(M, db, dir, CONSTRUCT);
    } finally {
      s.free();
    }
  }

  static async load(source) {
    let files;
    if (Array.isArray(source)) files = source;
    else if (source instanceof ArrayBuffer) files = tarRead(new Uint8Array(source));
    else if (source instanceof Uint8Array) files = tarRead(source);
    else throw new VecStoreError("usage", "load() takes a Uint8Array, an ArrayBuffer or [{name, bytes}]");
    // a tar of a directory (kb.vs/MANIFEST, ./MANIFEST): the files beside MANIFEST
    const man = files.find((f) => f && typeof f.name === "string" && /(^|\/)MANIFEST$/.test(f.name));
    if (!man) throw new VecStoreError("no_store", "no MANIFEST among the files: not a store");
    const base = man.name.slice(0, man.name.length - "MANIFEST".length);
    const byName = new Map();
    for (const f of files) {
      if (!f || typeof f.name !== "string" || !f.name.startsWith(base)) continue;
      const name = f.name.slice(base.length);
      if (!SAFE_NAME.test(name)) continue; // LOCK, temporary files, other files
      const bytes = f.bytes instanceof Uint8Array ? f.bytes : f.bytes instanceof ArrayBuffer ? new Uint8Array(f.bytes) : null;
      if (!bytes) throw new VecStoreError("usage", `file ${f.name}: bytes must be a Uint8Array`);
      byName.set(name, bytes);
    }
    const need = manifestFiles(dec.decode(byName.get("MANIFEST")));
    for (const n of need) {
      if (!byName.has(n)) throw new VecStoreError("corrupt", `the store's file ${n} is missing`, { field: n });
    }
    const M = await getModule();
    const dir = `/vs/${nextDir++}`;
    M.FS.mkdir(dir);
    const s = new Scratch(M);
    try {
      for (const n of ["MANIFEST", ...need]) M.FS.writeFile(`${dir}/${n}`, byName.get(n));
      const db = M._vsw_open(s.str(dir), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
      if (!db) throw lastError(M);
      return new VecStore(M, db, dir, CONSTRUCT);
    } catch (e) {
      removeDir(M, dir);
      throw e;
    } finally {
      s.free();
    }
  }

  static async open(name) {
    const p = await loadPersist();
    return p.open(name, VecStore);
  }

  get size() {
    return this.info().records;
  }

  info() {
    this.#check();
    return { ...this.#info };
  }

  upsert(records) {
    this.#check();
    const list = Array.isArray(records) ? records : [records];
    const M = this.#M;
    const dim = this.#info.dim;
    // checks in JS first, so a bad record costs no round trip
    const prepared = list.map((r, i) => {
      if (r === null || typeof r !== "object") throw new VecStoreError("field", "a record is an object", { index: i });
      if (typeof r.id !== "string" || r.id === "") {
        throw new VecStoreError("field", "id must be a non-empty string", { field: "id", index: i });
      }
      if (r.text !== undefined && r.text !== null && typeof r.text !== "string") {
        throw new VecStoreError("field", "text must be a string", { field: "text", index: i });
      }
      if (r.docId !== undefined && r.docId !== null && typeof r.docId !== "string") {
        throw new VecStoreError("field", "docId must be a string", { field: "docId", index: i });
      }
      let meta = null;
      if (r.metadata !== undefined && r.metadata !== null) {
        if (typeof r.metadata !== "object" || Array.isArray(r.metadata)) {
          throw new VecStoreError("json", "metadata must be an object", { field: "metadata", index: i });
        }
        meta = JSON.stringify(r.metadata);
      }
      let vec = null;
      if (r.vector !== undefined && r.vector !== null) {
        vec = asVector(r.vector, "vector", i);
        if (dim && vec.length !== dim) {
          throw new VecStoreError("dimension", `vector has ${vec.length} numbers, the store ${dim}`, { field: "vector", index: i });
        }
      } else if (!this.#info.model) {
        throw new VecStoreError("field", "a record needs a vector (the store has no model to embed its text)", { field: "vector", index: i });
      } else if (typeof r.text !== "string") {
        throw new VecStoreError("field", "a record needs a vector or text to embed", { field: "vector", index: i });
      }
      return { id: r.id, vec, text: r.text ?? null, meta, docId: r.docId ?? null };
    });
    const toEmbed = prepared.filter((p) => !p.vec);
    if (toEmbed.length) {
      const vs = this.#embed(toEmbed.map((p) => p.text), 0, prepared.indexOf(toEmbed[0]));
      toEmbed.forEach((p, j) => { p.vec = vs[j]; });
    }
    const s = new Scratch(M);
    try {
      prepared.forEach((p, i) => {
        const rc = M._vsw_upsert(this.#db, s.str(p.id), s.f32(p.vec), p.vec.length, s.str(p.text),
          s.str(p.meta), s.str(p.docId));
        if (rc !== 0) throw lastError(M, { index: i });
        s.free();
      });
      this.#commit();
    } catch (e) {
      this.#rollback();
      throw e;
    } finally {
      s.free();
    }
    return prepared.length;
  }

  delete(what) {
    this.#check();
    const M = this.#M;
    const s = new Scratch(M);
    let n = 0;
    try {
      if (what !== null && typeof what === "object" && !Array.isArray(what)) {
        if (typeof what.filter !== "string" || what.filter === "") {
          throw new VecStoreError("usage", "delete({filter}) needs a filter string", { field: "filter" });
        }
        if (M._vsw_delete_where(this.#db, s.str(what.filter)) !== 0) throw lastError(M);
        n = M._vsw_count();
      } else {
        const ids = Array.isArray(what) ? what : [what];
        ids.forEach((id, i) => {
          if (typeof id !== "string" || id === "") {
            throw new VecStoreError("field", "an id is a non-empty string", { field: "id", index: i });
          }
        });
        ids.forEach((id, i) => {
          if (M._vsw_delete(this.#db, s.str(id)) !== 0) throw lastError(M, { index: i });
          n += M._vsw_count();
          s.free();
        });
      }
      this.#commit();
    } catch (e) {
      this.#rollback();
      throw e;
    } finally {
      s.free();
    }
    return n;
  }

  search(query, options = {}) {
    this.#check();
    const M = this.#M;
    if (options === null || typeof options !== "object") throw new VecStoreError("usage", "options must be an object");
    const { k = 10, filter, mode = "auto", ef = 0, exact = false, fusion = "weighted", alpha, rrfK,
      idsOnly = false } = options;
    if (!(mode in MODES)) throw new VecStoreError("usage", `unknown mode '${mode}' (auto, vector, text, hybrid)`, { field: "mode" });
    if (!(fusion in FUSIONS)) throw new VecStoreError("usage", `unknown fusion '${fusion}' (rrf, weighted, dbsf)`, { field: "fusion" });
    if (!Number.isInteger(k) || k < 1 || k > 100000) throw new VecStoreError("usage", "k must be an integer 1..100000", { field: "k" });
    if (!Number.isInteger(ef) || ef < 0) throw new VecStoreError("usage", "ef must be an integer >= 0", { field: "ef" });
    if (filter !== undefined && filter !== null && typeof filter !== "string") {
      throw new VecStoreError("filter", "a filter is a string", { field: "filter" });
    }
    if (alpha !== undefined && !(alpha >= 0 && alpha <= 1)) throw new VecStoreError("usage", "alpha must be 0..1", { field: "alpha" });
    if (rrfK !== undefined && !(rrfK > 0)) throw new VecStoreError("usage", "rrfK must be > 0", { field: "rrfK" });
    if (typeof idsOnly !== "boolean") throw new VecStoreError("usage", "idsOnly is true or false", { field: "idsOnly" });
    const s = new Scratch(M);
    try {
      let vp = 0, vdim = 0, tp = 0;
      if (typeof query === "string") {
        tp = s.str(query);
      } else {
        const v = asVector(query, "query");
        vp = s.f32(v);
        vdim = v.length;
      }
      const args = [this.#db, vp, vdim, tp, MODES[mode], k, s.str(filter || null), ef, exact ? 1 : 0,
        FUSIONS[fusion], alpha ?? -1, rrfK ?? 0];
      if (idsOnly) return takeIdHits(M, M._vsw_search_ids(...args));
      const p = M._vsw_search(...args);
      if (!p) throw lastError(M);
      return takeJson(M, p);
    } finally {
      s.free();
    }
  }

  embed(texts) {
    this.#check();
    if (!Array.isArray(texts) || texts.some((t) => typeof t !== "string")) {
      throw new VecStoreError("usage", "embed() takes an array of strings");
    }
    if (!this.#info.model) throw new VecStoreError("unsupported", "the store has no model to embed with", { field: "model" });
    return this.#embed(texts, 0, 0);
  }

  files() {
    this.#check();
    const M = this.#M;
    const man = M.FS.readFile(`${this.#dir}/MANIFEST`);
    const names = ["MANIFEST", ...manifestFiles(dec.decode(man))];
    return names.map((name) => ({ name, bytes: name === "MANIFEST" ? man : M.FS.readFile(`${this.#dir}/${name}`) }));
  }

  save() {
    return tarWrite(this.files());
  }

  async persist(name) {
    this.#check();
    const p = await loadPersist();
    return p.persist(this, name);
  }

  close() {
    if (!this.#db) return;
    const M = this.#M;
    if (this.#enc) M._vsw_encoder_free(this.#enc);
    M._vsw_close(this.#db);
    removeDir(M, this.#dir);
    this.#db = 0;
    this.#enc = 0;
  }

  // ---- private ----

  #check() {
    if (!this.#db) throw new VecStoreError("usage", "the store is closed");
  }

  #commit() {
    const M = this.#M;
    if (M._vsw_commit(this.#db) !== 0) throw lastError(M);
    this.#info = takeJson(M, M._vsw_info(this.#db));
  }

  // Drop the uncommitted changes of a failed call: close the handle and
  // open the store again at its last generation.
  #rollback() {
    const M = this.#M;
    M._vsw_close(this.#db);
    const s = new Scratch(M);
    try {
      this.#db = M._vsw_open(s.str(this.#dir), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    } finally {
      s.free();
    }
    if (!this.#db) throw lastError(M); // the store could not be reopened: closed
    this.#info = takeJson(M, M._vsw_info(this.#db));
  }

  #embed(texts, role, firstIndex) {
    const M = this.#M;
    if (!this.#enc) this.#enc = openEncoder(M, this.#info.model);
    const dim = M._vsw_encoder_dim(this.#enc);
    const out = M._vsw_malloc(dim * 4);
    const s = new Scratch(M);
    try {
      return texts.map((t, i) => {
        const rc = M._vsw_embed(this.#enc, role, s.str(t), out);
        s.free();
        if (rc !== 0) throw lastError(M, { index: firstIndex + i, field: "text" });
        return M.HEAPF32.slice(out >>> 2, (out >>> 2) + dim);
      });
    } finally {
      M._vsw_free(out);
      s.free();
    }
  }
}

const CONSTRUCT = Symbol("construct");

function openEncoder(M, model) {
  const s = new Scratch(M);
  try {
    const e = M._vsw_encoder_open(s.str(model));
    if (!e) throw lastError(M);
    return e;
  } finally {
    s.free();
  }
}

function removeDir(M, dir) {
  try {
    for (const n of M.FS.readdir(dir)) if (n !== "." && n !== "..") M.FS.unlink(`${dir}/${n}`);
    M.FS.rmdir(dir);
  } catch {
    // already gone
  }
}

async function loadPersist() {
  try {
    return await import("./persist.js");
  } catch (e) {
    throw new VecStoreError("unsupported", `persistence is not available here (${e.message})`);
  }
}
