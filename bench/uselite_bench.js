// bench/uselite_bench.js: USE-lite through its own JavaScript runtime, for
// bench/uselite.sh.
//
//   node bench/uselite_bench.js BACKEND THREADS MODEL_DIR SENT.jsonl OUT.jsonl [BATCH]
//
// BACKEND
//   wasm  the runtime as published: @energetic-ai/embeddings on
//         @energetic-ai/core (TensorFlow.js with its WebAssembly backend
//         bundled in); THREADS goes to setThreadsCount (the threaded SIMD
//         build is used only when this Node supports it; the result says
//         which build ran);
//   cpu   the same graph on TensorFlow.js's pure JavaScript CPU backend
//         (@tensorflow/tfjs-core, -converter, -backend-cpu), single-threaded;
//         SENT.jsonl must carry "ids" from the tokenize mode, so its time is
//         inference only;
//   tokenize  writes SENT.jsonl's lines with "ids" added, from
//         @energetic-ai/embeddings' own tokenizer (THREADS is ignored).
// MODEL_DIR holds model.json, its shards and vocab.json (scripts/get-model.sh
// use-lite). Reads {"id","text"} lines, embeds one warm-up batch, then times
// every sentence in batches of BATCH (default 32): tokenization plus
// inference, model loading excluded; the summary gives wall and CPU seconds
// (user + system, all threads of the process). Writes {"id","vector"} lines to
// OUT.jsonl and one JSON summary line to stdout.
// Modules are looked up through NODE_PATH (bench/uselite.sh sets it to
// $TFJS_DIR/node_modules).
"use strict";
const fs = require("fs");
const path = require("path");

async function main() {
    const [backend, threadsArg, dir, sentPath, outPath, batchArg] = process.argv.slice(2);
    if (!outPath || !["wasm", "cpu", "tokenize"].includes(backend)) {
        console.error("usage: uselite_bench.js wasm|cpu|tokenize THREADS MODEL_DIR SENT.jsonl OUT.jsonl [BATCH]");
        process.exit(2);
    }
    const threads = parseInt(threadsArg, 10), batch = parseInt(batchArg || "32", 10);
    const sents = fs.readFileSync(sentPath, "utf8").split("\n").filter((l) => l.trim())
        .map((l) => JSON.parse(l));
    const vocabulary = JSON.parse(fs.readFileSync(path.join(dir, "vocab.json"), "utf8"));
    let embed, flavour, version;

    if (backend === "tokenize") {
        const { EmbeddingsModel } = require("@energetic-ai/embeddings");
        const tok = new EmbeddingsModel({ model: null, vocabulary }).tokenizer;
        fs.writeFileSync(outPath, sents.map((s) =>
            JSON.stringify({ id: s.id, text: s.text, ids: tok.encode(s.text) })).join("\n") + "\n");
        return;
    }
    if (backend === "wasm") {
        const core = require("@energetic-ai/core");
        const { EmbeddingsModel } = require("@energetic-ai/embeddings");
        core.setThreadsCount(threads);
        await core.setBackend("wasm");
        await core.ready();
        const model = await core.loadGraphModel(`file://${path.resolve(dir)}/model.json`);
        const m = new EmbeddingsModel({ model, vocabulary });
        embed = (texts) => m.embed(texts);
        const b = core.backend();
        flavour = "wasm" + (typeof b.wasm?._get_threads_count === "function"
            ? " (" + b.wasm._get_threads_count() + " thread)" : "");
        version = core.version["tfjs-core"];
    } else {
        const tf = require("@tensorflow/tfjs-core");
        require("@tensorflow/tfjs-backend-cpu");
        const tfconv = require("@tensorflow/tfjs-converter");
        await tf.setBackend("cpu");
        await tf.ready();
        const json = JSON.parse(fs.readFileSync(path.join(dir, "model.json"), "utf8"));
        const specs = [], bufs = [];
        for (const g of json.weightsManifest) {
            specs.push(...g.weights);
            for (const p of g.paths)
                bufs.push(fs.readFileSync(path.join(dir, p)));
        }
        const all = Buffer.concat(bufs);
        const handler = {
            load: async () => ({
                modelTopology: json.modelTopology,
                format: json.format,
                generatedBy: json.generatedBy,
                convertedBy: json.convertedBy,
                signature: json.signature,
                userDefinedMetadata: json.userDefinedMetadata,
                weightSpecs: specs,
                weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
            }),
        };
        const model = await tfconv.loadGraphModel(handler);
        // Token ids come from the "tokenize" mode, run in another process:
        // @energetic-ai/core carries its own TensorFlow.js, and two copies
        // in one process share (and break) one global engine.
        const ids = new Map(sents.map((s) => [s.text, s.ids]));
        embed = async (texts) => {
            const enc = texts.map((t) => ids.get(t));
            const idx = [];
            enc.forEach((a, i) => a.forEach((_, j) => idx.push([i, j])));
            const indices = tf.tensor2d(idx, [idx.length, 2], "int32");
            const values = tf.tensor1d(enc.flat(), "int32");
            const out = await model.executeAsync({ indices, values });
            indices.dispose();
            values.dispose();
            const arr = await out.array();
            out.dispose();
            return arr;
        };
        flavour = "cpu (pure JavaScript)";
        version = tf.version_core;
    }

    await embed(sents.slice(0, batch).map((s) => s.text)); // warm-up
    const vecs = [];
    const c0 = process.cpuUsage(), t0 = process.hrtime.bigint();
    for (let i = 0; i < sents.length; i += batch)
        vecs.push(...(await embed(sents.slice(i, i + batch).map((s) => s.text))));
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cu = process.cpuUsage(c0), cpu_seconds = (cu.user + cu.system) / 1e6;
    fs.writeFileSync(outPath, sents.map((s, i) =>
        JSON.stringify({ id: s.id, vector: vecs[i] })).join("\n") + "\n");
    console.log(JSON.stringify({
        backend: flavour, tfjs: version, threads, batch, sentences: sents.length,
        seconds, sentences_per_s: sents.length / seconds, cpu_seconds,
    }));
}

main().catch((e) => {
    console.error("uselite_bench.js: " + (e && e.stack ? e.stack : e));
    process.exit(5);
});
