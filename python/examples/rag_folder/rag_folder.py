"""Retrieval-augmented answers over a folder of documents, with citations.

    python rag_folder.py FOLDER "your question" [--store kb.vs] [--model NAME] [-k 4]

Indexes every text, Markdown, HTML (and PDF) file under FOLDER into a
store (chunked as vs-chunk does, embedded with --model: "hash" needs no
model file, "minilm" is all-MiniLM-L6-v2 after scripts/get-model.sh
minilm), then answers the question from the best chunks, each sentence
followed by a citation [n], and lists the sources with their byte ranges
(a citation can be checked: the bytes START..END of FILE are the chunk).

The answer is extractive: the sentences of the retrieved chunks that share
the most words with the question. Hand `prompt()`'s text to any language
model to get a generated answer over the same cited context.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass

import vecstore

SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")
WORD = re.compile(r"[a-z0-9]+")


@dataclass
class Source:
    n: int          # the citation number
    file: str
    start: int      # byte range of the chunk in the file
    end: int
    text: str
    score: float


def index_folder(folder: str, store_path: str, model: str = "hash", size: int = 400) -> int:
    """Chunk every document under folder into the store (created when
    missing, pinned to model); returns the number of chunks written.
    A document indexed before is replaced chunk for chunk (same ids)."""
    chunks = []
    for root, _, files in sorted(os.walk(folder)):
        for name in sorted(files):
            if name.lower().endswith(SUFFIXES):
                path = os.path.join(root, name)
                chunks += vecstore.chunk_file(path, doc_id=os.path.relpath(path, folder),
                                              size=size, overlap=40)
    if not chunks:
        raise SystemExit(f"rag_folder: no documents ({', '.join(SUFFIXES)}) under {folder}")
    with vecstore.open(store_path, create=True, model=model, autocommit=False) as store:
        store.upsert([c.id for c in chunks], texts=[c.text for c in chunks],
                     doc_ids=[c.doc_id for c in chunks],
                     metadata=[{"source": c.source, "start": c.start, "end": c.end,
                                "headings": c.metadata.get("headings", [])} for c in chunks])
    return len(chunks)


def retrieve(store_path: str, question: str, k: int = 4) -> list[Source]:
    """The k best chunks for the question (hybrid: vector and BM25)."""
    with vecstore.open(store_path, readonly=True) as store:
        hits = store.search(question, k)
    return [Source(n=i + 1, file=h.metadata["source"], start=h.metadata["start"],
                   end=h.metadata["end"], text=h.text or "", score=h.score)
            for i, h in enumerate(hits)]


def answer(question: str, sources: list[Source], sentences: int = 2) -> str:
    """The sentences of the sources that share the most words with the
    question, best first, each followed by its citation [n]."""
    q = set(WORD.findall(question.lower()))
    scored = []
    for s in sources:
        body = " ".join(line for line in s.text.splitlines() if not line.startswith("#"))
        for sent in re.split(r"(?<=[.!?])\s+", body):
            sent = sent.strip()
            overlap = len(q & set(WORD.findall(sent.lower())))
            if len(sent) >= 20 and overlap > 0:
                scored.append((-overlap, s.n, sent))
    scored.sort()
    picked = [f"{sent} [{n}]" for _, n, sent in scored[:sentences]]
    return " ".join(picked) if picked else "No answer found in the documents."


def prompt(question: str, sources: list[Source]) -> str:
    """A prompt for a language model: the numbered context and the rule to
    cite it."""
    ctx = "\n\n".join(f"[{s.n}] ({s.file}) {s.text}" for s in sources)
    return ("Answer the question from the context only and cite the numbers of the "
            f"passages you use, like [1].\n\nContext:\n{ctx}\n\nQuestion: {question}\nAnswer:")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder")
    ap.add_argument("question")
    ap.add_argument("--store", default="kb.vs", help="the store (default kb.vs)")
    ap.add_argument("--model", default="hash", help="embedding model (default hash)")
    ap.add_argument("-k", type=int, default=4, help="chunks to retrieve (default 4)")
    ap.add_argument("--prompt", action="store_true", help="print the LLM prompt instead")
    a = ap.parse_args(argv)
    try:
        n = index_folder(a.folder, a.store, a.model)
        sources = retrieve(a.store, a.question, a.k)
    except vecstore.VecstoreError as e:
        print(f"rag_folder: error: {e}", file=sys.stderr)
        return e.exit_code
    print(f"indexed {n} chunks from {a.folder}", file=sys.stderr)
    if a.prompt:
        print(prompt(a.question, sources))
        return 0
    print(answer(a.question, sources))
    print()
    for s in sources:
        print(f"[{s.n}] {s.file}:{s.start}-{s.end} (score {s.score:.4f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
