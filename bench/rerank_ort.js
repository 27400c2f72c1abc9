// rerank_ort.js: score (query, passage) pairs with ONNX Runtime
// (onnxruntime-node) for bench/rerank_speed.sh.
//   node rerank_ort.js MODEL.onnx PAIRS.jsonl THREADS BATCH OUT.jsonl
// PAIRS.jsonl holds one {"ids": [...], "types": [...]} a line (the pair
// encoded: [CLS] q [SEP] d [SEP] with token types 0 then 1). Batches of
// BATCH consecutive pairs are padded to their longest (attention mask 0 on
// the padding). After a warm-up pass, times one pass and prints
// {"threads", "batch", "pairs", "seconds", "pairs_per_s"}; writes one
// {"score": logit 0} a line to OUT.jsonl.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
    const [model, pairsPath, threadsS, batchS, outPath] = process.argv.slice(2);
    const threads = parseInt(threadsS, 10), batch = parseInt(batchS, 10);
    const pairs = fs.readFileSync(pairsPath, 'utf8').split('\n')
        .filter((l) => l.trim()).map((l) => JSON.parse(l));
    const sess = await ort.InferenceSession.create(model, {
        intraOpNumThreads: threads, interOpNumThreads: 1,
        executionMode: 'sequential', graphOptimizationLevel: 'all',
    });
    const run = async () => {
        const out = [];
        for (let i = 0; i < pairs.length; i += batch) {
            const part = pairs.slice(i, i + batch);
            const L = Math.max(...part.map((p) => p.ids.length));
            const ids = new BigInt64Array(part.length * L);
            const mask = new BigInt64Array(part.length * L);
            const types = new BigInt64Array(part.length * L);
            part.forEach((p, b) => p.ids.forEach((id, j) => {
                ids[b * L + j] = BigInt(id);
                mask[b * L + j] = 1n;
                types[b * L + j] = BigInt(p.types[j]);
            }));
            const r = await sess.run({
                input_ids: new ort.Tensor('int64', ids, [part.length, L]),
                attention_mask: new ort.Tensor('int64', mask, [part.length, L]),
                token_type_ids: new ort.Tensor('int64', types, [part.length, L]),
            });
            const lg = r.logits, nl = lg.dims[1];
            for (let b = 0; b < part.length; b++)
                out.push(lg.data[b * nl]);
        }
        return out;
    };
    await run(); // warm-up pass (graph optimisation, allocations)
    const t0 = process.hrtime.bigint();
    const scores = await run();
    const sec = Number(process.hrtime.bigint() - t0) / 1e9;
    fs.writeFileSync(outPath, scores.map((s) => JSON.stringify({ score: s })).join('\n') + '\n');
    console.log(JSON.stringify({ threads, batch, pairs: pairs.length, seconds: sec,
        pairs_per_s: pairs.length / sec }));
}
main().catch((e) => { console.error(e); process.exit(1); });
