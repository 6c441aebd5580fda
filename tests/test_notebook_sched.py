"""Executes notebooks/04-scheduler.ipynb headless as tests/test_notebooks.py does (same kernel
setup) and checks what it computes. This notebook is kept with its outputs, so the check on the
committed file is that it was executed cleanly: every code cell ran, in order, without errors."""

import json
import os

import nbformat
from nbclient import NotebookClient

from test_notebooks import KERNEL, NOTEBOOKS, kernel_env  # noqa: F401  (the fixture)

NAME = "04-scheduler.ipynb"


def test_committed_with_clean_outputs():
    nb = nbformat.read(os.path.join(NOTEBOOKS, NAME), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    for c in code:
        assert not any(o.get("output_type") == "error" for o in c.outputs), c.source[:60]


def test_04_scheduler(kernel_env):  # noqa: F811
    nb = nbformat.read(os.path.join(NOTEBOOKS, NAME), as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name=KERNEL, resources={"metadata": {"path": NOTEBOOKS}})
    client.execute()
    (cell,) = [c for c in nb.cells if "results" in c.metadata.get("tags", [])]
    text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
    r = json.loads(text.strip().splitlines()[-1])
    images = sum(1 for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                 if "image/png" in o.get("data", {}))
    assert images >= 2
    assert r["violations"] == 0
    assert r["rel_err"] < 1e-3
    # the device runs the first layer, the CPU the rest: at least a split each way
    assert r["n_splits"] >= 2
    assert set(r["counts"]) == {r["device"], "CPU"} or r["device"] == "CPU"
    for key, size in r["sizes"].items():
        assert size >= r["lower_bounds"][key]
    for b in {k.split("/")[1] for k in r["sizes"]}:
        assert r["sizes"]["best/" + b] <= r["sizes"]["ggml/" + b]
