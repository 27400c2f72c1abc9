// The React example, built with Vite and used in headless Chromium
// (tests/wasm/browser/run.sh runs it).
import { test } from "node:test";
import assert from "node:assert/strict";
import { viteExample, when } from "../../../tests/wasm/browser/examples.mjs";

test("examples/js/react: vite build, then a search in headless Chromium finds the orchard document", when(), async () => {
    const r = await viteExample("react", "fruit from orchards in autumn");
    assert.equal(r.status, "ready: 6 records");
    assert.equal(r.ids[0], "apples");
    assert.equal(r.ids.length, 3);
});
