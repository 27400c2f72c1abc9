// vectorStorage: "f16": a store whose segments keep half floats. save()
// is about half the bytes of a float32 store's, a save/load round trip
// keeps the hits, and such stores cross between the package and the
// programs (vs-index create --vector-storage f16) both ways.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import test from "node:test";

import { binDir, pkg, randomVectors, scratch } from "./helpers.mjs";

const { VecStore, VecStoreError } = await pkg();
const haveBins = existsSync(path.join(binDir, "vs-ingest"));
const skip = haveBins ? false : `no vs-* programs in ${binDir} (make all)`;

const run = (prog, args, input) =>
  execFileSync(path.join(binDir, prog), args, { input, stdio: ["pipe", "pipe", "pipe"], maxBuffer: 1 << 28 }).toString();
const hitsOf = (out) => out.split("\n").filter((l) => l.startsWith("{"))
  .map((l) => JSON.parse(l)).filter((h) => h.id !== undefined && h.rank !== undefined);

// the f16 rounding of a float32 (round to nearest even), for the checks
const f16 = (() => {
  const f = new Float32Array(1), u = new Uint32Array(f.buffer);
  return (x) => {
    f[0] = x;
    const b = u[0], e = ((b >>> 23) & 0xff) - 127;
    if (e < -14 || e > 15) return x; // not hit by these unit-scale data
    const drop = 13, m = b & ((1 << drop) - 1), half = 1 << (drop - 1);
    let r = b - m;
    if (m > half || (m === half && (r & (1 << drop)))) r += 1 << drop;
    u[0] = r;
    return f[0];
  };
})();

function records(n, dim, seed) {
  return randomVectors(n, dim, seed).map((v, i) => ({ id: `d${i}`, vector: Array.from(v), text: `row ${i}` }));
}

test("vectorStorage f16: save() is about half a float32 store's bytes; load keeps the hits", async () => {
  const rs = records(1500, 64, 3);
  const stores = {};
  for (const kind of ["float32", "f16"]) {
    const s = await VecStore.create({ dim: 64, metric: "l2", hnswM: 8, vectorStorage: kind, text: false });
    s.upsert(rs);
    stores[kind] = s;
  }
  const b32 = stores.float32.save(), b16 = stores.f16.save();
  // 1500 x 64 vectors: 384,000 bytes as float32, 192,000 as f16
  assert.ok(b32.length - b16.length >= 185000, `${b32.length} vs ${b16.length}`);
  const back = await VecStore.load(b16);
  assert.equal(back.size, 1500);
  const q = randomVectors(5, 64, 9);
  for (const v of q) {
    const a = stores.f16.search(v, { k: 10, exact: true }), b = back.search(v, { k: 10, exact: true });
    assert.deepEqual(b.map((h) => [h.id, h.score]), a.map((h) => [h.id, h.score]));
    const c = stores.float32.search(v, { k: 10, exact: true });
    assert.deepEqual(a.slice(0, 3).map((h) => h.id), c.slice(0, 3).map((h) => h.id));
    a.forEach((h, i) => { if (h.id === c[i].id) assert.ok(Math.abs(h.score - c[i].score) <= 2e-3 * Math.abs(c[i].score) + 1e-3); });
  }
  // a stored row searches to itself at the f16-rounded distance
  const own = back.search(rs[42].vector, { k: 1, exact: true })[0];
  assert.equal(own.id, "d42");
  const d = rs[42].vector.reduce((acc, x) => acc + (x - f16(x)) ** 2, 0);
  assert.ok(Math.abs(-own.score - d) < 1e-6 + d * 1e-3, `${own.score} vs ${-d}`);
  await assert.rejects(VecStore.create({ dim: 4, vectorStorage: "f8" }), (e) => e instanceof VecStoreError && e.field === "vectorStorage");
});

test("an f16 store vs-ingest wrote loads in the package, and one the package saved opens with vs-query", { skip }, async (t) => {
  const dir = scratch(t);
  const store = path.join(dir, "cli.vs");
  run("vs-index", ["create", store, "--metric", "l2", "--hnsw-m", "8", "--vector-storage", "f16"]);
  const rs = records(1200, 32, 5);
  run("vs-ingest", [store], rs.map((r) => JSON.stringify(r)).join("\n") + "\n");
  const files = readdirSync(store).map((name) => ({ name, bytes: readFileSync(path.join(store, name)) }));
  const s = await VecStore.load(files);
  assert.equal(s.size, 1200);
  const qs = randomVectors(4, 32, 11);
  const cli = hitsOf(run("vs-query", [store, "-k", "5", "--exact"],
    qs.map((q, i) => JSON.stringify({ id: `q${i}`, vector: Array.from(q) })).join("\n") + "\n"));
  qs.forEach((q, i) => {
    const want = cli.filter((h) => h.qid === `q${i}`);
    const got = s.search(q, { k: 5, exact: true });
    assert.deepEqual(got.map((h) => h.id), want.map((h) => h.id));
    got.forEach((h, j) => assert.ok(Math.abs(h.score - want[j].score) < 1e-5));
  });
  // the reverse: saved by the package, verified and searched by the programs
  const w = await VecStore.create({ dim: 32, metric: "l2", vectorStorage: "f16" });
  w.upsert(rs.slice(0, 700));
  w.upsert(rs.slice(700));
  writeFileSync(path.join(dir, "saved.tar"), w.save());
  mkdirSync(path.join(dir, "saved.vs"));
  execFileSync("tar", ["-xf", path.join(dir, "saved.tar"), "-C", path.join(dir, "saved.vs")]);
  const saved = path.join(dir, "saved.vs");
  assert.equal(JSON.parse(run("vs-index", ["verify", saved])).ok, true);
  const info = JSON.parse(run("vs-index", ["info", saved]));
  assert.equal(info.vector_storage, "f16");
  assert.equal(info.format_version, 2);
  assert.ok(info.segments.every((g) => g.sections.find((x) => x.name === "vectors").codec === "f16"));
  const cli2 = hitsOf(run("vs-query", [saved, "-k", "5", "--exact"], JSON.stringify({ id: "q", vector: Array.from(qs[0]) }) + "\n"));
  assert.deepEqual(cli2.map((h) => h.id), s.search(qs[0], { k: 5, exact: true }).map((h) => h.id));
});
