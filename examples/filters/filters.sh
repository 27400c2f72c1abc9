#!/bin/bash
# filters.sh WORK: metadata filters, in one grammar everywhere
# (docs/filter.md), over a small catalogue of books (books.jsonl: year,
# lang, tags, publisher.name). Builds WORK/books.vs, then asks the same
# question with several filters, on the command line (--filter) and in the
# query record ("filter"), and prints the ids found for each, then what
# --explain reports of the filtered vector search: the filter as applied
# (the record's ANDed with --filter), how many records matched, and that
# the search was exact.
# Environment: MODEL (vs-embed --model; default hash-v1:256, so the example
# needs no model file).
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: filters.sh WORK" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
work=$1
model=${MODEL:-hash-v1:256}
mkdir -p "$work"
cd "$work"
rm -rf books.vs
vs-embed -q --model "$model" < "$here/books.jsonl" | vs-ingest -q books.vs

ask() { # ask FILTER: the ids of the hits for one question under FILTER
    printf '%-62s ' "$1"
    vs-query -q books.vs -k 5 --query "programming languages and algorithms" \
        --filter "$1" --no-text | jq -r .id | paste -sd' ' -
}
ask 'lang = "en"'
ask 'year >= 2010 AND lang = "en"'
ask 'tags CONTAINS "rust"'
ask 'tags CONTAINS "programming" AND NOT tags CONTAINS "c"'
ask 'lang IN ["fr", "de"]'
ask 'publisher.name STARTSWITH "Addison"'
ask 'NOT publisher EXISTS'
ask '(year < 1980 OR year > 2020) AND lang != "de"'

# the same filter inside the query record, ANDed with --filter
echo '{"id":"q1","text":"databases and search","filter":"year >= 2000","k":3}' |
    vs-embed -q --model "$model" |
    vs-query -q books.vs --mode vector --filter 'lang = "en"' --no-text --explain > explain.ndjson
echo "query record: $(jq -r .id explain.ndjson | paste -sd' ' -)"
jq -c 'select(.explain) | .explain | {filter, filter_matched, exact}' explain.ndjson
