"""ggalloc: a ggml-compatible tensor library whose heart is a graph memory planner.

    >>> import numpy as np, ggalloc as gg
    >>> ctx = gg.Context()
    >>> x = ctx.tensor(np.float32, (256, 1024), name="x").set_input()
    >>> w = ctx.tensor(np.float32, (1024, 1024), name="w")
    >>> y = gg.add(gg.gelu(gg.mul_mat(w, x)), x).set_output()
    >>> g = gg.Graph(y)
    >>> galloc = gg.GraphAllocator(gg.cpu_buffer_type())      # planner="best"
    >>> galloc.alloc_graph(g); galloc.buffer_size(), galloc.lower_bound()
    >>> x.set(np.random.rand(256, 1024).astype(np.float32)); w.set(np.eye(1024, dtype=np.float32))
    >>> gg.CPUBackend(n_threads=2).compute(g); y.numpy()

Shapes are numpy order (last axis fastest); ``Tensor.ne`` is ggml order. Every exception
derives from :class:`GgallocError`; the C library's log goes to ``logging.getLogger("ggalloc")``
and, for a failing call, into the exception's text.
"""

from __future__ import annotations

from ._lib import HAS_VULKAN
from .errors import (AllocationError, BadGraphError, BadInputError, ClosedError, ComputeError, DeviceError,
                     GgallocError, GraphError)
from .core import (Context, Graph, Tensor, ggml_type_names, numpy_dtype, type_id, type_name,
                   dup, dup_inplace, sqr, sqr_inplace, sqrt, sqrt_inplace, log, log_inplace, abs,
                   abs_inplace, sgn, sgn_inplace, neg, neg_inplace, step, step_inplace, tanh, tanh_inplace,
                   elu, elu_inplace, relu, relu_inplace, sigmoid, sigmoid_inplace, gelu, gelu_inplace,
                   gelu_erf, gelu_erf_inplace, gelu_quick, gelu_quick_inplace, silu, silu_inplace, exp,
                   exp_inplace, hardswish, hardsigmoid, sum, sum_rows, mean, argmax, cont, transpose,
                   soft_max, soft_max_inplace, add, add_inplace, add1, add1_inplace, sub, sub_inplace, mul,
                   mul_inplace, div, div_inplace, repeat, mul_mat, cpy, reshape, get_rows, unary,
                   unary_inplace, concat, norm, norm_inplace, rms_norm, rms_norm_inplace, mul_mat_set_prec,
                   scale, scale_inplace, cast, cont_1d, cont_2d, cont_3d, cont_4d, reshape_1d, reshape_2d,
                   reshape_3d, reshape_4d, view_1d, view_2d, view_3d, view_4d, permute, set_rows,
                   diag_mask_inf, diag_mask_inf_inplace, diag_mask_zero, diag_mask_zero_inplace,
                   soft_max_ext, soft_max_ext_inplace, rope_ext, rope_ext_inplace, rope, im2col, conv_2d,
                   pool_2d, pad, view_tensor, dup_tensor)
from .alloc import (Buffer, BufferType, GraphAllocator, Plan, PlanEntry, TensorAllocator, alloc_ctx_tensors,
                    cpu_buffer_type, failing_buffer_type, host_buffer_type, intervals_lower_bound, plan_intervals)
from .backends import (Backend, CPUBackend, VulkanBackend, cpu_isa, devices, set_cpu_isa, vulkan_buffer_type,
                       vulkan_devices)
from .graphio import load_graph, loads_graph, save_graph
from .sched import Scheduler, SchedulerPlan

__version__ = "0.1.0"

OPS = [
    "dup", "dup_inplace", "sqr", "sqr_inplace", "sqrt", "sqrt_inplace", "log", "log_inplace", "abs",
    "abs_inplace", "sgn", "sgn_inplace", "neg", "neg_inplace", "step", "step_inplace", "tanh",
    "tanh_inplace", "elu", "elu_inplace", "relu", "relu_inplace", "sigmoid", "sigmoid_inplace", "gelu",
    "gelu_inplace", "gelu_erf", "gelu_erf_inplace", "gelu_quick", "gelu_quick_inplace", "silu",
    "silu_inplace", "exp", "exp_inplace", "hardswish", "hardsigmoid", "sum", "sum_rows", "mean", "argmax",
    "cont", "transpose", "soft_max", "soft_max_inplace", "add", "add_inplace", "add1", "add1_inplace", "sub",
    "sub_inplace", "mul", "mul_inplace", "div", "div_inplace", "repeat", "mul_mat", "cpy", "reshape",
    "get_rows", "unary", "unary_inplace", "concat", "norm", "norm_inplace", "rms_norm", "rms_norm_inplace",
    "mul_mat_set_prec", "scale", "scale_inplace", "cast", "cont_1d", "cont_2d", "cont_3d", "cont_4d",
    "reshape_1d", "reshape_2d", "reshape_3d", "reshape_4d", "view_1d", "view_2d", "view_3d", "view_4d",
    "permute", "set_rows", "diag_mask_inf", "diag_mask_inf_inplace", "diag_mask_zero",
    "diag_mask_zero_inplace", "soft_max_ext", "soft_max_ext_inplace", "rope_ext", "rope_ext_inplace", "rope",
    "im2col", "conv_2d", "pool_2d", "pad", "view_tensor", "dup_tensor"
]
"""The names of the op functions (as in ggml, without the ``ggml_`` prefix)."""

__all__ = [
    "HAS_VULKAN", "__version__", "OPS",
    "GgallocError", "ClosedError", "BadInputError", "AllocationError", "GraphError", "BadGraphError",
    "ComputeError", "DeviceError",
    "Context", "Tensor", "Graph", "type_id", "type_name", "numpy_dtype", "ggml_type_names",
    "BufferType", "Buffer", "TensorAllocator", "GraphAllocator", "Plan", "PlanEntry", "alloc_ctx_tensors",
    "host_buffer_type", "cpu_buffer_type", "failing_buffer_type", "plan_intervals", "intervals_lower_bound",
    "Backend", "CPUBackend", "VulkanBackend", "vulkan_devices", "vulkan_buffer_type", "devices", "cpu_isa",
    "set_cpu_isa",
    "load_graph", "loads_graph", "save_graph",
    "Scheduler", "SchedulerPlan",
] + OPS
