// harness.mjs: what the browser tests, the example tests and bench/wasm/
// share: where things are, a static file server on 127.0.0.1, and Debian's
// chromium driven headless by playwright-core (never a downloaded browser).
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const WEB = path.resolve(process.env.VS_WEB_DIR || path.join(ROOT, "build-web"));
export const CHROMIUM = process.env.VS_CHROMIUM || "/usr/bin/chromium";
export const IN_CI = !!process.env.CI;

// The launch flags that work on this network: without the background
// networking ones Chromium keeps trying hosts it cannot reach.
export const CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

/** require() from build-web/node_modules (scripts/web-deps.sh). */
export const webRequire = createRequire(path.join(WEB, "package.json"));

/** Why the browser tests cannot run here, or null. Outside CI a missing
 *  chromium, npm install or package is a skip with this reason; under CI
 *  (CI set) the caller fails instead. */
export function missing() {
    if (!fs.existsSync(CHROMIUM)) return `no ${CHROMIUM} (scripts/deps.sh --web installs Debian's chromium)`;
    if (!fs.existsSync(path.join(WEB, "node_modules", "playwright-core")))
        return `no ${WEB}/node_modules (scripts/web-deps.sh installs the npm packages)`;
    if (!packageTarball()) return "no dist/vecstore-*.tgz (make wasm builds the npm package)";
    return null;
}

/** dist/vecstore-VERSION.tgz, the npm pack tarball `make wasm` leaves. */
export function packageTarball() {
    const dist = path.join(ROOT, "dist");
    if (!fs.existsSync(dist)) return null;
    const t = fs.readdirSync(dist).filter((f) => /^vecstore-.*\.tgz$/.test(f)).sort();
    return t.length ? path.join(dist, t[t.length - 1]) : null;
}

/** The package as users get it: the tarball unpacked into
 *  build-web/vecstore-pkg/package and linked as
 *  build-web/node_modules/vecstore (so examples copied under build-web/
 *  import "vecstore"). Unpacked again when the tarball is newer. Returns the
 *  package folder. */
export function installPackage() {
    const tgz = packageTarball();
    if (!tgz) throw new Error("no dist/vecstore-*.tgz: run make wasm");
    const dir = path.join(WEB, "vecstore-pkg");
    const pkg = path.join(dir, "package");
    const stamp = path.join(dir, ".from");
    const want = `${tgz} ${fs.statSync(tgz).mtimeMs}`;
    if (!fs.existsSync(stamp) || fs.readFileSync(stamp, "utf8") !== want) {
        fs.rmSync(dir, { recursive: true, force: true });
        fs.mkdirSync(dir, { recursive: true });
        execFileSync("tar", ["-xzf", tgz, "-C", dir]);
        fs.writeFileSync(stamp, want);
    }
    const link = path.join(WEB, "node_modules", "vecstore");
    let cur = null;
    try { cur = fs.readlinkSync(link); } catch { /* none yet */ }
    if (cur !== pkg) {
        fs.rmSync(link, { recursive: true, force: true });
        fs.symlinkSync(pkg, link, "dir");
    }
    return pkg;
}

const TYPES = {
    ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
    ".json": "application/json", ".wasm": "application/wasm", ".tar": "application/x-tar",
    ".map": "application/json", ".svg": "image/svg+xml", ".txt": "text/plain; charset=utf-8",
    ".ndjson": "application/x-ndjson", ".ico": "image/x-icon", ".png": "image/png",
};

/** A static file server on 127.0.0.1 (an ephemeral port). mounts maps a
 *  URL prefix ("/pkg/") to a folder; a folder URL serves its index.html;
 *  fixed maps an exact path to [content type, body] (generated pages);
 *  opts.isolated adds the COOP/COEP headers that make the page
 *  cross-origin isolated (finer performance.now(), for the benchmarks).
 *  Returns { url, close(), requests, served } (requests: the paths asked,
 *  for tests that check nothing else was fetched; served: [path, file] of
 *  each file sent). */
export async function serve(mounts, fixed = {}, opts = {}) {
    const prefixes = Object.keys(mounts).sort((a, b) => b.length - a.length);
    const requests = [];
    const served = [];
    const iso = opts.isolated ? { "cross-origin-opener-policy": "same-origin",
                                  "cross-origin-embedder-policy": "require-corp" } : {};
    const server = http.createServer((req, res) => {
        const u = new URL(req.url, "http://x");
        let p = decodeURIComponent(u.pathname);
        requests.push(p);
        if (fixed[p] && req.method === "GET") {
            res.writeHead(200, { "content-type": fixed[p][0], "cache-control": "no-store", ...iso });
            res.end(fixed[p][1]);
            return;
        }
        const pre = prefixes.find((m) => p.startsWith(m));
        if (!pre || req.method !== "GET") { res.writeHead(404).end(); return; }
        const base = path.resolve(mounts[pre]);
        let file = path.resolve(base, "." + path.sep + p.slice(pre.length));
        if (file !== base && !file.startsWith(base + path.sep)) { res.writeHead(403).end(); return; }
        try {
            if (fs.statSync(file).isDirectory()) file = path.join(file, "index.html");
            const body = fs.readFileSync(file);
            served.push([p, file]);
            res.writeHead(200, {
                "content-type": TYPES[path.extname(file)] || "application/octet-stream",
                "cache-control": "no-store", ...iso,
            });
            res.end(body);
        } catch {
            res.writeHead(404).end();
        }
    });
    await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${server.address().port}`;
    return {
        url, requests, served,
        close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
    };
}

/** Headless Debian chromium with a new empty profile folder (removed by
 *  close()). Returns { context, page(), close() }; page() opens a tab that
 *  records console errors and page errors in page.errors. */
export async function launch() {
    const { chromium } = webRequire("playwright-core");
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), "vs-chromium-"));
    const context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS,
    });
    return {
        context,
        async page() {
            const page = await context.newPage();
            page.errors = [];
            page.on("pageerror", (e) => page.errors.push(String(e)));
            page.on("console", (m) => { if (m.type() === "error") page.errors.push(m.text()); });
            return page;
        },
        async close() {
            await context.close();
            fs.rmSync(profile, { recursive: true, force: true });
        },
    };
}

/** The package's ESM entry, relative to its folder (package.json exports
 *  ".", its "import" or "default" condition, else module or main). */
export function packageEntry(pkgDir) {
    const pj = JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"), "utf8"));
    let e = pj.exports;
    if (e && typeof e === "object" && "." in e) e = e["."];
    while (e && typeof e === "object") e = e.browser || e.import || e.default;
    return (e || pj.module || pj.main || "index.js").replace(/^\.\//, "");
}

/** A page whose import map names the package "vecstore" (served under
 *  /pkg/): tests evaluate `await import("vecstore")` in it. */
export function testPage(pkgDir, title = "vecstore test") {
    const map = { imports: { vecstore: "/pkg/" + packageEntry(pkgDir), "vecstore/": "/pkg/" } };
    return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>
<link rel="icon" href="data:,"><script type="importmap">${JSON.stringify(map)}</script></head><body></body></html>`;
}

/** The generated files of the test pages: /t/index.html (testPage) and
 *  /t/entry.js, which re-exports the package entry for module workers. */
export function testFiles(pkgDir) {
    return {
        "/t/index.html": ["text/html; charset=utf-8", testPage(pkgDir)],
        "/t/entry.js": ["text/javascript; charset=utf-8", `export * from "/pkg/${packageEntry(pkgDir)}";\n`],
    };
}
