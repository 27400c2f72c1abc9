// The Next.js example: next build (a static export), out/ served on
// 127.0.0.1, a search in headless Chromium.
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import * as H from "../../../tests/wasm/browser/harness.mjs";
import { copyExample, runTool, searchInPage, when } from "../../../tests/wasm/browser/examples.mjs";

for (const [bundler, args] of [["Turbopack", ["build"]], ["webpack", ["build", "--webpack"]]]) {
    test(`examples/js/nextjs: next ${args.join(" ")} (${bundler}, static export), then a search in headless Chromium finds the bread document`, when(), async () => {
        const dir = copyExample("nextjs");
        runTool(dir, "next", args, { env: { NEXT_TELEMETRY_DISABLED: "1" } });
        const srv = await H.serve({ "/": path.join(dir, "out") });
        try {
            const r = await searchInPage(srv.url + "/", "yeast and dough");
            assert.equal(r.status, "ready: 6 records");
            assert.equal(r.ids[0], "bread");
            assert.ok(srv.requests.some((p) => p.endsWith(".wasm")), "the page fetched the module from the export");
        } finally {
            await srv.close();
        }
    });
}
