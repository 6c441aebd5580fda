"""The backend scheduler: one graph run over several backends (ggml_backend_sched).

    >>> vk, cpu = gg.VulkanBackend(0), gg.CPUBackend(n_threads=2)
    >>> sched = gg.Scheduler([vk, cpu])             # priority order, the CPU last; planner="best"
    >>> sched.alloc_graph(g)                         # assigns backends, splits, places every tensor
    >>> x.set(inputs); sched.compute(g); y.numpy()
    >>> sched.n_splits, sched.tensor_backend(y), sched.buffer_size(vk)
    >>> sched.plan(vk).verify()                      # 0: no two live tensors share bytes

A node runs where its weights live, else on the first backend that supports it;
set_tensor_backend overrides that until the next alloc_graph's reset. Each backend's memory is
one buffer of one graph allocator, planned by ``planner`` ("best" or "ggml").
"""

from __future__ import annotations

import weakref
from typing import Any, List, Optional, Sequence

from . import _lib, _memory
from ._lib import ffi, lib
from .alloc import _PLANNERS, BufferType, Plan, PlanEntry, _Holder
from .backends import Backend
from .core import Graph, Tensor
from .errors import AllocationError, BadInputError, ClosedError, ComputeError, GraphError

__all__ = ["Scheduler", "SchedulerPlan"]

_DEFAULT_GRAPH_SIZE = 2048


class SchedulerPlan(Plan):
    """A Scheduler's plan (of one backend's buffer, or of all): entries, peak, lower bound,
    plot() as for a GraphAllocator's Plan. Steps count the nodes of the graph the scheduler
    planned (the graph's nodes plus the copies of split inputs)."""

    def verify(self) -> int:
        """Pairs of tensors that share bytes while both are live, over every backend's buffer
        of the scheduler's last plan (0 = valid)."""
        sched = self._galloc
        if sched._closed:
            raise ClosedError("the Scheduler of this plan was closed")
        if sched._epoch != self._epoch or sched._allocated is not self._graph:
            raise GraphError("this plan's graph is not allocated by its Scheduler now: call alloc_graph first")
        with _lib.capture() as cap:
            n = int(lib.ggalloc_backend_sched_verify(sched._live()))
        if n < 0:
            raise GraphError("cannot verify the plan", cap.texts())
        cap.flush()
        return n


class Scheduler(_memory.Placer):
    """Runs graphs over several backends (ggml_backend_sched).

    backends: Backends in priority order, the last one a CPUBackend; planner: "best" (default)
    or "ggml"; parallel: keep GGML_SCHED_MAX_COPIES copies of split inputs (pipelining);
    time_budget: seconds "best" may search for smaller buffers at each plan (see
    GraphAllocator.time_budget). The Scheduler keeps its backends alive.
    """

    def __init__(self, backends: Sequence[Backend], planner: str = "best", parallel: bool = False,
                 op_offload: bool = True, graph_size: int = _DEFAULT_GRAPH_SIZE,
                 time_budget: float = 0.0) -> None:
        items = list(backends) if isinstance(backends, (list, tuple)) else []
        if not items or not all(isinstance(b, Backend) for b in items):
            raise BadInputError("Scheduler takes a non-empty list of Backends (the CPU last)")
        arr = ffi.new("ggml_backend_t[]", [b._live() for b in items])
        ptr = _lib.new(lib.ggml_backend_sched_new, arr, ffi.NULL, len(items), int(graph_size), bool(parallel),
                       bool(op_offload), exc=BadInputError, what="cannot create a scheduler over these backends")
        self._backends: List[Backend] = items
        self._bufts: List[BufferType] = [b.buffer_type for b in items]
        self._mem = _memory.PlanState(self, _Holder(ffi.gc(ptr, lib.ggml_backend_sched_free), tuple(items)))
        self._closed = False
        self._graph: Optional[Graph] = None
        self._allocated: Optional[Graph] = None
        self._planner = "best"
        self._needs_reset = False  # a graph is allocated: reset before the next assignment
        self.planner = planner
        self.time_budget = time_budget

    # lifetime -----------------------------------------------------------------------------

    def _live(self) -> Any:
        if self._closed:
            raise ClosedError("the Scheduler was closed")
        for b in self._backends:
            b._live()
        return self._holder.h

    # settings -----------------------------------------------------------------------------

    @property
    def backends(self) -> List[Backend]:
        """The backends, in priority order."""
        return list(self._backends)

    @property
    def planner(self) -> str:
        """"best" or "ggml"; takes effect at the next plan."""
        return self._planner

    @planner.setter
    def planner(self, value: str) -> None:
        key = _PLANNERS.get(str(value).lower())
        if key is None:
            raise BadInputError(f"unknown planner {value!r}: expected 'ggml' or 'best'")
        lib.ggalloc_backend_sched_set_planner(self._live(), getattr(lib, key))
        self._planner = str(value).lower()
        self._allocated = None

    @property
    def time_budget(self) -> float:
        """Seconds "best" may search for smaller buffers at each plan (GraphAllocator.time_budget);
        takes effect at the next plan."""
        return float(lib.ggalloc_gallocr_get_time_budget(lib.ggalloc_backend_sched_get_gallocr(self._live())))

    @time_budget.setter
    def time_budget(self, value: float) -> None:
        seconds = _lib.as_float(value, "time_budget")
        _lib.ok(lib.ggalloc_backend_sched_set_time_budget, self._live(), seconds, exc=BadInputError,
                what=f"bad time_budget {value!r}")
        self._allocated = None

    def _index(self, backend: Backend) -> int:
        _lib.expect(backend, Backend, "backend")
        for i, b in enumerate(self._backends):
            if b is backend:
                return i
        raise BadInputError(f"{backend!r} is not one of the scheduler's backends")

    # planning and computing ---------------------------------------------------------------

    def reserve(self, g: Graph) -> "Scheduler":
        """Plans buffers for g (the largest graph to come) and allocates them."""
        _lib.expect(g, Graph, "reserve()'s argument")
        with _memory.hold(exclusive=[self, g]):
            return self._reserve(g)

    def _reserve(self, g: Graph) -> "Scheduler":
        h, gp, _ = self._prepare(g)
        _lib.ok(lib.ggml_backend_sched_reserve, h, gp, exc=AllocationError, what=f"cannot reserve for {g!r}")
        self._epoch += 1
        self._allocated = None
        self._graph = g
        return self

    def alloc_graph(self, g: Graph) -> bool:
        """Assigns g's nodes to backends, splits it and places every tensor (planning again when
        g changed). Returns True; raises AllocationError when memory cannot be had."""
        _lib.expect(g, Graph, "alloc_graph()'s argument")
        with _memory.hold(exclusive=[self, g]):
            return self._alloc_graph(g)

    def _alloc_graph(self, g: Graph) -> bool:
        h, gp, unplaced = self._prepare(g)
        if self._needs_reset:
            lib.ggml_backend_sched_reset(h)
        self._needs_reset = True
        _lib.ok(lib.ggml_backend_sched_alloc_graph, h, gp, exc=AllocationError, what=f"cannot allocate {g!r}")
        self._epoch += 1
        self._graph = g
        self._allocated = g
        g._placed_by = weakref.ref(self)
        _memory.register_placed(g, unplaced, _memory.PlanMem(self._mem))
        return True

    def compute(self, g: Graph) -> None:
        """Runs g, which this scheduler must have placed last (alloc_graph, then the inputs).
        Raises GraphError if it did not, ComputeError naming what failed. Threads: as
        Backend.compute (one compute at a time on the scheduler and each of its backends)."""
        _lib.expect(g, Graph, "compute()'s argument")
        with _memory.computing(g, [self, *self._backends]):
            h = self._live()
            placed_by = g._placed_by
            if self._allocated is not g or placed_by is None or placed_by() is not self:
                raise GraphError(f"{g!r} is not placed by this scheduler now: call alloc_graph (and set the inputs) "
                                 "first")
            _lib.status(lib.ggml_backend_sched_graph_compute, h, g._live(), exc=ComputeError,
                        what=f"the scheduler cannot compute {g!r}")

    # queries ------------------------------------------------------------------------------

    @property
    def n_splits(self) -> int:
        """Splits of the last graph (runs of nodes on one backend)."""
        return int(lib.ggml_backend_sched_get_n_splits(self._live()))

    @property
    def n_copies(self) -> int:
        """Copies of each split input (GGML_SCHED_MAX_COPIES with parallel, else 1)."""
        return int(lib.ggml_backend_sched_get_n_copies(self._live()))

    def buffer_size(self, backend: Backend) -> int:
        """Bytes of the backend's buffer."""
        self._index(backend)
        return int(lib.ggml_backend_sched_get_buffer_size(self._live(), backend._live()))

    def lower_bound(self, backend: Backend) -> int:
        """The liveness lower bound of the backend's buffer for the last plan."""
        galloc = lib.ggalloc_backend_sched_get_gallocr(self._live())
        return int(lib.ggalloc_gallocr_lower_bound(galloc, self._index(backend)))

    def set_tensor_backend(self, t: Tensor, backend: Backend) -> None:
        """Runs node t on backend at the next alloc_graph (assignments made before it count
        for it; the one after forgets them)."""
        _lib.expect(t, Tensor, "set_tensor_backend()'s tensor")
        h = self._live()
        self._index(backend)
        if self._needs_reset:
            lib.ggml_backend_sched_reset(h)  # forgets the last graph's assignment
            self._needs_reset = False
        lib.ggml_backend_sched_set_tensor_backend(h, t._live(), backend._live())
        self._allocated = None

    def tensor_backend(self, t: Tensor) -> Optional[Backend]:
        """The backend the last split gave t (None if it has none)."""
        _lib.expect(t, Tensor, "tensor_backend()'s argument")
        i = int(lib.ggalloc_backend_sched_get_tensor_backend_id(self._live(), t._live()))
        return self._backends[i] if 0 <= i < len(self._backends) else None

    def plan(self, backend: Optional[Backend] = None) -> SchedulerPlan:
        """The last plan as data: of the backend's buffer (entries with buffer_id 0), or of all
        backends (buffer_id = backend index) when backend is None."""
        h = self._live()
        g = self._graph
        if g is None:
            raise GraphError("no plan yet: call reserve or alloc_graph first")
        only = None if backend is None else self._index(backend)
        galloc = lib.ggalloc_backend_sched_get_gallocr(h)
        n = int(lib.ggalloc_gallocr_n_placements(galloc))
        pl = ffi.new("struct ggalloc_placement *")
        entries: List[PlanEntry] = []
        ptrs: List[Any] = []
        for i in range(n):
            if not lib.ggalloc_gallocr_get_placement(galloc, i, pl):
                raise GraphError(f"placement {i} of {n} cannot be read")
            if only is not None and pl.buffer_id != only:
                continue
            t = pl.tensor
            ptrs.append(t)
            entries.append(PlanEntry(ffi.string(t.name).decode("utf-8", "replace"),
                                     0 if only is not None else int(pl.buffer_id), pl.chunk, pl.offset, pl.size,
                                     pl.first, pl.last))
        ids = range(len(self._backends)) if only is None else [only]
        sizes = [int(lib.ggml_gallocr_get_buffer_size(galloc, i)) for i in ids]
        lbs = [int(lib.ggalloc_gallocr_lower_bound(galloc, i)) for i in ids]
        plan = SchedulerPlan(self, g, entries, ptrs, sizes, lbs, self._planner, self._epoch)  # type: ignore[arg-type]
        gc = lib.ggalloc_backend_sched_get_graph(h)
        plan.n_nodes = int(lib.ggml_graph_n_nodes(gc)) if gc != ffi.NULL else g.n_nodes
        if only is not None:
            plan.alignments = [self._bufts[only].alignment]
            plan.max_sizes = [self._bufts[only].max_size]
        return plan

    def __repr__(self) -> str:
        if self._closed:
            return "Scheduler(<closed>)"
        return f"Scheduler({[repr(b) for b in self._backends]!r}, planner={self._planner!r})"
