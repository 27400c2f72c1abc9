"""python/examples/rag_folder/rag_folder.py: a folder indexed, questions answered
from the right file, citations that point at the bytes they quote."""
import os

import pytest

from ex_fixtures import data_dir, examples_dir, workdir  # noqa: F401 (fixtures)
import rag_folder
import vecstore


def test_answer_cites_the_file_that_holds_it(workdir, data_dir, capsys):
    rc = rag_folder.main([os.path.join(data_dir, "docs"), "what pressure is espresso brewed at?",
                          "--store", "kb.vs"])
    out, err = capsys.readouterr()
    assert rc == 0
    assert "indexed 9 chunks" in err
    answer, sources = out.split("\n\n", 1)
    assert "nine bars of pressure. [1]" in answer
    assert sources.splitlines()[0].startswith(f"[1] {os.path.join(data_dir, 'docs', 'kitchen.md')}:")


def test_citations_are_the_bytes_of_the_file(workdir, data_dir):
    rag_folder.index_folder(os.path.join(data_dir, "docs"), "kb.vs")
    sources = rag_folder.retrieve("kb.vs", "why are there two high tides a day?", k=3)
    assert [s.n for s in sources] == [1, 2, 3]
    assert sources[0].file.endswith("sky.txt")
    for s in sources:
        with open(s.file, "rb") as f:
            assert f.read()[s.start:s.end].decode() == s.text


def test_reindexing_replaces_chunks(workdir, data_dir):
    folder = os.path.join(data_dir, "docs")
    n1 = rag_folder.index_folder(folder, "kb.vs")
    n2 = rag_folder.index_folder(folder, "kb.vs")
    assert n1 == n2 == 9
    with vecstore.open("kb.vs", readonly=True) as s:
        assert len(s) == 9


def test_prompt_numbers_the_context(workdir, data_dir):
    rag_folder.index_folder(os.path.join(data_dir, "docs"), "kb.vs")
    sources = rag_folder.retrieve("kb.vs", "how do I sharpen a knife?", k=2)
    p = rag_folder.prompt("how do I sharpen a knife?", sources)
    assert "[1] (" in p and "[2] (" in p
    assert p.rstrip().endswith("Answer:")
    assert "whetstone" in p


def test_empty_folder_is_an_error(workdir):
    os.mkdir("empty")
    with pytest.raises(SystemExit, match="no documents"):
        rag_folder.main(["empty", "anything"])
