// examples.mjs: what the examples' tests (examples/js/*/test.mjs) share:
// copy an example under build-web/ (so its imports resolve from
// build-web/node_modules, where the package tarball is linked as
// "vecstore"), build it with its own tool, serve the output on 127.0.0.1
// and use it in headless Chromium the way a person would.
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import assert from "node:assert/strict";
import * as H from "./harness.mjs";

/** Copy examples/js/NAME to build-web/ex/NAME (without node_modules,
 *  dist, build outputs) and link the package; returns the copy. */
export function copyExample(name) {
    const src = path.join(H.ROOT, "examples/js", name);
    const dst = path.join(H.WEB, "ex", name);
    fs.rmSync(dst, { recursive: true, force: true });
    fs.cpSync(src, dst, {
        recursive: true,
        filter: (f) => !/[/\\](node_modules|dist|build|\.next|\.svelte-kit|out)$/.test(f),
    });
    H.installPackage();
    return dst;
}

/** Run a command in dir; assert it exits 0; returns its output. */
export function run(dir, cmd, args, opts = {}) {
    const r = spawnSync(cmd, args, { cwd: dir, encoding: "utf8", timeout: opts.timeout || 300000,
                                     env: { ...process.env, NO_COLOR: "1", ...(opts.env || {}) } });
    const out = `${r.stdout || ""}${r.stderr || ""}`;
    assert.equal(r.status, 0, `${cmd} ${args.join(" ")} in ${dir} failed (${r.error || r.signal || r.status}):\n${out}`);
    return out;
}

/** node build-web/node_modules/.bin/TOOL ARGS in dir. */
export function runTool(dir, tool, args, opts) {
    return run(dir, path.join(H.WEB, "node_modules", ".bin", tool), args, opts);
}

/** Open url in headless Chromium, wait for "#status" to say ready, type
 *  query into "#q", press Enter, and return the data-id of the "#hits li"
 *  items; no page error or console error allowed. */
export async function searchInPage(url, query) {
    const br = await H.launch();
    try {
        const page = await br.page();
        await page.goto(url);
        await page.waitForFunction(() => /^ready/.test(document.querySelector("#status")?.textContent || ""),
                                   null, { timeout: 60000 });
        const status = await page.textContent("#status");
        await page.fill("#q", query);
        await page.press("#q", "Enter");
        await page.waitForSelector("#hits li", { timeout: 30000 });
        const ids = await page.$$eval("#hits li", (els) => els.map((e) => e.dataset.id));
        assert.deepEqual(page.errors, [], "no page errors");
        return { status, ids };
    } finally {
        await br.close();
    }
}

/** The test of a Vite app: copy, vite build, serve dist/, search. */
export async function viteExample(name, query) {
    const dir = copyExample(name);
    runTool(dir, "vite", ["build", "--logLevel", "warn"]);
    const dist = path.join(dir, "dist");
    const wasm = fs.readdirSync(path.join(dist, "assets")).filter((f) => f.endsWith(".wasm"));
    assert.ok(wasm.length >= 1, "the build emitted the package's .wasm modules as assets");
    const srv = await H.serve({ "/": dist });
    try {
        const r = await searchInPage(srv.url + "/", query);
        r.requests = srv.requests.slice();
        return r;
    } finally {
        await srv.close();
    }
}

/** test() options: skip (with the reason) when the browser tests cannot
 *  run here (tests/wasm/browser/run.sh fails instead under CI). */
export function when() {
    const why = H.missing();
    return why ? { skip: why } : {};
}
