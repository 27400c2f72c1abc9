// Helpers of the WebAssembly package's tests (node --test): where the
// package and the programs are, seeded random vectors, scratch folders.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
// the package folder make wasm assembles (VS_WASM_PKG overrides)
export const pkgDir = path.resolve(root, process.env.VS_WASM_PKG || "build-wasm/pkg");
// the vs-* programs, for the tests with stores they write and read
export const binDir = path.resolve(root, process.env.VS_BIN || "build/bin");

export function pkg() {
  return import(pathToFileURL(path.join(pkgDir, "index.js")).href);
}

// the module factory itself, for the kernel checks
export async function rawModule(file = "vecstore") {
  const { readFile } = await import("node:fs/promises");
  const factory = (await import(pathToFileURL(path.join(pkgDir, "dist", `${file}.mjs`)).href)).default;
  const wasm = await WebAssembly.compile(await readFile(path.join(pkgDir, "dist", `${file}.wasm`)));
  return factory({
    instantiateWasm(imports, done) {
      WebAssembly.instantiate(wasm, imports).then((i) => done(i));
      return {};
    },
  });
}

// mulberry32: a small seeded generator, so every run sees the same data
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomVectors(n, dim, seed) {
  const r = rng(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: dim }, () => r() * 2 - 1));
}

export function scratch(t) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "vs-wasm-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function cosine(a, b) {
  let d = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return d / Math.sqrt(na * nb);
}
