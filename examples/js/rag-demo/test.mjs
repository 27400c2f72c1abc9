// The browser RAG demo in headless Chromium: build.sh makes it (the docs
// through vs-chunk | vs-embed | vs-ingest), a static server sends it; the
// page's answer must be vs-query's answer on the same store, and a reload
// opens the store from IndexedDB without fetching kb.tar again.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import * as H from "../../../tests/wasm/browser/harness.mjs";
import { when, run } from "../../../tests/wasm/browser/examples.mjs";

const BIN = process.env.VS_BIN || path.join(H.ROOT, "build/bin");
const opts = when();
if (!opts.skip && !fs.existsSync(path.join(BIN, "vs-ingest"))) opts.skip = `no ${BIN}/vs-ingest (make)`;

test("examples/js/rag-demo: the docs store built by the programs answers in Chromium as vs-query does, then reopens from IndexedDB", opts, async () => {
    const out = path.join(H.WEB, "ex", "rag-demo");
    fs.rmSync(out, { recursive: true, force: true });
    run(H.ROOT, path.join(H.ROOT, "examples/js/rag-demo/build.sh"), [out, BIN]);
    const question = "how do I delete records matching a filter?";
    // vs-query's answer: the same store, from the tar
    const kb = path.join(out, "check.vs");
    fs.mkdirSync(kb);
    execFileSync("tar", ["-xf", path.join(out, "kb.tar"), "-C", kb]);
    const want = execFileSync(path.join(BIN, "vs-query"), [kb, "-k", "5", "-q"],
                              { input: JSON.stringify({ id: "q", text: question }) + "\n", encoding: "utf8" })
        .split("\n").filter((l) => l.includes('"rank"')).map((l) => JSON.parse(l).id);
    assert.equal(want.length, 5);

    const srv = await H.serve({ "/": out });
    const br = await H.launch();
    try {
        const page = await br.page();
        await page.goto(srv.url + "/");
        await page.waitForFunction(() => /^(ready|error)/.test(document.querySelector("#status").textContent));
        assert.match(await page.textContent("#status"), /^ready: \d+ chunks, loaded kb\.tar, persisted to IndexedDB$/);
        await page.fill("#q", question);
        await page.press("#q", "Enter");
        await page.waitForSelector("#hits li");
        const got = await page.$$eval("#hits li", (els) => els.map((e) => e.dataset.id));
        assert.deepEqual(got, want, "the page's top 5 are vs-query's top 5");
        assert.match(await page.inputValue("#prompt"), /Question: how do I delete records matching a filter\?/);
        // a second visit: IndexedDB, no kb.tar
        const asked = srv.requests.length;
        await page.reload();
        await page.waitForFunction(() => /^(ready|error)/.test(document.querySelector("#status").textContent));
        assert.match(await page.textContent("#status"), /^ready: \d+ chunks, opened from IndexedDB$/);
        assert.ok(!srv.requests.slice(asked).includes("/kb.tar"), "kb.tar not fetched again");
        await page.fill("#q", question);
        await page.press("#q", "Enter");
        await page.waitForSelector("#hits li");
        assert.deepEqual(await page.$$eval("#hits li", (els) => els.map((e) => e.dataset.id)), want);
        assert.deepEqual(page.errors, []);
        for (const p of srv.requests) assert.ok(!p.includes("//"), p);
    } finally {
        await br.close();
        await srv.close();
    }
});
