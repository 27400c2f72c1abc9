// persist.js: a vecstore store in the browser's IndexedDB, as blobs of
// immutable segment files behind one head record per name.
//
// index.js loads this module with a dynamic import() only when
// store.persist(name) or VecStore.open(name) is called, so Node and edge
// bundles do not carry it. The contract: persist(store, name) reads
// store.files(); open(name, VecStore) calls VecStore.load(files).
//
// Layout (database "vecstore", version 1):
//   object store "heads":    key = name -> { name, generation, savedAt,
//                            files: [{ name, size, key?, bytes? }] }
//   object store "segments": key = "<name>\u0000<file>\u0000<identity>"
//                            -> Blob of the file's bytes
// A segment file (seg-*.vseg) never changes once written, so it is stored
// once and shared by every later generation of the name: its identity is
// its size and the XXH64 its own header ends with (which covers the
// section table and so every section's checksum), and a persist writes only
// the segments the name does not hold yet. The small files (MANIFEST,
// deletion files) are kept inside the head record. One readwrite
// transaction writes the new segments, replaces the head and deletes the
// segments no longer named by it: IndexedDB commits all of it or none, so a
// crash or a closed tab leaves the previous generation or the new one. This
// is not Emscripten's IDBFS (whose sync of a whole file system loses data on
// some browsers): nothing is mirrored, a generation is one transaction.

import { VecStoreError } from "./index.js";

const DB_NAME = "vecstore";
const DB_VERSION = 1;
const HEADS = "heads";
const SEGMENTS = "segments";
const SEP = "\u0000";

function fail(status, detail) {
    return new VecStoreError(status, detail);
}

function idb() {
    const f = globalThis.indexedDB;
    if (!f) throw fail("unsupported", "IndexedDB is not available in this runtime (persist and open are for browsers)");
    return f;
}

function checkName(name) {
    if (typeof name !== "string" || name.length === 0 || name.length > 256 || name.includes(SEP))
        throw fail("usage", "a persisted store's name is a non-empty string of at most 256 characters without NUL");
}

function req(r) {
    return new Promise((resolve, reject) => {
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error);
    });
}

function txDone(tx) {
    return new Promise((resolve, reject) => {
        tx.oncomplete = () => resolve();
        tx.onerror = () => reject(tx.error);
        tx.onabort = () => reject(tx.error || new Error("transaction aborted"));
    });
}

let dbPromise = null;
function openDb() {
    if (dbPromise) return dbPromise;
    const r = idb().open(DB_NAME, DB_VERSION);
    r.onupgradeneeded = () => {
        const db = r.result;
        if (!db.objectStoreNames.contains(HEADS)) db.createObjectStore(HEADS);
        if (!db.objectStoreNames.contains(SEGMENTS)) db.createObjectStore(SEGMENTS);
    };
    dbPromise = req(r).then(
        (db) => {
            // another tab upgrading the database: let it, open again next time
            db.onversionchange = () => { db.close(); dbPromise = null; };
            return db;
        },
        (e) => { dbPromise = null; throw fail("io", `cannot open IndexedDB database "${DB_NAME}": ${e && e.message}`); });
    return dbPromise;
}

function hex64(bytes, at) {
    let s = "";
    for (let i = at + 7; i >= at; i--) s += bytes[i].toString(16).padStart(2, "0");
    return s;
}

// The identity of an immutable segment file: its size and its header's
// XXH64 (bytes 56..63 of the 64-byte header; docs/store-format.md).
function segmentIdentity(file) {
    const b = file.bytes;
    const magic = "VSSEGMT\x1a";
    if (b.length < 64) return null;
    for (let i = 0; i < 8; i++) if (b[i] !== magic.charCodeAt(i)) return null;
    return `${b.length}-${hex64(b, 56)}`;
}

function segKey(name, file, identity) {
    return name + SEP + file + SEP + identity;
}

function keyRange(name) {
    return IDBKeyRange.bound(name + SEP, name + SEP + "\uffff");
}

/** Write store's current generation to IndexedDB under name (see above). */
export async function persist(store, name) {
    checkName(name);
    idb();
    const files = store.files();
    const info = store.info();
    const plan = files.map((f) => {
        const id = f.name.endsWith(".vseg") ? segmentIdentity(f) : null;
        return id ? { name: f.name, size: f.bytes.length, key: segKey(name, f.name, id), file: f }
                  : { name: f.name, size: f.bytes.length, bytes: f.bytes.slice(), file: null };
    });
    const head = {
        name,
        generation: info.generation,
        savedAt: Date.now(),
        files: plan.map((p) => (p.key ? { name: p.name, size: p.size, key: p.key }
                                       : { name: p.name, size: p.size, bytes: p.bytes })),
    };
    const keep = new Set(plan.filter((p) => p.key).map((p) => p.key));
    const db = await openDb();
    const tx = db.transaction([HEADS, SEGMENTS], "readwrite", { durability: "strict" });
    const done = txDone(tx);
    const segs = tx.objectStore(SEGMENTS);
    const stats = { written: 0, reused: 0, deleted: 0, bytesWritten: 0 };
    segs.getAllKeys(keyRange(name)).onsuccess = (ev) => {
        const have = new Set(ev.target.result);
        for (const p of plan) {
            if (!p.key) continue;
            if (have.has(p.key)) { stats.reused++; continue; }
            segs.put(new Blob([p.file.bytes]), p.key);
            stats.written++;
            stats.bytesWritten += p.size;
        }
        for (const k of have) {
            if (!keep.has(k)) { segs.delete(k); stats.deleted++; }
        }
        tx.objectStore(HEADS).put(head, name);
    };
    try {
        await done;
    } catch (e) {
        const quota = e && e.name === "QuotaExceededError";
        throw fail(quota ? "no_space" : "io",
                   `persisting "${name}" to IndexedDB failed, the previous generation is kept: ${e && (e.message || e.name)}`);
    }
    return stats;
}

async function readHead(name) {
    const db = await openDb();
    const tx = db.transaction([HEADS, SEGMENTS], "readonly");
    const done = txDone(tx);
    const head = await req(tx.objectStore(HEADS).get(name));
    if (!head) { await done; return null; }
    const segs = tx.objectStore(SEGMENTS);
    const blobs = await Promise.all(head.files.map((f) => (f.key ? req(segs.get(f.key)) : null)));
    await done;
    return { head, blobs };
}

/** The store persisted under name, through VecStore.load(files). */
export async function open(name, VecStore) {
    checkName(name);
    idb();
    let got;
    try {
        got = await readHead(name);
    } catch (e) {
        if (e instanceof VecStoreError) throw e;
        throw fail("io", `reading "${name}" from IndexedDB failed: ${e && (e.message || e.name)}`);
    }
    if (!got) throw fail("no_store", `no store persisted under the name "${name}" in this origin's IndexedDB`);
    const { head, blobs } = got;
    const files = await Promise.all(head.files.map(async (f, i) => {
        if (!f.key) return { name: f.name, bytes: new Uint8Array(f.bytes) };
        const blob = blobs[i];
        if (!blob) throw fail("corrupt", `persisted store "${name}": segment ${f.name} is missing from IndexedDB`);
        const bytes = new Uint8Array(await blob.arrayBuffer());
        if (bytes.length !== f.size)
            throw fail("corrupt", `persisted store "${name}": segment ${f.name} has ${bytes.length} bytes, its head says ${f.size}`);
        return { name: f.name, bytes };
    }));
    return VecStore.load(files);
}

/** The names persisted in this origin, with their generation, time and
 *  bytes: [{ name, generation, savedAt, bytes }]. */
export async function list() {
    idb();
    const db = await openDb();
    const tx = db.transaction([HEADS], "readonly");
    const heads = await req(tx.objectStore(HEADS).getAll());
    return heads.map((h) => ({
        name: h.name,
        generation: h.generation,
        savedAt: h.savedAt,
        bytes: h.files.reduce((n, f) => n + f.size, 0),
    }));
}

/** Delete the store persisted under name and its segments. Returns whether
 *  there was one. */
export async function remove(name) {
    checkName(name);
    idb();
    const db = await openDb();
    const tx = db.transaction([HEADS, SEGMENTS], "readwrite");
    const done = txDone(tx);
    const had = await req(tx.objectStore(HEADS).getKey(name));
    tx.objectStore(HEADS).delete(name);
    tx.objectStore(SEGMENTS).delete(keyRange(name));
    await done;
    return had !== undefined;
}
