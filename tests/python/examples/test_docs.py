"""The Python docs stay true: the code blocks marked <!-- test --> in
docs/migrate-python.md and python/README.md run, in order, one namespace
per section (## heading), in a scratch folder; docs/python-api.md is what
python/docs/gen_api.py generates from the stubs."""
import os
import re
import subprocess
import sys

import pytest

from ex_fixtures import EXAMPLES, ROOT, workdir  # noqa: F401 (fixture)

BLOCK = re.compile(r"^<!-- test -->\n```python\n(.*?)^```", re.S | re.M)


def sections(path):
    """[(heading, [code, ...])] of the marked blocks, by ## section."""
    text = open(os.path.join(ROOT, path), encoding="utf-8").read()
    out = []
    for part in re.split(r"^## ", text, flags=re.M)[1:]:
        heading = part.splitlines()[0]
        codes = BLOCK.findall(part)
        if codes:
            out.append((heading, codes))
    return out


def run_section(path, heading, codes):
    ns = {"__name__": "__doc_test__", "EXAMPLES": EXAMPLES}
    for i, code in enumerate(codes, 1):
        try:
            exec(compile(code, f"{path} [{heading}] block {i}", "exec"), ns)
        except ModuleNotFoundError as e:
            if e.name in ("chromadb", "faiss"):
                pytest.skip(f"{e.name} not installed (scripts/venv.sh examples)")
            raise


MIGRATE = sections("docs/migrate-python.md")
README = sections("python/README.md")


def test_the_guides_have_tested_blocks():
    assert [h for h, _ in MIGRATE] == ["From Chroma", "From FAISS", "Bringing your data over"]
    assert sum(len(c) for _, c in MIGRATE) >= 14


@pytest.mark.parametrize("heading", [h for h, _ in MIGRATE])
def test_migrate_python(workdir, heading):
    codes = dict(MIGRATE)[heading]
    if heading == "Bringing your data over":
        # it imports the FAISS file the FAISS section writes, and uses its xb
        codes = dict(MIGRATE)["From FAISS"] + codes
    run_section("docs/migrate-python.md", heading, codes)


@pytest.mark.parametrize("heading", [h for h, _ in README] or ["(none)"])
def test_python_readme(workdir, heading):
    if heading == "(none)":
        pytest.fail("python/README.md has no <!-- test --> blocks")
    run_section("python/README.md", heading, dict(README)[heading])


def test_api_reference_is_current():
    r = subprocess.run([sys.executable, os.path.join(ROOT, "python", "docs", "gen_api.py"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    ref = open(os.path.join(ROOT, "docs", "python-api.md"), encoding="utf-8").read()
    import vecstore
    missing = [n for n in vecstore.__all__ if f"`{n}" not in ref and f"### {n}\n" not in ref]
    assert not missing, missing


def test_gen_api_check_detects_a_stale_file(tmp_path):
    stale = tmp_path / "api.md"
    stale.write_text("old\n")
    gen = os.path.join(ROOT, "python", "docs", "gen_api.py")
    stub = os.path.join(ROOT, "python", "vecstore", "__init__.pyi")
    r = subprocess.run([sys.executable, gen, "--check", stub, str(stale)], capture_output=True, text=True)
    assert r.returncode == 1 and "is not current" in r.stderr
    assert subprocess.run([sys.executable, gen, stub, str(stale)]).returncode == 0
    assert subprocess.run([sys.executable, gen, "--check", stub, str(stale)]).returncode == 0
    assert stale.read_text().startswith("# The vecstore Python API\n")
