#!/usr/bin/python3
"""A mock rerank server for vs-rerank's tests.

    /usr/bin/python3 tests/mock_rerank.py --port-file FILE --log FILE [--key KEY]

Listens on 127.0.0.1 on a free port (written to --port-file) and answers
  POST /v1/rerank  {model, query, documents, top_n} ->
                   {"results": [{"index", "relevance_score"}]} (Cohere, Jina)
  POST /rerank     {query, texts | documents} -> [{"index", "score"}] (TEI)
Results come best first, cut to top_n. The score of a document is
score(query, doc) below: the share of the query's words found in the
document, plus 0.001 / (1 + index) so ties are broken by position.
Appends one JSON line per request to --log: path, model, query, n, top_n,
status, auth_ok.

The model name picks a behaviour; counters are per model:
  ok          answers
  ratelimit   1st and 2nd request: 429 with Retry-After: 1; then answers
  flaky       1st and 2nd request: 500; then answers
  down        always 500
  missing     leaves the last document out
  dupindex    two results with the same index
  badjson     a body that is not JSON
With --key, a request without "Authorization: Bearer KEY" gets 401.
"""
import json
import re
import threading

from mockhttp import JSONHandler, main

LOCK = threading.Lock()
COUNT = {}


def words(s):
    return set(re.findall(r"[a-z0-9]+", s.lower()))


def score(query, doc, index):
    q = words(query)
    share = len(q & words(doc)) / len(q) if q else 0.0
    return share + 0.001 / (1 + index)


class Handler(JSONHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        req = json.loads(self.rfile.read(n) or b"{}")
        model = req.get("model") or "ok"
        docs = req.get("documents") or req.get("texts") or []
        query = req.get("query", "")
        top_n = req.get("top_n", len(docs))
        auth = self.headers.get("Authorization", "")
        auth_ok = not self.server.key or auth == "Bearer " + self.server.key
        with LOCK:
            COUNT[model] = COUNT.get(model, 0) + 1
            seq = COUNT[model]
        status, headers, body = 200, (), None
        if not auth_ok:
            status, body = 401, {"message": "invalid api key"}
        elif self.path not in ("/v1/rerank", "/rerank"):
            status, body = 404, {"message": "no such path"}
        elif model == "ratelimit" and seq <= 2:
            status, headers, body = 429, (("Retry-After", "1"),), {"message": "slow down"}
        elif model == "flaky" and seq <= 2:
            status, body = 500, {"message": "internal"}
        elif model == "down":
            status, body = 500, {"message": "the server is down"}
        with open(self.server.log, "a") as f:
            f.write(json.dumps({"path": self.path, "model": model, "query": query,
                                "n": len(docs), "top_n": top_n, "status": status,
                                "auth_ok": auth_ok}) + "\n")
        if body is None:
            res = [{"index": i, "relevance_score": score(query, d, i)}
                   for i, d in enumerate(docs)]
            res.sort(key=lambda r: -r["relevance_score"])
            res = res[:top_n]
            if model == "missing":
                res = [r for r in res if r["index"] != len(docs) - 1]
            if model == "dupindex" and len(res) > 1:
                res[1]["index"] = res[0]["index"]
            if self.path == "/rerank":
                body = [{"index": r["index"], "score": r["relevance_score"]} for r in res]
            else:
                body = {"id": "mock", "results": res, "meta": {"billed_units": {"search_units": 1}}}
            if model == "badjson":
                body = b"{not json"
        try:
            self.reply(status, body, headers)
        except (BrokenPipeError, ConnectionResetError):
            pass


if __name__ == "__main__":
    main(Handler)
