"""The command line: ``python3 -m ggalloc plan SOURCE`` and ``python3 -m ggalloc demo``.

``plan`` plans a graph and reports, per buffer, the size of the plan, the liveness lower bound
(the most bytes live at any step, which no placement can beat for the graph's node order), their
ratio, the size ggml's own planner reaches, the size with no reuse at all, the planning time and
the tensors live at the peak. SOURCE is one of:

* a graph file in the ``ggalloc.graph/1`` JSON format (graph-format.md). When the document
  assigns nodes and leafs to buffers (``node_buffer_ids`` / ``leaf_buffer_ids``), it is planned
  with ``reserve_n`` over as many buffers as the ids name, each of its own host buffer type with
  the same alignment and max size, and every buffer is reported;
* a trace CSV with columns ``id,lower,upper,size`` (a block of ``size`` bytes live over the
  half-open step range [lower, upper)), planned on its bare lifetimes with
  ``gg.plan_intervals`` (``--time-budget`` seconds of search, default 1); its "ggml planner"
  figure is ggml's best-fit placement applied to the blocks in time order;
* a built-in model name (gpt2-small, gpt2-medium, llama-7b, llama3-8b, mixtral-8x7b, mlp,
  cnn) with ``--tokens``, ``--layers``, ``--batch``, ``--n-past``.

Exit status: 0 on success, 2 for a SOURCE or option that cannot be used (with a one-line
message on stderr), 1 if a plan fails verification.
"""

import argparse
import csv
import json
import math
import os
import sys
import time

import numpy as np

from .plot import live_bytes, plan_rows

__all__ = ["main", "plan_source", "plan_graph", "plan_trace", "format_report"]

MIB = 1024.0 * 1024.0
PROG = "python3 -m ggalloc"


class UsageError(Exception):
    """A SOURCE or option the command cannot use (exit status 2)."""


def _gg():
    import ggalloc as gg
    return gg


def _progress(total, desc, enabled):
    """A tqdm bar on stderr (shown when stderr is a terminal, unless forced on or off)."""
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return _NoBar()
    return tqdm(total=total, desc=desc, file=sys.stderr, leave=False,
                disable=(None if enabled is None else not enabled),
                bar_format="{desc}: {n}/{total} [{elapsed}]{postfix}")


class _NoBar:
    def update(self, n=1):
        pass

    def set_postfix_str(self, s):
        pass

    def close(self):
        pass


# ----------------------------------------------------------------------------------------
# traces


def read_trace(path):
    """Reads a trace CSV (id,lower,upper,size) into four lists."""
    ids, starts, ends, sizes = [], [], [], []
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or [h.strip() for h in header[:4]] != ["id", "lower", "upper", "size"]:
            raise UsageError(f"{path}: not a trace CSV: the header must be id,lower,upper,size, "
                             f"found {','.join(header or [])!r}")
        for line, row in enumerate(reader, start=2):
            if not row:
                continue
            try:
                i, lo, hi, sz = (int(x) for x in row[:4])
            except ValueError:
                raise UsageError(f"{path}:{line}: expected four integers, found {','.join(row)!r}")
            if hi <= lo or sz < 0:
                raise UsageError(f"{path}:{line}: block {i}: upper {hi} must exceed lower {lo} "
                                 f"and size {sz} must be >= 0")
            ids.append(i)
            starts.append(lo)
            ends.append(hi)
            sizes.append(sz)
    if not ids:
        raise UsageError(f"{path}: the trace has no blocks")
    return ids, starts, ends, sizes


def _align(n, a):
    return (n + a - 1) // a * a


def plan_trace(path, alignment=1, progress=None, time_budget=1.0):
    """Plans a trace CSV with the best planner, searching up to time_budget seconds while above
    the lower bound; returns the report (a dict, see :func:`format_report`)."""
    gg = _gg()
    ids, starts, ends, sizes = read_trace(path)
    bar = _progress(2, os.path.basename(path), progress)
    t0 = time.perf_counter()
    offsets, peak = gg.plan_intervals(sizes, starts, ends, alignment=alignment, time_budget=time_budget)
    t_best = time.perf_counter() - t0
    bar.update()
    t0 = time.perf_counter()
    g_offsets, g_peak = gg.plan_intervals(sizes, starts, ends, alignment=alignment, planner="ggml")
    t_ggml = time.perf_counter() - t0
    bar.update()
    bar.close()
    lb = gg.intervals_lower_bound(sizes, starts, ends, alignment=alignment)
    violations = _interval_violations(offsets, sizes, starts, ends, alignment)
    # The step with the most bytes live, and what is live there.
    steps = sorted(set(starts))
    best_t, best_live = steps[0], -1
    for t in steps:
        live = sum(_align(s, alignment) for s, lo, hi in zip(sizes, starts, ends) if lo <= t < hi)
        if live > best_live:
            best_t, best_live = t, live
    live_at_peak = sorted(
        ({"name": f"block {ids[i]}", "op": "", "size": _align(sizes[i], alignment),
          "offset": int(offsets[i]), "first": starts[i], "last": ends[i] - 1}
         for i in range(len(ids)) if starts[i] <= best_t < ends[i]),
        key=lambda r: -r["size"])
    buf = dict(id=0, size=int(peak), lower_bound=int(lb), ratio=_ratio(peak, lb),
               ggml_size=int(g_peak), best_over_ggml=_ratio(peak, g_peak),
               no_reuse=int(sum(_align(s, alignment) for s in sizes)),
               plan_time_ms=t_best * 1e3, ggml_plan_time_ms=t_ggml * 1e3,
               other_size=int(g_peak), other_plan_time_ms=t_ggml * 1e3, chunks=1,
               peak_step=int(best_t), peak_bytes=int(best_live), live_at_peak=live_at_peak)
    return dict(source=path, kind="trace", name=os.path.splitext(os.path.basename(path))[0],
                planner="best", other_planner="ggml", alignment=alignment, max_size=None, n_blocks=len(ids),
                ggml_planner="best-fit in time order (ggml's policy)",
                buffers=[buf], violations=violations)


def _interval_violations(offsets, sizes, starts, ends, alignment):
    """Pairs of blocks live at once whose byte ranges overlap (a sweep over time)."""
    n = len(sizes)
    order = sorted(range(n), key=lambda i: starts[i])
    active, bad = [], 0
    for i in order:
        active = [j for j in active if ends[j] > starts[i]]
        a0, a1 = int(offsets[i]), int(offsets[i]) + sizes[i]
        for j in active:
            b0, b1 = int(offsets[j]), int(offsets[j]) + sizes[j]
            if sizes[i] and sizes[j] and a0 < b1 and b0 < a1:
                bad += 1
        active.append(i)
    return bad


# ----------------------------------------------------------------------------------------
# graphs


def _ratio(a, b):
    return (a / b) if b else None


def _entry(e, key, default=None):
    if isinstance(e, dict):
        return e.get(key, default)
    return getattr(e, key, default)


def _time_reserve(gg, graph, buft, planner, repeat, ids=None):
    """Plans with a fresh allocator `repeat` times (reserve_n with ids = (node ids, leaf ids)
    when given); returns (the last allocator, median s)."""
    times, galloc = [], None
    for _ in range(max(1, repeat)):
        galloc = gg.GraphAllocator(buft, planner=planner)
        t0 = time.perf_counter()
        if ids is None:
            galloc.reserve(graph)
        else:
            galloc.reserve_n(graph, ids[0], ids[1])
        times.append(time.perf_counter() - t0)
    times.sort()
    return galloc, times[len(times) // 2]


def _buffer_rows(plan, buffer_id):
    return plan_rows(plan, buffer_id)


def _n_buffers(plan):
    sizes = getattr(plan, "buffer_sizes", None)
    if sizes:
        return len(sizes)
    ids = {(_entry(e, "buffer_id", 0) or 0) for e in plan.entries}
    return max(ids) + 1 if ids else 1


def n_buffers_named(node_ids, leaf_ids):
    """How many buffers the buffer id lists name (the largest id + 1; 1 with no ids)."""
    ids = list(node_ids or []) + list(leaf_ids or [])
    return max(ids) + 1 if ids else 1


# (alignment, max_size, i) -> the host buffer type of buffer i; kept for the process, as the
# library keeps its interned host types, so no allocator's buffers outlive their type.
_EXTRA_HOST_TYPES = {}


def host_buffer_types(n, alignment=32, max_size=None):
    """n host buffer types with the same alignment and max size that an allocator keeps apart.

    Host buffer types are interned (one object per alignment and max size), and an allocator
    given one type twice puts both ids in one buffer; so every buffer after the first gets a
    host type of its own: a budget-tracking one whose budget is unlimited."""
    gg = _gg()
    types = [gg.host_buffer_type(alignment, max_size)]
    for i in range(1, n):
        key = (alignment, max_size, i)
        if key not in _EXTRA_HOST_TYPES:
            buft = gg.failing_buffer_type((1 << 64) - 1, alignment, max_size)
            # never freed: an allocator's buffers may be released after this module at exit
            gg._lib.ffi.gc(buft._buft, None)
            _EXTRA_HOST_TYPES[key] = buft
        types.append(_EXTRA_HOST_TYPES[key])
    return types


def plan_graph(graph, name="graph", source=None, planner="best", alignment=32, max_size=None,
               reorder=False, plot=None, progress=None, repeat=None, kind="graph", extra=None,
               node_buffer_ids=None, leaf_buffer_ids=None):
    """Plans a graph with the chosen planner and with ggml's; returns the report (a dict).

    With buffer id lists (one id per node / leaf, as a graph file may carry them) the graph is
    planned with reserve_n over as many host buffers as the ids name, and each is reported."""
    gg = _gg()
    ids = None
    if node_buffer_ids is not None or leaf_buffer_ids is not None:
        ids = (node_buffer_ids, leaf_buffer_ids)
        if reorder:
            raise UsageError("--reorder changes the node order, which the graph's node_buffer_ids follow; "
                             "it applies to graphs without buffer ids only")
        bufts = host_buffer_types(n_buffers_named(*ids), alignment, max_size)
        buft = bufts if len(bufts) > 1 else bufts[0]
    else:
        buft = gg.host_buffer_type(alignment, max_size)
    n_nodes = graph.n_nodes
    if repeat is None:
        repeat = 5 if n_nodes <= 2000 else 1
    other = "ggml" if planner == "best" else "best"
    bar = _progress(3 + (2 if reorder else 0) + (1 if plot else 0), name, progress)
    bar.set_postfix_str(f"planning ({planner})")
    galloc, t_plan = _time_reserve(gg, graph, buft, planner, repeat, ids)
    bar.update()
    bar.set_postfix_str(f"planning ({other})")
    galloc_o, t_other = _time_reserve(gg, graph, buft, other, repeat, ids)
    bar.update()
    ggml_alloc, t_ggml = (galloc, t_plan) if planner == "ggml" else (galloc_o, t_other)
    best_alloc = galloc if planner == "best" else galloc_o
    bar.set_postfix_str("verifying")
    violations, why = _verify(galloc, graph)
    plan = galloc.plan()
    bar.update()

    buffers = []
    warnings = []
    for b in range(_n_buffers(plan)):
        rows = _buffer_rows(plan, b)
        if max_size is not None:
            for r in rows:
                if r["size"] > max_size:
                    warnings.append(f"tensor {r['name'] or '(unnamed)'} ({r['op']}) needs {r['size']:,} B, more "
                                    f"than the max buffer size {max_size:,} B: it gets a chunk of {r['size']:,} B "
                                    f"of its own in buffer {b}")
        size = int(galloc.buffer_size(b))
        lb = int(galloc.lower_bound(b))
        ggml_size = int(ggml_alloc.buffer_size(b))
        live = live_bytes(rows)
        peak_step = int(np.argmax(live)) if len(live) else 0
        peak_bytes = int(live[peak_step]) if len(live) else 0
        at_peak = sorted((r for r in rows if r["first"] <= peak_step <= r["last"]),
                         key=lambda r: -r["size"])
        buffers.append(dict(
            id=b, size=size, lower_bound=lb, ratio=_ratio(size, lb), ggml_size=ggml_size,
            best_over_ggml=_ratio(int(best_alloc.buffer_size(b)), ggml_size), no_reuse=int(sum(r["size"] for r in rows)),
            plan_time_ms=t_plan * 1e3, ggml_plan_time_ms=t_ggml * 1e3,
            other_size=int(galloc_o.buffer_size(b)), other_plan_time_ms=t_other * 1e3,
            chunks=1 + max((r["chunk"] for r in rows), default=0),
            peak_step=peak_step, peak_bytes=max(peak_bytes, 0), live_at_peak=at_peak))

    report = dict(source=source or name, kind=kind, name=name, planner=planner,
                  alignment=alignment, max_size=max_size, n_nodes=n_nodes,
                  n_leafs=graph.n_leafs, plan_time_repeats=repeat,
                  other_planner=other,
                  ggml_planner="ggml_gallocr (GGALLOC_PLANNER_GGML)", buffers=buffers,
                  violations=violations, warnings=warnings)
    report["n_buffers"] = len(buffers)
    report["buffer_ids"] = ids is not None
    if why:
        report["verify_note"] = why
    if extra:
        report.update(extra)
    if reorder:
        bar.set_postfix_str("reordering")
        before = [int(galloc.lower_bound(b)) for b in range(len(buffers))]
        graph.reorder()
        bar.update()
        bar.set_postfix_str(f"planning the new order ({planner})")
        g2, t2 = _time_reserve(gg, graph, buft, planner, 1)
        bar.update()
        report["reorder"] = dict(
            lower_bound_before=before,
            lower_bound_after=[int(g2.lower_bound(b)) for b in range(len(buffers))],
            size_after=[int(g2.buffer_size(b)) for b in range(len(buffers))],
            violations_after=_verify(g2, graph)[0])
    if plot:
        bar.set_postfix_str("plotting")
        from .plot import plot_plan
        plot_plan(plan, plot, title=f"{name}: {planner} planner")
        report["plot"] = plot
        bar.update()
    bar.close()
    return report


def _verify(galloc, graph):
    """Places the graph with the allocator (re-using its plan) and counts, with the library's
    independent verifier, the pairs of tensors that share bytes while both are live (0: a valid
    plan). None, with the reason, when the buffers cannot be allocated here."""
    gg = _gg()
    try:
        galloc.alloc_graph(graph)
        return int(galloc.plan().verify()), None
    except gg.AllocationError as e:
        return None, f"not verified: the buffers cannot be allocated here ({e})"


def plan_source(source, planner="best", alignment=None, max_size=None, reorder=False, plot=None,
                tokens=None, layers=None, batch=None, n_past=None, progress=None, time_budget=None,
                wtype=None):
    """Plans a SOURCE (graph file, trace CSV or built-in name); raises UsageError if it cannot."""
    gg = _gg()
    from . import models
    model_opts = dict(tokens=tokens, layers=layers, batch=batch, n_past=n_past, wtype=wtype)
    given = [f"--{k.replace('_', '-')}" for k, v in model_opts.items() if v is not None]
    if os.path.exists(source):
        if given:
            raise UsageError(f"{', '.join(given)} apply to built-in models only, not to the file {source}")
        if time_budget is not None and not source.lower().endswith(".csv"):
            raise UsageError("--time-budget applies to traces only")
        if os.path.isdir(source):
            raise UsageError(f"{source} is a directory, not a graph JSON file or trace CSV")
        if source.lower().endswith(".csv"):
            if reorder or plot or max_size is not None or planner != "best":
                raise UsageError("a trace is planned on bare lifetimes: --reorder, --plot, --max-size "
                                 "and --planner ggml apply to graphs only")
            return plan_trace(source, alignment or 1, progress=progress,
                              time_budget=1.0 if time_budget is None else time_budget)
        try:
            graph = gg.load_graph(source)
        except gg.GgallocError as e:
            raise UsageError(f"{source}: not a valid ggalloc.graph/1 document: {e}")
        name = os.path.splitext(os.path.basename(source))[0]
        return plan_graph(graph, name=name, source=source, planner=planner,
                          alignment=alignment or 32, max_size=max_size, reorder=reorder,
                          plot=plot, progress=progress, kind="graph",
                          node_buffer_ids=graph.node_buffer_ids, leaf_buffer_ids=graph.leaf_buffer_ids)
    if time_budget is not None:
        raise UsageError("--time-budget applies to traces only")
    if source in models.BUILTINS:
        bar = _progress(1, source, progress)
        bar.set_postfix_str("building the graph")
        try:
            m = models.build(source, **model_opts)
        except ValueError as e:
            raise UsageError(str(e))
        bar.update()
        bar.close()
        return plan_graph(m.graph, name=m.name, source=source, planner=planner,
                          alignment=alignment or 32, max_size=max_size, reorder=reorder,
                          plot=plot, progress=progress, kind="model",
                          extra=dict(hparams=m.hparams, weight_bytes=int(m.weight_bytes)))
    raise UsageError(f"{source!r} is neither a file nor a built-in model "
                     f"({', '.join(models.BUILTINS)})")


def _b(n):
    return "-" if n is None else f"{n:,} B"


def _mib(n):
    return "" if n is None else f"({n / MIB:,.2f} MiB)"


def _r(x):
    return "-" if x is None else f"{x:.3f}"


def format_report(rep, top=8):
    """The report as text."""
    lines = []
    if rep["kind"] == "trace":
        head = f"{rep['name']} (trace {rep['source']}): {rep['n_blocks']} blocks"
    else:
        head = f"{rep['name']}: {rep['n_nodes']} nodes, {rep['n_leafs']} leafs"
        if rep.get("hparams"):
            head += " (" + ", ".join(f"{k} {v}" for k, v in rep["hparams"].items()) + ")"
    lines.append(head)
    ms = rep.get("max_size")
    lines.append(f"planner {rep['planner']}, alignment {rep['alignment']}, "
                 f"max buffer size {'none' if ms is None else f'{ms:,} B'}")
    for w in rep.get("warnings", []):
        lines.append(f"warning: {w}")
    if rep.get("buffer_ids"):
        lines.append(f"{rep['n_buffers']} buffers, as the graph's node_buffer_ids / leaf_buffer_ids assign "
                     "them (reserve_n)")
    if rep.get("weight_bytes"):
        w = rep["weight_bytes"]
        lines.append(f"weights and KV cache (outside the plan): {_b(w)} {_mib(w)}")
    for b in rep["buffers"]:
        lines.append(f"buffer {b['id']}")
        lines.append(f"  size            {_b(b['size']):>18} {_mib(b['size'])}"
                     + (f" in {b['chunks']} chunks" if b.get("chunks", 1) > 1 else ""))
        lines.append(f"  lower bound     {_b(b['lower_bound']):>18} {_mib(b['lower_bound'])}"
                     f"  size / bound {_r(b['ratio'])}")
        lines.append(f"  ggml planner    {_b(b['ggml_size']):>18} {_mib(b['ggml_size'])}"
                     f"  best / ggml {_r(b['best_over_ggml'])}")
        lines.append(f"  no reuse        {_b(b['no_reuse']):>18} {_mib(b['no_reuse'])}")
        call = "reserve_n()" if rep.get("buffer_ids") else "reserve()"
        how = "median of %d %s calls from Python" % (rep["plan_time_repeats"], call) \
            if rep.get("plan_time_repeats", 1) > 1 else "plan_intervals" if rep["kind"] == "trace" \
            else f"one {call} call from Python"
        other = rep.get("other_planner", "ggml")
        t_other = b.get("other_plan_time_ms", b["ggml_plan_time_ms"])
        lines.append(f"  planning time   {b['plan_time_ms']:.3f} ms ({rep['planner']}), "
                     f"{t_other:.3f} ms ({other}); {how}")
        if other != "ggml":
            lines.append(f"  {other} planner    {_b(b['other_size']):>18} {_mib(b['other_size'])}")
        at = b["live_at_peak"]
        lines.append(f"  live at the peak (step {b['peak_step']}, {_b(b['peak_bytes'])}): "
                     f"{len(at)} tensors")
        for r in at[:top]:
            op = f" {r['op']}" if r["op"] else ""
            lines.append(f"    {r['size']:>14,} B  {r['name']}{op} (steps {r['first']}..{r['last']})")
        if len(at) > top:
            lines.append(f"    ... and {len(at) - top} more")
    if rep["violations"] is None:
        lines.append(f"verify: {rep.get('verify_note', 'not verified')}")
    else:
        lines.append(f"verify: {rep['violations']} violations" + ("" if rep["violations"] == 0 else "  FAIL"))
    if "reorder" in rep:
        ro = rep["reorder"]
        for i, (a, b) in enumerate(zip(ro["lower_bound_before"], ro["lower_bound_after"])):
            lines.append(f"reorder: buffer {i} lower bound {_b(a)} -> {_b(b)} ({_r(_ratio(b, a))}), "
                         f"plan {_b(ro['size_after'][i])}")
    if rep.get("plot"):
        lines.append(f"plot written to {rep['plot']}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------
# main


def _size(text):
    t = text.strip().lower()
    mult = 1
    for suffix, m in (("kib", 1 << 10), ("mib", 1 << 20), ("gib", 1 << 30), ("k", 1 << 10),
                      ("m", 1 << 20), ("g", 1 << 30), ("b", 1)):
        if t.endswith(suffix):
            t, mult = t[: -len(suffix)], m
            break
    try:
        v = int(float(t) * mult) if "." in t else int(t) * mult
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (bytes, or with K/M/G/KiB/MiB/GiB)")
    if v <= 0:
        raise argparse.ArgumentTypeError(f"a size must be positive, not {text!r}")
    return v


def _alignment(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}")
    if v <= 0 or v & (v - 1):
        raise argparse.ArgumentTypeError(f"the alignment must be a power of two, not {v}")
    return v


def _positive(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}")
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, not {v}")
    return v


def _nonneg(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}")
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, not {v}")
    return v


def _seconds(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds")
    if not 0 <= v <= 1e6:
        raise argparse.ArgumentTypeError(f"{text!r}: the time budget must be between 0 and 1e6 seconds")
    return v


def _wtype(text):
    """A weight type for --wtype: f32, f16, or a type with a quantizer and a CPU kernel here."""
    gg = _gg()
    try:
        info = gg.type_info(text)
    except gg.GgallocError:
        info = None
    if info is None or not (info.name in ("f32", "f16") or (info.can_quantize and info.can_dequantize)):
        names = ["f32", "f16"] + [t.name.lower() for t in gg.type_infos() if t.can_quantize and t.can_dequantize
                                  and t.name not in ("q8_1", "q8_K")]
        raise argparse.ArgumentTypeError(f"{text!r} is not a weight type here ({', '.join(names)})")
    return info.name


def _parser():
    p = argparse.ArgumentParser(prog=PROG, description="ggalloc: graph memory plans.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    pl = sub.add_parser("plan", help="plan a graph file, a trace CSV or a built-in model",
                        description="Plan SOURCE (a ggalloc.graph/1 JSON file, a trace CSV "
                                    "id,lower,upper,size, or a built-in model: gpt2-small, "
                                    "gpt2-medium, llama-7b, llama3-8b, mixtral-8x7b, mlp, cnn) "
                                    "and report each buffer's size against the lower bound and "
                                    "ggml's planner.")
    pl.add_argument("source", metavar="SOURCE")
    pl.add_argument("--planner", choices=("best", "ggml"), default="best",
                    help="the planner whose plan is reported (default best); the other is compared")
    pl.add_argument("--max-size", type=_size, default=None, metavar="BYTES",
                    help="max buffer size of the device (e.g. 134217728 or 128MiB); default none")
    pl.add_argument("--alignment", type=_alignment, default=None, metavar="N",
                    help="buffer alignment, a power of two (default 32 for graphs, 1 for traces)")
    pl.add_argument("--time-budget", type=_seconds, default=None, metavar="SECONDS",
                    help="traces: how long the best planner may search while above the lower bound "
                         "(default 1; 0: a small fixed amount of work)")
    pl.add_argument("--plot", metavar="FILE.png", help="draw the plan into a PNG")
    pl.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    pl.add_argument("--reorder", action="store_true",
                    help="also reorder the nodes to lower the peak; show the bound before and after")
    pl.add_argument("--tokens", type=_positive, help="built-in models: tokens per sequence")
    pl.add_argument("--layers", type=_positive, help="built-in models: number of layers")
    pl.add_argument("--batch", type=_positive, help="built-in models: sequences (or batch size)")
    pl.add_argument("--n-past", type=_nonneg, help="gpt2/llama: tokens already in the KV cache")
    pl.add_argument("--wtype", type=_wtype, metavar="TYPE",
                    help="gpt2/llama and GGUF files: type of the 2-D weights (f16, f32, q8_0, q4_0, q4_k, ...)")
    pl.add_argument("--progress", dest="progress", action="store_const", const=True, default=None,
                    help="always show progress (default: when stderr is a terminal)")
    pl.add_argument("--no-progress", dest="progress", action="store_const", const=False)
    gf = pl.add_argument_group("GGUF model files (SOURCE ending in .gguf)")
    gf.add_argument("--ctx", type=_positive, help="context length (default: the file's context_length)")
    gf.add_argument("--device", default="cpu", help="cpu, vulkan or vulkan:N (default cpu)")
    gf.add_argument("--run", action="store_true", help="run one forward pass of --prompt on the CPU")
    gf.add_argument("--prompt", default="1", help="--run: comma-separated token ids (default 1)")
    gf.add_argument("--top", type=_positive, default=5, help="--run: how many next tokens to print")

    de = sub.add_parser("demo", help="plan and run GPT-2 small, check it against numpy",
                        description="Build GPT-2 small, plan it with both planners, run it on the "
                                    "CPU backend with fixed-seed random weights, check the logits "
                                    "against numpy (and draw the plan with --plot).")
    de.add_argument("--tokens", type=_positive, default=None, help="prompt tokens (default 32)")
    de.add_argument("--layers", type=_positive, default=None, help="layers (default 12)")
    de.add_argument("--threads", type=_positive, default=None, help="CPU threads (default: all cores)")
    de.add_argument("--plot", default=None, metavar="FILE.png", help="also draw the plan into this PNG")
    de.add_argument("--seed", type=_nonneg, default=0)
    de.add_argument("--wtype", type=_wtype, default=None, metavar="TYPE",
                    help="type of the 2-D weights (default f16; q8_0, q4_0, q4_k, ... quantize them)")

    rs = sub.add_parser("rpc-server", help="serve this machine's CPU to ggml's RPC clients",
                        description="Serve the CPU backend at HOST:PORT with ggml's RPC protocol, "
                                    "for ggml programs, llama.cpp --rpc and gg.RPCBackend, until Ctrl-C.")
    rs.add_argument("endpoint", metavar="HOST:PORT")
    rs.add_argument("--threads", type=_positive, default=None, help="CPU threads (default: all cores)")
    return p


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.command == "rpc-server":
        gg = _gg()
        try:
            gg.rpc.serve(args.endpoint, n_threads=args.threads)
        except gg.GgallocError as e:
            print(f"{PROG} rpc-server: error: {e}", file=sys.stderr)
            return 2
        return 0
    if args.command == "demo":
        from .demo import main as demo_main
        return demo_main(tokens=args.tokens, layers=args.layers, threads=args.threads,
                         plot=args.plot, seed=args.seed, wtype=args.wtype)
    gg = _gg()
    if args.source.endswith(".gguf"):
        from .gguf_models import cli_plan
        return cli_plan(args, PROG)
    try:
        rep = plan_source(args.source, planner=args.planner, alignment=args.alignment,
                          max_size=args.max_size, reorder=args.reorder, plot=args.plot,
                          tokens=args.tokens, layers=args.layers, batch=args.batch,
                          n_past=args.n_past, progress=args.progress, time_budget=args.time_budget,
                          wtype=args.wtype)
    except UsageError as e:
        print(f"{PROG} plan: error: {e}", file=sys.stderr)
        return 2
    except (OSError, gg.GgallocError) as e:
        print(f"{PROG} plan: error: {args.source}: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(rep, indent=1, default=_json_default))
    else:
        print(format_report(rep))
    return 1 if rep["violations"] else 0


def _json_default(o):
    if hasattr(o, "item"):
        return o.item()
    if isinstance(o, float) and (math.isnan(o) or math.isinf(o)):
        return None
    return str(o)
