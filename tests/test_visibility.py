"""The extension exports only its module init, so it can share a process with a library that
carries ggml's symbols (a real ggml inside another Python package)."""

import glob
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap

import pytest

import ggalloc

MODULE = glob.glob(os.path.join(os.path.dirname(ggalloc.__file__), "_ggalloc*.so"))[0]


@pytest.mark.skipif(shutil.which("nm") is None, reason="nm (binutils) is not installed")
def test_only_the_module_init_is_exported():
    out = subprocess.run(["nm", "-D", "--defined-only", MODULE], capture_output=True, text=True, check=True).stdout
    exported = sorted(line.split()[-1] for line in out.splitlines()
                      if len(line.split()) == 3 and line.split()[1] in "TDBRVWiu")
    assert exported == ["PyInit__ggalloc"], exported
    undefined = subprocess.run(["nm", "-D", "--undefined-only", MODULE], capture_output=True, text=True,
                               check=True).stdout
    assert "ggml_" not in undefined and "ggalloc_" not in undefined


CLASH_C = r"""
#include <Python.h>
#include <stddef.h>

/* A library with ggml's names and other meanings: every call is counted. */
static long calls = 0;
struct ggml_init_params { size_t mem_size; void * mem_buffer; _Bool no_alloc; };
void * ggml_init(struct ggml_init_params params) { (void) params; calls++; return NULL; }
void ggml_free(void * ctx) { (void) ctx; calls++; }
size_t ggml_tensor_overhead(void) { calls++; return 1; }
void ggml_log_set(void * cb, void * data) { (void) cb; (void) data; calls++; }

static PyObject * n_calls(PyObject * self, PyObject * args) { (void) self; (void) args; return PyLong_FromLong(calls); }
static PyObject * own_init(PyObject * self, PyObject * args) {
    (void) self; (void) args;
    struct ggml_init_params p = { 16, NULL, 1 };
    return PyBool_FromLong(ggml_init(p) == NULL);
}
static PyMethodDef methods[] = {
    { "calls", n_calls, METH_NOARGS, NULL },
    { "own_init", own_init, METH_NOARGS, NULL },
    { NULL, NULL, 0, NULL },
};
static struct PyModuleDef def = { PyModuleDef_HEAD_INIT, "clash", NULL, -1, methods, NULL, NULL, NULL, NULL };
PyMODINIT_FUNC PyInit_clash(void) { return PyModule_Create(&def); }
"""

CHECK = textwrap.dedent("""
    import os, sys
    sys.path.insert(0, {tmp!r})
    sys.path.insert(0, {root!r})
    sys.setdlopenflags(os.RTLD_NOW | os.RTLD_GLOBAL)   # the clashing symbols become global
    import clash
    import numpy as np
    import ggalloc as gg
    ctx = gg.Context()
    x = ctx.tensor(np.float32, (4,), name="x").set_input()
    y = gg.scale(x, 3.0).set_output()
    g = gg.Graph(y)
    gg.GraphAllocator(gg.cpu_buffer_type()).alloc_graph(g)
    x.set(np.arange(4, dtype=np.float32))
    gg.CPUBackend(1).compute(g)
    assert y.numpy().tolist() == [0.0, 3.0, 6.0, 9.0], y.numpy()
    assert clash.calls() == 0, "ggalloc called the other library's ggml symbols"
    assert clash.own_init() and clash.calls() == 1   # the other library still gets its own
    print("ok")
""")


@pytest.mark.skipif(shutil.which("gcc") is None and shutil.which("cc") is None, reason="no C compiler")
def test_shares_a_process_with_a_clashing_ggml(tmp_path):
    src = tmp_path / "clash.c"
    src.write_text(CLASH_C)
    cc = shutil.which("gcc") or shutil.which("cc")
    so = tmp_path / ("clash" + sysconfig.get_config_var("EXT_SUFFIX"))
    subprocess.run([cc, "-shared", "-fPIC", "-O1", "-I", sysconfig.get_paths()["include"], str(src), "-o", str(so)],
                   check=True)
    root = os.path.dirname(os.path.dirname(ggalloc.__file__))
    r = subprocess.run([sys.executable, "-c", CHECK.format(tmp=str(tmp_path), root=root)], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"
