// The npm pack tarball (dist/) installs into an empty project and works
// there; importing the package touches neither the network nor the module.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import test from "node:test";

import { pkgDir, root, scratch } from "./helpers.mjs";

const distDir = path.join(root, "dist");
const tarball = existsSync(distDir) ? readdirSync(distDir).find((f) => /^vecstore-.*\.tgz$/.test(f)) : undefined;

test("the tarball holds the package's files and nothing else", { skip: !tarball && "no dist/vecstore-*.tgz (make wasm)" }, () => {
  const list = execFileSync("tar", ["-tzf", path.join(distDir, tarball)]).toString().trim().split("\n").sort();
  for (const f of ["package/package.json", "package/index.js", "package/index.d.ts", "package/README.md",
    "package/dist/vecstore.mjs", "package/dist/vecstore.wasm", "package/dist/vecstore-scalar.mjs",
    "package/dist/vecstore-scalar.wasm", "package/dist/licenses/libzstd.copyright"]) {
    assert.ok(list.includes(f), `${f} missing from ${tarball}`);
  }
  assert.ok(list.every((f) => !/\.(c|o|a|mk)$/.test(f)), list.join(" "));
});

test("the tarball installs into an empty project and runs there", { skip: !tarball && "no dist/vecstore-*.tgz (make wasm)" }, (t) => {
  const dir = scratch(t);
  writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "app", version: "1.0.0", type: "module", private: true }));
  execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", "--silent", path.join(distDir, tarball)],
    { cwd: dir, stdio: "pipe" });
  writeFileSync(path.join(dir, "main.js"), `
import { VecStore, kernels } from "vecstore";
const s = await VecStore.create({ dim: 3 });
s.upsert([{ id: "a", vector: [1, 0, 0], text: "alpha" }, { id: "b", vector: [0, 1, 0], text: "beta" }]);
const t = await VecStore.load(s.save());
console.log(JSON.stringify({ hits: t.search([0.1, 1, 0], { k: 1 }), kernels: kernels() }));
`);
  const out = JSON.parse(execFileSync("node", ["main.js"], { cwd: dir }).toString());
  assert.deepEqual(out.hits.map((h) => [h.id, h.text]), [["b", "beta"]]);
  assert.equal(out.kernels, "simd128");
  assert.ok(existsSync(path.join(dir, "node_modules/vecstore/index.d.ts")));
});

test("import does no network access and compiles no WebAssembly", () => {
  const code = `
globalThis.fetch = () => { throw new Error("fetch at import"); };
const compile = WebAssembly.compile;
let compiled = 0;
WebAssembly.compile = (...a) => { compiled++; return compile(...a); };
const m = await import(${JSON.stringify(new URL(`file://${pkgDir}/index.js`).href)});
if (compiled || m.kernels() !== null) throw new Error("module compiled at import");
const s = await m.VecStore.create({ dim: 2 });
console.log(compiled, m.kernels());
`;
  const out = execFileSync("node", ["--input-type=module", "-e", code]).toString().trim();
  assert.equal(out, "1 simd128");
});

test("a runtime without SIMD128 gets the scalar module", () => {
  const code = `
const validate = WebAssembly.validate;
WebAssembly.validate = () => false; // as a runtime without SIMD128 answers the probe
const m = await import(${JSON.stringify(new URL(`file://${pkgDir}/index.js`).href)});
const s = await m.VecStore.create({ dim: 3 });
s.upsert([{ id: "a", vector: [1, 0, 0] }, { id: "b", vector: [0, 1, 0] }]);
WebAssembly.validate = validate;
console.log(m.kernels(), m.simdSupported(), s.search([0, 1, 0], { k: 1 })[0].id);
`;
  const out = execFileSync("node", ["--input-type=module", "-e", code]).toString().trim();
  assert.equal(out, "scalar true b");
});

test("init() takes the module as bytes (edge runtimes) and refuses a late call", () => {
  const code = `
import { readFileSync } from "node:fs";
const m = await import(${JSON.stringify(new URL(`file://${pkgDir}/index.js`).href)});
m.init({ wasm: new WebAssembly.Module(readFileSync(${JSON.stringify(path.join(pkgDir, "dist/vecstore.wasm"))})) });
const s = await m.VecStore.create({ dim: 2 });
let late = "none";
try { m.init({ wasm: new Uint8Array(8) }); } catch (e) { late = e.status; }
console.log(m.kernels(), late, s.info().dim);
`;
  const out = execFileSync("node", ["--input-type=module", "-e", code]).toString().trim();
  assert.equal(out, "simd128 usage 2");
});
