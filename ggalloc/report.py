"""Planning reports: what ``ggalloc plan`` and ``make demo`` print, as data.

:func:`plan_source` plans a graph file, a trace CSV or a built-in model and returns a report
(a dict of plain values, which ``--json`` prints as it is); :func:`plan_graph` does it for a
Graph, :func:`plan_trace` for a trace; :func:`format_report` turns a report into the text the
command prints. Per buffer a report holds the plan's size, the liveness lower bound, their
ratio, the size ggml's own planner reaches, the size without reuse, the planning times and the
tensors live at the peak.
"""

from __future__ import annotations

import csv
import os
import sys
import time

import numpy as np

from typing import Any, Dict, List, Optional, Sequence, Tuple

from .errors import BadInputError
from .plot import live_bytes, plan_rows

Report = Dict[str, Any]
"""A planning report: plain values (numbers, strings, lists, dicts), as ``--json`` prints it."""

__all__ = ["UsageError", "plan_source", "plan_graph", "plan_trace", "read_trace", "format_report",
           "host_buffer_types", "n_buffers_named"]

MIB = 1024.0 * 1024.0


class UsageError(BadInputError):
    """A SOURCE or option the command cannot use (the command's exit status 2)."""


def _gg() -> Any:
    import ggalloc as gg
    return gg


def _progress(total: int, desc: str, enabled: Optional[bool]) -> Any:
    """A tqdm bar on stderr (shown when stderr is a terminal, unless forced on or off)."""
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return _NoBar()
    return tqdm(total=total, desc=desc, file=sys.stderr, leave=False,
                disable=(None if enabled is None else not enabled),  # type: ignore[arg-type]
                bar_format="{desc}: {n}/{total} [{elapsed}]{postfix}")


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, s: str) -> None:
        pass

    def close(self) -> None:
        pass


# ----------------------------------------------------------------------------------------
# traces


_INT64 = (-(1 << 63), (1 << 63) - 1)


def read_trace(path: str) -> Tuple[List[int], List[int], List[int], List[int]]:
    """Reads a trace CSV (id,lower,upper,size) into four lists; UsageError, naming the file and
    line, for anything else: another header, extra or missing columns, a value that is not an
    integer or does not fit int64 (times) or size_t (sizes), a duplicate id, text that is not
    UTF-8."""
    ids: List[int] = []
    starts: List[int] = []
    ends: List[int] = []
    sizes: List[int] = []
    seen: Dict[int, int] = {}
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None or [h.strip() for h in header] != ["id", "lower", "upper", "size"]:
                raise UsageError(f"{path}: not a trace CSV: the header must be id,lower,upper,size, "
                                 f"found {','.join(header or [])!r}")
            for line, row in enumerate(reader, start=2):
                if not row:
                    continue
                if len(row) != 4:
                    raise UsageError(f"{path}:{line}: expected 4 columns (id,lower,upper,size), found {len(row)}")
                try:
                    i, lo, hi, sz = (int(x) for x in row)
                except ValueError:
                    raise UsageError(f"{path}:{line}: expected four integers, found {','.join(row)!r}") from None
                for name, v in (("lower", lo), ("upper", hi)):
                    if not _INT64[0] <= v <= _INT64[1]:
                        raise UsageError(f"{path}:{line}: {name} {v} does not fit a 64-bit step")
                if not 0 <= sz < 1 << 63:
                    raise UsageError(f"{path}:{line}: size {sz} must be >= 0 and below 2**63")
                if hi <= lo:
                    raise UsageError(f"{path}:{line}: block {i}: upper {hi} must exceed lower {lo}")
                if i in seen:
                    raise UsageError(f"{path}:{line}: block id {i} repeats the one on line {seen[i]}")
                seen[i] = line
                ids.append(i)
                starts.append(lo)
                ends.append(hi)
                sizes.append(sz)
    except UnicodeDecodeError as e:
        raise UsageError(f"{path}: not a trace CSV: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except csv.Error as e:
        raise UsageError(f"{path}: not a trace CSV: {e}") from None
    if not ids:
        raise UsageError(f"{path}: the trace has no blocks")
    return ids, starts, ends, sizes


def _align(n: int, a: int) -> int:
    return (n + a - 1) // a * a


def plan_trace(path: str, alignment: int = 1, progress: Optional[bool] = None,
               time_budget: Optional[float] = 1.0) -> Report:
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
    at_peak = sorted((i for i in range(len(ids)) if starts[i] <= best_t < ends[i]), key=lambda i: -sizes[i])
    live_at_peak: List[Dict[str, Any]] = [
        {"name": f"block {ids[i]}", "op": "", "size": _align(sizes[i], alignment),
         "offset": int(offsets[i]), "first": starts[i], "last": ends[i] - 1} for i in at_peak]
    buf = dict(id=0, size=int(peak), lower_bound=int(lb), ratio=_ratio(peak, lb),
               ggml_size=int(g_peak), best_over_ggml=_ratio(peak, g_peak),
               no_reuse=int(sum(_align(s, alignment) for s in sizes)),
               plan_time_ms=t_best * 1e3, ggml_plan_time_ms=t_ggml * 1e3,
               other_size=int(g_peak), other_plan_time_ms=t_ggml * 1e3, chunks=1,
               peak_step=int(best_t), peak_bytes=int(best_live), live_at_peak=live_at_peak)
    return dict(source=path, kind="trace", name=os.path.splitext(os.path.basename(path))[0],
                planner="best", other_planner="ggml", alignment=alignment, max_size=None, n_blocks=len(ids),
                time_budget=time_budget,
                ggml_planner="best-fit in time order (ggml's policy)",
                buffers=[buf], violations=violations)


def _interval_violations(offsets: Sequence[int], sizes: Sequence[int], starts: Sequence[int],
                         ends: Sequence[int], alignment: int) -> int:
    """Pairs of blocks live at once whose byte ranges overlap (a sweep over time)."""
    n = len(sizes)
    order = sorted(range(n), key=lambda i: starts[i])
    active: List[int] = []
    bad = 0
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


def _ratio(a: float, b: float) -> Optional[float]:
    return (a / b) if b else None


def _entry(e: Any, key: str, default: Any = None) -> Any:
    if isinstance(e, dict):
        return e.get(key, default)
    return getattr(e, key, default)


def _time_reserve(gg: Any, graph: Any, buft: Any, planner: str, repeat: int,
                  ids: Optional[Tuple[Any, Any]] = None, time_budget: float = 0.0) -> Tuple[Any, float]:
    """Plans with a fresh allocator `repeat` times (reserve_n with ids = (node ids, leaf ids)
    when given; the best planner with time_budget); returns (the last allocator, median s)."""
    times, galloc = [], None
    for _ in range(max(1, repeat)):
        galloc = gg.GraphAllocator(buft, planner=planner, time_budget=time_budget)  # (ggml's ignores it)
        t0 = time.perf_counter()
        if ids is None:
            galloc.reserve(graph)
        else:
            galloc.reserve_n(graph, ids[0], ids[1])
        times.append(time.perf_counter() - t0)
    times.sort()
    return galloc, times[len(times) // 2]


def _buffer_rows(plan: Any, buffer_id: int) -> List[Dict[str, Any]]:
    return plan_rows(plan, buffer_id)


def _n_buffers(plan: Any) -> int:
    sizes = getattr(plan, "buffer_sizes", None)
    if sizes:
        return len(sizes)
    ids = {(_entry(e, "buffer_id", 0) or 0) for e in plan.entries}
    return max(ids) + 1 if ids else 1


def n_buffers_named(node_ids: Optional[Sequence[int]], leaf_ids: Optional[Sequence[int]]) -> int:
    """How many buffers the buffer id lists name (the largest id + 1; 1 with no ids)."""
    ids = list(node_ids or []) + list(leaf_ids or [])
    return max(ids) + 1 if ids else 1


def host_buffer_types(n: int, alignment: int = 32, max_size: Optional[int] = None) -> List[Any]:
    """n host buffer types with the same alignment and max size that an allocator keeps apart
    (host buffer types are interned, and an allocator given one type twice would put both ids
    in one buffer): each a type of its own."""
    gg = _gg()
    return [gg.host_buffer_type(alignment, max_size, distinct=True) for _ in range(n)]


def plan_graph(graph: Any, name: str = "graph", source: Optional[str] = None, planner: str = "best",
               alignment: int = 32, max_size: Optional[int] = None, reorder: bool = False,
               plot: Optional[str] = None, progress: Optional[bool] = None, repeat: Optional[int] = None,
               kind: str = "graph", extra: Optional[Dict[str, Any]] = None,
               node_buffer_ids: Optional[Sequence[int]] = None,
               leaf_buffer_ids: Optional[Sequence[int]] = None, time_budget: Optional[float] = None) -> Report:
    """Plans a graph with the chosen planner and with ggml's; returns the report (a dict).

    With buffer id lists (one id per node / leaf, as a graph file may carry them) the graph is
    planned with reserve_n over as many host buffers as the ids name, and each is reported.
    time_budget: seconds the best planner may search for smaller buffers (GraphAllocator's;
    default 0, one greedy pass); its planning time is then one reserve's."""
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
    budget = 0.0 if time_budget is None else time_budget
    if repeat is None:
        repeat = 5 if n_nodes <= 2000 and budget == 0 else 1
    other = "ggml" if planner == "best" else "best"
    bar = _progress(3 + (2 if reorder else 0) + (1 if plot else 0), name, progress)
    bar.set_postfix_str(f"planning ({planner})")
    galloc, t_plan = _time_reserve(gg, graph, buft, planner, repeat, ids, budget)
    bar.update()
    bar.set_postfix_str(f"planning ({other})")
    galloc_o, t_other = _time_reserve(gg, graph, buft, other, repeat, ids, budget)
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
                  n_leafs=graph.n_leafs, plan_time_repeats=repeat, time_budget=budget,
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
        g2, t2 = _time_reserve(gg, graph, buft, planner, 1, None, budget)
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


def _verify(galloc: Any, graph: Any) -> Tuple[Optional[int], Optional[str]]:
    """Places the graph with the allocator (re-using its plan) and counts, with the library's
    independent verifier, the pairs of tensors that share bytes while both are live (0: a valid
    plan). None, with the reason, when the buffers cannot be allocated here."""
    gg = _gg()
    try:
        galloc.alloc_graph(graph)
        return int(galloc.plan().verify()), None
    except gg.AllocationError as e:
        return None, f"not verified: the buffers cannot be allocated here ({e})"


def plan_source(source: str, planner: str = "best", alignment: Optional[int] = None,
                max_size: Optional[int] = None, reorder: bool = False, plot: Optional[str] = None,
                tokens: Optional[int] = None, layers: Optional[int] = None, batch: Optional[int] = None,
                n_past: Optional[int] = None, progress: Optional[bool] = None,
                time_budget: Optional[float] = None, wtype: Optional[str] = None) -> Report:
    """Plans a SOURCE (graph file, trace CSV or built-in name); raises UsageError if it cannot."""
    gg = _gg()
    from . import models
    model_opts: Dict[str, Any] = dict(tokens=tokens, layers=layers, batch=batch, n_past=n_past, wtype=wtype)
    given = [f"--{k.replace('_', '-')}" for k, v in model_opts.items() if v is not None]
    if os.path.exists(source):
        if given:
            raise UsageError(f"{', '.join(given)} apply to built-in models only, not to the file {source}")
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
                          node_buffer_ids=graph.node_buffer_ids, leaf_buffer_ids=graph.leaf_buffer_ids,
                          time_budget=time_budget)
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
                          extra=dict(hparams=m.hparams, weight_bytes=int(m.weight_bytes)),
                          time_budget=time_budget)
    raise UsageError(f"{source!r} is neither a file nor a built-in model "
                     f"({', '.join(models.BUILTINS)})")


def _b(n: int) -> str:
    return "-" if n is None else f"{n:,} B"


def _mib(n: int) -> str:
    return "" if n is None else f"({n / MIB:,.2f} MiB)"


def _r(x: Optional[float]) -> str:
    return "-" if x is None else f"{x:.3f}"


def format_report(rep: Report, top: int = 8) -> str:
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
        if rep.get("time_budget"):
            how += f"; best searched up to {rep['time_budget']:g} s above the bound"
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
