"""notebooks/05-gguf-plans.ipynb (committed with its outputs, written by
scripts/make_notebooks.py) executes, and its figures are the API's."""

import ggalloc as gg
from test_notebooks import execute, kernel_env  # noqa: F401  (the fixture)
from testdata import data_path

NAME = "05-gguf-plans.ipynb"


def test_05_gguf_plans(kernel_env):  # noqa: F811
    r, images = execute(NAME)
    assert images >= 2
    ctxs = r["ctxs"]
    assert r["kv_cache_bytes"] == [2 * 32 * c * 4096 * 2 for c in ctxs]
    assert len(set(r["weight_bytes"])) == 1
    assert r["compute_best"] == sorted(r["compute_best"]) and r["compute_best"][0] < r["compute_best"][-1]
    for lb, best, ggml in zip(r["lower_bound"], r["compute_best"], r["compute_ggml"]):
        assert lb <= best <= ggml
    for t, w, kv, c in zip(r["total"], r["weight_bytes"], r["kv_cache_bytes"], r["compute_best"]):
        assert t == w + kv + c
    for _, f16, q4 in r["fits"]:
        assert f16 is None or (q4 is not None and q4 >= f16)  # smaller weights fit at least as much
    # the notebook's figures are the API's
    for k in (0, 2):
        p = gg.plan_model(data_path("gguf", "llama-7b-meta.gguf"), ctx=ctxs[k], batch=512)
        assert (p.weight_bytes, p.kv_cache_bytes, p.compute["best"], p.compute["ggml"], p.lower_bound) == \
            (r["weight_bytes"][k], r["kv_cache_bytes"][k], r["compute_best"][k], r["compute_ggml"][k],
             r["lower_bound"][k])
