"""Plan pictures: a PNG of the expected pixel size, chunks and the live-bytes panel."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

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


def test_every_buffer_of_a_plan(tmp_path):
    """A plan over two buffers (reserve_n) draws one row of panels per buffer; buffer_id picks
    one, and a plan of one buffer keeps its two-panel figure."""
    from ggalloc import report
    m = models.gpt2_small(tokens=16, layers=2)
    g = m.graph
    ids = [0 if i < g.n_nodes // 2 else 1 for i in range(g.n_nodes)]
    ga = gg.GraphAllocator(report.host_buffer_types(2, 32))
    ga.reserve_n(g, ids, None)
    plan = ga.plan()
    assert {e.buffer_id for e in plan.entries} == {0, 1}
    path = tmp_path / "two.png"
    fig = plot_plan(plan, str(path), title="gpt2, two buffers")
    img = mpimg.imread(str(path))
    assert img.shape[:2] == (800, 1400)            # 4 inches a buffer, 100 dpi
    assert len(np.unique(img.reshape(-1, img.shape[-1])[:, :3], axis=0)) > 20
    axes = fig.axes
    assert len(axes) == 4
    titles = [a.get_title() for a in axes]
    assert titles[0].startswith("buffer 0:") and titles[2].startswith("buffer 1:")
    assert all("MiB" in a.get_ylabel() for a in axes)
    # Each row's placement holds that buffer's tensors only, on the same step axis.
    for b, ax in ((0, axes[0]), (1, axes[2])):
        (coll,) = ax.collections
        assert len(coll.get_paths()) == len(plan_rows(plan, b))
        assert ax.get_xlim() == axes[0].get_xlim()
    # The live-bytes panel of each row peaks at that buffer's lower bound.
    for b, ax_live in ((0, axes[1]), (1, axes[3])):
        assert any(f"lower bound {ga.lower_bound(b) / 2**20:.2f} MiB" == t.get_text()
                   for t in ax_live.get_legend().get_texts())
    one = tmp_path / "one.png"
    plot_plan(plan, str(one), buffer_id=1, figsize=(8, 5), dpi=80)
    assert mpimg.imread(str(one)).shape[:2] == (400, 640)
    with pytest.raises(ValueError, match="out of range"):
        plot_plan(plan, buffer_id=2)
    three = tmp_path / "three.png"
    plot_plan(plan, str(three), figsize=(10, 9), dpi=50)
    assert mpimg.imread(str(three)).shape[:2] == (450, 500)


def _face_colours(ax):
    from matplotlib.collections import PolyCollection
    (coll,) = [c for c in ax.collections if isinstance(c, PolyCollection)][:1]
    return {tuple(np.round(fc, 4)) for fc in coll.get_facecolors()}


def test_each_op_keeps_its_colour_in_every_plot():
    from ggalloc.plot import op_colour
    small = reserved(models.gpt2_small(tokens=8, layers=1)).plan()
    big = reserved(models.llama_7b(tokens=32, layers=2)).plan()
    for plan in (small, big):
        fig = plot_plan(plan, max_legend=3)
        ax = fig.axes[0]
        ops = {r["op"] for r in plan_rows(plan)}
        # every rectangle has its op's colour, including ops left out of the legend
        assert _face_colours(ax) == {tuple(np.round(op_colour(op), 4)) for op in ops}
        plt.close(fig)
    assert op_colour("MUL_MAT") == op_colour("MUL_MAT") != op_colour("ADD")


def test_the_tensor_that_sets_the_peak_is_outlined_and_named():
    from matplotlib.patches import Rectangle
    plan = reserved(models.gpt2_small(tokens=16, layers=2)).plan()
    rows = plan_rows(plan)
    step = int(np.argmax(live_bytes(rows)))
    top = max((r for r in rows if r["first"] <= step <= r["last"]), key=lambda r: r["size"])
    assert top["name"] == "logits"
    fig = plot_plan(plan)
    ax = fig.axes[0]
    outlined = [p for p in ax.patches if isinstance(p, Rectangle) and not p.get_fill()]
    assert len(outlined) == 1
    assert outlined[0].get_x() == top["first"] and outlined[0].get_width() == top["last"] + 1 - top["first"]
    labels = [t.get_text() for t in ax.texts]
    assert any(top["name"] in t and f"peak at step {step}" in t for t in labels)
    plt.close(fig)
