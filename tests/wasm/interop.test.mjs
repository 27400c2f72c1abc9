// Stores cross between the programs and the package: a store vs-ingest
// wrote loads in the package (as a tar of its directory, or its files), and
// a store the package saved opens with vs-query and passes vs-index verify.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import test from "node:test";

import { binDir, pkg, randomVectors, scratch } from "./helpers.mjs";

const { VecStore } = await pkg();
const haveBins = existsSync(path.join(binDir, "vs-ingest"));
const skip = haveBins ? false : `no vs-* programs in ${binDir} (make all)`;

const run = (prog, args, input) =>
  execFileSync(path.join(binDir, prog), args, { input, stdio: ["pipe", "pipe", "pipe"], maxBuffer: 1 << 28 }).toString();

const hitsOf = (out) => out.split("\n").filter((l) => l.startsWith("{") && !l.includes('"vecstore_stream"'))
  .map((l) => JSON.parse(l)).filter((h) => h.id !== undefined && h.rank !== undefined);

function records(n, dim, seed) {
  return randomVectors(n, dim, seed).map((v, i) => ({
    id: `doc${i}`, vector: Array.from(v), text: `document ${i} about ${i % 2 ? "apples" : "pears"}`,
    metadata: { n: i, kind: i % 3 ? "x" : "y" },
  }));
}
const ndjson = (rs) => rs.map((r) => JSON.stringify(r)).join("\n") + "\n";

test("a store vs-ingest wrote loads from a tar of its directory and answers as vs-query", { skip }, (t) => {
  const dir = scratch(t);
  const store = path.join(dir, "kb.vs");
  const rs = records(300, 16, 5);
  run("vs-ingest", [store], ndjson(rs));
  execFileSync("tar", ["-cf", path.join(dir, "kb.tar"), "-C", dir, "kb.vs"]);
  return VecStore.load(readFileSync(path.join(dir, "kb.tar"))).then((s) => {
    assert.equal(s.size, 300);
    const q = randomVectors(1, 16, 99)[0];
    const cli = hitsOf(run("vs-query", [store, "-k", "10"], JSON.stringify({ id: "q", vector: Array.from(q) }) + "\n"));
    const js = s.search(q, { k: 10 });
    assert.deepEqual(js.map((h) => h.id), cli.map((h) => h.id));
    js.forEach((h, i) => assert.ok(Math.abs(h.score - cli[i].score) < 1e-5));
    const cliText = hitsOf(run("vs-query", [store, "--mode", "text", "-k", "5"], JSON.stringify({ id: "q", text: "apples" }) + "\n"));
    assert.deepEqual(s.search("apples", { mode: "text", k: 5 }).map((h) => h.id), cliText.map((h) => h.id));
  });
});

test("a store with HNSW graphs from the programs loads from its files and searches them", { skip }, async (t) => {
  const dir = scratch(t);
  const store = path.join(dir, "g.vs");
  run("vs-index", ["create", store, "--dim", "24", "--hnsw-m", "12", "--seed", "4"]);
  const rs = records(1500, 24, 6);
  run("vs-ingest", [store], ndjson(rs));
  const files = readdirSync(store).map((name) => ({ name, bytes: readFileSync(path.join(store, name)) }));
  const s = await VecStore.load(files);
  assert.equal(s.info().hnswM, 12);
  const qs = randomVectors(5, 24, 77);
  const cli = hitsOf(run("vs-query", [store, "-k", "10", "--ef", "64"],
    qs.map((q, i) => JSON.stringify({ id: `q${i}`, vector: Array.from(q) })).join("\n") + "\n"));
  qs.forEach((q, i) => {
    const want = cli.filter((h) => h.qid === `q${i}`).map((h) => h.id);
    assert.deepEqual(s.search(q, { k: 10, ef: 64 }).map((h) => h.id), want, `q${i}`);
  });
  assert.equal(s.search(Float32Array.from(rs[700].vector), { k: 1, filter: 'kind = "x" OR kind = "y"' })[0].id, "doc700");
});

test("a store saved by the package opens with vs-query and passes vs-index verify", { skip }, async (t) => {
  const dir = scratch(t);
  const s = await VecStore.create({ dim: 16, metric: "l2" });
  const rs = records(1200, 16, 8);
  s.upsert(rs.slice(0, 600));
  s.upsert(rs.slice(600));
  s.delete({ filter: 'kind = "y" AND n < 100' });
  writeFileSync(path.join(dir, "saved.tar"), s.save());
  mkdirSync(path.join(dir, "saved.vs"));
  execFileSync("tar", ["-xf", path.join(dir, "saved.tar"), "-C", path.join(dir, "saved.vs")]);
  const verify = JSON.parse(run("vs-index", ["verify", path.join(dir, "saved.vs")]));
  assert.equal(verify.ok ?? true, true, JSON.stringify(verify));
  const info = JSON.parse(run("vs-index", ["info", path.join(dir, "saved.vs")]));
  assert.equal(info.records, s.size);
  assert.equal(info.metric, "l2");
  const q = randomVectors(1, 16, 9)[0];
  const cli = hitsOf(run("vs-query", [path.join(dir, "saved.vs"), "-k", "10", "--exact"],
    JSON.stringify({ id: "q", vector: Array.from(q) }) + "\n"));
  assert.deepEqual(cli.map((h) => h.id), s.search(q, { k: 10, exact: true }).map((h) => h.id));
  assert.deepEqual(cli[0].metadata, s.search(q, { k: 1, exact: true })[0].metadata);
});

test("a tar made inside the store directory (tar -C kb.vs .) loads; LOCK and ./ are ignored", { skip }, async (t) => {
  const dir = scratch(t);
  const store = path.join(dir, "kb.vs");
  run("vs-ingest", [store], ndjson(records(50, 8, 12)));
  const tar = execFileSync("tar", ["-cf", "-", "-C", store, "."]);
  const s = await VecStore.load(new Uint8Array(tar));
  assert.equal(s.size, 50);
  assert.equal(s.search(Float32Array.from(records(50, 8, 12)[7].vector), { k: 1 })[0].id, "doc7");
});

// The module's Unicode tables are utf8proc's, packed (scripts/wasm-deps.sh)
// and unpacked when it starts: BM25 over text that needs them (NFKC
// folding, case folding beyond ASCII, marks, scripts without spaces) ranks
// as vs-query does.
test("text that needs the Unicode tables: the package's BM25 ranks as vs-query's", { skip }, async (t) => {
  const dir = scratch(t);
  const store = path.join(dir, "u.vs");
  const texts = ["Ｃａｆé ＲＥＳＵＭÉ ﬁnance", "café résumé finance office", "ΣΊΣΥΦΟΣ ΟΔΟΣ σίσυφος", "Straße STRASSE strasse",
    "ǅemal Ǆ ǆ ligature ﬀ", "東京都 東京 タワー", "ｶﾀｶﾅ カタカナ", "İstanbul ıi I", "Ⅻ ⅻ № ½ ²", "naïve coöperate Noël"];
  const rs = texts.map((text, i) => ({ id: `u${i}`, vector: [i + 1, 1, 0], text }));
  run("vs-ingest", [store], ndjson(rs));
  const files = readdirSync(store).map((name) => ({ name, bytes: readFileSync(path.join(store, name)) }));
  const s = await VecStore.load(files);
  const queries = ["cafe", "RESUME", "finance", "σισυφος", "strasse", "dzemal", "東京", "カタカナ", "istanbul", "xii", "naive", "noel", "ﬀ"];
  const cli = hitsOf(run("vs-query", [store, "--mode", "text", "-k", "10"],
    queries.map((q, i) => JSON.stringify({ id: `q${i}`, text: q })).join("\n") + "\n"));
  let nonEmpty = 0;
  queries.forEach((q, i) => {
    const want = cli.filter((h) => h.qid === `q${i}`);
    const got = s.search(q, { mode: "text", k: 10 });
    assert.deepEqual(got.map((h) => h.id), want.map((h) => h.id), q);
    got.forEach((h, j) => assert.ok(Math.abs(h.score - want[j].score) < 1e-4, `${q}: ${h.score} ${want[j].score}`));
    if (got.length) nonEmpty++;
  });
  assert.ok(nonEmpty >= 10, `only ${nonEmpty} queries matched`);
});
