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

A graph, a built-in model or a GGUF file is planned as ``ggml_gallocr_reserve`` plans it: the
best planner makes one greedy pass; with ``--time-budget SECONDS`` it searches that long for a
smaller plan of a buffer whose pass is above the lower bound (stopping at once on reaching it).

Exit status: 0 on success, 2 for a SOURCE or option that cannot be used (with a one-line
message on stderr), 1 if a plan fails verification.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any, Optional, Sequence

import ggalloc as gg

from .report import UsageError, format_report, plan_source

__all__ = ["main"]

PROG = "python3 -m ggalloc"

# ----------------------------------------------------------------------------------------
# main


def _size(text: str) -> int:
    t = text.strip().lower()
    mult = 1
    for suffix, m in (("kib", 1 << 10), ("mib", 1 << 20), ("gib", 1 << 30), ("k", 1 << 10),
                      ("m", 1 << 20), ("g", 1 << 30), ("b", 1)):
        if t.endswith(suffix):
            t, mult = t[: -len(suffix)], m
            break
    try:
        v = int(float(t) * mult) if "." in t else int(t) * mult
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (bytes, or with K/M/G/KiB/MiB/GiB)")
    if v <= 0:
        raise argparse.ArgumentTypeError(f"a size must be positive, not {text!r}")
    if v >= 1 << 64:
        raise argparse.ArgumentTypeError(f"{text!r} does not fit 64 bits (at most {(1 << 64) - 1:,} bytes)")
    return v


_PLOT_FORMATS = ("png", "pdf", "svg", "jpg", "jpeg")


def _plot_file(text: str) -> str:
    ext = text.rsplit(".", 1)[-1].lower() if "." in text else ""
    if ext not in _PLOT_FORMATS:
        raise argparse.ArgumentTypeError(f"{text!r}: a plot is written as {', '.join(_PLOT_FORMATS)}; "
                                         "name the file with one of these extensions")
    return text


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}")


def _alignment(text: str) -> int:
    v = _integer(text)
    if v <= 0 or v & (v - 1):
        raise argparse.ArgumentTypeError(f"the alignment must be a power of two, not {v}")
    return v


def _positive(text: str) -> int:
    v = _integer(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, not {v}")
    return v


def _nonneg(text: str) -> int:
    v = _integer(text)
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, not {v}")
    return v


def _seconds(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds")
    if not 0 <= v <= 1e6:
        raise argparse.ArgumentTypeError(f"{text!r}: the time budget must be between 0 and 1e6 seconds")
    return v


def _wtype(text: str) -> str:
    """A weight type for --wtype: f32, f16, or a type with a quantizer and a CPU kernel here."""
    try:
        info = gg.type_info(text)
    except gg.GgallocError:
        info = None
    if info is None or not (info.name in ("f32", "f16") or (info.can_quantize and info.can_dequantize)):
        names = ["f32", "f16"] + [t.name.lower() for t in gg.type_infos() if t.can_quantize and t.can_dequantize
                                  and t.name not in ("q8_1", "q8_K")]
        raise argparse.ArgumentTypeError(f"{text!r} is not a weight type here ({', '.join(names)})")
    return info.name


def _parser() -> argparse.ArgumentParser:
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
                    help="how long the best planner may search while above the lower bound: traces "
                         "(default 1; 0: a fixed amount of work, the same plan on every run), graphs, "
                         "built-in models and GGUF files (default 0: one greedy pass, as fast as ggml)")
    pl.add_argument("--plot", type=_plot_file, metavar="FILE.png", help="draw the plan into a PNG (or .pdf, .svg)")
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
    de.add_argument("--plot", type=_plot_file, default=None, metavar="FILE.png",
                    help="also draw the plan into this PNG (or .pdf, .svg)")
    de.add_argument("--seed", type=_nonneg, default=0)
    de.add_argument("--wtype", type=_wtype, default=None, metavar="TYPE",
                    help="type of the 2-D weights (default f16; q8_0, q4_0, q4_k, ... quantize them)")

    rs = sub.add_parser("rpc-server", help="serve this machine's CPU to ggml's RPC clients",
                        description="Serve the CPU backend at HOST:PORT with ggml's RPC protocol, "
                                    "for ggml programs, llama.cpp --rpc and gg.RPCBackend, until Ctrl-C.")
    rs.add_argument("endpoint", metavar="HOST:PORT")
    rs.add_argument("--threads", type=_positive, default=None, help="CPU threads (default: all cores)")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "rpc-server":
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


def _json_default(o: Any) -> Any:
    if hasattr(o, "item"):
        return o.item()
    if isinstance(o, float) and (math.isnan(o) or math.isinf(o)):
        return None
    return str(o)
