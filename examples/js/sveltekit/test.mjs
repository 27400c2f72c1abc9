// The SvelteKit example: vite build with adapter-static, build/ served on
// 127.0.0.1, a search in headless Chromium.
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import * as H from "../../../tests/wasm/browser/harness.mjs";
import { copyExample, runTool, searchInPage, when } from "../../../tests/wasm/browser/examples.mjs";

test("examples/js/sveltekit: vite build (adapter-static), then a search in headless Chromium finds the moon document", when(), async () => {
    const dir = copyExample("sveltekit");
    runTool(dir, "svelte-kit", ["sync"]);
    runTool(dir, "vite", ["build", "--logLevel", "warn"]);
    const srv = await H.serve({ "/": path.join(dir, "build") });
    try {
        const r = await searchInPage(srv.url + "/", "moon and tides");
        assert.equal(r.status, "ready: 6 records");
        assert.equal(r.ids[0], "moon");
    } finally {
        await srv.close();
    }
});
