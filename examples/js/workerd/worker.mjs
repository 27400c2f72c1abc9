// An edge function: vecstore in Cloudflare's workerd runtime (no file
// system, no threads). The WebAssembly module comes in as a module import
// (config.capnp binds it; with wrangler, `import wasm from
// "vecstore/vecstore.wasm"`) and is handed to init() before the first store.
//   GET /search?q=TEXT[&k=N][&topic=T]  ->  {"hits":[{id, score, text, topic}]}
import { VecStore, VecStoreError, init } from "vecstore";
import wasm from "vecstore.wasm";
import { docs } from "./docs.js";

init({ wasm });
let storePromise = null;   // one store per isolate, built on the first request

function getStore() {
    if (!storePromise) {
        storePromise = (async () => {
            const s = await VecStore.create({ dim: 256, model: "hash", text: true });
            s.upsert(docs);
            return s;
        })();
        storePromise.catch(() => { storePromise = null; });
    }
    return storePromise;
}

function json(body, status = 200) {
    return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

export default {
    async fetch(request) {
        const url = new URL(request.url);
        if (url.pathname !== "/search") return json({ error: "not found: GET /search?q=TEXT" }, 404);
        const q = url.searchParams.get("q");
        if (!q) return json({ error: "q is required" }, 400);
        const k = Number(url.searchParams.get("k") || 3);
        const topic = url.searchParams.get("topic");
        try {
            const store = await getStore();
            const hits = store.search(q, { k, mode: "hybrid", filter: topic ? `topic = ${JSON.stringify(topic)}` : undefined });
            return json({ hits: hits.map((h) => ({ id: h.id, score: h.score, text: h.text, topic: h.metadata.topic })) });
        } catch (e) {
            if (e instanceof VecStoreError) return json({ error: e.message, status: e.status }, 400);
            throw e;
        }
    },
};
