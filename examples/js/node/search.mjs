#!/usr/bin/env node
// A Node script with the npm package: search a store the vs-* programs
// built, or a few documents of its own, and save what it searched so
// vs-query can open it.
//
//   node search.mjs [--store kb.tar] [--save out.tar] [-k N] QUESTION
//
// --store: a tar of a store directory (tar -cf kb.tar -C kb.vs MANIFEST
// seg-*.vseg), else the documents in docs.js, embedded with the built-in
// hash model. Prints one line a hit: rank, score, id, text.
import fs from "node:fs";
import { VecStore, VecStoreError } from "vecstore";
import { docs } from "./docs.js";

const args = process.argv.slice(2);
let storeFile = null, saveFile = null, k = 3;
const words = [];
for (let i = 0; i < args.length; i++) {
    if (args[i] === "--store") storeFile = args[++i];
    else if (args[i] === "--save") saveFile = args[++i];
    else if (args[i] === "-k") k = Number(args[++i]);
    else words.push(args[i]);
}
const question = words.join(" ");
if (!question) {
    console.error("usage: node search.mjs [--store kb.tar] [--save out.tar] [-k N] QUESTION");
    process.exit(2);
}

try {
    let store;
    if (storeFile) {
        store = await VecStore.load(fs.readFileSync(storeFile));
    } else {
        store = await VecStore.create({ dim: 256, model: "hash", text: true });
        store.upsert(docs);
    }
    // hybrid (BM25 and vectors) when the store can embed the question with
    // its model; BM25 alone for a store of vectors from elsewhere
    const mode = store.info().model ? "hybrid" : "text";
    for (const h of store.search(question, { k, mode }))
        console.log(`${h.rank}\t${h.score.toFixed(4)}\t${h.id}\t${(h.text || "").replace(/\s+/g, " ").slice(0, 80)}`);
    if (saveFile) fs.writeFileSync(saveFile, store.save());
    store.close();
} catch (e) {
    if (e instanceof VecStoreError) {
        console.error(`search.mjs: error: ${e.message}`);
        process.exit(e.status === "usage" || e.status === "config" ? 2 : 3);
    }
    throw e;
}
