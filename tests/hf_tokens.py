"""Token ids of Hugging Face `tokenizers` (the reference implementation of
BERT's WordPiece) for every text of the BEIR collections given: each
document's title, its text, the two joined as scripts/beir.sh joins them,
and each query. Writes {"text": ..., "ids": [...]} per line, [CLS] and
[SEP] included, no truncation or padding. Run with the project venv's
python (scripts/venv.sh test).

usage: hf_tokens.py TOKENIZER_JSON COLLECTION_DIR...
"""
import json
import sys

from tokenizers import Tokenizer


def texts(coll):
    with open(coll + "/corpus.jsonl", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            title, text = r.get("title", ""), r.get("text", "")
            yield title
            yield text
            yield (title + " " + text).strip()
    with open(coll + "/queries.jsonl", encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)["text"]


def main():
    tok = Tokenizer.from_file(sys.argv[1])
    tok.no_truncation()
    tok.no_padding()
    out = sys.stdout
    batch = []

    def flush():
        for t, enc in zip(batch, tok.encode_batch(batch)):
            out.write(json.dumps({"text": t, "ids": enc.ids}) + "\n")
        batch.clear()

    for coll in sys.argv[2:]:
        for t in texts(coll):
            batch.append(t)
            if len(batch) == 1024:
                flush()
    flush()


main()
