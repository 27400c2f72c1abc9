// The benchmark's data, made the same way in every page: a Gaussian
// mixture (100 centres; each row a centre plus noise), L2-normalised, so
// cosine, inner product and L2 rank alike and every engine is measured on
// the same neighbours. Queries are drawn from the same mixture.
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

function gauss(r) {
    const u = Math.max(r(), 1e-12), v = r();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** n rows of dim in one Float32Array: the mixture, rows of unit length. */
export function mixture(n, dim, seed, centres = 100, spread = 0.6) {
    const rc = rng(12345);
    const c = new Float32Array(centres * dim);
    for (let i = 0; i < c.length; i++) c[i] = gauss(rc);
    const r = rng(seed);
    const out = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) {
        const k = Math.floor(r() * centres);
        let norm = 0;
        for (let j = 0; j < dim; j++) {
            const x = c[k * dim + j] + spread * gauss(r);
            out[i * dim + j] = x;
            norm += x * x;
        }
        norm = 1 / Math.sqrt(norm);
        for (let j = 0; j < dim; j++) out[i * dim + j] *= norm;
    }
    return out;
}

/** The exact k nearest rows (largest inner product of unit vectors) of
 *  each query, by brute force in plain JS: the reference every engine's
 *  recall is measured against. */
export function truth(base, n, queries, nq, dim, k) {
    const out = [];
    for (let q = 0; q < nq; q++) {
        const best = [];  // [score, row], sorted descending, at most k
        const qo = q * dim;
        for (let i = 0; i < n; i++) {
            let s = 0;
            const o = i * dim;
            for (let j = 0; j < dim; j++) s += base[o + j] * queries[qo + j];
            if (best.length < k || s > best[best.length - 1][0]) {
                let p = best.length < k ? best.length : k - 1;
                if (best.length < k) best.push(null);
                while (p > 0 && best[p - 1][0] < s) { best[p] = best[p - 1]; p--; }
                best[p] = [s, i];
            }
        }
        out.push(best.map((b) => b[1]));
    }
    return out;
}
