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
from .errors import (AllocationError, ArgumentTypeError, BadGraphError, BadInputError, ClosedError, ComputeError,
                     DeviceError, MissingFileError, OutOfRangeError, UnsupportedOperationError, ValueOverflowError,
                     GgallocError, GraphError, FileError, BadFileError, NotFoundError)
from .core import Context, Graph, Tensor, ggml_type_names, numpy_dtype, type_id, type_name
from . import ops
from .ops import *  # noqa: F401,F403  (the op functions; ops.__all__ is their one list)
from .alloc import (Buffer, BufferType, GraphAllocator, Plan, PlanEntry, TensorAllocator, alloc_ctx_tensors,
                    cpu_buffer_type, failing_buffer_type, host_buffer_type, intervals_lower_bound, plan_intervals,
                    plan_intervals_bound)
from .backends import (Backend, CPUBackend, VulkanBackend, cpu_isa, devices, set_cpu_isa, vulkan_buffer_type,
                       vulkan_devices)
from .graphio import load_graph, loads_graph, save_graph
from .gguf import GGUF, GGUFTensor, GGUFWriter, gguf_type_names
from .quant import TypeInfo, dequantize, quantize, type_info, type_infos
from .sched import Scheduler, SchedulerPlan
from .rpc import RPCBackend, RPCServer, rpc_buffer_type, rpc_device_memory, set_rpc_timeouts

__version__ = "0.1.0"

OPS = list(ops.__all__)
"""The names of the op functions (as in ggml, without the ``ggml_`` prefix)."""

__all__ = [
    "HAS_VULKAN", "__version__", "OPS",
    "GgallocError", "ClosedError", "BadInputError", "AllocationError", "GraphError", "BadGraphError",
    "ComputeError", "DeviceError", "ArgumentTypeError", "ValueOverflowError", "UnsupportedOperationError",
    "OutOfRangeError", "MissingFileError", "NotFoundError",
    "Context", "Tensor", "Graph", "type_id", "type_name", "numpy_dtype", "ggml_type_names",
    "BufferType", "Buffer", "TensorAllocator", "GraphAllocator", "Plan", "PlanEntry", "alloc_ctx_tensors",
    "host_buffer_type", "cpu_buffer_type", "failing_buffer_type", "plan_intervals", "plan_intervals_bound",
    "intervals_lower_bound",
    "Backend", "CPUBackend", "VulkanBackend", "vulkan_devices", "vulkan_buffer_type", "devices", "cpu_isa",
    "set_cpu_isa",
    "load_graph", "loads_graph", "save_graph",
    "FileError", "BadFileError", "GGUF", "GGUFTensor", "GGUFWriter", "gguf_type_names", "plan_model",
    "TypeInfo", "type_info", "type_infos", "quantize", "dequantize",
    "Scheduler", "SchedulerPlan",
    "RPCBackend", "RPCServer", "rpc_buffer_type", "rpc_device_memory", "set_rpc_timeouts",
] + OPS


def plan_model(path, ctx=None, batch=512, device="cpu", planner=None, wtype=None):  # type: ignore[no-untyped-def]
    """The memory a GGUF model needs (weights by type, KV cache, compute buffer with both
    planners and the lower bound) against a device's memory; see
    :func:`ggalloc.gguf_models.plan_model`."""
    from .gguf_models import plan_model as _plan_model
    return _plan_model(path, ctx=ctx, batch=batch, device=device, planner=planner, wtype=wtype)
