// wasm/minify.cjs: node wasm/minify.cjs OUTDIR FILE... writes each ES
// module FILE minified into OUTDIR under its own name, with Debian's terser
// (node-terser, found through NODE_PATH=/usr/share/nodejs; wasm/wasm.mk sets
// it). Exit 5 when terser is missing or fails.
"use strict";
const fs = require("fs");
const path = require("path");
let minify;
try {
  ({ minify } = require("terser"));
} catch (e) {
  process.stderr.write(`minify.cjs: error: terser not found (scripts/deps.sh --wasm installs node-terser): ${e.message}\n`);
  process.exit(5);
}
const [out, ...files] = process.argv.slice(2);
if (!out || files.length === 0) {
  process.stderr.write("usage: node wasm/minify.cjs OUTDIR FILE...\n");
  process.exit(2);
}
(async () => {
  for (const f of files) {
    const src = fs.readFileSync(f, "utf8");
    // keep_classnames and keep_fnames: VecStoreError's and VecStore's names
    // are part of the API (error.name, constructor.name)
    const r = await minify(src, {
      module: true,
      ecma: 2020,
      compress: { passes: 2 },
      mangle: true,
      keep_classnames: true,
      keep_fnames: /^(VecStore|VecStoreError)$/,
      // the bundler hints (webpackIgnore, turbopackIgnore, @vite-ignore)
      // stay: the loader's dynamic import() and init()'s URL need them
      format: { comments: /webpackIgnore|turbopackIgnore|@vite-ignore/ },
    });
    fs.writeFileSync(path.join(out, path.basename(f)), r.code);
  }
})().catch((e) => {
  process.stderr.write(`minify.cjs: error: ${e.message}\n`);
  process.exit(5);
});
