"""The built wheel (make python: dist/vecstore-*-cp311-abi3-manylinux_*.whl)
installs into a fresh venv and works there with nothing of this tree: no
PYTHONPATH, another directory, and the libraries it links (jansson, zstd,
...) loaded from the wheel's own vecstore.libs/, not from the system's -dev
packages. (libcurl and OpenBLAS are no longer linked: the library loads
them on first use, an API embedder or a BLAS fallback, so a hash-model
store loads neither.) tests/run.sh runs make python and sets
VS_WHEEL_DIR."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CHECK = r"""
import json, os, sys
import numpy as np
import vecstore
s = vecstore.open("w.vs", create=True, model="hash")
s.upsert(["a", "b"], texts=["the cat sat", "stock prices"], metadata=[{"k": 1}, {"k": 2}])
hits = s.search("a cat", k=1)
v = s.search(np.asarray(s._text_embedder().embed("stock"), np.float32), k=1, mode="vector")
try:
    s.upsert(["x"], np.zeros(3, np.float32))
    err = None
except vecstore.DimensionError as e:
    err = e.exit_code
libs = sorted({l.split()[-1] for l in open("/proc/self/maps")
               if ".so" in l and any(n in l for n in ("jansson", "zstd", "curl", "openblas"))})
print(json.dumps({"file": vecstore.__file__, "hit": hits[0].id, "meta": hits[0].metadata,
                  "v": v[0].id, "err": err, "libs": libs,
                  "typed": os.path.exists(os.path.join(os.path.dirname(vecstore.__file__),
                                                       "py.typed"))}))
"""


def test_wheel_in_fresh_venv(tmp_path: Path) -> None:
    d = os.environ.get("VS_WHEEL_DIR")
    if not d:
        pytest.skip("VS_WHEEL_DIR not set (tests/run.sh sets it after make python)")
    wheels = glob.glob(os.path.join(d, "vecstore-*-cp311-abi3-manylinux_*.whl"))
    assert len(wheels) == 1, f"one repaired abi3 wheel in {d}, found {wheels}"
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LD_LIBRARY_PATH")}
    p = subprocess.run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        wheels[0]], capture_output=True, text=True, env=env, check=False)
    assert p.returncode == 0, p.stderr
    work = tmp_path / "work"
    work.mkdir()
    p = subprocess.run([py, "-c", CHECK], capture_output=True, text=True, env=env, cwd=work,
                       check=False)
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["file"].startswith(str(venv))
    assert (r["hit"], r["meta"], r["v"], r["err"], r["typed"]) == ("a", {"k": 1}, "b", 3, True)
    ours = [lib for lib in r["libs"] if "numpy.libs" not in lib]  # numpy has its own BLAS
    assert all("/vecstore.libs/" in lib for lib in ours), ours
    assert any("jansson" in lib for lib in ours) and any("zstd" in lib for lib in ours), ours
