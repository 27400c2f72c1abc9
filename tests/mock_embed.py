#!/usr/bin/python3
"""A mock embeddings server for vs-embed's tests (OpenAI, Ollama, Cohere).

    /usr/bin/python3 tests/mock_embed.py --port-file FILE --log FILE [--key KEY]

Listens on 127.0.0.1 on a free port (written to --port-file) and answers
  POST /v1/embeddings  OpenAI shape: {"data": [{"index", "embedding"}], "usage"}
  POST /api/embed      Ollama shape: {"embeddings": [[...]]}
  POST /v1/embed       Cohere shape: {"embeddings": [[...]], "meta": ...}
  POST /openai/deployments/DEPLOYMENT/embeddings?api-version=V
                       Azure OpenAI: OpenAI's shape; the model is DEPLOYMENT
                       (the body has none); api-version is required (400
                       without); the key must come as "api-key: KEY"
with vector(text, dim) for each input (dim from "dimensions", else the
number after the last "-" of the model name, e.g. "ok-8", else 8), and
appends one JSON line per request to --log: t (start time), path, model,
n (inputs), texts, input_type, dimensions, status, auth_ok, port (the
client's port: the same port means a reused connection), and for Azure
api_version, body_model (the body's "model", None when absent) and
authorization (whether an Authorization header came).

The model name (before "-DIM") picks a behaviour; counters are per model:
  ok          answers
  shuffle     answers with the data items in reverse order (correct index)
  ratelimit   1st and 2nd request: 429 with Retry-After: 1; then answers
  ratelimit0  1st to 3rd request: 429 without Retry-After; then answers
  ratelimitdate  1st request: 429 with Retry-After as an HTTP date 2 s
              ahead; then answers
  flaky       1st and 2nd request: 500; then answers
  down        always 500 with an error message
  slow        sleeps 3 s before answering
  slowish     sleeps 0.3 s before answering
  gatherN     holds each request until N requests of this model are in
              flight at once (at most 5 s), then answers; the log line has
              "inflight": how many were in flight when it went on
  truncjson   a body cut in the middle (valid Content-Length)
  wrongcount  one embedding too few
  wrongdim    the last embedding one number short
  dupindex    two items with index 0
  badvalue    a string inside the vector
  overflow    a number too big for a double (1e999) inside the vector
  echokey     401 whose message repeats the Authorization (Azure: api-key)
              header
Any model: a request with a text containing "FAIL" gets 500.
With --key, a request without "Authorization: Bearer KEY" (Azure: without
"api-key: KEY", or with an Authorization header) gets 401.
"""
import hashlib
import json
import math
import struct
import threading
import time
import urllib.parse
from email.utils import formatdate

from mockhttp import JSONHandler, main

LOCK = threading.Lock()
COUNT = {}
GATHER = threading.Condition()
INFLIGHT = {}


def vector(text, dim):
    """Deterministic unit vector of a text (SHA-256 in counter mode)."""
    out = []
    i = 0
    while len(out) < dim:
        h = hashlib.sha256(("%d:" % i).encode() + text.encode("utf-8")).digest()
        for k in range(0, 32, 4):
            (u,) = struct.unpack("<I", h[k:k + 4])
            out.append(u / 4294967295.0 * 2 - 1)
        i += 1
    out = out[:dim]
    n = math.sqrt(sum(x * x for x in out))
    return [x / n for x in out]


def split_model(model):
    base, _, tail = model.rpartition("-")
    if base and tail.isdigit():
        return base, int(tail)
    return model, 8


class Handler(JSONHandler):
    def do_POST(self):
        t0 = time.time()
        n = int(self.headers.get("Content-Length", "0"))
        req = json.loads(self.rfile.read(n) or b"{}")
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        parts = url.path.split("/")
        azure = (len(parts) == 5 and parts[1:3] == ["openai", "deployments"]
                 and parts[4] == "embeddings")
        path = "/v1/embeddings" if azure else self.path
        model = parts[3] if azure else req.get("model", "")
        beh, dim = split_model(model)
        dim = req.get("dimensions", dim)
        texts = req.get("texts") if path == "/v1/embed" else req.get("input")
        if isinstance(texts, str):
            texts = [texts]
        texts = texts or []
        auth = self.headers.get("Authorization", "")
        if azure:
            auth_ok = (not self.server.key or
                       (self.headers.get("api-key", "") == self.server.key and not auth))
        else:
            auth_ok = not self.server.key or auth == "Bearer " + self.server.key
        with LOCK:
            COUNT[beh] = COUNT.get(beh, 0) + 1
            seq = COUNT[beh]
        status, headers, body = 200, (), None
        if not auth_ok:
            status, body = 401, {"error": {"message": "invalid key"}}
        elif azure and not query.get("api-version"):
            status, body = 400, {"error": {"message": "api-version is missing"}}
        elif path not in ("/v1/embeddings", "/api/embed", "/v1/embed"):
            status, body = 404, {"error": {"message": "no such path"}}
        elif any("FAIL" in t for t in texts):
            status, body = 500, {"error": {"message": "cannot embed this"}}
        elif beh == "echokey":
            sent = self.headers.get("api-key", "") if azure else auth
            status, body = 401, {"error": {"message": "Incorrect API key provided: " + sent}}
        elif beh == "ratelimit" and seq <= 2:
            status, headers = 429, (("Retry-After", "1"),)
            body = {"error": {"message": "rate limited"}}
        elif beh == "ratelimitdate" and seq <= 1:
            status = 429
            headers = (("Retry-After", formatdate(time.time() + 2, usegmt=True)),)
            body = {"error": {"message": "rate limited"}}
        elif beh == "ratelimit0" and seq <= 3:
            status, body = 429, {"error": {"message": "rate limited"}}
        elif beh == "flaky" and seq <= 2:
            status, body = 500, {"error": {"message": "internal"}}
        elif beh == "down":
            status, body = 500, {"error": {"message": "the server is down"}}
        elif beh == "slow":
            time.sleep(3)
        elif beh == "slowish":
            time.sleep(0.3)
        inflight = None
        if beh.startswith("gather") and beh[6:].isdigit():
            want, end = int(beh[6:]), time.time() + 5
            with GATHER:
                INFLIGHT[beh] = INFLIGHT.get(beh, 0) + 1
                GATHER.notify_all()
                while INFLIGHT[beh] < want and time.time() < end:
                    GATHER.wait(end - time.time())
                inflight = INFLIGHT[beh]
        entry = {"t": t0, "path": self.path, "model": model,
                 "n": len(texts), "texts": texts,
                 "input_type": req.get("input_type"),
                 "dimensions": req.get("dimensions"),
                 "status": status, "auth_ok": auth_ok,
                 "port": self.client_address[1]}
        if inflight is not None:
            entry["inflight"] = inflight
        if azure:
            entry.update(api_version=(query.get("api-version") or [None])[0],
                         body_model=req.get("model"), authorization=bool(auth))
        with open(self.server.log, "a") as f:
            f.write(json.dumps(entry) + "\n")
        if body is None:
            vecs = [vector(t, dim) for t in texts]
            if beh == "wrongcount":
                vecs = vecs[:-1]
            if beh == "wrongdim" and vecs:
                vecs[-1] = vecs[-1][:-1]
            if beh == "badvalue" and vecs:
                vecs[0][0] = "x"
            if path == "/v1/embeddings":
                data = [{"object": "embedding", "index": i, "embedding": v}
                        for i, v in enumerate(vecs)]
                if beh == "shuffle":
                    data.reverse()
                if beh == "dupindex" and len(data) > 1:
                    data[1]["index"] = 0
                body = {"object": "list", "data": data, "model": model,
                        "usage": {"prompt_tokens": sum(len(t.split()) for t in texts),
                                  "total_tokens": sum(len(t.split()) for t in texts)}}
            elif path == "/api/embed":
                body = {"model": model, "embeddings": vecs}
            else:
                body = {"id": "x", "embeddings": vecs, "texts": texts,
                        "meta": {"billed_units": {"input_tokens": len(texts)}}}
            if beh == "overflow":
                raw = json.dumps(body).encode()
                i = raw.index(b'"embedding": [') + len(b'"embedding": [')
                body = raw[:i] + b"1e999, " + raw[i:]
            if beh == "truncjson":
                raw = json.dumps(body).encode()
                body = raw[:len(raw) // 2]
        try:
            self.reply(status, body, headers)
        except (BrokenPipeError, ConnectionResetError):
            pass
        if inflight is not None:
            with GATHER:
                INFLIGHT[beh] -= 1


if __name__ == "__main__":
    main(Handler)
