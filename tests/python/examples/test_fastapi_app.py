"""python/examples/fastapi_app/fastapi_app.py through FastAPI's TestClient (no socket)."""
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
from fastapi.testclient import TestClient  # noqa: E402

from ex_fixtures import data_dir, examples_dir, workdir  # noqa: F401 (fixtures)
import fastapi_app  # noqa: E402

RECORDS = [
    {"id": "a", "text": "espresso is brewed at nine bars of pressure", "metadata": {"topic": "coffee"}},
    {"id": "b", "text": "tides follow the moon", "metadata": {"topic": "sky"}},
    {"id": "c", "text": "cold brew coffee steeps for a day", "metadata": {"topic": "coffee"}},
]


@pytest.fixture
def client(workdir):
    with TestClient(fastapi_app.create_app(str(workdir / "kb.vs"))) as c:
        r = c.post("/records", json={"records": RECORDS})
        assert r.status_code == 200 and r.json() == {"upserted": 3}
        yield c


def test_health_counts_records(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "records": 3}


def test_search_text_returns_hit_records(client):
    r = client.post("/search", json={"query": "how is espresso brewed", "k": 2})
    assert r.status_code == 200
    hits = r.json()["hits"]
    assert [h["rank"] for h in hits] == [1, 2]
    assert hits[0]["id"] == "a"
    assert hits[0]["text"] == RECORDS[0]["text"]
    assert hits[0]["metadata"] == {"topic": "coffee"}


def test_search_with_filter(client):
    r = client.post("/search", json={"query": "moon", "k": 3, "filter": 'topic = "coffee"'})
    assert r.status_code == 200
    assert {h["id"] for h in r.json()["hits"]} == {"a", "c"}


def test_bad_filter_is_400_with_the_message(client):
    r = client.post("/search", json={"query": "moon", "filter": "topic = "})
    assert r.status_code == 400
    assert r.json()["error"] == "filter"
    assert "filter" in r.json()["detail"]


def test_wrong_dimension_is_400(client):
    r = client.post("/search", json={"query": [0.1, 0.2, 0.3]})
    assert r.status_code == 400
    assert r.json()["error"] == "dimension"


def test_schema_errors_are_422(client):
    assert client.post("/search", json={"k": 3}).status_code == 422
    assert client.post("/records", json={"records": []}).status_code == 422


def test_mixed_vectors_are_400(client):
    r = client.post("/records", json={"records": [{"id": "x", "text": "t"},
                                                  {"id": "y", "vector": [0.0] * 384}]})
    assert r.status_code == 400


def test_delete(client):
    assert client.delete("/records/b").json() == {"deleted": 1}
    assert client.delete("/records/b").json() == {"deleted": 0}
    assert client.get("/healthz").json()["records"] == 2
