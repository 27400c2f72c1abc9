// The SIMD128 distance kernels against the scalar ones (both rows of
// lib/index/distance.c's table are in the SIMD128 module), and the scalar
// module against the SIMD128 one on the same store.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import path from "node:path";
import test from "node:test";
import { pathToFileURL } from "node:url";

import { pkgDir, randomVectors, rawModule } from "./helpers.mjs";

const SCALAR = 0, SIMD128 = 4;
const KERNELS = ["dot", "l2", "dot_block", "l2_block", "dot_ids", "l2_ids"];

function runKernel(M, level, which, q, x, ids, d) {
  const nq = q.length / d, nx = ids ? ids.length : x.length / d;
  const qp = M._vsw_malloc(q.length * 4), xp = M._vsw_malloc(x.length * 4);
  const ip = M._vsw_malloc(Math.max(1, nx) * 4), op = M._vsw_malloc(Math.max(1, nq * nx) * 4);
  M.HEAPF32.set(q, qp >>> 2);
  M.HEAPF32.set(x, xp >>> 2);
  if (ids) M.HEAPU32.set(ids, ip >>> 2);
  const rc = M._vsw_distance(level, which, qp, nq, xp, ids ? x.length / d : nx, ip, d, op);
  const n = which < 2 ? 1 : which < 4 ? nq * nx : nx;
  const out = M.HEAPF32.slice(op >>> 2, (op >>> 2) + n);
  for (const p of [qp, xp, ip, op]) M._vsw_free(p);
  assert.equal(rc, 0);
  return out;
}

test("the SIMD128 module runs the simd128 kernels", async () => {
  const M = await rawModule("vecstore");
  assert.equal(M._vsw_simd_level(), SIMD128);
});

test("the scalar module has no simd128 row and runs scalar", async () => {
  const M = await rawModule("vecstore-scalar");
  assert.equal(M._vsw_simd_level(), SCALAR);
  const q = new Float32Array(4).fill(1);
  const p = M._vsw_malloc(64);
  assert.equal(M._vsw_distance(SIMD128, 0, p, 1, p, 1, p, 4, p), 4); // unsupported
  M._vsw_free(p);
  assert.ok(q);
});

test("simd128 and scalar kernels agree on every shape and tail", async () => {
  const M = await rawModule("vecstore");
  let seed = 1;
  for (const d of [1, 3, 4, 5, 8, 15, 16, 33, 100, 384]) {
    for (const [nq, nx] of [[1, 1], [1, 7], [4, 4], [5, 9], [3, 2]]) {
      const q = Float32Array.from(randomVectors(nq, d, seed++).flatMap((v) => Array.from(v)));
      const x = Float32Array.from(randomVectors(nx, d, seed++).flatMap((v) => Array.from(v)));
      const ids = Uint32Array.from({ length: nx }, (_, i) => (i * 7 + 3) % nx);
      for (let which = 0; which < 6; which++) {
        const gather = which >= 4 ? ids : null;
        const qq = which < 2 || gather ? q.subarray(0, d) : q;
        const a = runKernel(M, SCALAR, which, qq, x, gather, d);
        const b = runKernel(M, SIMD128, which, qq, x, gather, d);
        assert.equal(a.length, b.length);
        for (let i = 0; i < a.length; i++) {
          const tol = 1e-5 * Math.max(1, Math.abs(a[i]));
          assert.ok(Math.abs(a[i] - b[i]) <= tol, `${KERNELS[which]} d=${d} ${nq}x${nx} [${i}]: ${a[i]} vs ${b[i]}`);
        }
      }
    }
  }
});

test("the scalar and the SIMD128 module give the same hits on one store", { skip: !existsSync(path.join(pkgDir, "dist/vecstore-scalar.wasm")) }, async () => {
  // two module instances in one process: the package (SIMD128) and the
  // scalar glue driven directly through the same calls
  const { VecStore } = await import(pathToFileURL(path.join(pkgDir, "index.js")).href);
  const vs = randomVectors(1200, 48, 31);
  const s = await VecStore.create({ dim: 48, seed: 5 });
  s.upsert(vs.map((v, i) => ({ id: `r${i}`, vector: v })));
  const files = s.files();
  const M = await rawModule("vecstore-scalar");
  const enc = (str) => {
    const n = M.lengthBytesUTF8(str) + 1, p = M._vsw_malloc(n);
    M.stringToUTF8(str, p, n);
    return p;
  };
  M.FS.mkdir("/t");
  for (const f of files) M.FS.writeFile(`/t/${f.name}`, f.bytes);
  const db = M._vsw_open(enc("/t"), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  assert.ok(db, M.UTF8ToString(M._vsw_err_detail()));
  for (const q of randomVectors(20, 48, 32)) {
    for (const exact of [0, 1]) {
      const qp = M._vsw_malloc(48 * 4);
      M.HEAPF32.set(q, qp >>> 2);
      const rp = M._vsw_search(db, qp, 48, 0, 1, 10, 0, 64, exact, 0, -1, 0);
      const scalar = JSON.parse(M.UTF8ToString(rp));
      M._vsw_free(rp);
      M._vsw_free(qp);
      const simd = s.search(q, { k: 10, ef: 64, exact: exact === 1 });
      assert.deepEqual(scalar.map((h) => h.id), simd.map((h) => h.id));
      scalar.forEach((h, i) => assert.ok(Math.abs(h.score - simd[i].score) < 1e-5));
    }
  }
  M._vsw_close(db);
});
