#!/usr/bin/python3
"""Reference BERT uncased WordPiece tokenizer for the tests (independent of
lib/wordpiece.c: Python's unicodedata and str.lower()).

usage: wordpiece_ref.py VOCAB MAXLEN < cases.jsonl
Each input line is a JSON string; each output line is a JSON object
{"ids": [...], "truncated": bool}."""
import json
import sys
import unicodedata


def is_control(ch):
    if ch in "\t\n\r":
        return False
    return unicodedata.category(ch).startswith("C")


def is_space(ch):
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def is_punct(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or
            0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2B73F or
            0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF or
            0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def basic(text):
    out = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or is_control(ch):
            continue
        if is_space(ch):
            out.append(" ")
        elif is_cjk(cp):
            out.append(" " + ch + " ")
        else:
            out.append(ch)
    words = []
    for tok in "".join(out).split():
        tok = tok.lower()
        tok = "".join(c for c in unicodedata.normalize("NFD", tok)
                      if unicodedata.category(c) != "Mn")
        cur = ""
        for ch in tok:
            if is_punct(ch):
                if cur:
                    words.append(cur)
                words.append(ch)
                cur = ""
            else:
                cur += ch
        if cur:
            words.append(cur)
    return words


def wordpiece(word, vocab):
    if len(word) > 100:
        return ["[UNK]"]
    pieces, start = [], 0
    while start < len(word):
        end = len(word)
        found = None
        while end > start:
            sub = word[start:end]
            if start > 0:
                sub = "##" + sub
            if sub in vocab:
                found = sub
                break
            end -= 1
        if found is None:
            return ["[UNK]"]
        pieces.append(found)
        start = end
    return pieces


def main():
    vocab = {}
    with open(sys.argv[1], encoding="utf-8") as f:
        for i, line in enumerate(f):
            tok = line.rstrip("\n").rstrip("\r")
            vocab.setdefault(tok, i)
    maxlen = int(sys.argv[2])
    for line in sys.stdin:
        text = json.loads(line)
        toks = [p for w in basic(text) for p in wordpiece(w, vocab)]
        trunc = len(toks) > maxlen - 2
        toks = toks[:maxlen - 2]
        ids = [vocab["[CLS]"]] + [vocab[t] for t in toks] + [vocab["[SEP]"]]
        print(json.dumps({"ids": ids, "truncated": trunc}))


if __name__ == "__main__":
    main()
