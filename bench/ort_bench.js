// ort_bench.js: embed token id sequences with ONNX Runtime (onnxruntime-node)
// for bench/transformer.sh.
//   node ort_bench.js MODEL.onnx IDS.jsonl THREADS BATCH OUT.jsonl
// IDS.jsonl holds one JSON array of token ids a line ([CLS] ... [SEP]).
// Batches of BATCH consecutive sequences are padded to their longest.
// Prints {"threads", "batch", "sentences", "seconds", "sentences_per_s"} and
// writes one {"vector": [...]} a line to OUT.jsonl.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
    const [model, idsPath, threadsS, batchS, outPath] = process.argv.slice(2);
    const threads = parseInt(threadsS, 10), batch = parseInt(batchS, 10);
    const seqs = fs.readFileSync(idsPath, 'utf8').split('\n')
        .filter((l) => l.trim()).map((l) => JSON.parse(l));
    const sess = await ort.InferenceSession.create(model, {
        intraOpNumThreads: threads, interOpNumThreads: 1,
        executionMode: 'sequential', graphOptimizationLevel: 'all',
    });
    const run = async (keep) => {
        const out = [];
        for (let i = 0; i < seqs.length; i += batch) {
            const part = seqs.slice(i, i + batch);
            const L = Math.max(...part.map((s) => s.length));
            const ids = new BigInt64Array(part.length * L);
            const mask = new BigInt64Array(part.length * L);
            part.forEach((s, b) => s.forEach((id, j) => {
                ids[b * L + j] = BigInt(id);
                mask[b * L + j] = 1n;
            }));
            const r = await sess.run({
                input_ids: new ort.Tensor('int64', ids, [part.length, L]),
                attention_mask: new ort.Tensor('int64', mask, [part.length, L]),
            });
            if (keep) {
                const e = r.embedding, H = e.dims[1];
                for (let b = 0; b < part.length; b++)
                    out.push(Array.from(e.data.slice(b * H, (b + 1) * H)));
            }
        }
        return out;
    };
    await run(false); // warm-up pass (graph optimisation, allocations)
    const t0 = process.hrtime.bigint();
    const vecs = await run(true);
    const sec = Number(process.hrtime.bigint() - t0) / 1e9;
    fs.writeFileSync(outPath, vecs.map((v) => JSON.stringify({ vector: v })).join('\n') + '\n');
    console.log(JSON.stringify({ threads, batch, sentences: seqs.length, seconds: sec,
        sentences_per_s: seqs.length / sec }));
}
main().catch((e) => { console.error(e); process.exit(1); });
