// The engines the browser benchmark compares, each behind the same small
// adapter: load (import and instantiate), build (M=16, ef_construction=200
// where the engine has them), search (k nearest row numbers at a beam
// width), persist to IndexedDB the engine's own way, and open from it.
// Module URLs: /pkg/ is our package, /nm/ is build-web/node_modules.

function idb(op, key, value) {
    return new Promise((resolve, reject) => {
        const r = indexedDB.open("bench-peer", 1);
        r.onupgradeneeded = () => r.result.createObjectStore("kv");
        r.onerror = () => reject(r.error);
        r.onsuccess = () => {
            const tx = r.result.transaction("kv", op === "put" ? "readwrite" : "readonly");
            const q = op === "put" ? tx.objectStore("kv").put(value, key) : tx.objectStore("kv").get(key);
            let got;
            q.onsuccess = () => { got = q.result; };
            tx.oncomplete = () => { r.result.close(); resolve(got); };
            tx.onerror = () => reject(tx.error);
        };
    });
}

const rows = (base, n, dim) => Array.from({ length: n }, (_, i) => base.subarray(i * dim, (i + 1) * dim));

// our package; vectorStorage "f16": segments keep half floats
const ours = (vectorStorage) => ({
    efs: true,
    async load() { return import("/pkg/" + globalThis.VS_ENTRY); },
    async build(m, base, n, dim) {
        const s = await m.VecStore.create({ dim, metric: "cosine", hnswM: 16, efConstruction: 200, text: false,
                                            vectorStorage });
        s.upsert(rows(base, n, dim).map((v, i) => ({ id: String(i), vector: v })));
        return s;
    },
    // idsOnly: labels and scores as hnswlib-wasm and voy-search return,
    // no stored text or metadata read
    search(s, q, k, ef) { return s.search(q, { k, ef, idsOnly: true }).map((h) => +h.id); },
    async persist(s) { await s.persist("bench"); },
    async open(m) { return m.VecStore.open("bench"); },
});

export const engines = {
    vecstore: ours("float32"),
    "vecstore-f16": ours("f16"),
    "hnswlib-wasm": {
        efs: true,
        async load() {
            const m = await import("/nm/hnswlib-wasm/dist/hnswlib.js");
            const lib = await m.loadHnswlib();
            lib.EmscriptenFileSystemManager.setDebugLogs(false);
            return { m, lib };
        },
        async build({ lib }, base, n, dim) {
            const ix = new lib.HierarchicalNSW("ip", dim, "");
            ix.initIndex(n, 16, 200, 100);
            ix.addPoints(rows(base, n, dim), Array.from({ length: n }, (_, i) => i), false);
            return ix;
        },
        search(ix, q, k, ef) {
            if (ix.__ef !== ef) { ix.setEfSearch(ef); ix.__ef = ef; }
            return Array.from(ix.searchKnn(q, k, undefined).neighbors);
        },
        async persist(ix) {
            await ix.writeIndex("bench.dat");
            await new Promise((resolve) => ix.__lib.EmscriptenFileSystemManager.syncFS(false, resolve));
        },
        async open({ lib }, n, dim) {
            await new Promise((resolve) => lib.EmscriptenFileSystemManager.syncFS(true, resolve));
            const ix = new lib.HierarchicalNSW("ip", dim, "");
            await ix.readIndex("bench.dat", n);
            return ix;
        },
    },
    "voy-search": {
        efs: false,   // a k-d tree: no beam width to trade recall for speed
        async load() {
            const bg = await import("/nm/voy-search/voy_search_bg.js");
            const { instance } = await WebAssembly.instantiateStreaming(
                fetch("/nm/voy-search/voy_search_bg.wasm"), { "./voy_search_bg.js": bg });
            bg.__wbg_set_wasm(instance.exports);
            return bg;
        },
        async build(bg, base, n, dim) {
            const embeddings = rows(base, n, dim).map((v, i) => ({ id: String(i), title: "", url: "", embeddings: Array.from(v) }));
            return new bg.Voy({ embeddings });
        },
        search(v, q, k) { return v.search(q, k).neighbors.map((x) => +x.id); },
        // voy has no persistence of its own: its serialize() string, in IndexedDB
        async persist(v) { await idb("put", "voy", v.serialize()); },
        async open(bg) { return bg.Voy.deserialize(await idb("get", "voy")); },
    },
};
