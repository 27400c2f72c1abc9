#!/usr/bin/python3
"""A mock OpenAI-compatible chat completions server for vs-eval's tests.

    /usr/bin/python3 tests/mock_llm.py --port-file FILE --log FILE [--key KEY]

Listens on 127.0.0.1 on a free port (written to --port-file), answers
POST /v1/chat/completions with canned judge verdicts chosen by the "TASK:"
line of the prompt, and appends one JSON line per request to --log
(model, task, status, whether the Authorization header matched).

The model name picks a behaviour:
  judge-ok       always answers
  judge-flaky    1st request: 429 with Retry-After: 1; 2nd: 500; then answers
  judge-slow     sleeps 3 s before answering
  judge-down     always 500
  judge-badjson  answers with text that is not the JSON asked for
With --key, a request without "Authorization: Bearer KEY" gets 401.
"""
import json
import threading
import time

from mockhttp import JSONHandler, main

LOCK = threading.Lock()
COUNT = {}


def verdict(task, prompt):
    """Canned replies; an ANSWER containing WRONG is judged unsupported."""
    wrong = "WRONG" in prompt.split("ANSWER:", 1)[-1].split("REFERENCE:", 1)[0]
    if task == "faithfulness":
        claims = [{"claim": "c1", "supported": not wrong},
                  {"claim": "c2", "supported": not wrong},
                  {"claim": "c3", "supported": False}]
        return {"claims": claims}
    if task == "answer_relevance":
        return {"verdict": "no" if wrong else "partial", "reason": "canned"}
    if task == "context_precision":
        ctx = prompt.split("CONTEXTS:", 1)[1].split("ANSWER:", 1)[0]
        n = sum(1 for l in ctx.splitlines() if l.startswith("["))
        return {"verdicts": [1 if i % 2 == 0 else 0 for i in range(n)]}
    if task == "context_recall":
        return {"statements": [{"statement": "s%d" % i, "attributed": i != 3}
                               for i in range(4)]}
    return {"error": "unknown task"}


class Handler(JSONHandler):
    protocol_version = "HTTP/1.0"  # as this mock always spoke

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        req = json.loads(self.rfile.read(n) or b"{}")
        model = req.get("model", "")
        prompt = req.get("messages", [{}])[-1].get("content", "")
        task = prompt.split("\n", 1)[0].replace("TASK: ", "")
        auth_ok = (not self.server.key or
                   self.headers.get("Authorization") == "Bearer " + self.server.key)
        with LOCK:
            COUNT[model] = COUNT.get(model, 0) + 1
            seq = COUNT[model]
        status, headers, obj = 200, (), None
        if not auth_ok:
            status, obj = 401, {"error": {"message": "bad key"}}
        elif self.path != "/v1/chat/completions":
            status, obj = 404, {"error": {"message": "no such path"}}
        elif model == "judge-flaky" and seq == 1:
            status, headers, obj = 429, (("Retry-After", "1"),), {"error": {"message": "slow down"}}
        elif model == "judge-flaky" and seq == 2:
            status, obj = 500, {"error": {"message": "oops"}}
        elif model == "judge-down":
            status, obj = 500, {"error": {"message": "down"}}
        elif model == "judge-slow":
            time.sleep(3)
        with open(self.server.log, "a") as f:
            f.write(json.dumps({"seq": seq, "model": model, "task": task,
                                "status": status, "auth_ok": auth_ok,
                                "t": time.time()}) + "\n")
        if obj is None:
            content = ("I think it is fine." if model == "judge-badjson"
                       else json.dumps(verdict(task, prompt)))
            obj = {"id": "mock-%d" % seq, "object": "chat.completion",
                   "model": model,
                   "choices": [{"index": 0, "finish_reason": "stop",
                                "message": {"role": "assistant", "content": content}}]}
        try:
            self.reply(status, obj, headers)
        except (BrokenPipeError, ConnectionResetError):
            pass


if __name__ == "__main__":
    main(Handler)
