"""A search page and JSON API over one store with Flask.

    flask --app flask_app run --host 127.0.0.1      # VS_STORE=kb.vs (default)

Routes:
  GET  /?q=TEXT&k=10&filter=...   an HTML page: a search box and the hits
                                  (id, score, text, metadata), escaped
  POST /api/search                {"query": "text" or [numbers], "k", "filter",
                                  "mode"} -> {"hits": [...]} as vs-query's records
  POST /api/records               {"records": [{"id", "text", "vector"?,
                                  "metadata"?}]} -> {"upserted": n}
Bad input gives 400 with {"error": NAME, "detail": MESSAGE}; a store problem 503.

The store is opened once per app (create_app) and shared by the request
threads: searches run in parallel, writes are serialised by the store.
"""
from __future__ import annotations

import os
from typing import Any

from flask import Flask, jsonify, render_template_string, request

import vecstore

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Search</title></head>
<body>
<form method="get" action="/"><input name="q" value="{{ q }}" size="60"> <button>Search</button></form>
{% if error %}<p class="error">{{ error }}</p>{% endif %}
<ol>
{% for h in hits %}
<li><b>{{ h.id }}</b> <small>{{ "%.4f"|format(h.score) }}</small><p>{{ h.text or "" }}</p>
{% if h.metadata %}<pre>{{ h.metadata|tojson }}</pre>{% endif %}</li>
{% endfor %}
</ol>
</body></html>"""


def create_app(store_path: str | None = None, *, model: str | None = None) -> Flask:
    """The app over the store at store_path (default $VS_STORE or kb.vs;
    created, pinned to model, default $VS_MODEL or "hash", when it does not
    exist). `flask --app flask_app run` calls it with no arguments."""
    store_path = store_path or os.environ.get("VS_STORE", "kb.vs")
    model = model or os.environ.get("VS_MODEL", "hash")
    app = Flask(__name__)
    store = vecstore.open(store_path, create=True, model=model)
    app.extensions["vecstore"] = store

    @app.errorhandler(vecstore.VecstoreError)
    def vecstore_error(exc: vecstore.VecstoreError):
        bad_input = isinstance(exc, (vecstore.InputError, vecstore.UsageError))
        return jsonify(error=exc.name, detail=str(exc)), 400 if bad_input else 503

    def bad(detail: str):
        return jsonify(error="usage", detail=detail), 400

    @app.get("/")
    def page():
        q = request.args.get("q", "").strip()
        hits: list[Any] = []
        error = None
        if q:
            try:
                k = int(request.args.get("k", "10"))
                hits = store.search(q, k, filter=request.args.get("filter") or None)
            except (ValueError, vecstore.VecstoreError) as e:
                error = str(e)
        return render_template_string(PAGE, q=q, hits=hits, error=error), 400 if error else 200

    @app.post("/api/search")
    def api_search():
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or "query" not in body:
            return bad("the body must be a JSON object with a 'query'")
        k = body.get("k", 10)
        if not isinstance(k, int) or isinstance(k, bool):
            return bad("'k' must be an integer")
        hits = store.search(body["query"], k, filter=body.get("filter"), mode=body.get("mode"))
        return jsonify(hits=[h.to_dict() for h in hits])

    @app.post("/api/records")
    def api_records():
        body = request.get_json(silent=True)
        recs = body.get("records") if isinstance(body, dict) else None
        if not isinstance(recs, list) or not recs or not all(isinstance(r, dict) for r in recs):
            return bad("the body must be {'records': [objects]}")
        if any("id" not in r for r in recs):
            return bad("every record needs an 'id'")
        with_vec = ["vector" in r for r in recs]
        if any(with_vec) and not all(with_vec):
            return bad("either every record has a vector or none has")
        n = store.upsert([r["id"] for r in recs],
                         [r["vector"] for r in recs] if all(with_vec) else None,
                         texts=[r.get("text") for r in recs],
                         metadata=[r.get("metadata") for r in recs])
        return jsonify(upserted=n)

    return app

