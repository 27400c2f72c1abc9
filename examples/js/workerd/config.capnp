# workerd configuration of the edge example: one worker, one HTTP socket.
#   npx workerd serve config.capnp            (listens on 127.0.0.1:8787)
#   npx workerd serve config.capnp --socket-addr http=127.0.0.1:9000
# The modules are embedded from node_modules/vecstore (npm install).
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "main", worker = .searchWorker) ],
  sockets = [ (name = "http", address = "127.0.0.1:8787", http = (), service = "main") ],
);

const searchWorker :Workerd.Worker = (
  modules = [
    (name = "worker.mjs", esModule = embed "worker.mjs"),
    (name = "docs.js", esModule = embed "docs.js"),
    # the package: its entry under its own name, the Emscripten glue where
    # the entry's "./dist/vecstore.mjs" resolves, the module as a wasm import
    (name = "vecstore", esModule = embed "node_modules/vecstore/index.js"),
    (name = "dist/vecstore.mjs", esModule = embed "node_modules/vecstore/dist/vecstore.mjs"),
    (name = "vecstore.wasm", wasm = embed "node_modules/vecstore/dist/vecstore.wasm"),
  ],
  compatibilityDate = "2025-09-01",
);
