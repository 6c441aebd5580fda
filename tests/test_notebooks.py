"""Executes every notebook headless (nbclient) and checks the values each one computes, and
that the committed notebooks carry their outputs.

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


# The values each notebook computed, gathered by a cell the test appends after the notebook's
# own (the committed notebooks carry no cell for the tests).
RESULTS = {
    "01-memory-plans.ipynb": """
import json
results = dict(
    tokens=64,
    best=allocs["best"].buffer_size(0), ggml=allocs["ggml"].buffer_size(0),
    lower_bound=allocs["best"].lower_bound(0), no_reuse=no_reuse,
    violations=violations["best"],
    by_tokens=by_tokens, by_batch=by_batch,
    peak_step=peak_step, peak_bytes=int(live[peak_step]),
    peak_tensors=[r["name"] for r in at_peak[:3]],
    layer_peak_step=layer_step, layer_peak_bytes=int(live[layer_step]),
    layer_peak_tensors=[[r["name"], r["op"], r["size"]] for r in at_layer_peak],
)
print(json.dumps(results))
print(json.dumps(results))
""",
    "02-device-limits.ipynb": """
import json
results = dict(
    max_size=MAX, unlimited=unlimited.buffer_size(0), unlimited_lb=unlimited.lower_bound(0),
    chunked=ga.buffer_size(0), chunked_lb=ga.lower_bound(0), violations=violations,
    ggml_chunked=ggml_chunked.buffer_size(0),
    chunks=[[i, chunks[i]["size"], chunks[i]["largest"]] for i in sorted(chunks)],
    by_alignment=by_alignment,
)
print(json.dumps(results))
print(json.dumps(results))
""",
    "03-run-and-compare.ipynb": """
import json
results = dict(
    backends=sorted(results_by_backend),
    vulkan_available=vk is not None, vulkan_reason=vulkan_reason,
    nmse={k: r["nmse"] for k, r in results_by_backend.items()},
    max_abs_err={k: r["max_abs_err"] for k, r in results_by_backend.items()},
    logits_last_8={k: [float(x) for x in r["logits"][-1, :8]] for k, r in results_by_backend.items()},
    reference_last_8=[float(x) for x in ref[-1, :8]],
    violations={k: r["violations"] for k, r in results_by_backend.items() if r["violations"] is not None},
    buffer_size={k: r["buffer_size"] for k, r in results_by_backend.items()},
)
print(json.dumps(results))
print(json.dumps(results))
""",
}


def _images(nb):
    return sum(1 for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
               if "image/png" in o.get("data", {}))


def execute(name):
    path = os.path.join(NOTEBOOKS, name)
    nb = nbformat.read(path, as_version=4)
    # Committed executed, so their figures show without running them, for the kernel that
    # make notebooks installs.
    assert nb.metadata["kernelspec"]["name"] == "ggalloc"
    committed = _images(nb)
    assert committed >= 1, f"{name} is committed without its figures (run make notebooks)"
    assert all(c.get("outputs") for c in nb.cells if c.cell_type == "code" and c.source.strip()
               and not c.source.lstrip().startswith(("def ", "import"))), f"{name} has cells without outputs"
    nb.cells.append(nbformat.v4.new_code_cell(RESULTS[name]))
    client = NotebookClient(nb, timeout=300, kernel_name=KERNEL,
                            resources={"metadata": {"path": NOTEBOOKS}})
    client.execute()
    cell = nb.cells[-1]
    text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
    images = _images(nb)
    assert images == committed, f"{name}: {images} figures now, {committed} committed"
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


def test_make_notebooks_installs_a_kernel_that_imports_ggalloc(tmp_path):
    """What a user who opens a notebook gets: the kernel the notebooks name, running an
    interpreter that has numpy and this checkout's ggalloc."""
    import subprocess
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path))
    p = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "make_notebooks.py"), "--install-kernel"],
                       env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    spec = json.loads((tmp_path / "jupyter" / "kernels" / "ggalloc" / "kernel.json").read_text())
    assert spec["argv"][0] == sys.executable
    code = "import numpy, ggalloc; print(ggalloc.__file__)"
    q = subprocess.run([spec["argv"][0], "-c", code], env=dict(os.environ, **spec["env"]), cwd=str(tmp_path),
                       capture_output=True, text=True, timeout=120)
    assert q.returncode == 0 and q.stdout.startswith(ROOT), q.stderr
