// Helpers the browser tests import in the page and in workers.

/** A seeded generator (mulberry32): the same seed gives the same numbers
 *  in every runtime. */
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

/** n vectors of dim numbers in [-1, 1), seeded, in one Float32Array. */
export function randomVectors(n, dim, seed) {
    const r = rng(seed);
    const out = new Float32Array(n * dim);
    for (let i = 0; i < out.length; i++) out[i] = r() * 2 - 1;
    return out;
}

/** Records r0..r(n-1) over randomVectors, with metadata
 *  { group: i % 10, even: i % 2 === 0 }. */
export function randomRecords(n, dim, seed) {
    const v = randomVectors(n, dim, seed);
    const recs = [];
    for (let i = 0; i < n; i++)
        recs.push({ id: `r${i}`, vector: v.subarray(i * dim, (i + 1) * dim),
                    metadata: { group: i % 10, even: i % 2 === 0 } });
    return recs;
}

/** Mean recall@k of hit lists against reference hit lists (by id). */
export function recallAt(k, got, want) {
    let sum = 0;
    for (let q = 0; q < want.length; q++) {
        const ref = new Set(want[q].slice(0, k).map((h) => h.id));
        sum += got[q].slice(0, k).filter((h) => ref.has(h.id)).length / ref.size;
    }
    return sum / want.length;
}

function gauss(r) {
    const u = Math.max(r(), 1e-12), v = r();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** n rows of dim from a Gaussian mixture of 100 centres (each row a centre
 *  plus noise), like embeddings of text on a hundred topics; uniform random
 *  rows in 384 dimensions have no neighbourhoods for a graph to follow. */
export function mixtureVectors(n, dim, seed) {
    const rc = rng(12345);
    const c = new Float32Array(100 * dim);
    for (let i = 0; i < c.length; i++) c[i] = gauss(rc);
    const r = rng(seed);
    const out = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) {
        const k = Math.floor(r() * 100);
        for (let j = 0; j < dim; j++) out[i * dim + j] = c[k * dim + j] + 0.6 * gauss(r);
    }
    return out;
}
