"""notebooks/05-gguf-plans.ipynb (committed with its outputs, written by
scripts/make_gguf_notebook.py) executes, and its figures are the API's and the committed ones."""

import json
import os

import nbformat
from nbclient import NotebookClient

import ggalloc as gg
from test_notebooks import KERNEL, NOTEBOOKS, kernel_env  # noqa: F401  (the fixture)
from testdata import data_path

NAME = "05-gguf-plans.ipynb"


def _results(nb):
    (cell,) = [c for c in nb.cells if "results" in c.metadata.get("tags", [])]
    text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
    return json.loads(text.strip().splitlines()[-1])


def test_05_gguf_plans(kernel_env):  # noqa: F811
    path = os.path.join(NOTEBOOKS, NAME)
    committed = nbformat.read(path, as_version=4)
    assert all(c.get("outputs") for c in committed.cells if c.cell_type == "code"), \
        f"{NAME} is committed executed: run scripts/make_gguf_notebook.py"
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name=KERNEL, resources={"metadata": {"path": NOTEBOOKS}}).execute()
    r = _results(nb)
    images = sum(1 for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                 if "image/png" in o.get("data", {}))
    assert images >= 2
    ctxs = r["ctxs"]
    # what the machine cannot change is what was committed
    old = _results(committed)
    for k in ("ctxs", "weight_bytes", "kv_cache_bytes", "compute_best", "compute_ggml", "lower_bound",
              "q4_0_weight_bytes"):
        assert r[k] == old[k], k
    assert r["kv_cache_bytes"] == [2 * 32 * c * 4096 * 2 for c in ctxs]
    assert len(set(r["weight_bytes"])) == 1
    assert r["compute_best"] == sorted(r["compute_best"]) and r["compute_best"][0] < r["compute_best"][-1]
    for lb, best, ggml in zip(r["lower_bound"], r["compute_best"], r["compute_ggml"]):
        assert lb <= best <= ggml
    for t, w, kv, c in zip(r["total"], r["weight_bytes"], r["kv_cache_bytes"], r["compute_best"]):
        assert t == w + kv + c
    for _, f16, q4 in r["fits"]:
        assert f16 is None or (q4 is not None and q4 >= f16)  # smaller weights fit at least as much
    p = gg.plan_model(data_path("gguf", "llama-7b-meta.gguf"), ctx=ctxs[2], batch=512)
    assert (p.kv_cache_bytes, p.compute["best"], p.lower_bound) == \
        (r["kv_cache_bytes"][2], r["compute_best"][2], r["lower_bound"][2])
