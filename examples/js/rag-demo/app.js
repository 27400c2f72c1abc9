// The browser RAG demo: the first visit fetches kb.tar (a store the vs-*
// programs built), loads it and persists it to IndexedDB; later visits open
// it from IndexedDB with no download. Questions are embedded with the
// store's own model (the built-in hash embedder) and answered by hybrid
// search (BM25 and vectors, fused by reciprocal rank).
import { VecStore, VecStoreError } from "vecstore";

const NAME = "vecstore-docs";
const $ = (id) => document.getElementById(id);

async function openStore() {
    try {
        return { store: await VecStore.open(NAME), how: "opened from IndexedDB" };
    } catch (e) {
        if (!(e instanceof VecStoreError) || (e.status !== "no_store" && e.status !== "unsupported")) throw e;
    }
    const res = await fetch("kb.tar");
    if (!res.ok) throw new Error(`kb.tar: HTTP ${res.status}`);
    const store = await VecStore.load(new Uint8Array(await res.arrayBuffer()));
    try {
        await store.persist(NAME);
        return { store, how: "loaded kb.tar, persisted to IndexedDB" };
    } catch (e) {
        return { store, how: `loaded kb.tar (not persisted: ${e.message})` };
    }
}

function el(tag, props, ...kids) {
    const { dataset, ...rest } = props;
    const e = Object.assign(document.createElement(tag), rest);
    Object.assign(e.dataset, dataset || {});
    e.append(...kids);
    return e;
}

try {
    const { store, how } = await openStore();
    $("status").textContent = `ready: ${store.size} chunks, ${how}`;
    $("ask").addEventListener("submit", (ev) => {
        ev.preventDefault();
        const q = $("q").value.trim();
        if (!q) return;
        const hits = store.search(q, { k: 5, mode: "hybrid" });
        $("hits").replaceChildren(...hits.map((h) =>
            el("li", { dataset: { id: h.id } },
               el("div", { className: "src", textContent: `${h.docId || h.id} (score ${h.score.toFixed(4)})` }),
               el("pre", { textContent: h.text }))));
        $("prompt").value = "Answer the question using only these passages.\n\n" +
            hits.map((h, i) => `[${i + 1}] ${h.docId || h.id}\n${h.text}`).join("\n\n") +
            `\n\nQuestion: ${q}\nAnswer:`;
    });
} catch (e) {
    $("status").textContent = `error: ${e.message}`;
    throw e;
}
