// The bytes a page loads stay under a committed ceiling; the modules'
// language builds; a module that cannot be instantiated rejects with
// VecStoreError; search's idsOnly.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import test from "node:test";
import { gzipSync } from "node:zlib";

import { pkg, pkgDir, randomVectors } from "./helpers.mjs";

// hnswlib-wasm 0.8.2's files as bench/wasm/run.mjs measured them (gzip -9,
// bench/results/wasm.txt): the issue's goal is a bundle no larger. A
// change that crosses it fails here, not in a benchmark run.
const CEILING = 246900;
const gz = (f) => gzipSync(readFileSync(path.join(pkgDir, f)), { level: 9 }).length;

test("the bundle a page loads (loader, persist.js, glue, module) is under hnswlib-wasm's", () => {
  for (const mod of ["vecstore", "vecstore-scalar"]) {
    const files = ["index.js", "persist.js", `dist/${mod}.mjs`, `dist/${mod}.wasm`];
    const total = files.reduce((a, f) => a + gz(f), 0);
    assert.ok(total <= CEILING, `${mod}: ${total} bytes gzipped > ${CEILING} (${files.join(" ")})`);
  }
});

const runNode = (code) =>
  execFileSync("node", ["--input-type=module", "-e", code], { stdio: ["ignore", "pipe", "pipe"], timeout: 60000 }).toString().trim();
const indexUrl = JSON.stringify(new URL(`file://${pkgDir}/index.js`).href);

test("the default module has the English stemmer only; languages: \"all\" has the others", () => {
  const code = (languages) => `
const m = await import(${indexUrl});
${languages ? `m.init({ languages: "${languages}" });` : ""}
const out = [];
try {
  const s = await m.VecStore.create({ dim: 2, text: "lang=french" });
  s.upsert([{ id: "a", vector: [1, 0], text: "les chevaux mangeaient" }, { id: "b", vector: [0, 1], text: "un chat" }]);
  out.push(s.search("cheval", { mode: "text" }).map((h) => h.id).join(","));
} catch (e) { out.push(e.name + ":" + e.status + ":" + e.detail); }
const e = await m.VecStore.create({ dim: 2, text: "lang=english" });
e.upsert([{ id: "x", vector: [1, 0], text: "running horses" }]);
out.push(e.search("horse", { mode: "text" }).map((h) => h.id).join(","));
console.log(out.join("|"));
`;
  assert.match(runNode(code()), /^VecStoreError:config:.*unknown stemmer language 'french'\|x$/);
  assert.equal(runNode(code("all")), "a|x");
  // init refuses what it cannot honour
  assert.match(runNode(`
const m = await import(${indexUrl});
const r = [];
for (const o of [{ languages: "fr" }, { languages: "all", scalar: true }, {}]) {
  try { m.init(o); r.push("accepted"); } catch (e) { r.push(e.status + ":" + e.field); }
}
console.log(r.join(" "));
`), /^usage:languages usage:scalar usage:wasm$/);
});

test("a module that cannot be compiled or instantiated rejects with VecStoreError, and a later init works", () => {
  const out = runNode(`
const m = await import(${indexUrl});
const { readFileSync } = await import("node:fs");
const r = [];
// not WebAssembly at all
m.init({ wasm: new Uint8Array([1, 2, 3, 4]) });
try { await m.VecStore.create({ dim: 2 }); r.push("created"); } catch (e) { r.push(e.name + ":" + e.status); }
// a valid module importing env.nope1, which the glue does not provide:
// instantiation fails (before, the glue waited for ever)
const other = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 2, 13, 1, 3, 101, 110, 118, 5, 110, 111, 112, 101, 49, 0, 0]);
m.init({ wasm: other });
try { await m.VecStore.create({ dim: 2 }); r.push("created"); } catch (e) { r.push(e.name + ":" + e.status + ":" + /Import #0/.test(e.detail)); }
m.init({ wasm: readFileSync(${JSON.stringify(path.join(pkgDir, "dist/vecstore.wasm"))}) });
const s = await m.VecStore.create({ dim: 2 });
s.upsert({ id: "a", vector: [1, 0] });
r.push(s.search([1, 0])[0].id);
console.log(r.join(" "));
`);
  assert.equal(out, "VecStoreError:unsupported VecStoreError:unsupported:true a");
});

test("search idsOnly: the same ids, ranks and scores as a full search, no stored fields", async () => {
  const { VecStore, VecStoreError } = await pkg();
  const s = await VecStore.create({ dim: 16 });
  const vs = randomVectors(300, 16, 11);
  s.upsert(vs.map((v, i) => ({ id: i % 7 ? `r${i}` : `ré-${i}`, vector: v, text: `text ${i}`, metadata: { i } })));
  for (const [q, opts] of [[vs[5], {}], [vs[42], { exact: true, k: 20 }], [vs[9], { filter: "i >= 100" }],
    ["text", { mode: "text", k: 5 }], [vs[3], { k: 1 }]]) {
    const full = s.search(q, opts);
    const ids = s.search(q, { ...opts, idsOnly: true });
    assert.ok(full.length > 0);
    assert.deepEqual(ids.map((h) => [h.id, h.rank]), full.map((h) => [h.id, h.rank]));
    ids.forEach((h, i) => {
      assert.ok(Math.abs(h.score - full[i].score) < 1e-5, `${h.score} ${full[i].score}`);
      assert.equal(h.distance === undefined, full[i].distance === undefined);
      if (h.distance !== undefined) assert.ok(Math.abs(h.distance - full[i].distance) < 1e-5);
      assert.deepEqual(Object.keys(h).filter((k) => !["id", "score", "rank", "distance"].includes(k)), []);
    });
  }
  assert.ok(s.search(vs[0], { k: 50, idsOnly: true }).some((h) => h.id.startsWith("ré-")));
  assert.throws(() => s.search(vs[0], { idsOnly: 1 }), (e) => e instanceof VecStoreError && e.field === "idsOnly");
  assert.throws(() => s.search(vs[0], { idsOnly: true, filter: "i >" }), (e) => e instanceof VecStoreError && e.status === "filter");
  assert.equal(s.search(vs[0], { idsOnly: true, k: 1 })[0].id, "ré-0");
});
