// The edge example under Cloudflare's workerd (the npm package's runtime
// binary): serve config.capnp on a free 127.0.0.1 port, ask it, stop it.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { spawn } from "node:child_process";
import * as H from "../../../tests/wasm/browser/harness.mjs";
import { copyExample, when } from "../../../tests/wasm/browser/examples.mjs";

function freePort() {
    return new Promise((resolve) => {
        const s = net.createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => resolve(p)); });
    });
}

test("examples/js/workerd: the search worker answers under workerd, with a filter, and reports bad input as 400", when(), async () => {
    const dir = copyExample("workerd");
    fs.symlinkSync(path.join(H.WEB, "node_modules"), path.join(dir, "node_modules"), "dir");
    const port = await freePort();
    const bin = path.join(H.WEB, "node_modules", ".bin", "workerd");
    const proc = spawn(bin, ["serve", "config.capnp", "--socket-addr", `http=127.0.0.1:${port}`], { cwd: dir });
    let log = "";
    proc.stdout.on("data", (d) => { log += d; });
    proc.stderr.on("data", (d) => { log += d; });
    const exited = new Promise((resolve) => proc.on("exit", (code, sig) => resolve(`exited ${code ?? sig}`)));
    try {
        const base = `http://127.0.0.1:${port}`;
        let res = null;
        for (let i = 0; i < 100 && !res; i++) {   // up to 30 s for the runtime to listen
            try { res = await fetch(`${base}/search?q=${encodeURIComponent("satellites in orbit")}`); } catch {
                const gone = await Promise.race([exited, new Promise((r) => setTimeout(() => r(null), 300))]);
                assert.equal(gone, null, `workerd ${gone}:\n${log}`);
            }
        }
        assert.ok(res, `workerd did not answer in 30 s:\n${log}`);
        const body = await res.json();
        assert.equal(res.status, 200, JSON.stringify(body) + log);
        assert.equal(body.hits[0].id, "rockets");
        assert.equal(body.hits.length, 3);
        const f = await (await fetch(`${base}/search?q=water&topic=sea&k=5`)).json();
        assert.ok(f.hits.length >= 1 && f.hits.every((h) => h.topic === "sea"), JSON.stringify(f));
        const bad = await fetch(`${base}/search?q=x&k=0`);
        assert.equal(bad.status, 400);
        assert.equal((await bad.json()).status.length > 0, true);
        const again = await (await fetch(`${base}/search?q=${encodeURIComponent("bread dough yeast")}`)).json();
        assert.equal(again.hits[0].id, "bread", "the isolate's store still works after a bad request");
    } finally {
        proc.kill("SIGTERM");
        await exited;
    }
});
