"""A search service over one store with FastAPI.

    uvicorn fastapi_app:app --host 127.0.0.1 --port 8000    # VS_STORE=kb.vs (default)

Endpoints (JSON):
  GET    /healthz             {"status": "ok", "records": N}
  POST   /search              {"query": "text" or [numbers], "k": 10, "filter": "...",
                               "mode": "auto|vector|text|hybrid"} -> {"hits": [...]}
                              (each hit as vs-query's hit record)
  POST   /records             {"records": [{"id", "text", "vector"?, "metadata"?}]}
                              -> {"upserted": n} (texts without vectors are embedded
                              with the store's model)
  DELETE /records/{id}        -> {"deleted": 0 or 1}
Bad input is a 400 (422 for a body that does not match the schema) whose
"detail" is vecstore's one-line message; a store problem is a 503.

FastAPI runs these plain (def) endpoints in its thread pool: the Store is
shared by the threads, searches run in parallel (vecstore releases the
GIL), writes are serialised by the store.
"""
from __future__ import annotations

import os
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

import vecstore


class SearchRequest(BaseModel):
    query: str | list[float]
    k: int = Field(10, ge=1, le=1000)
    filter: str | None = None
    mode: str | None = None


class Record(BaseModel):
    id: str
    text: str | None = None
    vector: list[float] | None = None
    metadata: dict[str, Any] | None = None


class UpsertRequest(BaseModel):
    records: list[Record] = Field(min_length=1)


def create_app(store_path: str, *, model: str = "hash") -> FastAPI:
    """The app over the store at store_path (created, pinned to model, when
    it does not exist). The store is open while the app runs."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.store = vecstore.open(store_path, create=True, model=model)
        try:
            yield
        finally:
            app.state.store.close()

    app = FastAPI(title="vecstore search", lifespan=lifespan)

    @app.exception_handler(vecstore.VecstoreError)
    async def vecstore_error(request: Request, exc: vecstore.VecstoreError) -> JSONResponse:
        bad_input = isinstance(exc, (vecstore.InputError, vecstore.UsageError))
        return JSONResponse(status_code=400 if bad_input else 503,
                            content={"detail": str(exc), "error": exc.name})

    @app.get("/healthz")
    def healthz(request: Request) -> dict[str, Any]:
        return {"status": "ok", "records": len(request.app.state.store)}

    @app.post("/search")
    def search(body: SearchRequest, request: Request) -> dict[str, Any]:
        hits = request.app.state.store.search(body.query, body.k, filter=body.filter,
                                              mode=body.mode)
        return {"hits": [h.to_dict() for h in hits]}

    @app.post("/records")
    def upsert(body: UpsertRequest, request: Request) -> dict[str, int]:
        recs = body.records
        with_vec = [r.vector is not None for r in recs]
        if any(with_vec) and not all(with_vec):
            raise HTTPException(400, "either every record has a vector or none has")
        store = request.app.state.store
        n = store.upsert([r.id for r in recs],
                         [r.vector for r in recs] if all(with_vec) else None,
                         texts=[r.text for r in recs], metadata=[r.metadata for r in recs])
        return {"upserted": n}

    @app.delete("/records/{rid}")
    def delete(rid: str, request: Request) -> dict[str, int]:
        return {"deleted": request.app.state.store.delete([rid])}

    return app


app = create_app(os.environ.get("VS_STORE", "kb.vs"), model=os.environ.get("VS_MODEL", "hash"))
