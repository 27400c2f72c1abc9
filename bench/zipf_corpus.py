#!/usr/bin/python3
"""zipf_corpus.py OUT_DIR [DOCS] [QUERIES] [SEED]: a synthetic text corpus
for bench/text.sh, written in the BEIR layout (OUT_DIR/corpus.jsonl with
_id, title "", text; OUT_DIR/queries.jsonl with _id, text; no qrels).

The generator (numpy's PCG64 seeded with SEED, default 25; the same
arguments give the same bytes):
  vocabulary  V = 200,000 word types; type r (rank 1 .. V) has probability
              proportional to 1 / r^1.07 (Zipf's law with the exponent of
              English text). The word of rank r is r written in base 75
              with one consonant-vowel syllable per digit (15 consonants x
              5 vowels), shortest words for the most frequent ranks, so the
              words are lowercase ASCII letters, distinct, 2 to 6 letters,
              and mean nothing to a stemmer or a stop list (bench/text.sh
              indexes this corpus with no stemming and no stop words).
  documents   DOCS (default 1,000,000), each of a length drawn uniformly
              from 10 .. 70 words (mean 40), every word drawn independently
              from the Zipf distribution.
  queries     QUERIES (default 1,000), each of 2 .. 5 distinct words drawn
              from the same Zipf distribution (so, as in real queries before
              stop words are dropped, some are very frequent words).
Words are drawn by inverse transform: a uniform double (Generator.random)
searched in the cumulative distribution. Prints one JSON line: docs,
queries, tokens, bytes."""
import json
import os
import sys

import numpy as np

V = 200_000
EXPONENT = 1.07
CONS = "bcdfghjklmnprst"
VOWELS = "aeiou"
SYL = [c + v for c in CONS for v in VOWELS]  # 75 syllables


def word(r):
    """The word of rank r >= 1: bijective base 75, one syllable a digit."""
    n = r
    out = []
    while n > 0:
        n -= 1
        out.append(SYL[n % 75])
        n //= 75
    return "".join(reversed(out))


def main():
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        sys.stderr.write("usage: zipf_corpus.py OUT_DIR [DOCS] [QUERIES] [SEED]\n")
        sys.exit(2)
    out = sys.argv[1]
    ndocs = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    nq = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    seed = int(sys.argv[4]) if len(sys.argv) > 4 else 25
    rng = np.random.Generator(np.random.PCG64(seed))
    p = 1.0 / np.arange(1, V + 1, dtype=np.float64) ** EXPONENT
    cdf = np.cumsum(p)
    cdf /= cdf[-1]
    words = np.array([word(r) for r in range(1, V + 1)], dtype=object)
    os.makedirs(out, exist_ok=True)
    tokens = 0
    nbytes = 0
    tmp = os.path.join(out, "corpus.jsonl.tmp")
    with open(tmp, "w") as f:
        block = 50_000
        for start in range(0, ndocs, block):
            n = min(block, ndocs - start)
            lens = rng.integers(10, 71, size=n)
            ranks = np.searchsorted(cdf, rng.random(int(lens.sum())), side="right")
            ranks = np.minimum(ranks, V - 1)
            ws = words[ranks]
            at = 0
            lines = []
            for i in range(n):
                ln = int(lens[i])
                text = " ".join(ws[at:at + ln])
                at += ln
                lines.append('{"_id": "d%d", "title": "", "text": "%s"}\n' % (start + i, text))
            s = "".join(lines)
            f.write(s)
            nbytes += len(s)
            tokens += at
    os.replace(tmp, os.path.join(out, "corpus.jsonl"))
    with open(os.path.join(out, "queries.jsonl"), "w") as f:
        for i in range(nq):
            want = int(rng.integers(2, 6))
            seen = []
            while len(seen) < want:
                r = min(int(np.searchsorted(cdf, rng.random(), side="right")), V - 1)
                if r not in seen:
                    seen.append(r)
            f.write(json.dumps({"_id": "q%d" % i, "text": " ".join(words[r] for r in seen)}) + "\n")
    print(json.dumps({"docs": ndocs, "queries": nq, "tokens": tokens, "bytes": nbytes,
                      "vocabulary": V, "exponent": EXPONENT, "seed": seed}))


if __name__ == "__main__":
    main()
