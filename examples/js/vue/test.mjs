// The Vue example, built with Vite and used in headless Chromium
// (tests/wasm/browser/run.sh runs it).
import { test } from "node:test";
import assert from "node:assert/strict";
import { viteExample, when } from "../../../tests/wasm/browser/examples.mjs";

test("examples/js/vue: vite build, then a search in headless Chromium finds the satellites document", when(), async () => {
    const r = await viteExample("vue", "satellites in orbit");
    assert.equal(r.status, "ready: 6 records");
    assert.equal(r.ids[0], "rockets");
    assert.equal(r.ids.length, 3);
});
