import { useEffect, useRef, useState } from "react";
import { VecStore } from "vecstore";
import { docs } from "./docs.js";

export default function App() {
    const store = useRef(null);
    const [status, setStatus] = useState("loading");
    const [query, setQuery] = useState("");
    const [hits, setHits] = useState([]);

    useEffect(() => {
        let closed = false;
        (async () => {
            // the built-in hash embedder: string queries need no model file
            const s = await VecStore.create({ dim: 256, model: "hash", text: true });
            s.upsert(docs);
            if (closed) { s.close(); return; }
            store.current = s;
            setStatus(`ready: ${s.size} records`);
        })().catch((e) => setStatus(`error: ${e.message}`));
        return () => { closed = true; store.current?.close(); store.current = null; };
    }, []);

    function search(e) {
        e.preventDefault();
        if (!store.current || !query.trim()) return;
        setHits(store.current.search(query, { k: 3, mode: "hybrid" }));
    }

    return (
        <main>
            <h1>vecstore + React</h1>
            <p id="status">{status}</p>
            <form onSubmit={search}>
                <input id="q" value={query} onChange={(e) => setQuery(e.target.value)} placeholder="ask something" />
                <button type="submit">Search</button>
            </form>
            <ol id="hits">
                {hits.map((h) => (
                    <li key={h.id} data-id={h.id}>{h.text} <small>({h.metadata.topic}, {h.score.toFixed(3)})</small></li>
                ))}
            </ol>
        </main>
    );
}
