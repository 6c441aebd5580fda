"""Pictures of memory plans.

:func:`plot_plan` draws a plan. One buffer is a two-panel figure. The upper panel is the
placement: x is the node step, y the offset in MiB, and every placed tensor a rectangle from
its first to its last step, coloured by the op that produced it. When the buffer was split
into chunks (a device's max buffer size), the chunks are stacked and separated by dashed
lines. The lower panel is the number of bytes live at each step, with the liveness lower bound
(the highest point of that curve) and the size of the plan, so the gap between the plan and
the bound is visible at a glance. A plan of several buffers (reserve_n) gets one row per buffer:
its placement beside its live bytes, every buffer in the same colours.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

Row = Dict[str, Any]
"""One placement as plan_rows gives it: name, op, chunk, offset, size, first, last."""

__all__ = ["plot_plan", "live_bytes", "plan_rows", "op_colour"]

MIB = 1024.0 * 1024.0


def _field(e: Any, name: str, default: Any = None) -> Any:
    if isinstance(e, dict):
        return e.get(name, default)
    return getattr(e, name, default)


def _op_name(op: Any) -> Optional[str]:
    if op is None:
        return None
    if isinstance(op, str):
        return op
    return getattr(op, "name", str(op))


def plan_rows(plan: Any, buffer_id: int = 0) -> List[Row]:
    """The placements of one buffer as a list of dicts (name, op, chunk, offset, size, first,
    last). Ops come from the plan's tensors (``Plan.tensors``, parallel to its entries) where
    it has them; a UNARY op is named by its unary op (GELU, SILU, ...) and a placed leaf (op
    NONE) is called "input"."""
    tensors = list(getattr(plan, "tensors", None) or [])
    rows = []
    for i, e in enumerate(plan.entries):
        if (_field(e, "buffer_id", 0) or 0) != buffer_id:
            continue
        tensor = tensors[i] if i < len(tensors) else _field(e, "tensor")
        name = _field(e, "name")
        if name is None:
            t = _field(e, "tensor")
            name = t if isinstance(t, str) else getattr(t, "name", "")
        op = _field(e, "op")
        if op is None and tensor is not None and not isinstance(tensor, str):
            op = getattr(tensor, "op", None)
            if op == "UNARY":
                op = getattr(tensor, "unary_op", None) or op
        if op == "NONE":
            op = "input"  # a leaf the allocator places: an input of the graph
        rows.append(dict(name=name or "", op=_op_name(op) or "?",
                         chunk=int(_field(e, "chunk", 0) or 0), offset=int(_field(e, "offset")),
                         size=int(_field(e, "size")), first=int(_field(e, "first")),
                         last=int(_field(e, "last"))))
    return rows


def live_bytes(rows: Sequence[Row], n_steps: Optional[int] = None) -> "np.ndarray[Any, Any]":
    """Bytes in use at each step: the measure of the byte ranges of the tensors live at that
    step. A node computed in place takes over its parent's bytes at the step where one hands
    over to the other; both are live there, but their bytes count once."""
    if n_steps is None:
        n_steps = max((r["last"] for r in rows), default=-1) + 1
    out = np.zeros(n_steps, dtype=np.int64)
    order = sorted(range(len(rows)), key=lambda i: rows[i]["first"])
    active, j = [], 0
    for s in range(n_steps):
        while j < len(order) and rows[order[j]]["first"] <= s:
            active.append(order[j])
            j += 1
        active = [i for i in active if rows[i]["last"] >= s]
        spans = sorted((rows[i]["chunk"], rows[i]["offset"], rows[i]["offset"] + rows[i]["size"])
                       for i in active)
        total, chunk, end = 0, None, 0
        for c, a, b in spans:
            if c != chunk:
                chunk, end = c, 0
            if b > end:
                total += b - max(a, end)
                end = b
        out[s] = total
    return out


def _auto_inset(rows: Sequence[Row], base: Dict[int, int], n_steps: int,
                total: int) -> Optional[Tuple[int, int, float]]:
    """(first step, last step, top in MiB) of the first tenth of the graph when everything
    placed before its last 5% of steps uses under a quarter of the buffer; else None."""
    if n_steps < 40 or total <= 0:
        return None
    cut = int(n_steps * 0.95)
    early = [base[r["chunk"]] + r["offset"] + r["size"] for r in rows if r["last"] < cut]
    if not early or max(early) >= 0.25 * total:
        return None
    x1 = max(20, n_steps // 10)
    top = max((base[r["chunk"]] + r["offset"] + r["size"] for r in rows if r["first"] <= x1),
              default=max(early))
    return (0, x1, min(top, max(early)) * 1.1 / MIB)


def _lower_bound(plan: Any, buffer_id: int) -> Optional[int]:
    lbs = _field(plan, "lower_bounds")
    if lbs is not None:
        return lbs[buffer_id] if buffer_id < len(lbs) else None
    lb = _field(plan, "lower_bound")
    if isinstance(lb, (list, tuple)):
        return lb[buffer_id] if buffer_id < len(lb) else None
    if callable(lb):
        return lb(buffer_id)
    return lb


def _n_buffers(plan: Any) -> int:
    sizes = _field(plan, "buffer_sizes")
    if sizes:
        return len(sizes)
    ids = {int(_field(e, "buffer_id", 0) or 0) for e in plan.entries}
    return max(ids) + 1 if ids else 1


# One colour per op in every figure: the ops of transformer graphs have fixed places in the
# palette, any other op a place chosen by a hash of its name (stable across runs and plots).
_OP_ORDER = ["MUL_MAT", "ADD", "MUL", "SOFT_MAX", "GELU", "NORM", "RMS_NORM", "CPY", "CONT", "SCALE",
             "GET_ROWS", "ROPE", "DIAG_MASK_INF", "SILU", "CONCAT", "SUB", "DIV", "SUM_ROWS", "UNARY", "IM2COL"]


def op_colour(op: str) -> Tuple[float, float, float, float]:
    """The colour of an op (its name, as ``Tensor.op`` gives it) in every plot."""
    import zlib

    import matplotlib.pyplot as plt
    cmap = plt.get_cmap("tab20")
    i = _OP_ORDER.index(op) if op in _OP_ORDER else zlib.crc32(str(op).encode()) % 20
    return cmap(i % 20)


def _colours(rows: Sequence[Row], max_legend: int) -> Tuple[Dict[str, Any], List[str], List[str]]:
    """Op -> colour (op_colour), and the ops ordered by the bytes x steps they place (the
    largest first): the first max_legend get a legend entry, the rest one line "N other ops".
    Returns (colours, ops in the legend, other ops)."""
    op_bytes: Dict[str, int] = {}
    for r in rows:
        op_bytes[r["op"]] = op_bytes.get(r["op"], 0) + r["size"] * (r["last"] - r["first"] + 1)
    ops = sorted(op_bytes, key=lambda o: -op_bytes[o])
    shown, other = ops[:max_legend], ops[max_legend:]
    return {op: op_colour(op) for op in ops}, shown, other


def plot_plan(plan_or_allocator: Any, path: Optional[str] = None, ax: Any = None, title: Optional[str] = None,
              buffer_id: Optional[int] = None, max_legend: int = 14, figsize: Optional[Tuple[float, float]] = None,
              dpi: int = 100, legend: bool = True, inset: Any = "auto") -> Any:
    """Draws a plan (a ``Plan``, or a ``GraphAllocator`` whose last plan to draw).

    Args:
        path: write a PNG there (``figsize`` x ``dpi`` pixels).
        ax: draw the placement into this Axes instead of a new figure (no live-bytes panel;
            one buffer: ``buffer_id``, or buffer 0).
        title: the figure's title.
        buffer_id: which buffer of the plan; None (the default) draws every buffer: one buffer
            as a placement panel above its live-bytes panel (1200 x 750 pixels by default),
            several as one row per buffer, the placement beside the live bytes (1400 x 400
            pixels per buffer by default), in the same colours.
        figsize: the figure's size in inches (None: the defaults above).
        max_legend: ops beyond this many (the ones with the fewest bytes) share one colour.
        legend: draw the legend of ops (beside the placement).
        inset: a zoomed view drawn inside the placement panel, as (first step, last step,
            top in MiB); "auto" adds one when a few large tensors at the end of the graph
            (a language model's logits) make the rest too thin to see; None: none.
    Returns:
        the matplotlib Figure.

        >>> plot_plan(galloc.plan(), "plan.png")      # every buffer of the plan
    """
    import matplotlib
    if ax is None and path is not None and not os.environ.get("DISPLAY") \
            and matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plan = plan_or_allocator.plan() if hasattr(plan_or_allocator, "reserve") else plan_or_allocator
    n = _n_buffers(plan)
    if buffer_id is None and (n == 1 or ax is not None):
        buffer_id = 0
    if buffer_id is not None:
        if not 0 <= int(buffer_id) < n:
            raise ValueError(f"buffer_id {buffer_id} out of range: the plan has {n} buffer{'s' if n > 1 else ''}")
        rows = plan_rows(plan, int(buffer_id))
        colour, shown, other = _colours(rows, max_legend)
        own = ax is None
        if own:
            fig, (ax, ax_live) = plt.subplots(2, 1, sharex=True, figsize=figsize or (12, 7.5), dpi=dpi,
                                              gridspec_kw=dict(height_ratios=[3, 1]),
                                              layout="constrained")
        else:
            fig, ax_live = ax.figure, None
        text = _draw_buffer(plan, int(buffer_id), rows, ax, ax_live, colour, shown, other, legend, inset,
                            below=True)
        if title is None:
            planner = _field(plan, "planner")
            title = "memory plan" + (f" ({planner} planner)" if planner else "")
            if n > 1:
                title += f", buffer {buffer_id}"
        title = f"{title}\n{text}"
        if own:
            fig.suptitle(title, fontsize=11)
        else:
            ax.set_title(title, fontsize=10)
    else:
        every = [plan_rows(plan, b) for b in range(n)]
        colour, shown, other = _colours([r for rows in every for r in rows], max_legend)
        own = True
        fig, axes = plt.subplots(n, 2, figsize=figsize or (14, 4 * n), dpi=dpi, squeeze=False,
                                 gridspec_kw=dict(width_ratios=[3, 1]), layout="constrained")
        # every row on the graph's steps, so that the buffers line up in time
        n_steps = max((r["last"] for rows in every for r in rows), default=0) + 1
        for b, rows in enumerate(every):
            ax, ax_live = axes[b, 0], axes[b, 1]
            text = _draw_buffer(plan, b, rows, ax, ax_live, colour, shown, other, legend and b == 0,
                                None if inset == "auto" else inset, below=False, n_steps=n_steps)
            ax.set_title(f"buffer {b}: {text}", fontsize=10)
        if title is None:
            planner = _field(plan, "planner")
            title = "memory plan" + (f" ({planner} planner)" if planner else "")
        fig.suptitle(f"{title}\n{n} buffers, {sum(len(r) for r in every)} tensors", fontsize=11)
    if path is not None:
        fig.savefig(path, dpi=dpi)
        if own:
            plt.close(fig)
    return fig


def _draw_buffer(plan: Any, buffer_id: int, rows: Sequence[Row], ax: Any, ax_live: Any, colour: Dict[str, Any],
                 shown: List[str], other: List[str], legend: bool, inset: Any, below: bool,
                 n_steps: Optional[int] = None) -> str:
    """Draws one buffer's placement into ax and its live bytes into ax_live (None: none);
    below: ax_live is under ax (sharing x), else beside it. Returns the line of figures for
    the title."""
    from matplotlib.collections import PolyCollection
    from matplotlib.patches import Patch, Rectangle

    if n_steps is None:
        n_steps = max((r["last"] for r in rows), default=0) + 1

    # Chunks are drawn one above the other, each as tall as its highest placement.
    chunk_top: Dict[int, int] = {}
    for r in rows:
        chunk_top[r["chunk"]] = max(chunk_top.get(r["chunk"], 0), r["offset"] + r["size"])
    base, acc = {}, 0
    for c in sorted(chunk_top):
        base[c] = acc
        acc += chunk_top[c]
    total = acc

    polys, faces = [], []
    for r in rows:
        x0, x1 = r["first"], r["last"] + 1
        y0 = (base[r["chunk"]] + r["offset"]) / MIB
        y1 = y0 + r["size"] / MIB
        polys.append([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])
        faces.append(colour[r["op"]])
    ax.add_collection(PolyCollection(polys, facecolors=faces, edgecolors=(0, 0, 0, 0.35),
                                     linewidths=0.3))
    # the tensor that sets the peak (the largest of those live at the step where the most bytes
    # are live): outlined and named, however thin it is
    if rows:
        live_at = live_bytes(rows, n_steps)
        step = int(np.argmax(live_at))
        top = max((r for r in rows if r["first"] <= step <= r["last"]), key=lambda r: r["size"])
        x0, x1 = top["first"], top["last"] + 1
        y0 = (base[top["chunk"]] + top["offset"]) / MIB
        y1 = y0 + top["size"] / MIB
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor="k", lw=1.8, zorder=3))
        ax.annotate(f"peak at step {step}: {top['name'] or '(unnamed)'} ({top['op']}, {top['size'] / MIB:.2f} MiB)",
                    xy=((x0 + x1) / 2, (y0 + y1) / 2), xytext=(0.02, 0.97), textcoords="axes fraction",
                    va="top", ha="left", fontsize=8, zorder=4,
                    bbox=dict(boxstyle="round", fc="white", ec="0.5", alpha=0.9),
                    arrowprops=dict(arrowstyle="->", color="k", lw=0.8))
    if inset == "auto":
        inset = _auto_inset(rows, base, n_steps, total)
    if inset:
        x0, x1, top = inset
        axin = ax.inset_axes([0.06, 0.3, 0.5, 0.62])
        axin.add_collection(PolyCollection(polys, facecolors=faces, edgecolors=(0, 0, 0, 0.35),
                                           linewidths=0.3))
        axin.set_xlim(x0, x1)
        axin.set_ylim(0, top)
        axin.tick_params(labelsize=7)
        axin.set_title(f"steps {x0}..{x1}, enlarged", fontsize=8)
        ax.indicate_inset_zoom(axin, edgecolor="0.3")
    ax.set_xlim(0, max(n_steps, 1))
    ax.set_ylim(0, max(total / MIB, 1e-6) * 1.04)
    ax.set_ylabel("offset in buffer (MiB)")
    if ax_live is None or not below:
        ax.set_xlabel("step (node index)")
    for c in sorted(base)[1:]:
        ax.axhline(base[c] / MIB, color="k", ls="--", lw=0.8)
        ax.text(0.5, base[c] / MIB, f" chunk {c}", va="bottom", ha="left", fontsize=8, clip_on=True)
    handles = [Patch(facecolor=colour[o], edgecolor="k", lw=0.3, label=o) for o in shown]
    if other:
        handles.append(Patch(facecolor="white", edgecolor="k", lw=0.3,
                             label=f"{len(other)} other op{'s' if len(other) > 1 else ''}"))
    lb = _lower_bound(plan, buffer_id)
    live = live_bytes(rows, n_steps)
    peak = int(live.max()) if len(live) else 0
    lb = peak if lb is None else int(lb)
    ax.axhline(total / MIB, color="tab:red", lw=1.0)
    if lb and lb != total:
        ax.axhline(lb / MIB, color="k", ls=":", lw=1.0)
    ax.text(n_steps, total / MIB, f"plan {total / MIB:.2f} MiB ", color="tab:red",
            va="bottom", ha="right", fontsize=8, clip_on=True)

    if ax_live is not None:
        steps = np.arange(n_steps + 1)
        ax_live.fill_between(steps, np.append(live, live[-1] if len(live) else 0) / MIB,
                             step="post", color="tab:blue", alpha=0.35, lw=0)
        ax_live.step(steps, np.append(live, live[-1] if len(live) else 0) / MIB, where="post",
                     color="tab:blue", lw=0.8, label="live bytes")
        ax_live.axhline(lb / MIB, color="k", ls="--", lw=1.0, label=f"lower bound {lb / MIB:.2f} MiB")
        ax_live.axhline(total / MIB, color="tab:red", lw=1.0, label=f"plan {total / MIB:.2f} MiB")
        ax_live.set_xlim(0, max(n_steps, 1))
        ax_live.set_ylim(0, max(total, lb, 1) / MIB * 1.15)
        ax_live.set_xlabel("step (node index)")
        ax_live.set_ylabel("live (MiB)")
        if below:
            ax_live.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    if legend:
        ax.legend(handles=handles, title="op", loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  fontsize=8, title_fontsize=9, frameon=False)
    if ax_live is not None and not below:
        ax_live.legend(loc="upper right", fontsize=7, framealpha=0.8)

    ratio = f", plan / lower bound {total / lb:.3f}" if lb else ""
    return f"{len(rows)} tensors, {n_steps} steps{ratio}"
