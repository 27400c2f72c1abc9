// The npm package's API in Node: create, upsert, search, delete, errors,
// save/load. Run by tests/run.sh (node --test, TAP).
import assert from "node:assert/strict";
import test from "node:test";
import { readFileSync } from "node:fs";

import { cosine, pkg, randomVectors } from "./helpers.mjs";

const { VecStore, VecStoreError, simdSupported } = await pkg();

const fruit = [
  { id: "a", vector: [1, 0, 0, 0], text: "red apples from the orchard", metadata: { year: 2021, lang: "en" }, docId: "d1" },
  { id: "b", vector: [0, 1, 0, 0], text: "green pears and plums", metadata: { year: 2019, lang: "en" } },
  { id: "c", vector: [0, 0, 1, 0], text: "rote Äpfel", metadata: { year: 2023, lang: "de" } },
];

async function fruitStore(opts = {}) {
  const s = await VecStore.create({ dim: 4, ...opts });
  s.upsert(fruit);
  return s;
}

function rejectsWith(fn, status) {
  let err;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof VecStoreError, `expected a VecStoreError, got ${err}`);
  assert.equal(err.status, status, err.message);
  return err;
}

test("version is the C library's and SIMD128 is detected", async () => {
  // the repository's one version (VERSION, scripts/version.sh)
  const want = readFileSync(new URL("../../VERSION", import.meta.url), "utf8").trim();
  assert.equal(await VecStore.version(), want);
  assert.equal(simdSupported(), true); // Node 20 has SIMD128
});

test("create: a new store's info", async () => {
  const s = await VecStore.create({ dim: 8, metric: "dot" });
  assert.deepEqual(s.info(), {
    records: 0, tombstones: 0, generation: 1, segments: 0, dim: 8, metric: "dot",
    model: "", hasTextIndex: true, hnswM: 16,
  });
  assert.equal(s.size, 0);
  s.close();
});

test("create: bad settings are config errors naming the field", async () => {
  for (const [opts, field] of [
    [{ dim: -1 }, "dim"], [{ dim: 70000 }, "dim"], [{ dim: 4, metric: "manhattan" }, "metric"],
    [{ dim: 4, quant: "pq" }, "quant"], [{ dim: 4, hnswM: 1 }, "hnsw_m"], [{}, "dim"],
    [{ model: "minilm" }, "model"], [{ dim: 4, analyzer: 1, text: "lang=klingon" }, "analyzer"],
  ]) {
    await assert.rejects(VecStore.create(opts), (e) => {
      assert.ok(e instanceof VecStoreError);
      // a model that is not built in cannot give the dimension: unsupported
      assert.equal(e.status, opts.model ? "unsupported" : "config", `${JSON.stringify(opts)}: ${e.message}`);
      assert.equal(e.field, field, JSON.stringify(opts));
      return true;
    });
  }
});

test("upsert and vector search: the nearest first, with text, metadata and docId", async () => {
  const s = await fruitStore();
  assert.equal(s.size, 3);
  const hits = s.search([0.9, 0.1, 0, 0], { k: 2 });
  assert.deepEqual(hits.map((h) => [h.id, h.rank]), [["a", 1], ["b", 2]]);
  assert.ok(Math.abs(hits[0].score - cosine([0.9, 0.1, 0, 0], [1, 0, 0, 0])) < 1e-6);
  assert.ok(Math.abs(hits[0].distance - (1 - hits[0].score)) < 1e-6);
  assert.equal(hits[0].text, "red apples from the orchard");
  assert.deepEqual(hits[0].metadata, { year: 2021, lang: "en" });
  assert.equal(hits[0].docId, "d1");
  assert.equal(hits[1].docId, undefined);
});

test("a Float32Array and a number[] query give the same hits", async () => {
  const s = await fruitStore();
  assert.deepEqual(s.search(new Float32Array([0, 0.2, 1, 0])), s.search([0, 0.2, 1, 0]));
});

test("upsert of an id already stored replaces it", async () => {
  const s = await fruitStore();
  s.upsert({ id: "a", vector: [0, 0, 0, 1], text: "now a fourth axis" });
  assert.equal(s.size, 3);
  const [hit] = s.search([0, 0, 0, 1], { k: 1 });
  assert.equal(hit.id, "a");
  assert.equal(hit.text, "now a fourth axis");
  assert.equal(hit.metadata, undefined);
});

test("a record of the wrong dimension: error with its index, none of the call stored", async () => {
  const s = await fruitStore();
  const e = rejectsWith(() => s.upsert([{ id: "x", vector: [1, 1, 1, 1] }, { id: "y", vector: [1, 2] }]), "dimension");
  assert.equal(e.index, 1);
  assert.equal(e.field, "vector");
  assert.equal(s.size, 3);
  assert.ok(!s.search([1, 1, 1, 1], { k: 10 }).some((h) => h.id === "x"));
});

test("a NaN the C library rejects: the call rolls back, the next call works", async () => {
  const s = await fruitStore();
  const gen = s.info().generation;
  const e = rejectsWith(() => s.upsert([{ id: "x", vector: [1, 1, 1, 1] }, { id: "y", vector: [NaN, 1, 1, 1] }]), "nonfinite");
  assert.equal(e.index, 1);
  assert.equal(e.code, 10);
  assert.equal(s.size, 3);
  assert.equal(s.info().generation, gen);
  assert.equal(s.upsert({ id: "x", vector: [1, 1, 1, 1] }), 1);
  assert.equal(s.size, 4);
});

test("bad records: id, text, metadata, missing vector", async () => {
  const s = await fruitStore();
  assert.equal(rejectsWith(() => s.upsert({ id: "", vector: [1, 0, 0, 0] }), "field").field, "id");
  assert.equal(rejectsWith(() => s.upsert({ vector: [1, 0, 0, 0] }), "field").field, "id");
  assert.equal(rejectsWith(() => s.upsert({ id: "t", vector: [1, 0, 0, 0], text: 7 }), "field").field, "text");
  assert.equal(rejectsWith(() => s.upsert({ id: "m", vector: [1, 0, 0, 0], metadata: [1] }), "json").field, "metadata");
  assert.equal(rejectsWith(() => s.upsert({ id: "v", text: "no vector" }), "field").field, "vector");
  assert.equal(rejectsWith(() => s.upsert({ id: "w", vector: "1,0,0,0" }), "field").field, "vector");
  assert.equal(rejectsWith(() => s.upsert({ id: "z", vector: [0, 0, 0, 0] }), "data").index, 0);
  assert.equal(s.size, 3);
});

test("delete by ids counts what was there", async () => {
  const s = await fruitStore();
  assert.equal(s.delete(["a", "nope"]), 1);
  assert.equal(s.delete("b"), 1);
  assert.equal(s.delete("b"), 0);
  assert.equal(s.size, 1);
  assert.deepEqual(s.search([1, 0, 0, 0]).map((h) => h.id), ["c"]);
});

test("delete by filter", async () => {
  const s = await fruitStore();
  assert.equal(s.delete({ filter: 'lang = "en"' }), 2);
  assert.deepEqual(s.search([1, 1, 1, 0]).map((h) => h.id), ["c"]);
  assert.equal(s.info().tombstones, 2);
});

test("a filter that does not parse: status filter with its column, the store still works", async () => {
  const s = await fruitStore();
  const e = rejectsWith(() => s.search([1, 0, 0, 0], { filter: "year >>= 3" }), "filter");
  assert.ok(e.col > 0, e.message);
  rejectsWith(() => s.delete({ filter: "year <" }), "filter");
  assert.equal(s.size, 3);
  assert.equal(s.search([1, 0, 0, 0], { k: 1 })[0].id, "a");
});

test("search filters on metadata", async () => {
  const s = await fruitStore();
  assert.deepEqual(s.search([1, 0, 0, 0], { filter: "year >= 2020" }).map((h) => h.id).sort(), ["a", "c"]);
  assert.deepEqual(s.search([1, 0, 0, 0], { filter: 'lang = "de" AND year > 2022' }).map((h) => h.id), ["c"]);
  assert.deepEqual(s.search([1, 0, 0, 0], { filter: "year > 3000" }), []);
});

test("text search (BM25) stems and folds", async () => {
  const s = await fruitStore();
  const hits = s.search("apple", { mode: "text" });
  assert.equal(hits[0].id, "a");
  assert.ok(hits[0].score > 0);
  assert.equal(hits[0].distance, undefined);
  assert.deepEqual(s.search("plum", { mode: "text" }).map((h) => h.id), ["b"]);
});

test("a store without a text index refuses text search", async () => {
  const s = await fruitStore({ text: false });
  assert.equal(s.info().hasTextIndex, false);
  rejectsWith(() => s.search("apple", { mode: "text" }), "unsupported");
  rejectsWith(() => s.search("apple"), "field"); // no text index and no model to embed it
});

test("the hash model: records without vectors, string queries in vector and hybrid mode", async () => {
  const s = await VecStore.create({ model: "hash", dim: 256 });
  assert.equal(s.info().model, "hash-v1:256");
  s.upsert([
    { id: "fox", text: "the quick brown fox jumps" },
    { id: "dog", text: "a lazy dog sleeps all day" },
    { id: "cat", text: "cats chase mice at night" },
  ]);
  assert.equal(s.search("quick brown fox", { mode: "vector", k: 1 })[0].id, "fox");
  const hybrid = s.search("lazy dog", { k: 3 });
  assert.equal(hybrid[0].id, "dog");
  assert.equal(hybrid.length, 3);
  assert.ok(hybrid[0].score > hybrid[1].score);
});

test("embed: unit vectors, the same text gives the same vector", async () => {
  const s = await VecStore.create({ model: "hash", dim: 64 });
  const [a, b, c] = s.embed(["hello world", "hello world", "something else"]);
  assert.equal(a.length, 64);
  assert.ok(Math.abs(cosine(a, a) - 1) < 1e-5);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  const plain = await VecStore.create({ dim: 4 });
  rejectsWith(() => plain.embed(["x"]), "unsupported");
});

test("save and load: the same records, settings and hits", async () => {
  const s = await fruitStore({ metric: "l2" });
  s.delete("b");
  const bytes = s.save();
  assert.ok(bytes instanceof Uint8Array);
  assert.equal(bytes.length % 512, 0); // a tar
  const t = await VecStore.load(bytes);
  assert.deepEqual(t.info(), s.info());
  const q = [0.5, 0.1, 0.7, 0];
  assert.deepEqual(t.search(q), s.search(q));
  assert.deepEqual(t.search("apples", { mode: "text" }), s.search("apples", { mode: "text" }));
  // the copy is a store of its own
  t.upsert({ id: "n", vector: [0, 0, 0, 1] });
  assert.equal(t.size, 3);
  assert.equal(s.size, 2);
  const u = await VecStore.load(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  assert.equal(u.size, 2);
});

test("files() and load(files)", async () => {
  const s = await fruitStore();
  const files = s.files();
  assert.deepEqual(files.map((f) => f.name), ["MANIFEST", "seg-00000001.vseg"]);
  const t = await VecStore.load(files);
  assert.deepEqual(t.search([0, 0, 1, 0]), s.search([0, 0, 1, 0]));
});

test("load refuses what is not a store", async () => {
  await assert.rejects(VecStore.load(new Uint8Array(1000).fill(7)), { status: "corrupt" });
  await assert.rejects(VecStore.load(new Uint8Array(1024)), { status: "no_store" });
  const s = await fruitStore();
  const bytes = s.save();
  await assert.rejects(VecStore.load(bytes.subarray(0, 700)), { status: "corrupt" });
  const files = s.files();
  const seg = files[1].bytes.slice();
  seg[seg.length - 10] ^= 0xff;
  await assert.rejects(VecStore.load([files[0], { name: files[1].name, bytes: seg }]), (e) => {
    assert.ok(e instanceof VecStoreError);
    assert.ok(["corrupt", "data"].includes(e.status), e.message);
    return true;
  });
  await assert.rejects(VecStore.load([files[0]]), { status: "corrupt", field: "seg-00000001.vseg" });
  await assert.rejects(VecStore.load("kb.vs"), { status: "usage" });
});

test("bad search options are usage errors", async () => {
  const s = await fruitStore();
  rejectsWith(() => s.search([1, 0, 0, 0], { k: 0 }), "usage");
  rejectsWith(() => s.search([1, 0, 0, 0], { mode: "fuzzy" }), "usage");
  rejectsWith(() => s.search([1, 0, 0, 0], { alpha: 2 }), "usage");
  rejectsWith(() => s.search([1, 0, 0], {}), "dimension");
  rejectsWith(() => s.search({ vector: [1, 0, 0, 0] }), "field");
  assert.equal(s.search([1, 0, 0, 0], { k: 1 }).length, 1);
});

test("a closed store refuses calls", async () => {
  const s = await fruitStore();
  s.close();
  s.close();
  rejectsWith(() => s.search([1, 0, 0, 0]), "usage");
  rejectsWith(() => s.upsert(fruit), "usage");
  rejectsWith(() => s.save(), "usage");
});

test("stores are independent", async () => {
  const a = await VecStore.create({ dim: 2 });
  const b = await VecStore.create({ dim: 3 });
  a.upsert({ id: "x", vector: [1, 0] });
  b.upsert([{ id: "y", vector: [1, 0, 0] }, { id: "z", vector: [0, 1, 0] }]);
  assert.equal(a.size, 1);
  assert.equal(b.size, 2);
  a.close();
  assert.equal(b.search([0, 1, 0], { k: 1 })[0].id, "z");
});

test("metrics: dot and l2 scores as computed in JS", async () => {
  const vs = randomVectors(50, 16, 7);
  const q = randomVectors(1, 16, 8)[0];
  for (const metric of ["dot", "l2"]) {
    const s = await VecStore.create({ dim: 16, metric, hnswM: 0 });
    s.upsert(vs.map((v, i) => ({ id: `r${i}`, vector: v })));
    const hits = s.search(q, { k: 5 });
    const want = vs.map((v, i) => {
      let dot = 0, l2 = 0;
      for (let j = 0; j < 16; j++) {
        dot += v[j] * q[j];
        l2 += (v[j] - q[j]) ** 2;
      }
      return { id: `r${i}`, score: metric === "dot" ? dot : -l2 };
    }).sort((x, y) => y.score - x.score).slice(0, 5);
    assert.deepEqual(hits.map((h) => h.id), want.map((w) => w.id), metric);
    hits.forEach((h, i) => assert.ok(Math.abs(h.score - want[i].score) < 1e-4, `${metric} ${h.score} ${want[i].score}`));
  }
});

test("HNSW against exact search: recall@10 of 2000 x 32 at ef 64", async () => {
  const vs = randomVectors(2000, 32, 11);
  const qs = randomVectors(50, 32, 12);
  const s = await VecStore.create({ dim: 32, hnswM: 16, seed: 3 });
  s.upsert(vs.map((v, i) => ({ id: `r${i}`, vector: v })));
  let found = 0;
  for (const q of qs) {
    const exact = new Set(s.search(q, { k: 10, exact: true }).map((h) => h.id));
    found += s.search(q, { k: 10, ef: 64 }).filter((h) => exact.has(h.id)).length;
  }
  const recall = found / (qs.length * 10);
  assert.ok(recall >= 0.9, `recall@10 ${recall}`);
  // the exact scan is the true top 10 (JS cosine)
  const q = qs[0];
  const truth = vs.map((v, i) => [`r${i}`, cosine(v, q)]).sort((a, b) => b[1] - a[1]).slice(0, 10).map((x) => x[0]);
  assert.deepEqual(s.search(q, { k: 10, exact: true }).map((h) => h.id), truth);
});

test("quantised graphs (sq8) still find the nearest", async () => {
  const vs = randomVectors(1500, 24, 21);
  const s = await VecStore.create({ dim: 24, quant: "sq8", seed: 1 });
  s.upsert(vs.map((v, i) => ({ id: `r${i}`, vector: v })));
  for (const i of [0, 500, 1499]) assert.equal(s.search(vs[i], { k: 1 })[0].id, `r${i}`);
});

test("outside browsers persist and open say so with a VecStoreError", async () => {
  const s = await fruitStore();
  await assert.rejects(s.persist("kb"), (e) => e instanceof VecStoreError);
  await assert.rejects(VecStore.open("kb"), (e) => e instanceof VecStoreError);
});

test("hybrid fusion methods: rrf, weighted and dbsf each rank the record that wins both sides first", async () => {
  const s = await VecStore.create({ model: "hash", dim: 128 });
  s.upsert([
    { id: "both", text: "solar panels on the roof" },
    { id: "other", text: "wind turbines at sea" },
    { id: "third", text: "coal power plants" },
  ]);
  for (const fusion of ["rrf", "weighted", "dbsf"]) {
    const hits = s.search("solar panels", { mode: "hybrid", fusion, alpha: 0.5, k: 3 });
    assert.equal(hits[0].id, "both", fusion);
    assert.deepEqual(hits.map((h) => h.rank), hits.map((_, i) => i + 1));
  }
  const a = s.search("solar panels", { mode: "hybrid", fusion: "rrf", rrfK: 1, k: 3 });
  const b = s.search("solar panels", { mode: "hybrid", fusion: "rrf", rrfK: 100, k: 3 });
  assert.ok(a[0].score > b[0].score); // 1/(k+rank) falls as k grows
  rejectsWith(() => s.search("solar", { fusion: "max" }), "usage");
});
