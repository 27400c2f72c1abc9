"""python/examples/flask_app/flask_app.py through Flask's test client (no socket)."""
import pytest

pytest.importorskip("flask")

from ex_fixtures import data_dir, examples_dir, workdir  # noqa: F401 (fixtures)
import flask_app  # noqa: E402

RECORDS = [
    {"id": "a", "text": "espresso is brewed at nine bars of pressure", "metadata": {"topic": "coffee"}},
    {"id": "b", "text": "tides follow the moon <b>bold</b>", "metadata": {"topic": "sky"}},
]


@pytest.fixture
def client(workdir):
    app = flask_app.create_app(str(workdir / "kb.vs"))
    c = app.test_client()
    r = c.post("/api/records", json={"records": RECORDS})
    assert r.status_code == 200 and r.get_json() == {"upserted": 2}
    yield c
    app.extensions["vecstore"].close()


def test_api_search(client):
    r = client.post("/api/search", json={"query": "espresso pressure", "k": 1})
    assert r.status_code == 200
    (hit,) = r.get_json()["hits"]
    assert hit["id"] == "a" and hit["rank"] == 1 and hit["metadata"] == {"topic": "coffee"}


def test_page_lists_hits_escaped(client):
    r = client.get("/?q=moon+tides&k=2")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "<b>b</b>" in html
    assert "tides follow the moon &lt;b&gt;bold&lt;/b&gt;" in html


def test_page_without_query_has_the_form_only(client):
    r = client.get("/")
    assert r.status_code == 200
    assert "<form" in r.get_data(as_text=True) and "<li>" not in r.get_data(as_text=True)


def test_page_bad_filter_is_400_with_the_message(client):
    r = client.get("/?q=moon&filter=topic+%3D")
    assert r.status_code == 400
    assert 'class="error"' in r.get_data(as_text=True)


def test_api_errors(client):
    assert client.post("/api/search", data="not json").status_code == 400
    assert client.post("/api/search", json={"query": "x", "k": "3"}).status_code == 400
    r = client.post("/api/search", json={"query": "x", "k": 0})
    assert r.status_code == 400 and r.get_json()["error"] == "usage"
    r = client.post("/api/search", json={"query": "x", "filter": "topic ="})
    assert r.status_code == 400 and r.get_json()["error"] == "filter"
    assert client.post("/api/records", json={"records": [{"text": "no id"}]}).status_code == 400
    r = client.post("/api/records", json={"records": [{"id": "n", "vector": [float("nan")] * 384}]})
    assert r.status_code == 400 and r.get_json()["error"] == "nonfinite"
