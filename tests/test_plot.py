"""Plan pictures: a PNG of the expected pixel size, chunks and the live-bytes panel."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import ggalloc as gg  # noqa: E402
from ggalloc import models  # noqa: E402
from ggalloc.plot import live_bytes, plan_rows, plot_plan  # noqa: E402


def reserved(model, max_size=None, planner="best"):
    ga = gg.GraphAllocator(gg.host_buffer_type(32, max_size), planner=planner)
    ga.reserve(model.graph)
    return ga


def test_png_has_the_expected_size(tmp_path):
    ga = reserved(models.gpt2_small(tokens=16, layers=2))
    path = tmp_path / "plan.png"
    plot_plan(ga.plan(), str(path), title="gpt2")
    img = mpimg.imread(str(path))
    assert img.shape[:2] == (750, 1200)
    # Not blank: many colours (the rectangles of several ops).
    assert len(np.unique(img.reshape(-1, img.shape[-1])[:, :3], axis=0)) > 20
    path2 = tmp_path / "small.png"
    plot_plan(ga, str(path2), figsize=(8, 5), dpi=80)  # an allocator works too
    assert mpimg.imread(str(path2)).shape[:2] == (400, 640)


def test_chunks_and_live_curve():
    m = models.llama_7b(tokens=64, layers=2)
    ga = reserved(m, max_size=8 << 20)
    plan = ga.plan()
    rows = plan_rows(plan)
    assert len({r["chunk"] for r in rows}) >= 2
    assert {r["op"] for r in rows} >= {"MUL_MAT", "SILU"}  # unary ops by their own name
    live = live_bytes(rows)
    assert live.max() == ga.lower_bound(0)
    fig = plot_plan(plan, title="llama")
    ax, ax_live = fig.axes[:2]
    assert "MiB" in ax.get_ylabel() and "MiB" in ax_live.get_ylabel()
    assert "step" in ax_live.get_xlabel()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "MUL_MAT" in labels
    # The chunks are stacked: the y range covers every chunk.
    assert ax.get_ylim()[1] * 2**20 >= ga.buffer_size(0)
    plt.close(fig)


def test_into_an_existing_axes():
    ga = reserved(models.mlp(n_layers=2, width=64, batch=8), planner="ggml")
    fig, axes = plt.subplots(1, 2)
    out = plot_plan(ga.plan(), ax=axes[1], title="mlp")
    assert out is fig and "mlp" in axes[1].get_title()
    assert len(axes[1].collections) == 1
    plt.close(fig)
