"""python/examples/eval_workflow/eval_workflow.py: the table and the gate's exit status."""
import os

from ex_fixtures import data_dir, examples_dir, workdir  # noqa: F401 (fixtures)
import eval_workflow


def test_gate_holds(workdir, data_dir, capsys):
    rc = eval_workflow.main([data_dir, "--min", "ndcg_cut_10=0.8", "--min", "recall_10=0.9"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0] == f"{data_dir}: 16 documents, model hash"
    assert lines[1].split() == ["mode"] + eval_workflow.MEASURES
    assert [ln.split()[0] for ln in lines[2:5]] == ["vector", "text", "hybrid"]
    assert lines[5] == "gates hold (hybrid): ndcg_cut_10 >= 0.8, recall_10 >= 0.9"
    assert err == ""


def test_gate_fails_with_exit_1(workdir, data_dir, capsys):
    # BM25 alone misses one judged document of the set (recall@10 0.875)
    rc = eval_workflow.main([data_dir, "--gate-mode", "text", "--min", "recall_10=0.95"])
    out, err = capsys.readouterr()
    assert rc == 1
    assert err.startswith("eval_workflow: gate failed (text): recall_10 0.8750 < 0.9500")
    assert "gates hold" not in out


def test_measures_match_a_hand_count(workdir, data_dir):
    eval_workflow.build(data_dir, "e.vs", "hash")
    table = eval_workflow.evaluate(data_dir, "e.vs")
    # every query's first judged document is retrieved in the top 10 in hybrid mode
    assert table["hybrid"]["recall_10"] == 1.0
    for mode in eval_workflow.MODES:
        for m in eval_workflow.MEASURES:
            assert 0.0 <= table[mode][m] <= 1.0


def test_missing_qrels_is_usage(workdir, capsys):
    os.mkdir("ds")
    open("ds/corpus.jsonl", "w").write('{"_id": "d", "text": "some text"}\n')
    open("ds/queries.jsonl", "w").write('{"_id": "q", "text": "text"}\n')
    assert eval_workflow.main(["ds"]) == 2
    assert "no qrels" in capsys.readouterr().err


def test_bad_corpus_line_is_exit_3(workdir, capsys):
    os.mkdir("ds")
    open("ds/corpus.jsonl", "w").write('{"_id": "d", "text": "ok"}\n{broken\n')
    open("ds/queries.jsonl", "w").write('{"_id": "q", "text": "text"}\n')
    open("ds/qrels.tsv", "w").write("q\td\t1\n")
    assert eval_workflow.main(["ds"]) == 3
    assert "ds/corpus.jsonl:2:" in capsys.readouterr().err
