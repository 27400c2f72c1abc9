// The npm package in real headless Chromium (Debian's chromium through
// playwright-core): loading, search, filters, errors, save/load, IndexedDB
// persistence across a reload and a browser restart, a Web Worker, and
// stores crossing between the browser and the vs-* programs.
// Run by tests/wasm/browser/run.sh (TAP); a file of its own:
//   node --test tests/wasm/browser/browser.test.mjs
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFileSync } from "node:child_process";
import * as H from "./harness.mjs";

const PAGES = path.join(H.ROOT, "tests/wasm/browser/pages");
const BIN = process.env.VS_BIN || path.join(H.ROOT, "build/bin");
const why = H.missing();
let srv, br, pkg;

before(async () => {
    if (why) return;
    pkg = H.installPackage();
    srv = await H.serve({ "/pkg/": pkg, "/t/": PAGES },
                        H.testFiles(pkg));
    br = await H.launch();
});

after(async () => {
    if (br) await br.close();
    if (srv) await srv.close();
});

function btest(name, fn) {
    test(name, why ? { skip: why } : {}, fn);
}

async function fresh(path_ = "/t/index.html") {
    const page = await br.page();
    await page.goto(srv.url + path_);
    return page;
}

async function done(page) {
    assert.deepEqual(page.errors, [], "no page errors or console errors");
    await page.close();
}

btest("the package loads in Chromium from the static server alone (no other request), SIMD128 build", async () => {
    const before_ = srv.requests.length;
    const page = await fresh();
    const r = await page.evaluate(async () => {
        const m = await import("vecstore");
        return { version: await m.VecStore.version(), simd: m.simdSupported(),
                 names: Object.keys(m).sort() };
    });
    assert.match(r.version, /^\d+\.\d+\.\d+$/);
    assert.equal(r.simd, true, "Chromium runs WebAssembly SIMD128");
    assert.ok(r.names.includes("VecStore") && r.names.includes("VecStoreError"), r.names.join(","));
    const asked = srv.requests.slice(before_);
    assert.ok(asked.length > 0);
    for (const p of asked) assert.ok(p.startsWith("/pkg/") || p.startsWith("/t/"), `unexpected request ${p}`);
    await done(page);
});

btest("create, upsert, search: nearest of three, ranks from 1, scores descending, text and metadata back", async () => {
    const page = await fresh();
    const r = await page.evaluate(async () => {
        const { VecStore } = await import("vecstore");
        const s = await VecStore.create({ dim: 4, metric: "cosine", hnswM: 0 });
        const n = s.upsert([
            { id: "a", vector: [1, 0, 0, 0], text: "alpha", metadata: { n: 1 } },
            { id: "b", vector: new Float32Array([0, 1, 0, 0]), text: "beta" },
            { id: "c", vector: [0.9, 0.1, 0, 0], metadata: { n: 3 } },
        ]);
        const hits = s.search([1, 0, 0, 0], { k: 3 });
        const size = s.size;
        s.close();
        return { n, size, hits };
    });
    assert.equal(r.n, 3);
    assert.equal(r.size, 3);
    assert.deepEqual(r.hits.map((h) => h.id), ["a", "c", "b"]);
    assert.deepEqual(r.hits.map((h) => h.rank), [1, 2, 3]);
    assert.ok(Math.abs(r.hits[0].score - 1) < 1e-5, `score ${r.hits[0].score}`);
    assert.ok(r.hits[0].score >= r.hits[1].score && r.hits[1].score >= r.hits[2].score);
    assert.equal(r.hits[0].text, "alpha");
    assert.deepEqual(r.hits[0].metadata, { n: 1 });
    assert.equal(r.hits[2].text, "beta");
    await done(page);
});

btest("bad input throws VecStoreError with its status, changes nothing, and the next call works", async () => {
    const page = await fresh();
    const r = await page.evaluate(async () => {
        const { VecStore, VecStoreError } = await import("vecstore");
        const s = await VecStore.create({ dim: 3 });
        s.upsert({ id: "x", vector: [1, 2, 3] });
        const errs = [];
        const tryIt = (f) => {
            try { f(); errs.push(null); } catch (e) {
                errs.push({ cls: e instanceof VecStoreError, status: e.status, index: e.index, col: e.col });
            }
        };
        tryIt(() => s.upsert([{ id: "y", vector: [1, 2, 3] }, { id: "z", vector: [1, 2] }]));
        tryIt(() => s.upsert({ id: "w", vector: [1, NaN, 3] }));
        tryIt(() => s.search([1, 2, 3], { filter: "year >= " }));
        tryIt(() => s.search([1, 2], {}));
        const after = s.search([1, 2, 3], { k: 5 }).map((h) => h.id);
        return { errs, after, size: s.size };
    });
    assert.deepEqual(r.errs[0], { cls: true, status: "dimension", index: 1, col: undefined });
    assert.equal(r.errs[1].status, "nonfinite");
    assert.equal(r.errs[2].status, "filter");
    assert.equal(r.errs[3].status, "dimension");
    assert.ok(r.errs.every((e) => e && e.cls), JSON.stringify(r.errs));
    assert.deepEqual(r.after, ["x"], "the failed upserts stored nothing (all or nothing)");
    assert.equal(r.size, 1);
    await done(page);
});

btest("10k x 384 vectors (100 clusters) in the page: HNSW recall@10 >= 0.95 against the exact scan, k hits each", async () => {
    const page = await fresh();
    const r = await page.evaluate(async () => {
        const { VecStore } = await import("vecstore");
        const U = await import("/t/util.js");
        const s = await VecStore.create({ dim: 384, metric: "cosine" });
        const base = U.mixtureVectors(10000, 384, 7);
        const recs = [];
        for (let i = 0; i < 10000; i++) recs.push({ id: `r${i}`, vector: base.subarray(i * 384, (i + 1) * 384) });
        s.upsert(recs);
        const qv = U.mixtureVectors(50, 384, 99);
        const got = [], want = [];
        for (let q = 0; q < 50; q++) {
            const v = qv.subarray(q * 384, (q + 1) * 384);
            got.push(s.search(v, { k: 10, ef: 128 }));
            want.push(s.search(v, { k: 10, exact: true }));
        }
        return { size: s.size, recall: U.recallAt(10, got, want), lens: got.map((h) => h.length),
                 info: s.info() };
    });
    assert.equal(r.size, 10000);
    assert.ok(r.lens.every((n) => n === 10));
    assert.ok(r.recall >= 0.95, `recall@10 ${r.recall}`);
    assert.equal(r.info.dim, 384);
    assert.equal(r.info.records, 10000);
    await done(page);
});

btest("filters: only matching records come back; delete by filter removes exactly those", async () => {
    const page = await fresh();
    const r = await page.evaluate(async () => {
        const { VecStore } = await import("vecstore");
        const U = await import("/t/util.js");
        const s = await VecStore.create({ dim: 16, hnswM: 0 });
        s.upsert(U.randomRecords(500, 16, 3));
        const q = U.randomVectors(1, 16, 5);
        const g3 = s.search(q, { k: 20, filter: "group = 3" });
        const odd = s.search(q, { k: 500, filter: "even = false AND group >= 5" });
        const deleted = s.delete({ filter: "group = 3" });
        const g3after = s.search(q, { k: 20, filter: "group = 3" });
        const byId = s.delete(["r0", "r1", "nope"]);
        return { g3: g3.map((h) => h.metadata.group), odd: odd.map((h) => h.metadata),
                 deleted, g3after: g3after.length, byId, size: s.size };
    });
    assert.equal(r.g3.length, 20);
    assert.ok(r.g3.every((g) => g === 3));
    assert.equal(r.odd.length, 150, "groups 5, 7 and 9 hold the odd rows >= 5: 3 x 50");
    assert.ok(r.odd.every((m) => m.even === false && m.group >= 5));
    assert.equal(r.deleted, 50);
    assert.equal(r.g3after, 0);
    assert.equal(r.byId, 2, "a missing id is not an error and not counted");
    assert.equal(r.size, 448);
    await done(page);
});

btest("save() then load() in the page: same info, same files, same hits", async () => {
    const page = await fresh();
    const r = await page.evaluate(async () => {
        const { VecStore } = await import("vecstore");
        const U = await import("/t/util.js");
        const s = await VecStore.create({ dim: 32 });
        s.upsert(U.randomRecords(2000, 32, 11));
        s.delete(["r5", "r6"]);
        const q = U.randomVectors(5, 32, 12);
        const before = [0, 1, 2, 3, 4].map((i) => s.search(q.subarray(i * 32, i * 32 + 32), { k: 10 }));
        const bytes = s.save();
        const t = await VecStore.load(bytes);
        const t2 = await VecStore.load(s.files());
        const after = [0, 1, 2, 3, 4].map((i) => t.search(q.subarray(i * 32, i * 32 + 32), { k: 10 }));
        const after2 = [0, 1, 2, 3, 4].map((i) => t2.search(q.subarray(i * 32, i * 32 + 32), { k: 10 }));
        const ustar = String.fromCharCode(...bytes.subarray(257, 262));
        return { before, after, after2, ustar, a: s.info(), b: t.info(), tar: bytes.length,
                 again: t.save().length };
    });
    assert.equal(r.ustar, "ustar", "save() is a POSIX tar");
    assert.deepEqual(r.after, r.before);
    assert.deepEqual(r.after2, r.before);
    assert.equal(r.b.records, 1998);
    assert.deepEqual({ ...r.b }, { ...r.a });
    assert.equal(r.again, r.tar, "saving a loaded store gives as many bytes");
    await done(page);
});

btest("persist(name), reload the page, VecStore.open(name): the same store and hits", async () => {
    const page = await fresh();
    const a = await page.evaluate(async () => {
        const { VecStore } = await import("vecstore");
        const U = await import("/t/util.js");
        const s = await VecStore.create({ dim: 64, text: true });
        const recs = U.randomRecords(3000, 64, 21);
        recs[7].text = "the persisted record";
        s.upsert(recs);
        await s.persist("reload-test");
        return { hits: s.search(U.randomVectors(1, 64, 22), { k: 10 }), info: s.info() };
    });
    await page.reload();
    const b = await page.evaluate(async () => {
        const { VecStore } = await import("vecstore");
        const U = await import("/t/util.js");
        const s = await VecStore.open("reload-test");
        const text = s.search("persisted", { k: 1, mode: "text" });
        return { hits: s.search(U.randomVectors(1, 64, 22), { k: 10 }), info: s.info(), text };
    });
    assert.deepEqual(b.hits, a.hits);
    assert.equal(b.info.records, 3000);
    assert.equal(b.info.generation, a.info.generation);
    assert.equal(b.text[0].id, "r7");
    await done(page);
});

btest("persist a second generation: old segments are reused, not written again; open gives the new one", async () => {
    const page = await fresh();
    const r = await page.evaluate(async () => {
        const { VecStore } = await import("vecstore");
        const P = await import("vecstore/persist.js");
        const U = await import("/t/util.js");
        const s = await VecStore.create({ dim: 8, hnswM: 0 });
        s.upsert(U.randomRecords(1000, 8, 31));
        const first = await P.persist(s, "gens");
        s.upsert({ id: "new", vector: [1, 1, 1, 1, 1, 1, 1, 1] });
        s.delete("r3");
        const second = await P.persist(s, "gens");
        const t = await VecStore.open("gens");
        const listed = (await P.list()).find((x) => x.name === "gens");
        return { first, second, gen: s.info().generation, opened: t.info(),
                 top: t.search([1, 1, 1, 1, 1, 1, 1, 1], { k: 1 })[0].id,
                 r3: t.search(U.randomVectors(1, 8, 1), { k: 1000 }).some((h) => h.id === "r3"),
                 listed };
    });
    assert.ok(r.first.written >= 1, JSON.stringify(r.first));
    assert.equal(r.first.reused, 0);
    assert.ok(r.second.reused >= 1, `segments of generation 1 reused: ${JSON.stringify(r.second)}`);
    assert.ok(r.second.written >= 1, JSON.stringify(r.second));
    assert.ok(r.second.bytesWritten < r.first.bytesWritten, "the second persist wrote only the small new segment");
    assert.equal(r.opened.generation, r.gen);
    assert.equal(r.opened.records, 1000);
    assert.equal(r.top, "new");
    assert.equal(r.r3, false, "the deletion persisted");
    assert.equal(r.listed.generation, r.gen);
    assert.ok(r.listed.bytes > 1000 * 8 * 4);
    await done(page);
});

btest("open() of a name never persisted throws no_store; remove() deletes a persisted store", async () => {
    const page = await fresh();
    const r = await page.evaluate(async () => {
        const { VecStore, VecStoreError } = await import("vecstore");
        const P = await import("vecstore/persist.js");
        const out = {};
        try { await VecStore.open("never-persisted"); out.none = "opened"; } catch (e) {
            out.none = { cls: e instanceof VecStoreError, status: e.status };
        }
        const s = await VecStore.create({ dim: 2 });
        s.upsert({ id: "a", vector: [1, 0] });
        await s.persist("to-remove");
        out.removed = await P.remove("to-remove");
        out.removedAgain = await P.remove("to-remove");
        try { await VecStore.open("to-remove"); out.after = "opened"; } catch (e) { out.after = e.status; }
        try { await s.persist(""); out.empty = "persisted"; } catch (e) { out.empty = e.status; }
        out.usable = s.search([1, 0], { k: 1 })[0].id;
        return out;
    });
    assert.deepEqual(r.none, { cls: true, status: "no_store" });
    assert.equal(r.removed, true);
    assert.equal(r.removedAgain, false);
    assert.equal(r.after, "no_store");
    assert.equal(r.empty, "usage");
    assert.equal(r.usable, "a");
    await done(page);
});

btest("a persisted store survives closing and restarting the browser (same profile)", async () => {
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), "vs-profile-"));
    const { chromium } = H.webRequire("playwright-core");
    const launch = () => chromium.launchPersistentContext(profile, {
        executablePath: H.CHROMIUM, headless: true, args: H.CHROMIUM_ARGS });
    try {
        let ctx = await launch();
        let page = await ctx.newPage();
        await page.goto(srv.url + "/t/index.html");
        const a = await page.evaluate(async () => {
            const { VecStore } = await import("vecstore");
            const s = await VecStore.create({ dim: 3 });
            s.upsert([{ id: "kept", vector: [0, 0, 1], metadata: { k: true } }, { id: "x", vector: [1, 0, 0] }]);
            await s.persist("restart");
            return s.info().generation;
        });
        await ctx.close();
        ctx = await launch();
        page = await ctx.newPage();
        await page.goto(srv.url + "/t/index.html");
        const b = await page.evaluate(async () => {
            const { VecStore } = await import("vecstore");
            const s = await VecStore.open("restart");
            return { gen: s.info().generation, hit: s.search([0, 0, 1], { k: 1 })[0] };
        });
        await ctx.close();
        assert.equal(b.gen, a);
        assert.equal(b.hit.id, "kept");
        assert.deepEqual(b.hit.metadata, { k: true });
    } finally {
        fs.rmSync(profile, { recursive: true, force: true });
    }
});

btest("a Web Worker: the package in a module worker opens the store the page persisted and searches it", async () => {
    const page = await fresh();
    const r = await page.evaluate(async () => {
        const { VecStore } = await import("vecstore");
        const U = await import("/t/util.js");
        const s = await VecStore.create({ dim: 24 });
        s.upsert(U.randomRecords(1500, 24, 41));
        await s.persist("for-worker");
        const q = Array.from(U.randomVectors(1, 24, 42));
        const mine = s.search(q, { k: 5 });
        const w = new Worker("/t/worker.js", { type: "module" });
        const theirs = await new Promise((resolve, reject) => {
            w.onmessage = (e) => resolve(e.data);
            w.onerror = (e) => reject(new Error(e.message));
            w.postMessage({ name: "for-worker", query: q, k: 5 });
        });
        w.terminate();
        return { mine, theirs };
    });
    assert.equal(r.theirs.error, undefined, r.theirs.error);
    assert.equal(r.theirs.inWorker, true);
    assert.deepEqual(r.theirs.hits, r.mine);
    assert.equal(r.theirs.built, 10, "the worker also built and searched a store of its own");
    await done(page);
});

btest("text and hybrid search with string queries (the hash embedder) in Chromium", async () => {
    const page = await fresh();
    const r = await page.evaluate(async () => {
        const { VecStore } = await import("vecstore");
        const s = await VecStore.create({ dim: 256, model: "hash", text: true });
        s.upsert([
            { id: "fruit", text: "red apples and green pears from the orchard" },
            { id: "space", text: "rockets launch satellites into orbit" },
            { id: "sea", text: "whales and dolphins swim in the ocean" },
        ]);
        return {
            text: s.search("satellites orbit", { k: 3, mode: "text" }).map((h) => h.id),
            hybrid: s.search("apples orchard", { k: 3, mode: "hybrid" }).map((h) => h.id),
            vector: s.search("dolphins ocean", { k: 1, mode: "vector" }).map((h) => h.id),
            embedded: s.embed(["a b c"])[0].length,
        };
    });
    assert.equal(r.text[0], "space");
    assert.equal(r.text.length, 1, "BM25 returns only records sharing a term");
    assert.equal(r.hybrid[0], "fruit");
    assert.deepEqual(r.vector, ["sea"]);
    assert.equal(r.embedded, 256);
    await done(page);
});

// The programs: a store vs-ingest wrote, tarred, fetched and searched in
// the page; and a store saved in the page, opened with vs-query.
const noProgs = fs.existsSync(path.join(BIN, "vs-ingest")) ? null : `no ${BIN}/vs-ingest (make)`;

function progTest(name, fn) {
    test(name, why ? { skip: why } : noProgs ? { skip: noProgs } : {}, fn);
}

function vs(prog, args, input) {
    return execFileSync(path.join(BIN, prog), args, { input, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
}

function ndjsonRecords(n, dim, seed) {
    // the same numbers as pages/util.js's randomVectors
    let a = seed >>> 0;
    const r = () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const lines = [];
    for (let i = 0; i < n; i++) {
        const v = [];
        for (let j = 0; j < dim; j++) v.push(Math.fround(r() * 2 - 1));
        lines.push(JSON.stringify({ id: `r${i}`, vector: v, text: `record ${i}`, metadata: { group: i % 10 } }));
    }
    return lines.join("\n") + "\n";
}

progTest("a store vs-ingest wrote, as a tar, loads in Chromium and gives vs-query's hits", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vs-web-"));
    try {
        const kb = path.join(dir, "kb.vs");
        vs("vs-ingest", [kb, "-q"], ndjsonRecords(1200, 16, 51));
        const q = JSON.parse(ndjsonRecords(1, 16, 52)).vector;
        const out = vs("vs-query", [kb, "-k", "5", "--exact", "-q"], JSON.stringify({ id: "q", vector: q }) + "\n");
        const want = out.split("\n").filter((l) => l.startsWith("{") && l.includes('"rank"'))
            .map((l) => JSON.parse(l)).map((h) => h.id);
        const files = fs.readdirSync(kb).filter((f) => f === "MANIFEST" || /\.(vseg|vdel)$/.test(f));
        fs.mkdirSync(path.join(dir, "www"));
        execFileSync("tar", ["-cf", path.join(dir, "www", "kb.tar"), "-C", kb, ...files]);
        const s2 = await H.serve({ "/pkg/": pkg, "/t/": PAGES, "/data/": path.join(dir, "www") },
                                 H.testFiles(pkg));
        try {
            const page = await br.page();
            await page.goto(s2.url + "/t/index.html");
            const got = await page.evaluate(async (qv) => {
                const { VecStore } = await import("vecstore");
                const bytes = new Uint8Array(await (await fetch("/data/kb.tar")).arrayBuffer());
                const s = await VecStore.load(bytes);
                const hits = s.search(qv, { k: 5, exact: true });
                return { ids: hits.map((h) => h.id), text: hits[0].text, meta: hits[0].metadata, n: s.size };
            }, q);
            assert.equal(got.n, 1200);
            assert.equal(want.length, 5, out);
            assert.deepEqual(got.ids, want);
            assert.match(got.text, /^record \d+$/);
            assert.equal(typeof got.meta.group, "number");
            await done(page);
        } finally {
            await s2.close();
        }
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

progTest("a store saved in Chromium opens with vs-query and vs-index verify", async () => {
    const page = await fresh();
    const r = await page.evaluate(async () => {
        const { VecStore } = await import("vecstore");
        const U = await import("/t/util.js");
        const s = await VecStore.create({ dim: 16, metric: "cosine" });
        s.upsert(U.randomRecords(1500, 16, 61));
        const q = Array.from(U.randomVectors(1, 16, 62));
        const ids = s.search(q, { k: 5, exact: true }).map((h) => h.id);
        const bytes = s.save();
        let bin = "";
        for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
        return { q, ids, b64: btoa(bin) };
    });
    await done(page);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vs-web-"));
    try {
        const kb = path.join(dir, "saved.vs");
        fs.mkdirSync(kb);
        fs.writeFileSync(path.join(dir, "saved.tar"), Buffer.from(r.b64, "base64"));
        execFileSync("tar", ["-xf", path.join(dir, "saved.tar"), "-C", kb]);
        vs("vs-index", ["verify", kb, "-q"]);
        const out = vs("vs-query", [kb, "-k", "5", "--exact", "-q"], JSON.stringify({ id: "q", vector: r.q }) + "\n");
        const ids = out.split("\n").filter((l) => l.startsWith("{") && l.includes('"rank"'))
            .map((l) => JSON.parse(l).id);
        assert.deepEqual(ids, r.ids);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

btest("a persisted segment damaged or lost in IndexedDB: open() throws corrupt, never a wrong answer", async () => {
    const page = await fresh();
    const r = await page.evaluate(async () => {
        const { VecStore } = await import("vecstore");
        const U = await import("/t/util.js");
        const s = await VecStore.create({ dim: 8, hnswM: 0 });
        s.upsert(U.randomRecords(300, 8, 71));
        await s.persist("dmg");
        const db = await new Promise((res, rej) => {
            const q = indexedDB.open("vecstore");
            q.onsuccess = () => res(q.result); q.onerror = () => rej(q.error);
        });
        const tx = (mode) => db.transaction(["segments"], mode).objectStore("segments");
        const keys = await new Promise((res) => {
            tx("readonly").getAllKeys(IDBKeyRange.bound("dmg\u0000", "dmg\u0000\uffff")).onsuccess = (e) => res(e.target.result);
        });
        const blob = await new Promise((res) => { tx("readonly").get(keys[0]).onsuccess = (e) => res(e.target.result); });
        const bytes = new Uint8Array(await blob.arrayBuffer());
        bytes[100] ^= 0xff;   // inside the vectors section, past the header
        await new Promise((res) => { tx("readwrite").put(new Blob([bytes]), keys[0]).onsuccess = res; });
        const out = { segments: keys.length };
        const attempt = async () => {
            try { const t = await VecStore.open("dmg"); t.search(U.randomVectors(1, 8, 1), { k: 5, exact: true }); return "searched"; }
            catch (e) { return e.status; }
        };
        out.flipped = await attempt();
        await new Promise((res) => { tx("readwrite").delete(keys[0]).onsuccess = res; });
        out.missing = await attempt();
        db.close();
        return out;
    });
    assert.equal(r.segments, 1);
    assert.equal(r.flipped, "corrupt");
    assert.equal(r.missing, "corrupt");
    await done(page);
});

btest("a Web Worker builds and persists a store; the page opens it", async () => {
    const page = await fresh();
    const r = await page.evaluate(async () => {
        const { VecStore } = await import("vecstore");
        const w = new Worker("/t/worker.js", { type: "module" });
        const got = await new Promise((resolve, reject) => {
            w.onmessage = (e) => resolve(e.data);
            w.onerror = (e) => reject(new Error(e.message));
            w.postMessage({ name: "from-worker", build: [
                { id: "n", vector: [0, 1, 0, 0], metadata: { side: "north" } },
                { id: "e", vector: [1, 0, 0, 0], metadata: { side: "east" } },
            ] });
        });
        w.terminate();
        const s = await VecStore.open("from-worker");
        return { got, gen: s.info().generation, hit: s.search([0.1, 0.9, 0, 0], { k: 1 })[0] };
    });
    assert.equal(r.got.error, undefined, r.got.error);
    assert.equal(r.got.stats.written, 1);
    assert.equal(r.gen, r.got.generation);
    assert.equal(r.hit.id, "n");
    assert.deepEqual(r.hit.metadata, { side: "north" });
    await done(page);
});
