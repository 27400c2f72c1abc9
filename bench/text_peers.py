"""text_peers.py ENGINE DATASET_DIR RUN_OUT ANALYZER STOPWORDS REPEAT INDEX_DIR:
the Python peers of bench/text.sh, run by the `text` venv's python
(scripts/venv.sh text).

  ENGINE     tantivy (the PyPI tantivy package: Tantivy's Rust engine) or
             bm25s (PyPI bm25s: sparse-matrix BM25 in numpy/scipy)
  ANALYZER   english: lowercase, the stop list in the file STOPWORDS
             (vecstore's stop=en list, one word a line), Snowball English
             stemming (the same stemmer as vecstore's lang=english);
             plain: lowercase only
  REPEAT     times the query set is run for timing, after one untimed
             pass (warm-up; the run file is written from it)
  INDEX_DIR  an empty folder for the on-disk index (its bytes are reported)

Indexes title + " " + text of corpus.jsonl (BEIR layout), then runs the
queries of queries.jsonl (only those in qrels/test.tsv when that exists) as
top-10 disjunctions (k1 1.2, b 0.75, Lucene's idf for both). Time is CPU
time of the whole process (time.process_time, every thread); query time
covers parsing and searching, not fetching the ids of the hits (the ids are
looked up outside the timed part). Prints one JSON
object."""
import json
import os
import re
import sys
import time

DEPTH = 10


def load(d):
    docs = []
    with open(os.path.join(d, "corpus.jsonl")) as f:
        for line in f:
            o = json.loads(line)
            docs.append((o["_id"], (o.get("title") or "") + " " + (o.get("text") or "")))
    judged = None
    qp = os.path.join(d, "qrels", "test.tsv")
    if os.path.exists(qp):
        judged = set()
        with open(qp) as f:
            next(f)
            for line in f:
                judged.add(line.split()[0])
    queries = []
    with open(os.path.join(d, "queries.jsonl")) as f:
        for line in f:
            o = json.loads(line)
            if judged is None or o["_id"] in judged:
                queries.append((o["_id"], o["text"]))
    return docs, queries


def du(path):
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            total += os.path.getsize(os.path.join(root, name))
    return total


def run_tantivy(docs, queries, english, stop, repeat, ixdir, runf):
    import tantivy
    t0 = time.process_time()
    b = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple()).filter(tantivy.Filter.lowercase())
    if english:
        b = b.filter(tantivy.Filter.custom_stopword(stop)).filter(tantivy.Filter.stemmer("english"))
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw", index_option="basic")
    # with positions, as vecstore's index (for phrase queries)
    sb.add_text_field("body", stored=False, tokenizer_name="ours", index_option="position")
    schema = sb.build()
    ix = tantivy.Index(schema, path=ixdir)
    ix.register_tokenizer("ours", b.build())
    w = ix.writer(heap_size=512_000_000, num_threads=1)
    for did, text in docs:
        w.add_document(tantivy.Document(id=did, body=text))
    w.commit()
    w.wait_merging_threads()
    ix.reload()
    t_index = time.process_time() - t0
    searcher = ix.searcher()
    segs = searcher.num_segments
    # only words (as the FTS5 peer): no query syntax, lowercased so that no
    # AND / OR operator appears
    qtexts = [(qid, " ".join(re.findall(r"\w+", text.lower()))) for qid, text in queries]
    t_query = 0.0
    n = 0
    first = []
    for r in range(repeat + 1):
        t1 = time.process_time()
        for qid, text in qtexts:
            q = ix.parse_query(text, ["body"]) if text else None
            # count=False: counting every match turns block-max WAND off
            res = searcher.search(q, DEPTH, count=False).hits if q else []
            if r == 0:
                first.append((qid, res))
        if r > 0:
            t_query += time.process_time() - t1
            n += len(qtexts)
    for qid, res in first:
        for rank, (score, addr) in enumerate(res, 1):
            runf.write("%s Q0 %s %d %.6f tantivy\n" % (qid, searcher.doc(addr)["id"][0], rank, score))
    return {"index_s": t_index, "query_s": t_query, "queries": n,
            "index_bytes": du(ixdir), "segments": segs, "version": tantivy.__version__
            if hasattr(tantivy, "__version__") else "0.27.0"}


def run_bm25s(docs, queries, english, stop, repeat, ixdir, runf):
    import bm25s
    stemmer = None
    if english:
        import Stemmer
        stemmer = Stemmer.Stemmer("english")
    sw = stop if english else []
    # \w+ as vecstore and Tantivy (bm25s' default drops one-letter words)
    pat = r"(?u)\b\w+\b"
    t0 = time.process_time()
    toks = bm25s.tokenize([t for _, t in docs], token_pattern=pat, stopwords=sw,
                          stemmer=stemmer, show_progress=False)
    model = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    model.index(toks, show_progress=False)
    del toks
    t_index = time.process_time() - t0
    model.save(ixdir)
    vocab = model.vocab_dict
    t_query = 0.0
    n = 0
    first = None
    for r in range(repeat + 1):
        t1 = time.process_time()
        qt = bm25s.tokenize([t for _, t in queries], token_pattern=pat, stopwords=sw,
                            stemmer=stemmer, return_ids=False, show_progress=False)
        # words absent from the index are dropped (bm25s refuses them); a
        # query left empty gets no hits
        qt = [[w for w in q if w in vocab] for q in qt]
        keep = [i for i, q in enumerate(qt) if q]
        res, scores = model.retrieve([qt[i] for i in keep], k=DEPTH, n_threads=1,
                                     show_progress=False)
        if r > 0:
            t_query += time.process_time() - t1
            n += len(queries)
        if r == 0:
            first = (keep, res, scores)
    keep, res, scores = first
    for j, i in enumerate(keep):
        qid = queries[i][0]
        for rank in range(res.shape[1]):
            if scores[j, rank] <= 0:
                break
            runf.write("%s Q0 %s %d %.6f bm25s\n" % (qid, docs[int(res[j, rank])][0], rank + 1,
                                                     scores[j, rank]))
    return {"index_s": t_index, "query_s": t_query, "queries": n,
            "index_bytes": du(ixdir), "segments": 1, "version": bm25s.__version__}


def main():
    if len(sys.argv) != 8 or sys.argv[1] not in ("tantivy", "bm25s") or \
            sys.argv[4] not in ("english", "plain"):
        sys.stderr.write("usage: text_peers.py tantivy|bm25s DATASET_DIR RUN_OUT "
                         "english|plain STOPWORDS REPEAT INDEX_DIR\n")
        sys.exit(2)
    engine, d, out, an, stopf, repeat, ixdir = sys.argv[1:]
    with open(stopf) as f:
        stop = [w.strip() for w in f if w.strip()]
    docs, queries = load(d)
    with open(out, "w") as runf:
        fn = run_tantivy if engine == "tantivy" else run_bm25s
        r = fn(docs, queries, an == "english", stop, int(repeat), ixdir, runf)
    r.update({"engine": engine, "docs": len(docs), "analyzer": an,
              "qps": round(r["queries"] / r["query_s"], 1) if r["query_s"] > 0 else 0})
    r["index_s"] = round(r["index_s"], 3)
    r["query_s"] = round(r["query_s"], 4)
    print(json.dumps(r))


if __name__ == "__main__":
    main()
