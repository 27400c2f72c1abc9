// The benchmark in the page: bench/wasm/run.mjs calls these through
// page.evaluate, one engine per browser profile.
import { engines } from "./engines.js";
import { mixture } from "./data.js";

const now = () => performance.now();
const state = {};

function pct(sorted, p) {
    return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
}

/** Build the index of engine name over n x dim rows (seeded), then sweep
 *  the beam widths: recall@k against truth, queries/s and p50/p99 of
 *  single-query latency (ms). */
export async function buildAndSweep(name, n, dim, nq, k, truth, efs) {
    const e = engines[name];
    const m = await e.load();
    const base = mixture(n, dim, 1);
    const queries = mixture(nq, dim, 2);
    let t = now();
    const ix = await e.build(m, base, n, dim);
    if (name === "hnswlib-wasm") ix.__lib = m.lib;
    const buildMs = now() - t;
    state.ix = ix; state.m = m; state.queries = queries;
    const sweep = [];
    for (const ef of e.efs ? efs : [0]) {
        const q0 = queries.subarray(0, dim);
        for (let w = 0; w < 20; w++) e.search(ix, q0, k, Math.max(ef, k));   // warm up
        const lat = new Float64Array(nq);
        let hit = 0;
        for (let q = 0; q < nq; q++) {
            const qv = queries.subarray(q * dim, (q + 1) * dim);
            t = now();
            const got = e.search(ix, qv, k, Math.max(ef, k));
            lat[q] = now() - t;
            const ref = new Set(truth[q]);
            for (const id of got.slice(0, k)) if (ref.has(id)) hit++;
        }
        const sorted = Array.from(lat).sort((a, b) => a - b);
        const total = lat.reduce((a, b) => a + b, 0);
        const row = { ef: e.efs ? ef : null, recall: hit / (nq * k), qps: nq / (total / 1000),
                      p50: pct(sorted, 0.5), p99: pct(sorted, 0.99) };
        sweep.push(row);
        if (row.recall >= 0.99) break;
    }
    return { buildMs, sweep, isolated: self.crossOriginIsolated };
}

/** Persist the built index; the storage used after (navigator.storage). */
export async function persist(name) {
    const t = now();
    await engines[name].persist(state.ix);
    const ms = now() - t;
    const est = await navigator.storage.estimate();
    return { ms, usage: est.usage, idb: est.usageDetails ? est.usageDetails.indexedDB : null };
}

/** In a new page: import, instantiate, open from IndexedDB and answer one
 *  query; the time to the first result and that result. */
export async function coldStart(name, n, dim, k, ef) {
    const q = mixture(1, dim, 2);
    const t0 = now();
    const e = engines[name];
    const m = await e.load();
    const ix = await e.open(m, n, dim);
    const tq = now();
    const got = e.search(ix, q, k, Math.max(ef || k, k));
    const t1 = now();
    return { ms: t1 - t0, openMs: tq - t0, ids: got };
}
