// A module worker for the browser tests: opens a store the page persisted
// (IndexedDB is there in workers too), searches it, and builds a small
// store of its own.
import { VecStore } from "/t/entry.js"; // re-exports the package entry (workers have no import map)

self.onmessage = async (e) => {
    if (e.data.build) {   // build a store here and persist it for the page
        try {
            const s = await VecStore.create({ dim: 4, hnswM: 0 });
            s.upsert(e.data.build);
            const stats = await s.persist(e.data.name);
            self.postMessage({ stats, generation: s.info().generation });
        } catch (err) {
            self.postMessage({ error: `${err && err.status} ${err && err.message}` });
        }
        return;
    }
    try {
        const { name, query, k } = e.data;
        const s = await VecStore.open(name);
        const hits = s.search(query, { k });
        const own = await VecStore.create({ dim: 2, hnswM: 0 });
        for (let i = 0; i < 10; i++) own.upsert({ id: `w${i}`, vector: [1, i] });
        const built = own.search([1, 0], { k: 100 }).length;
        self.postMessage({ inWorker: typeof WorkerGlobalScope !== "undefined", hits, built });
    } catch (err) {
        self.postMessage({ error: `${err && err.status} ${err && err.message}` });
    }
};
