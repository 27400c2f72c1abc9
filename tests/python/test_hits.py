"""Hit objects as Store.search builds them in C (the HitBase slots filled
without __init__) against Hits made in Python from the same values, and the
array path (search_arrays, ids_only in the C API) against Store.search."""

from __future__ import annotations

import gc
import json
import weakref

import numpy as np
import pytest
from conftest import rows

import vecstore


def test_hits_from_c_equal_hits_from_python(small: vecstore.Store) -> None:
    q = rows(3, 8, seed=5)
    got = small.search(q, k=6)
    assert len(got) == 3
    for row in got:
        assert [h.rank for h in row] == list(range(1, 7))
        for h in row:
            assert type(h) is vecstore.Hit
            again = vecstore.Hit(h.id, h.score, h.rank, h.text, h.metadata_json, h.doc_id,
                                 h.distance, h.qid, h.score_vector, h.score_text,
                                 h.retrieval_rank)
            assert h == again
            assert h.to_dict() == again.to_dict()
            assert isinstance(h.score, float) and isinstance(h.rank, int)
            assert h.text is not None and h.text.startswith("record ")
            assert h.metadata == again.metadata
            assert h.score_text is None and h.retrieval_rank is None
    assert [h.qid for h in got[1]] == ["2"] * 6


def test_hit_fields_are_slots(small: vecstore.Store) -> None:
    h = small.search(rows(1, 8, seed=6)[0], k=1)[0]
    h.text = "changed"
    assert h.text == "changed" and h.to_dict()["text"] == "changed"
    with pytest.raises(AttributeError):
        h.other = 1  # type: ignore[attr-defined]
    assert not hasattr(h, "__dict__")
    h2 = vecstore.Hit("a", 0.5, 1)
    assert (h2.text, h2.doc_id, h2.distance, h2.metadata, h2.qid) == (None, None, None, {}, "1")


class _Sentinel:
    pass


def test_hit_cycles_are_collected(small: vecstore.Store) -> None:
    # a cycle through a C slot (hit -> dict -> hit): only a collector that
    # traverses the slots frees it, and the sentinel in it with it
    h = small.search(rows(1, 8, seed=7)[0], k=3)[0]
    s = _Sentinel()
    ref = weakref.ref(s)
    h._meta = {"cycle": h, "sentinel": s}
    del h, s
    gc.collect()
    assert ref() is None


def test_search_arrays_same_as_search(small: vecstore.Store) -> None:
    q = rows(4, 8, seed=8)
    ids, scores = small.search_arrays(q, k=5)
    hits = small.search(q, k=5, mode="vector", with_text=False, with_metadata=False)
    assert ids.shape == (4, 5) and scores.dtype == np.float32
    assert [[h.id for h in row] for row in hits] == ids.tolist()
    want = np.array([[h.score for h in row] for row in hits], dtype=np.float32)
    assert np.array_equal(want, scores)


def test_metadata_read_in_c_is_json_loads() -> None:
    # Hit.metadata reads compact JSON in C and leaves any other form to
    # json.loads: the same dict either way, cached, {} for none
    cases = ['{"n":22946,"group":"g6"}', "{}", "", None, "[1,2]",
             '{"a":[1,2.5,-0.0,1e999,true,false,null,{"b":"c\\u00e9"}]}',
             '{"x":"caf\u00e9","y":123456789012345678901234}', '{ "sp": 1 }',
             '{"a":1,"a":2}', '{"e":1E5,"f":-0,"g":0.30000000000000004}', '{"s":"\ud800"}']
    for c in cases:
        h = vecstore.Hit("1", 0.5, 1, "t", c)
        want = json.loads(c) if c else {}
        got = h.metadata
        assert repr(got) == repr(want), c
        assert h.metadata is got
    with pytest.raises(json.JSONDecodeError):
        vecstore.Hit("1", 0.5, 1, "t", "{bad").metadata


def test_metadata_keys_shared_and_replaced() -> None:
    # the C reader keeps the str of recent short keys (16 of them, replaced
    # round robin): with 40 keys in turn every one is made, kept, replaced
    # and made again; long, empty, non-ASCII and escaped keys too
    keys = [f"k{i}" for i in range(40)] + ["", "x" * 32, "y" * 33, "caf\u00e9", "\u00e9t\u00e9"]
    for rnd in range(3):
        for i, k in enumerate(keys):
            other = keys[(i * 7 + rnd) % len(keys)]
            text = json.dumps({k: i, other: [rnd, k]}, ensure_ascii=False,
                              separators=(",", ":"))
            if "\u00e9t" in k:
                text = text.replace("\u00e9t", "\\u00e9t")  # an escaped key
            h = vecstore.Hit("1", 0.5, 1, "t", text)
            want = json.loads(text)
            assert repr(h.metadata) == repr(want), text
            assert list(h.metadata) == list(want)

