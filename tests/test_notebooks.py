"""Executes every notebook headless (nbclient) and checks the values each one computes.

The kernel runs this interpreter with the repository on its PYTHONPATH: a kernelspec is
written to a temporary directory and put first on JUPYTER_PATH, so that neither a user's own
"python3" kernel nor the interpreter first on PATH is used by accident."""

import json
import os
import sys

import nbformat
import pytest
from nbclient import NotebookClient

import ggalloc as gg
from ggalloc import models

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOKS = os.path.join(ROOT, "notebooks")
KERNEL = "ggalloc-test-python3"


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory):
    base = tmp_path_factory.mktemp("jupyter")
    spec = base / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (ggalloc tests)", "language": "python",
        "env": {"PYTHONPATH": ROOT + (os.pathsep + os.environ["PYTHONPATH"]
                                      if os.environ.get("PYTHONPATH") else ""),
                "MPLBACKEND": "module://matplotlib_inline.backend_inline"},
    }))
    old = {k: os.environ.get(k) for k in ("JUPYTER_PATH", "PYDEVD_DISABLE_FILE_VALIDATION")}
    os.environ["JUPYTER_PATH"] = str(base) + (os.pathsep + old["JUPYTER_PATH"] if old["JUPYTER_PATH"] else "")
    os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    yield
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def execute(name):
    path = os.path.join(NOTEBOOKS, name)
    nb = nbformat.read(path, as_version=4)
    # Committed without outputs.
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), f"{name} has outputs"
    client = NotebookClient(nb, timeout=300, kernel_name=KERNEL,
                            resources={"metadata": {"path": NOTEBOOKS}})
    client.execute()
    (cell,) = [c for c in nb.cells if "results" in c.metadata.get("tags", [])]
    text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
    images = sum(1 for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                 if "image/png" in o.get("data", {}))
    return json.loads(text.strip().splitlines()[-1]), images


def test_01_memory_plans(kernel_env):
    r, images = execute("01-memory-plans.ipynb")
    assert images >= 3
    assert r["violations"] == 0
    assert r["lower_bound"] <= r["best"] <= r["ggml"] < r["no_reuse"]
    # The notebook's figures are the API's.
    ga = gg.GraphAllocator(gg.host_buffer_type(32))
    ga.reserve(models.gpt2_small(tokens=r["tokens"]).graph)
    assert (ga.buffer_size(0), ga.lower_bound(0)) == (r["best"], r["lower_bound"])
    assert r["peak_bytes"] == r["lower_bound"]
    for rows in (r["by_tokens"], r["by_batch"]):
        for _, best, ggml, lb, layers in rows:
            assert layers < lb <= best <= ggml
        for col in (1, 4):
            col_values = [row[col] for row in rows]
            assert col_values == sorted(col_values) and col_values[0] < col_values[-1]
    # Attention scores grow quadratically: inside the layers, 8x the tokens costs more than 8x.
    layers = {row[0]: row[4] for row in r["by_tokens"]}
    assert layers[1024] > 8 * layers[128]
    # The logits set the peak at the last step; inside the layers the biggest tensor live at
    # the layers' peak is an attention or MLP activation.
    assert r["peak_tensors"][0] == "logits"
    assert r["layer_peak_step"] < r["peak_step"] and r["layer_peak_bytes"] < r["peak_bytes"]
    assert sum(size for _, _, size in r["layer_peak_tensors"]) >= r["layer_peak_bytes"]
    assert r["layer_peak_tensors"][0][1] in ("MUL_MAT", "ADD", "GELU", "SCALE", "SOFT_MAX", "DIAG_MASK_INF")


def test_02_device_limits(kernel_env):
    r, images = execute("02-device-limits.ipynb")
    assert images >= 1
    assert r["violations"] == 0
    assert len(r["chunks"]) >= 2
    for _, size, largest in r["chunks"]:
        assert size <= r["max_size"] or size == largest  # only a lone oversized tensor exceeds it
    assert r["unlimited_lb"] <= r["unlimited"]
    assert r["chunked_lb"] <= r["chunked"] <= r["ggml_chunked"]
    lbs = [row[2] for row in r["by_alignment"]]
    assert lbs == sorted(lbs)
    for _, prefill, prefill_lb, decode, decode_lb in r["by_alignment"]:
        assert prefill >= prefill_lb and decode >= decode_lb


def test_03_run_and_compare(kernel_env):
    r, images = execute("03-run-and-compare.ipynb")
    assert images >= 1
    assert "CPU" in r["backends"]
    assert r["nmse"]["CPU"] < 1e-5
    assert r["violations"]["CPU"] == 0
    for a, b in zip(r["logits_last_8"]["CPU"], r["reference_last_8"]):
        assert abs(a - b) < 0.05 * (1 + abs(b))
    if r["vulkan_available"]:
        assert r["nmse"]["Vulkan"] < 1e-3
        # The same graph gets the same plan on both (the alignments may differ a little).
        assert abs(r["buffer_size"]["Vulkan"] - r["buffer_size"]["CPU"]) < 0.01 * r["buffer_size"]["CPU"]
    else:
        assert r["vulkan_reason"]
