// The Node example script: its own documents, then a store vs-ingest
// wrote, saved again and opened by vs-query.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFileSync } from "node:child_process";
import * as H from "../../../tests/wasm/browser/harness.mjs";
import { copyExample, run } from "../../../tests/wasm/browser/examples.mjs";

const BIN = process.env.VS_BIN || path.join(H.ROOT, "build/bin");
const noPkg = H.packageTarball() ? null : "no dist/vecstore-*.tgz (make wasm)";
const noNm = fs.existsSync(path.join(H.WEB, "node_modules")) ? null : "no build-web/node_modules (scripts/web-deps.sh)";
const skip = noPkg || noNm;

test("examples/js/node: search.mjs answers from its own documents", skip ? { skip } : {}, () => {
    const dir = copyExample("node");
    const out = run(dir, process.execPath, ["search.mjs", "-k", "2", "bread", "dough", "and", "yeast"]);
    const lines = out.trim().split("\n");
    assert.equal(lines.length, 2, out);
    assert.match(lines[0], /^1\t[0-9.]+\tbread\tBread rises/);
});

const noProgs = fs.existsSync(path.join(BIN, "vs-ingest")) ? null : `no ${BIN}/vs-ingest (make)`;
test("examples/js/node: search.mjs --store reads vs-ingest's store and --save writes one vs-query opens", skip || noProgs ? { skip: skip || noProgs } : {}, () => {
    const dir = copyExample("node");
    const kb = path.join(dir, "kb.vs");
    const recs = [
        { id: "one", vector: [1, 0, 0], text: "the first record" },
        { id: "two", vector: [0, 1, 0], text: "the second record" },
        { id: "three", vector: [0, 0, 1], text: "the third record" },
    ].map((r) => JSON.stringify(r)).join("\n") + "\n";
    execFileSync(path.join(BIN, "vs-ingest"), [kb, "-q"], { input: recs });
    execFileSync("tar", ["-cf", path.join(dir, "kb.tar"), "-C", kb, "MANIFEST", "seg-00000001.vseg"]);
    const out = run(dir, process.execPath, ["search.mjs", "--store", "kb.tar", "--save", "again.tar", "-k", "1", "second"]);
    assert.match(out, /^1\t[0-9.]+\ttwo\tthe second record\n$/);
    const again = path.join(dir, "again.vs");
    fs.mkdirSync(again);
    execFileSync("tar", ["-xf", path.join(dir, "again.tar"), "-C", again]);
    const q = execFileSync(path.join(BIN, "vs-query"), [again, "-k", "1", "-q"],
                           { input: JSON.stringify({ id: "q", vector: [0, 0, 1] }) + "\n", encoding: "utf8" });
    assert.equal(JSON.parse(q.trim().split("\n").find((l) => l.includes('"rank"'))).id, "three");
});

test("examples/js/node: npm install in a folder of its own (the tarball, offline) and the script runs", skip ? { skip } : {}, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vs-node-example-"));
    try {
        for (const f of ["search.mjs", "docs.js", "package.json"])
            fs.copyFileSync(path.join(H.ROOT, "examples/js/node", f), path.join(dir, f));
        const pj = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
        assert.equal(pj.dependencies.vecstore, "file:../../../dist/vecstore-0.1.0.tgz");
        pj.dependencies.vecstore = `file:${H.packageTarball()}`;
        fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify(pj, null, 2));
        run(dir, "npm", ["install", "--offline", "--no-audit", "--no-fund", "--loglevel=error"]);
        assert.ok(fs.existsSync(path.join(dir, "node_modules/vecstore/dist/vecstore.wasm")));
        const out = run(dir, process.execPath, ["search.mjs", "-k", "1", "coral", "reefs"]);
        assert.match(out, /^1\t[0-9.]+\tcoral\t/);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});
