#!/bin/sh
# A CI step: evaluate the candidate run against the judgments and the main
# branch's run; exit 1 (the job fails) when a gate in gate.yaml fails.
#   examples/gate/ci.sh [BIN_DIR] [CANDIDATE_RUN]
here=$(dirname "$0")
bin=${1:-build/bin}
run=${2:-$here/candidate.trec}
exec "$bin/vs-eval" --qrels "$here/qrels.tsv" --baseline "$here/main.trec" \
    --gate "$here/gate.yaml" -m map "$run"
