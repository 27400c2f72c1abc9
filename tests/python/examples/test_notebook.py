"""python/examples/notebook/tutorial.ipynb, executed cell by cell in a real Jupyter
kernel (nbclient, ipykernel; IPC transport: no TCP port)."""
import os

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
from jupyter_client.manager import KernelManager  # noqa: E402
from ex_fixtures import data_dir, examples_dir, workdir  # noqa: F401 (fixtures)


def test_tutorial_runs_without_errors(examples_dir, tmp_path, monkeypatch):
    # the kernel runs in the notebook's folder (it reads ../data/): the
    # package's folder as an absolute path
    nbdir = os.path.join(examples_dir, "notebook")
    import vecstore
    pkg = os.path.dirname(os.path.dirname(os.path.abspath(vecstore.__file__)))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([pkg] + [p for p in os.environ.get(
        "PYTHONPATH", "").split(os.pathsep) if p]))
    nb = nbformat.read(os.path.join(nbdir, "tutorial.ipynb"), as_version=4)
    km = KernelManager(kernel_name="python3", transport="ipc", ip=str(tmp_path / "kernel"))
    client = nbclient.NotebookClient(nb, km=km, timeout=180,
                                     resources={"metadata": {"path": nbdir}})
    client.execute()
    outputs = {}
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert not [o for o in cell.outputs if o.output_type == "error"], i
            outputs[i] = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    text = "\n".join(outputs.values())
    assert "16 records, 384 dimensions, cosine" in text
    assert "1 d13 " in text
    assert "DimensionError - " in text and "FilterError - column 11" in text
    assert "closed: True" in text


def test_tutorial_is_committed_without_outputs(examples_dir):
    nb = nbformat.read(os.path.join(examples_dir, "notebook", "tutorial.ipynb"), as_version=4)
    nbformat.validate(nb)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
