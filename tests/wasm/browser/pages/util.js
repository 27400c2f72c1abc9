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
