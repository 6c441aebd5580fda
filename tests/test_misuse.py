"""The misuse suite: every public Python entry point (the names in ``ggalloc.__all__`` and the
public methods and properties of its classes) given wrong types, out-of-range values and closed
objects raises a GgallocError subclass, never another exception and never a crash.

Each group of entry points runs in its own process (a crash fails that group's test instead of
killing pytest), in a temporary directory (some entry points take paths), and reports every
call that raised anything but a GgallocError.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

import ggalloc as gg

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# the part of each group's process that builds valid objects and the bad values
_SETUP = textwrap.dedent("""
    import inspect, json, math, sys, threading
    import numpy as np
    import ggalloc as gg

    BAD = [None, "x", "", 1.5, float("nan"), -1, -4, 2**31, 2**64, -(2**63) - 1, object(), [], [2**40], (2.5, 4),
           b"\\x00", "a\\x00b", np.float32(1.0), True]

    def fresh():
        ctx = gg.Context()
        w = ctx.tensor(np.float32, (4, 4), name="w")
        x = ctx.tensor(np.float32, (4, 4), name="x").set_input()
        y = gg.add(gg.mul_mat(w, x), x).set_output()
        g = gg.Graph(y)
        cpu = gg.CPUBackend(n_threads=1)
        ga = gg.GraphAllocator(cpu)
        ga.alloc_graph(g)
        buf = cpu.buffer_type.alloc_buffer(256)
        sched = gg.Scheduler([gg.CPUBackend(n_threads=1)])
        gguf = gg.GGUF(GGUF_PATH)
        return dict(ctx=ctx, w=w, x=x, y=y, g=g, cpu=cpu, ga=ga, buf=buf, bt=cpu.buffer_type, plan=ga.plan(),
                    sched=sched, talloc=gg.TensorAllocator(buf), gguf=gguf, gguf_tensor=gguf.tensors[0],
                    writer=gg.GGUFWriter())

    objs = fresh()
    # good values by parameter name, for calls that vary one argument at a time
    GOOD = {"t": objs["x"], "a": objs["x"], "b": objs["x"], "x": objs["x"], "src": objs["x"], "tensor": objs["x"],
            "g": objs["g"], "graph": objs["g"], "backend": objs["cpu"], "buffer": objs["buf"],
            "buffer_type": objs["bt"], "buft": objs["bt"], "buffer_types": objs["bt"], "dtype": "f32",
            "shape": (2, 2), "size": 16, "i": 0, "name": "n", "value": 0, "n": 1, "alignment": 32,
            "sizes": [8], "starts": [0], "ends": [1], "order": [0], "ctx": objs["ctx"]}

    failures = []
    calls = [0]

    def attempt(label, fn, *args):
        calls[0] += 1
        try:
            fn(*args)
        except gg.GgallocError:
            pass
        except RecursionError:
            raise
        except BaseException as e:
            failures.append([label, repr(args)[:120], type(e).__name__, str(e)[:200]])

    SKIP_PARAMS = {"self"}

    def arity(fn):
        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError):
            return None, []
        ps = [p for p in sig.parameters.values() if p.name not in SKIP_PARAMS
              and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty]
        return len(ps), [p.name for p in ps]

    def misuse(label, fn):
        k, names = arity(fn)
        if k is None:
            return
        for v in BAD:
            attempt(label, fn, *([v] * k))
            for i in range(k):
                args = [GOOD.get(n, v) for n in names]
                args[i] = v
                attempt(label, fn, *args)
        if k == 0:
            attempt(label, fn)

    def misuse_object(label, obj):
        for name in dir(type(obj)):
            if name.startswith("_"):
                continue
            attr = inspect.getattr_static(type(obj), name)
            if name in SKIP_METHODS:
                continue
            if isinstance(attr, property):
                attempt(f"{label}.{name}", getattr, obj, name)
                if attr.fset is not None:
                    for v in BAD:
                        attempt(f"{label}.{name} = ", setattr, obj, name, v)
                continue
            try:
                fn = getattr(obj, name)
            except gg.GgallocError:
                continue
            if callable(fn):
                misuse(f"{label}.{name}", fn)

    # methods that block (a server's loop) or end the object's use (tested closed below)
    SKIP_METHODS = {"close", "serve", "serve_forever", "wait"}
""")

_REPORT = textwrap.dedent("""
    print(json.dumps({"calls": calls[0], "failures": failures}))
""")


GGUF_PATH = os.path.join(ROOT, "tests", "data", "gguf", "tiny-gpt2-f16.gguf")


def _run(body: str, tmp_path, timeout: float = 300):
    code = f"GGUF_PATH = {GGUF_PATH!r}\n" + _SETUP + textwrap.dedent(body) + _REPORT
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout,
                       cwd=str(tmp_path), env={**os.environ, "PYTHONPATH": ROOT})
    assert r.returncode == 0, f"the process died (exit {r.returncode}):\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}"
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["calls"] > 0
    first = {}
    for f in out["failures"]:
        first.setdefault((f[0], f[2]), f)
    assert not out["failures"], "calls that raised something other than a GgallocError (the first of each kind):\n" + \
        "\n".join(" | ".join(map(str, f)) for f in list(first.values())[:80]) + f"\n({len(out['failures'])} in all)"
    return out


_NETWORK = {"RPCBackend", "RPCServer", "rpc_buffer_type", "rpc_device_memory"}


def _functions():
    out = []
    for name in gg.__all__:
        obj = getattr(gg, name)
        if callable(obj) and not isinstance(obj, type) and name not in _NETWORK:
            out.append(name)
    return out


# the type-table and graph file functions, one test each (they reject ids, dtypes and paths
# of the wrong kind: type_name(999), dtype None, load_graph(None), loads_graph(-1), ...)
_TYPE_FUNCTIONS = ["type_name", "numpy_dtype", "type_info", "quantize", "dequantize", "load_graph", "loads_graph",
                   "save_graph"]


def test_every_function_rejects_bad_arguments(tmp_path):
    """Every module-level function (the ops included), with each bad value in every position."""
    names = [n for n in _functions() if n not in _TYPE_FUNCTIONS]
    _run(f"""
        for name in {names!r}:
            misuse(name, getattr(gg, name))
        gg.set_cpu_isa("auto")
    """, tmp_path)


@pytest.mark.parametrize("name", _TYPE_FUNCTIONS)
def test_type_functions_reject_bad_arguments(name, tmp_path):
    _run(f"""
        misuse("{name}", gg.{name})
    """, tmp_path)


_CLASSES = ["Context", "Tensor", "Graph", "BufferType", "Buffer", "TensorAllocator", "GraphAllocator", "Plan",
            "CPUBackend", "Scheduler", "SchedulerPlan", "GGUF", "GGUFWriter"]


@pytest.mark.parametrize("cls", _CLASSES)
def test_constructors_reject_bad_arguments(cls, tmp_path):
    _run(f"""
        misuse("{cls}", gg.{cls})
    """, tmp_path)


_OBJECTS = ["ctx", "x", "y", "g", "bt", "buf", "talloc", "ga", "plan", "cpu", "sched", "gguf_tensor", "gguf",
            "writer"]


@pytest.mark.parametrize("obj", _OBJECTS)
def test_methods_reject_bad_arguments(obj, tmp_path):
    _run(f"""
        misuse_object("{obj}", objs["{obj}"])
    """, tmp_path)


# what to close, and the objects whose every entry point must then raise (ClosedError or a
# type error for a bad argument), never touch freed memory
_CLOSED = {
    "ctx": ["ctx", "x", "y", "g", "plan"],
    "g": ["g", "plan"],
    "ga": ["ga", "plan", "x", "y"],
    "buf": ["buf", "talloc"],
    "cpu": ["cpu", "bt"],
    "sched": ["sched"],
    "gguf": ["gguf", "gguf_tensor"],
    "writer": ["writer"],
}


@pytest.mark.parametrize("closed", sorted(_CLOSED))
def test_closed_objects_raise(closed, tmp_path):
    out = _run(f"""
        objs["{closed}"].close()
        objs["{closed}"].close()
        for name in {_CLOSED[closed]!r}:
            misuse_object(name, objs[name])
        # the compute paths over what was closed
        for fn, args in [(objs["cpu"].compute, (objs["g"],)), (objs["ga"].alloc_graph, (objs["g"],)),
                         (objs["x"].numpy, ()), (objs["x"].set, (np.ones((4, 4), np.float32),)),
                         (objs["y"].array, ()), (gg.Graph, (objs["y"],)), (objs["plan"].verify, ())]:
            attempt(getattr(fn, "__qualname__", str(fn)), fn, *args)
    """, tmp_path)
    assert out["calls"] > 20


def test_compute_after_close_raises_closed_error_naming_the_object():
    ctx = gg.Context()
    x = ctx.tensor("f32", (4,), name="x").set_input()
    g = gg.Graph(gg.neg(x))
    cpu = gg.CPUBackend(n_threads=1)
    ga = gg.GraphAllocator(cpu)
    ga.alloc_graph(g)
    ga.close()
    with pytest.raises(gg.ClosedError, match="its GraphAllocator was closed"):
        cpu.compute(g)
    cpu.close()
    with pytest.raises(gg.ClosedError, match="CPUBackend was closed"):
        cpu.compute(g)


@pytest.mark.parametrize("call, exc, builtin", [
    (lambda ctx, t: gg.Context(max_tensors=-1), gg.BadInputError, ValueError),
    (lambda ctx, t: gg.Context(max_tensors=0), gg.BadInputError, ValueError),
    (lambda ctx, t: gg.Context(mem_size=1.5), gg.ArgumentTypeError, TypeError),
    (lambda ctx, t: setattr(t, "name", 123), gg.ArgumentTypeError, TypeError),
    (lambda ctx, t: setattr(t, "name", "a\0b"), gg.BadInputError, ValueError),
    (lambda ctx, t: gg.add(t, 3), gg.ArgumentTypeError, TypeError),
    (lambda ctx, t: gg.scale(t, t), gg.ArgumentTypeError, TypeError),
    (lambda ctx, t: gg.cpu_buffer_type().alloc_buffer(2**64), gg.ValueOverflowError, OverflowError),
    (lambda ctx, t: gg.cpu_buffer_type().alloc_buffer(1.5), gg.ArgumentTypeError, TypeError),
    (lambda ctx, t: gg.GraphAllocator(gg.cpu_buffer_type()).set_node_order([2**40]), gg.ValueOverflowError,
     OverflowError),
    (lambda ctx, t: gg.GraphAllocator(gg.cpu_buffer_type()).buffer_size("a"), gg.ArgumentTypeError, TypeError),
    (lambda ctx, t: gg.Graph(t + t).node(2**70), gg.OutOfRangeError, IndexError),
    (lambda ctx, t: gg.Graph(t + t, size=2**70), gg.ValueOverflowError, OverflowError),
    (lambda ctx, t: gg.Graph(t + t, size=1.5), gg.ArgumentTypeError, TypeError),
    (lambda ctx, t: gg.CPUBackend(n_threads=2.5), gg.ArgumentTypeError, TypeError),
    (lambda ctx, t: gg.CPUBackend(n_threads=2**70), gg.ValueOverflowError, OverflowError),
    (lambda ctx, t: ctx.get_tensor(3), gg.ArgumentTypeError, TypeError),
    (lambda ctx, t: gg.cpu_buffer_type().alloc_buffer(16).clear("a"), gg.ArgumentTypeError, TypeError),
    (lambda ctx, t: gg.cpu_buffer_type().alloc_buffer(16).clear(256), gg.ValueOverflowError, OverflowError),
])
def test_values_that_do_not_fit_raise_the_matching_builtin(call, exc, builtin):
    ctx = gg.Context()
    t = ctx.tensor("f32", (4, 4), name="t")
    with pytest.raises(exc) as e:
        call(ctx, t)
    assert isinstance(e.value, builtin) and isinstance(e.value, gg.GgallocError)
    assert "cdata" not in str(e.value) and "initializer for ctype" not in str(e.value)


def test_names_are_cut_at_a_character_boundary():
    ctx = gg.Context()
    t = ctx.tensor("f32", (4,))
    t.name = "a" * 62 + "\u00e9"        # 64 bytes in UTF-8: the 2-byte character does not fit
    assert t.name == "a" * 62
    t.name = "\u00e9" * 40              # 80 bytes: 31 characters fit in 63 bytes
    assert t.name == "\u00e9" * 31
    assert json.dumps(t.name)
