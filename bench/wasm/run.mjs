#!/usr/bin/env node
// bench/wasm/run.mjs: vecstore's npm package against the WebAssembly vector
// search packages a browser user would pick instead (hnswlib-wasm,
// voy-search), in one run of headless Debian chromium (playwright-core).
//
//   node bench/wasm/run.mjs [--sizes 10000,100000] [--engines a,b] [--nq 200] [--out FILE]
//   node bench/wasm/run.mjs --from bench/results/wasm.json [same options]   (the table again)
//
// Data: a 100-centre Gaussian mixture, 384-d, unit rows (bench/wasm/data.js),
// nq queries from the same mixture, the exact top 10 by brute force in Node.
// Per engine and size, each in a new browser profile: build (M=16,
// ef_construction=200 where the engine has them), sweep the beam width ef
// (recall@10, queries/s, p50/p99 single-query latency), persist to
// IndexedDB the engine's own way (ours: store.persist; hnswlib-wasm: its
// IDBFS writeIndex + syncFS; voy-search has none: its serialize() string
// put in IndexedDB), the origin's storage use after that
// (navigator.storage.estimate) per vector, then in a new page the cold
// start: import, instantiate, open from IndexedDB, first result. Bundle:
// the bytes the page fetched for the engine (JS and wasm), raw and gzip -9.
// Engines: vecstore, vecstore-f16 (the same with vectorStorage "f16":
// segments keep half floats), hnswlib-wasm, voy-search.
// Needs scripts/deps.sh --web, scripts/web-deps.sh and make wasm.
// Writes a Markdown table (with the load average before and after) to
// bench/results/wasm.txt unless --out says otherwise; JSON beside it.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { fileURLToPath } from "node:url";
import * as H from "../../tests/wasm/browser/harness.mjs";
import { mixture, truth } from "./data.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
if (args.includes("-h") || args.includes("--help")) {
    console.log(fs.readFileSync(fileURLToPath(import.meta.url), "utf8").split("\n").slice(1, 24)
        .map((l) => l.replace(/^\/\/ ?/, "")).join("\n"));
    process.exit(0);
}
const SIZES = opt("--sizes", "10000,100000").split(",").map(Number);
const ENGINES = opt("--engines", "vecstore,hnswlib-wasm,voy-search").split(",");
const NQ = +opt("--nq", "200");
const OUT = opt("--out", path.join(H.ROOT, "bench/results/wasm.txt"));
const DIM = 384, K = 10;
const EFS = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512];
const load0 = os.loadavg();
const results = [];

// --from FILE.json: write the table again from a run's JSON (no browser)
const FROM = opt("--from", null);
if (FROM) {
    const j = JSON.parse(fs.readFileSync(FROM, "utf8"));
    results.push(...j.results);
    load0.splice(0, 3, ...j.load0);
    report(true, { load1: j.load1, date: fs.statSync(FROM).mtime, json: false });
    process.exit(0);
}
const why = H.missing();
const ours = ENGINES.some((e) => e.startsWith("vecstore"));
if (why && (ours || !why.includes("dist/"))) { console.error(`bench/wasm: ${why}`); process.exit(5); }
const pkg = ours ? H.installPackage() : path.join(H.ROOT, "wasm/js");
const entry = ours ? H.packageEntry(pkg) : "index.js";
const NM = path.join(H.WEB, "node_modules");
const page = `<!doctype html><meta charset="utf-8"><title>vecstore wasm bench</title>
<script>globalThis.VS_ENTRY = ${JSON.stringify(entry)};</script>`;
const srv = await H.serve({ "/pkg/": pkg, "/nm/": NM, "/b/": here },
                          { "/b/index.html": ["text/html; charset=utf-8", page] }, { isolated: true });

const log = (...a) => console.error("bench/wasm:", ...a);

function bundleBytes(served) {
    const files = [...new Map(served.filter(([p]) => !p.startsWith("/b/")).map(([p, f]) => [p, f])).values()];
    let raw = 0, gz = 0;
    for (const f of files) {
        const b = fs.readFileSync(f);
        raw += b.length;
        gz += zlib.gzipSync(b, { level: 9 }).length;
    }
    return { raw, gz, files: files.map((f) => path.relative(H.ROOT, f)) };
}

for (const n of SIZES) {
    log(`${n} x ${DIM}: exact top ${K} of ${NQ} queries in Node`);
    const t = Date.now();
    const ref = truth(mixture(n, DIM, 1), n, mixture(NQ, DIM, 2), NQ, DIM, K);
    log(`  ${((Date.now() - t) / 1000).toFixed(1)} s`);
    for (const name of ENGINES) {
        const br = await H.launch();
        const row = { engine: name, n, dim: DIM, nq: NQ };
        try {
            let p = await br.page();
            await p.goto(srv.url + "/b/index.html");
            log(`  ${name}: build and sweep`);
            row.stage = "build and sweep";
            Object.assign(row, await p.evaluate(async ([a, b, c, d, e, f, g]) => {
                const P = await import("/b/page.js");
                return P.buildAndSweep(a, b, c, d, e, f, g);
            }, [name, n, DIM, NQ, K, ref, EFS]));
            const at = row.sweep.find((s) => s.recall >= 0.95);
            row.at95 = at || null;
            log(`  ${name}: build ${(row.buildMs / 1000).toFixed(1)} s; at recall>=0.95: ${JSON.stringify(at)}`);
            row.stage = "persist";
            row.persist = await p.evaluate(async (a) => (await import("/b/page.js")).persist(a), name);
            row.persist.bytesPerVector = row.persist.usage / n;
            await p.close();
            p = await br.page();
            await p.goto(srv.url + "/b/index.html");
            const from = srv.served.length;
            row.stage = "cold start (open from IndexedDB)";
            row.cold = await p.evaluate(async ([a, b, c, d, e]) => (await import("/b/page.js")).coldStart(a, b, c, d, e),
                                        [name, n, DIM, K, at ? at.ef : 64]);
            row.bundle = bundleBytes(srv.served.slice(from));
            log(`  ${name}: persisted ${(row.persist.usage / 1e6).toFixed(2)} MB, cold start ${row.cold.ms.toFixed(0)} ms, bundle ${row.bundle.gz} B gzip`);
            if (p.errors.length) row.pageErrors = p.errors.slice(0, 5);
            delete row.stage;
            await p.close();
        } catch (e) {
            row.error = String(e && e.message || e).split("\n")[0];
            row.failedAt = row.stage;
            log(`  ${name}: failed: ${row.error}`);
        } finally {
            await br.close();
        }
        results.push(row);
        report(false);   // a run stopped part way still leaves what it measured
    }
}

function report(final, from = {}) {
    const load1 = from.load1 || os.loadavg();
    const f1 = (x) => (x == null || Number.isNaN(x) ? "-" : x.toFixed(1));
    const lines = [];
    lines.push(`# vecstore (npm, WebAssembly) vs hnswlib-wasm and voy-search, headless Chromium${final ? "" : " (partial: the run is still going)"}`);
    lines.push("");
    lines.push(`command: node bench/wasm/run.mjs --sizes ${SIZES.join(",")} --engines ${ENGINES.join(",")} --nq ${NQ}`);
    lines.push(`date: ${(from.date || new Date()).toISOString()}  cores: ${os.cpus().length}  load average before: ${load0.map((x) => x.toFixed(2)).join(" ")}  after: ${load1.map((x) => x.toFixed(2)).join(" ")}`);
    lines.push(`chromium: ${H.CHROMIUM}; data: Gaussian mixture (100 centres), ${DIM}-d unit rows, ${NQ} queries, recall@${K} against brute force; cross-origin isolated page (5 us timer)`);
    lines.push("");
    lines.push("| engine | rows | build s | ef at recall>=0.95 | recall@10 | queries/s | p50 ms | p99 ms | best recall | persisted bytes/vector | cold start ms (IndexedDB to first result) | bundle gzip bytes (raw) |");
    lines.push("|---|---|---|---|---|---|---|---|---|---|---|---|");
    const notes = [];
    for (const r of results) {
        const a = r.at95;
        const cell = (f) => { try { const v = f(); return v == null ? "-" : v; } catch { return "-"; } };
        const best = r.sweep ? Math.max(...r.sweep.map((s) => s.recall)).toFixed(3) : "-";
        const stage = r.failedAt || (!r.sweep ? "build and sweep" : !r.persist ? "persist" : "cold start (open from IndexedDB)");
        if (r.error) notes.push(`${r.engine} ${r.n}: failed at ${stage}: ${r.error}`);
        lines.push(`| ${r.engine} | ${r.n} | ${cell(() => f1(r.buildMs / 1000))} | ${r.sweep ? (a ? (a.ef ?? "n/a") : "not reached") : "-"} | ${cell(() => a.recall.toFixed(3))} | ${cell(() => Math.round(a.qps))} | ${cell(() => a.p50.toFixed(3))} | ${cell(() => a.p99.toFixed(3))} | ${best} | ${cell(() => (r.persist.bytesPerVector >= 1 ? Math.round(r.persist.bytesPerVector) : `${r.persist.usage} B in all`))} | ${cell(() => Math.round(r.cold.ms))} | ${cell(() => `${r.bundle.gz} (${r.bundle.raw})`)} |`);
    }
    if (notes.length) { lines.push(""); for (const n of notes) lines.push(`- ${n}`); }
    lines.push("");
    lines.push("Sweeps (ef: recall@10, queries/s, p99 ms):");
    for (const r of results) {
        if (!r.sweep) continue;
        lines.push(`- ${r.engine} ${r.n}: ` + r.sweep.map((s) => `${s.ef ?? "-"}: ${s.recall.toFixed(3)}, ${Math.round(s.qps)}/s, ${s.p99.toFixed(3)}`).join("; "));
    }
    lines.push("");
    lines.push("Bundle files fetched: " + results.filter((r) => r.bundle).map((r) => `${r.engine}: ${r.bundle.files.join(" ")}`).filter((v, i, a) => a.indexOf(v) === i).join("; "));
    const text = lines.join("\n") + "\n";
    fs.mkdirSync(path.dirname(OUT), { recursive: true });
    fs.writeFileSync(OUT, text);
    if (from.json !== false) fs.writeFileSync(OUT.replace(/\.txt$/, "") + ".json", JSON.stringify({ args: process.argv.slice(2), load0, load1, results }, null, 1) + "\n");
    if (final) process.stdout.write(text);
}
report(true);
await srv.close();
