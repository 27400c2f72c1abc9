"""Chunking (vecstore.chunk, vecstore.chunk_file): vs-chunk's splitters
through the C library's vs_chunks_* functions."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from . import _vecstore


class Chunk:
    """One chunk: the record vs-chunk writes (see __init__.pyi)."""

    __slots__ = ("id", "doc_id", "chunk", "text", "start", "end", "source", "metadata",
                 "_rec")

    def __init__(self, rec: dict[str, Any]) -> None:
        self._rec = rec
        self.id = rec["id"]
        self.doc_id = rec["doc_id"]
        self.chunk = rec["chunk"]
        self.text = rec["text"]
        self.start = rec["start"]
        self.end = rec["end"]
        self.source = rec.get("source")
        self.metadata = rec.get("metadata") or {}

    def to_dict(self) -> dict[str, Any]:
        return dict(self._rec)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Chunk) and self._rec == other._rec

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Chunk(id={self.id!r}, start={self.start}, end={self.end})"


def chunk(text: str, *, doc_id: str = "doc", splitter: str = "recursive",
          unit: str = "chars", size: int = 1000, overlap: int = 0,
          min_size: int | None = None, markdown: bool = False,
          metadata: Mapping[str, Any] | None = None) -> list[Chunk]:
    recs = _vecstore.chunk_text(doc_id, text, bool(markdown), splitter, unit, int(size),
                                int(overlap), -1 if min_size is None else int(min_size))
    out = []
    for r in recs:
        rec = json.loads(r)
        if metadata:
            rec["metadata"] = {**dict(metadata), **(rec.get("metadata") or {})}
        out.append(Chunk(rec))
    return out


def chunk_file(path: Any, *, doc_id: str | None = None, splitter: str = "recursive",
               unit: str = "chars", size: int = 1000, overlap: int = 0,
               min_size: int | None = None) -> list[Chunk]:
    recs = _vecstore.chunk_file(os.fspath(path), doc_id, splitter, unit, int(size),
                                int(overlap), -1 if min_size is None else int(min_size))
    return [Chunk(json.loads(r)) for r in recs]
