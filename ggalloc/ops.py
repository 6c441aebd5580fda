"""The op functions: ggml's graph-building ops by their ggml names without the ``ggml_`` prefix.

    >>> import ggalloc as gg
    >>> y = gg.add(gg.mul_mat(w, x), b)          # ggml_add(ctx, ggml_mul_mat(ctx, w, x), b)

Every op takes a keyword ``ctx``: the Context that receives the new node's metadata, as ggml's
ops take theirs explicitly; by default it is the context of the first tensor argument.
``__all__`` is the one list of ops: the package exports it and the tests walk it.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

from . import _lib
from ._lib import lib
from .core import Context, DTypeLike, Tensor, _op, type_id
from .errors import BadInputError

__all__ = [
    "dup",
    "dup_inplace",
    "sqr",
    "sqr_inplace",
    "sqrt",
    "sqrt_inplace",
    "log",
    "log_inplace",
    "abs",
    "abs_inplace",
    "sgn",
    "sgn_inplace",
    "neg",
    "neg_inplace",
    "step",
    "step_inplace",
    "tanh",
    "tanh_inplace",
    "elu",
    "elu_inplace",
    "relu",
    "relu_inplace",
    "sigmoid",
    "sigmoid_inplace",
    "gelu",
    "gelu_inplace",
    "gelu_erf",
    "gelu_erf_inplace",
    "gelu_quick",
    "gelu_quick_inplace",
    "silu",
    "silu_inplace",
    "exp",
    "exp_inplace",
    "hardswish",
    "hardsigmoid",
    "sum",
    "sum_rows",
    "mean",
    "argmax",
    "cont",
    "transpose",
    "soft_max",
    "soft_max_inplace",
    "add",
    "add_inplace",
    "add1",
    "add1_inplace",
    "sub",
    "sub_inplace",
    "mul",
    "mul_inplace",
    "div",
    "div_inplace",
    "repeat",
    "mul_mat",
    "cpy",
    "reshape",
    "get_rows",
    "unary",
    "unary_inplace",
    "concat",
    "norm",
    "norm_inplace",
    "rms_norm",
    "rms_norm_inplace",
    "mul_mat_set_prec",
    "scale",
    "scale_inplace",
    "scale_bias",
    "scale_bias_inplace",
    "cast",
    "cont_1d",
    "cont_2d",
    "cont_3d",
    "cont_4d",
    "reshape_1d",
    "reshape_2d",
    "reshape_3d",
    "reshape_4d",
    "view_1d",
    "view_2d",
    "view_3d",
    "view_4d",
    "permute",
    "set_rows",
    "diag_mask_inf",
    "diag_mask_inf_inplace",
    "diag_mask_zero",
    "diag_mask_zero_inplace",
    "soft_max_ext",
    "soft_max_ext_inplace",
    "rope_ext",
    "rope_ext_inplace",
    "rope",
    "rope_inplace",
    "rope_multi",
    "rope_multi_inplace",
    "rope_set_offset",
    "im2col",
    "im2col_3d",
    "conv_3d",
    "conv_3d_direct",
    "col2im_1d",
    "conv_2d",
    "pool_2d",
    "pad",
    "view_tensor",
    "dup_tensor",
    "sin",
    "sin_inplace",
    "cos",
    "cos_inplace",
    "expm1",
    "expm1_inplace",
    "softplus",
    "softplus_inplace",
    "floor",
    "floor_inplace",
    "ceil",
    "ceil_inplace",
    "round",
    "round_inplace",
    "trunc",
    "trunc_inplace",
    "reglu",
    "reglu_swapped",
    "reglu_split",
    "geglu",
    "geglu_swapped",
    "geglu_split",
    "swiglu",
    "swiglu_swapped",
    "swiglu_split",
    "geglu_erf",
    "geglu_erf_swapped",
    "geglu_erf_split",
    "geglu_quick",
    "geglu_quick_swapped",
    "geglu_quick_split",
    "xielu",
    "clamp",
    "leaky_relu",
    "fill",
    "fill_inplace",
    "tri",
    "cumsum",
    "diag",
    "count_equal",
    "l2_norm",
    "l2_norm_inplace",
    "group_norm",
    "group_norm_inplace",
    "glu",
    "glu_split",
    "swiglu_oai",
    "add_id",
    "mul_mat_id",
    "argsort",
    "argsort_top_k",
    "top_k",
    "soft_max_add_sinks",
    "flash_attn_ext",
    "flash_attn_ext_set_prec",
    "flash_attn_ext_add_sinks",
    "arange",
    "timestep_embedding",
    "conv_1d",
    "conv_1d_ph",
    "conv_1d_dw",
    "conv_2d_sk_p0",
    "conv_2d_s1_ph",
    "conv_2d_dw",
    "conv_2d_direct",
    "conv_2d_dw_direct",
    "conv_transpose_1d",
    "conv_transpose_2d_p0",
    "pool_1d",
    "interpolate",
    "upscale",
    "upscale_ext",
    "pad_ext",
    "pad_reflect_1d",
    "roll",
    "repeat_4d",
    "get_rel_pos",
    "add_rel_pos",
    "add_rel_pos_inplace",
    "win_part",
    "win_unpart",
    "acc",
    "acc_inplace",
    "set",
    "set_inplace",
    "set_1d",
    "set_1d_inplace",
    "set_2d",
    "set_2d_inplace",
    "out_prod",
]

def dup(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """A copy of a. ``gg.dup(x)``"""
    return _op(lib.ggml_dup, "dup", a, ctx=ctx)


def dup_inplace(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place dup: the result is written over a's data (a view of a). ``gg.dup_inplace(x)``"""
    return _op(lib.ggml_dup_inplace, "dup_inplace", a, ctx=ctx)


def sqr(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """A * a, element-wise. ``gg.sqr(x)``"""
    return _op(lib.ggml_sqr, "sqr", a, ctx=ctx)


def sqr_inplace(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place sqr: the result is written over a's data (a view of a). ``gg.sqr_inplace(x)``"""
    return _op(lib.ggml_sqr_inplace, "sqr_inplace", a, ctx=ctx)


def sqrt(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """Square root, element-wise. ``gg.sqrt(x)``"""
    return _op(lib.ggml_sqrt, "sqrt", a, ctx=ctx)


def sqrt_inplace(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place sqrt: the result is written over a's data (a view of a). ``gg.sqrt_inplace(x)``"""
    return _op(lib.ggml_sqrt_inplace, "sqrt_inplace", a, ctx=ctx)


def log(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """Natural logarithm, element-wise. ``gg.log(x)``"""
    return _op(lib.ggml_log, "log", a, ctx=ctx)


def log_inplace(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place log: the result is written over a's data (a view of a). ``gg.log_inplace(x)``"""
    return _op(lib.ggml_log_inplace, "log_inplace", a, ctx=ctx)


def abs(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """Absolute value. ``gg.abs(x)``"""
    return _op(lib.ggml_abs, "abs", a, ctx=ctx)


def abs_inplace(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place abs: the result is written over a's data (a view of a). ``gg.abs_inplace(x)``"""
    return _op(lib.ggml_abs_inplace, "abs_inplace", a, ctx=ctx)


def sgn(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """Sign (-1, 0, 1). ``gg.sgn(x)``"""
    return _op(lib.ggml_sgn, "sgn", a, ctx=ctx)


def sgn_inplace(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place sgn: the result is written over a's data (a view of a). ``gg.sgn_inplace(x)``"""
    return _op(lib.ggml_sgn_inplace, "sgn_inplace", a, ctx=ctx)


def neg(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """-a, element-wise. ``gg.neg(x)``"""
    return _op(lib.ggml_neg, "neg", a, ctx=ctx)


def neg_inplace(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place neg: the result is written over a's data (a view of a). ``gg.neg_inplace(x)``"""
    return _op(lib.ggml_neg_inplace, "neg_inplace", a, ctx=ctx)


def step(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """1 where a > 0, else 0. ``gg.step(x)``"""
    return _op(lib.ggml_step, "step", a, ctx=ctx)


def step_inplace(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place step: the result is written over a's data (a view of a). ``gg.step_inplace(x)``"""
    return _op(lib.ggml_step_inplace, "step_inplace", a, ctx=ctx)


def tanh(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """tanh(a), element-wise. ``gg.tanh(x)``"""
    return _op(lib.ggml_tanh, "tanh", a, ctx=ctx)


def tanh_inplace(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place tanh: the result is written over a's data (a view of a). ``gg.tanh_inplace(x)``"""
    return _op(lib.ggml_tanh_inplace, "tanh_inplace", a, ctx=ctx)


def elu(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """ELU(a), element-wise. ``gg.elu(x)``"""
    return _op(lib.ggml_elu, "elu", a, ctx=ctx)


def elu_inplace(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place elu: the result is written over a's data (a view of a). ``gg.elu_inplace(x)``"""
    return _op(lib.ggml_elu_inplace, "elu_inplace", a, ctx=ctx)


def relu(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """max(a, 0), element-wise. ``gg.relu(x)``"""
    return _op(lib.ggml_relu, "relu", a, ctx=ctx)


def relu_inplace(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place relu: the result is written over a's data (a view of a). ``gg.relu_inplace(x)``"""
    return _op(lib.ggml_relu_inplace, "relu_inplace", a, ctx=ctx)


def sigmoid(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """1 / (1 + exp(-a)). ``gg.sigmoid(x)``"""
    return _op(lib.ggml_sigmoid, "sigmoid", a, ctx=ctx)


def sigmoid_inplace(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place sigmoid: the result is written over a's data (a view of a). ``gg.sigmoid_inplace(x)``"""
    return _op(lib.ggml_sigmoid_inplace, "sigmoid_inplace", a, ctx=ctx)


def gelu(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """GELU (tanh approximation). ``gg.gelu(x)``"""
    return _op(lib.ggml_gelu, "gelu", a, ctx=ctx)


def gelu_inplace(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place gelu: the result is written over a's data (a view of a). ``gg.gelu_inplace(x)``"""
    return _op(lib.ggml_gelu_inplace, "gelu_inplace", a, ctx=ctx)


def gelu_erf(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """GELU (exact, with erf). ``gg.gelu_erf(x)``"""
    return _op(lib.ggml_gelu_erf, "gelu_erf", a, ctx=ctx)


def gelu_erf_inplace(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place gelu_erf: the result is written over a's data (a view of a). ``gg.gelu_erf_inplace(x)``"""
    return _op(lib.ggml_gelu_erf_inplace, "gelu_erf_inplace", a, ctx=ctx)


def gelu_quick(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """GELU (sigmoid approximation). ``gg.gelu_quick(x)``"""
    return _op(lib.ggml_gelu_quick, "gelu_quick", a, ctx=ctx)


def gelu_quick_inplace(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place gelu_quick: the result is written over a's data (a view of a). ``gg.gelu_quick_inplace(x)``"""
    return _op(lib.ggml_gelu_quick_inplace, "gelu_quick_inplace", a, ctx=ctx)


def silu(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """a * sigmoid(a), element-wise. ``gg.silu(x)``"""
    return _op(lib.ggml_silu, "silu", a, ctx=ctx)


def silu_inplace(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place silu: the result is written over a's data (a view of a). ``gg.silu_inplace(x)``"""
    return _op(lib.ggml_silu_inplace, "silu_inplace", a, ctx=ctx)


def exp(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """e**a, element-wise. ``gg.exp(x)``"""
    return _op(lib.ggml_exp, "exp", a, ctx=ctx)


def exp_inplace(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place exp: the result is written over a's data (a view of a). ``gg.exp_inplace(x)``"""
    return _op(lib.ggml_exp_inplace, "exp_inplace", a, ctx=ctx)


def hardswish(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """A * relu6(a + 3) / 6. ``gg.hardswish(x)``"""
    return _op(lib.ggml_hardswish, "hardswish", a, ctx=ctx)


def hardsigmoid(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """relu6(a + 3) / 6. ``gg.hardsigmoid(x)``"""
    return _op(lib.ggml_hardsigmoid, "hardsigmoid", a, ctx=ctx)


def sum(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """The sum of all elements: a one-element tensor. ``gg.sum(x)``"""
    return _op(lib.ggml_sum, "sum", a, ctx=ctx, rank=0)


def sum_rows(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """Sums along rows: shape (..., 1). ``gg.sum_rows(x)``"""
    return _op(lib.ggml_sum_rows, "sum_rows", a, ctx=ctx)


def mean(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """Means along rows: shape (..., 1). ``gg.mean(x)``"""
    return _op(lib.ggml_mean, "mean", a, ctx=ctx)


def argmax(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """Index of the largest element of each row of a matrix (i32). ``gg.argmax(x)``"""
    return _op(lib.ggml_argmax, "argmax", a, ctx=ctx, rank=lambda: max(1, a.ndim - 1))


def cont(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """A contiguous copy of a. ``gg.cont(x)``"""
    return _op(lib.ggml_cont, "cont", a, ctx=ctx)


def transpose(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """Swaps the two last numpy axes (ggml's axes 0 and 1): a view. ``gg.transpose(x)``"""
    return _op(lib.ggml_transpose, "transpose", a, ctx=ctx)


def soft_max(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """Softmax along rows. ``gg.soft_max(x)``"""
    return _op(lib.ggml_soft_max, "soft_max", a, ctx=ctx)


def soft_max_inplace(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place soft_max (a view of a). ``gg.soft_max_inplace(x)``"""
    return _op(lib.ggml_soft_max_inplace, "soft_max_inplace", a, ctx=ctx)


def add(a: Tensor, b: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """a + b, b broadcast over a; a's shape and type. ``gg.add(x, y)``"""
    return _op(lib.ggml_add, "add", a, b, ctx=ctx)


def add_inplace(a: Tensor, b: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place add: the result is written over a's data (a view of a). ``gg.add_inplace(x, y)``"""
    return _op(lib.ggml_add_inplace, "add_inplace", a, b, ctx=ctx)


def add1(a: Tensor, b: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """a + b where b has one element. ``gg.add1(x, y)``"""
    return _op(lib.ggml_add1, "add1", a, b, ctx=ctx)


def add1_inplace(a: Tensor, b: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place add1: the result is written over a's data (a view of a). ``gg.add1_inplace(x, y)``"""
    return _op(lib.ggml_add1_inplace, "add1_inplace", a, b, ctx=ctx)


def sub(a: Tensor, b: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """a - b, b broadcast over a. ``gg.sub(x, y)``"""
    return _op(lib.ggml_sub, "sub", a, b, ctx=ctx)


def sub_inplace(a: Tensor, b: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place sub: the result is written over a's data (a view of a). ``gg.sub_inplace(x, y)``"""
    return _op(lib.ggml_sub_inplace, "sub_inplace", a, b, ctx=ctx)


def mul(a: Tensor, b: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """a * b element-wise, b broadcast over a. ``gg.mul(x, y)``"""
    return _op(lib.ggml_mul, "mul", a, b, ctx=ctx)


def mul_inplace(a: Tensor, b: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place mul: the result is written over a's data (a view of a). ``gg.mul_inplace(x, y)``"""
    return _op(lib.ggml_mul_inplace, "mul_inplace", a, b, ctx=ctx)


def div(a: Tensor, b: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """a / b element-wise, b broadcast over a. ``gg.div(x, y)``"""
    return _op(lib.ggml_div, "div", a, b, ctx=ctx)


def div_inplace(a: Tensor, b: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place div: the result is written over a's data (a view of a). ``gg.div_inplace(x, y)``"""
    return _op(lib.ggml_div_inplace, "div_inplace", a, b, ctx=ctx)


def repeat(a: Tensor, b: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """A repeated to the shape of b. ``gg.repeat(x, y)``"""
    return _op(lib.ggml_repeat, "repeat", a, b, ctx=ctx)


def mul_mat(a: Tensor, b: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """The matrix product as ggml defines it: for a of shape (n, k) and b of shape (m, k) the
    result is b @ a.T, of shape (m, n) (f32); batch axes broadcast as in ggml, and the result
    has numpy's rank (``a @ b`` on tensors is numpy's matmul). ``gg.mul_mat(w, x)``"""
    return _op(lib.ggml_mul_mat, "mul_mat", a, b, ctx=ctx, rank=lambda: 1 if b.ndim == 1 else max(a.ndim, b.ndim))


def cpy(a: Tensor, b: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """Copies a into b (same number of elements) and returns a view of b. ``gg.cpy(x, y)``"""
    return _op(lib.ggml_cpy, "cpy", a, b, ctx=ctx, rank=lambda: b.ndim)


def reshape(a: Tensor, b: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """A view of a (contiguous) with b's shape. ``gg.reshape(x, y)``"""
    return _op(lib.ggml_reshape, "reshape", a, b, ctx=ctx, rank=lambda: b.ndim)


def get_rows(a: Tensor, b: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """The rows of a selected by the i32 indices in b. ``gg.get_rows(x, y)``"""
    return _op(lib.ggml_get_rows, "get_rows", a, b, ctx=ctx)


# ops with parameters ---------------------------------------------------------------------

_UNARY_IDS = {
    "abs": "ABS", "sgn": "SGN", "neg": "NEG", "step": "STEP", "tanh": "TANH", "elu": "ELU", "relu": "RELU",
    "sigmoid": "SIGMOID", "gelu": "GELU", "gelu_quick": "GELU_QUICK", "silu": "SILU", "hardswish": "HARDSWISH",
    "hardsigmoid": "HARDSIGMOID", "exp": "EXP", "gelu_erf": "GELU_ERF", "expm1": "EXPM1", "softplus": "SOFTPLUS",
    "floor": "FLOOR", "ceil": "CEIL", "round": "ROUND", "trunc": "TRUNC",
}


def _unary_id(op: Union[str, int]) -> int:
    if isinstance(op, str):
        key = _UNARY_IDS.get(op.lower(), op.upper())
        v = getattr(lib, "GGML_UNARY_OP_" + key, None)
        if v is None:
            raise BadInputError(f"unknown unary op {op!r}: expected one of {sorted(_UNARY_IDS)}")
        return int(v)
    return int(op)


def unary(a: Tensor, op: Union[str, int], *, ctx: Optional[Context] = None) -> Tensor:
    """The unary op by name ("gelu", "relu", ...) or ggml id. ``gg.unary(x, "silu")``"""
    return _op(lib.ggml_unary, "unary", a, _unary_id(op), ctx=ctx)


def unary_inplace(a: Tensor, op: Union[str, int], *, ctx: Optional[Context] = None) -> Tensor:
    """In-place unary op (a view of a). ``gg.unary_inplace(x, "relu")``"""
    return _op(lib.ggml_unary_inplace, "unary_inplace", a, _unary_id(op), ctx=ctx)


def concat(a: Tensor, b: Tensor, dim: int = 0, *, ctx: Optional[Context] = None) -> Tensor:
    """a and b joined along ggml axis dim (numpy axis ndim-1-dim). ``gg.concat(x, y, 1)``"""
    return _op(lib.ggml_concat, "concat", a, b, int(dim), ctx=ctx)


def norm(a: Tensor, eps: float = 1e-5, *, ctx: Optional[Context] = None) -> Tensor:
    """Normalizes each row to mean 0, variance 1. ``gg.norm(x, 1e-5)``"""
    return _op(lib.ggml_norm, "norm", a, float(eps), ctx=ctx)


def norm_inplace(a: Tensor, eps: float = 1e-5, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place norm (a view of a). ``gg.norm_inplace(x)``"""
    return _op(lib.ggml_norm_inplace, "norm_inplace", a, float(eps), ctx=ctx)


def rms_norm(a: Tensor, eps: float = 1e-6, *, ctx: Optional[Context] = None) -> Tensor:
    """Divides each row by its root mean square. ``gg.rms_norm(x, 1e-6)``"""
    return _op(lib.ggml_rms_norm, "rms_norm", a, float(eps), ctx=ctx)


def rms_norm_inplace(a: Tensor, eps: float = 1e-6, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place rms_norm (a view of a). ``gg.rms_norm_inplace(x)``"""
    return _op(lib.ggml_rms_norm_inplace, "rms_norm_inplace", a, float(eps), ctx=ctx)


def mul_mat_set_prec(a: Tensor, prec: str = "f32") -> Tensor:
    """Sets the precision of a mul_mat node ("default" or "f32"); returns a."""
    p = {"default": lib.GGML_PREC_DEFAULT, "f32": lib.GGML_PREC_F32}.get(str(prec).lower())
    if p is None:
        raise BadInputError(f"unknown precision {prec!r}: expected 'default' or 'f32'")
    lib.ggml_mul_mat_set_prec(a._live(), p)
    return a


def scale(a: Tensor, s: float, *, ctx: Optional[Context] = None) -> Tensor:
    """a * s. ``gg.scale(x, 0.125)``"""
    return _op(lib.ggml_scale, "scale", a, float(s), ctx=ctx)


def scale_inplace(a: Tensor, s: float, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place scale (a view of a). ``gg.scale_inplace(x, 2.0)``"""
    return _op(lib.ggml_scale_inplace, "scale_inplace", a, float(s), ctx=ctx)


def scale_bias(a: Tensor, s: float, b: float, *, ctx: Optional[Context] = None) -> Tensor:
    """s * a + b, element by element. ``gg.scale_bias(x, 2.0, 1.0)``"""
    return _op(lib.ggml_scale_bias, "scale_bias", a, float(s), float(b), ctx=ctx)


def scale_bias_inplace(a: Tensor, s: float, b: float, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place scale_bias (a view of a). ``gg.scale_bias_inplace(x, 2.0, 1.0)``"""
    return _op(lib.ggml_scale_bias_inplace, "scale_bias_inplace", a, float(s), float(b), ctx=ctx)

def cast(a: Tensor, dtype: DTypeLike, *, ctx: Optional[Context] = None) -> Tensor:
    """a converted to another type. ``gg.cast(x, np.float16)``"""
    return _op(lib.ggml_cast, "cast", a, type_id(dtype), ctx=ctx)


def cont_1d(a: Tensor, ne0: int, *, ctx: Optional[Context] = None) -> Tensor:
    """A contiguous copy of a with ggml extents (ne0,). ``gg.cont_1d(x, 12)``"""
    return _op(lib.ggml_cont_1d, "cont_1d", a, int(ne0), ctx=ctx, rank=1)


def cont_2d(a: Tensor, ne0: int, ne1: int, *, ctx: Optional[Context] = None) -> Tensor:
    """A contiguous copy of a with ggml extents (ne0, ne1)."""
    return _op(lib.ggml_cont_2d, "cont_2d", a, int(ne0), int(ne1), ctx=ctx, rank=2)


def cont_3d(a: Tensor, ne0: int, ne1: int, ne2: int, *, ctx: Optional[Context] = None) -> Tensor:
    """A contiguous copy of a with ggml extents (ne0, ne1, ne2)."""
    return _op(lib.ggml_cont_3d, "cont_3d", a, int(ne0), int(ne1), int(ne2), ctx=ctx, rank=3)


def cont_4d(a: Tensor, ne0: int, ne1: int, ne2: int, ne3: int, *, ctx: Optional[Context] = None) -> Tensor:
    """A contiguous copy of a with ggml extents (ne0, ne1, ne2, ne3)."""
    return _op(lib.ggml_cont_4d, "cont_4d", a, int(ne0), int(ne1), int(ne2), int(ne3), ctx=ctx, rank=4)


def reshape_1d(a: Tensor, ne0: int, *, ctx: Optional[Context] = None) -> Tensor:
    """A view of the contiguous a with ggml extents (ne0,). ``gg.reshape_1d(x, 12)``"""
    return _op(lib.ggml_reshape_1d, "reshape_1d", a, int(ne0), ctx=ctx, rank=1)


def reshape_2d(a: Tensor, ne0: int, ne1: int, *, ctx: Optional[Context] = None) -> Tensor:
    """A view of the contiguous a with ggml extents (ne0, ne1): numpy shape (ne1, ne0)."""
    return _op(lib.ggml_reshape_2d, "reshape_2d", a, int(ne0), int(ne1), ctx=ctx, rank=2)


def reshape_3d(a: Tensor, ne0: int, ne1: int, ne2: int, *, ctx: Optional[Context] = None) -> Tensor:
    """A view of the contiguous a with ggml extents (ne0, ne1, ne2)."""
    return _op(lib.ggml_reshape_3d, "reshape_3d", a, int(ne0), int(ne1), int(ne2), ctx=ctx, rank=3)


def reshape_4d(a: Tensor, ne0: int, ne1: int, ne2: int, ne3: int, *, ctx: Optional[Context] = None) -> Tensor:
    """A view of the contiguous a with ggml extents (ne0, ne1, ne2, ne3)."""
    return _op(lib.ggml_reshape_4d, "reshape_4d", a, int(ne0), int(ne1), int(ne2), int(ne3), ctx=ctx, rank=4)


def view_1d(a: Tensor, ne0: int, offset: int = 0, *, ctx: Optional[Context] = None) -> Tensor:
    """ne0 elements of a from byte offset. ``gg.view_1d(x, 4, 16)``"""
    return _op(lib.ggml_view_1d, "view_1d", a, int(ne0), int(offset), ctx=ctx, rank=1)


def view_2d(a: Tensor, ne0: int, ne1: int, nb1: int, offset: int = 0, *, ctx: Optional[Context] = None) -> Tensor:
    """A 2-D view of a: ne1 rows of ne0 elements, nb1 bytes apart, from byte offset."""
    return _op(lib.ggml_view_2d, "view_2d", a, int(ne0), int(ne1), int(nb1), int(offset), ctx=ctx, rank=2)


def view_3d(a: Tensor, ne0: int, ne1: int, ne2: int, nb1: int, nb2: int, offset: int = 0, *,
            ctx: Optional[Context] = None) -> Tensor:
    """A 3-D view of a with strides nb1, nb2 (bytes) from byte offset."""
    return _op(lib.ggml_view_3d, "view_3d", a, int(ne0), int(ne1), int(ne2), int(nb1), int(nb2), int(offset), ctx=ctx, rank=3)


def view_4d(a: Tensor, ne0: int, ne1: int, ne2: int, ne3: int, nb1: int, nb2: int, nb3: int,
            offset: int = 0, *, ctx: Optional[Context] = None) -> Tensor:
    """A 4-D view of a with strides nb1, nb2, nb3 (bytes) from byte offset."""
    return _op(lib.ggml_view_4d, "view_4d", a, int(ne0), int(ne1), int(ne2), int(ne3),
               int(nb1), int(nb2), int(nb3), int(offset), ctx=ctx, rank=4)


def permute(a: Tensor, axis0: int, axis1: int, axis2: int = 2, axis3: int = 3, *,
            ctx: Optional[Context] = None) -> Tensor:
    """ggml axis i of a becomes axis axis_i of the result (a view). ``gg.permute(x, 1, 0, 2, 3)``"""
    return _op(lib.ggml_permute, "permute", a, int(axis0), int(axis1), int(axis2), int(axis3), ctx=ctx)


def set_rows(a: Tensor, b: Tensor, c: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """a[c[i]] = b[i] (rows; c holds i32/i64 indices); returns a view of a."""
    return _op(lib.ggml_set_rows, "set_rows", a, b, c, ctx=ctx)


def diag_mask_inf(a: Tensor, n_past: int, *, ctx: Optional[Context] = None) -> Tensor:
    """-inf above the diagonal shifted by n_past (causal mask). ``gg.diag_mask_inf(kq, 0)``"""
    return _op(lib.ggml_diag_mask_inf, "diag_mask_inf", a, int(n_past), ctx=ctx)


def diag_mask_inf_inplace(a: Tensor, n_past: int, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place diag_mask_inf (a view of a)."""
    return _op(lib.ggml_diag_mask_inf_inplace, "diag_mask_inf_inplace", a, int(n_past), ctx=ctx)


def diag_mask_zero(a: Tensor, n_past: int, *, ctx: Optional[Context] = None) -> Tensor:
    """0 above the diagonal shifted by n_past."""
    return _op(lib.ggml_diag_mask_zero, "diag_mask_zero", a, int(n_past), ctx=ctx)


def diag_mask_zero_inplace(a: Tensor, n_past: int, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place diag_mask_zero (a view of a)."""
    return _op(lib.ggml_diag_mask_zero_inplace, "diag_mask_zero_inplace", a, int(n_past), ctx=ctx)


def soft_max_ext(a: Tensor, mask: Optional[Tensor] = None, scale: float = 1.0, max_bias: float = 0.0, *,
                 ctx: Optional[Context] = None) -> Tensor:
    """softmax(a * scale + mask) along rows; mask optional. ``gg.soft_max_ext(kq, mask, 0.125)``"""
    return _op(lib.ggml_soft_max_ext, "soft_max_ext", a, mask, float(scale), float(max_bias), ctx=ctx)


def soft_max_ext_inplace(a: Tensor, mask: Optional[Tensor] = None, scale: float = 1.0,
                         max_bias: float = 0.0, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place soft_max_ext (a view of a)."""
    return _op(lib.ggml_soft_max_ext_inplace, "soft_max_ext_inplace", a, mask, float(scale), float(max_bias), ctx=ctx)


def rope_ext(a: Tensor, b: Tensor, c: Optional[Tensor] = None, n_dims: int = 0, mode: int = 0,
             n_ctx_orig: int = 0, freq_base: float = 10000.0, freq_scale: float = 1.0, ext_factor: float = 0.0,
             attn_factor: float = 1.0, beta_fast: float = 32.0, beta_slow: float = 1.0, *,
             ctx: Optional[Context] = None) -> Tensor:
    """Rotary position embedding; b: i32 positions, c: optional frequency factors."""
    return _op(lib.ggml_rope_ext, "rope_ext", a, b, c, int(n_dims), int(mode), int(n_ctx_orig), float(freq_base),
               float(freq_scale), float(ext_factor), float(attn_factor), float(beta_fast), float(beta_slow), ctx=ctx)


def rope_ext_inplace(a: Tensor, b: Tensor, c: Optional[Tensor] = None, n_dims: int = 0, mode: int = 0,
                     n_ctx_orig: int = 0, freq_base: float = 10000.0, freq_scale: float = 1.0,
                     ext_factor: float = 0.0, attn_factor: float = 1.0, beta_fast: float = 32.0,
                     beta_slow: float = 1.0, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place rope_ext (a view of a)."""
    return _op(lib.ggml_rope_ext_inplace, "rope_ext_inplace", a, b, c, int(n_dims), int(mode), int(n_ctx_orig),
               float(freq_base), float(freq_scale), float(ext_factor), float(attn_factor), float(beta_fast),
               float(beta_slow), ctx=ctx)


def rope(a: Tensor, b: Tensor, n_dims: int, mode: int = 0, *, ctx: Optional[Context] = None) -> Tensor:
    """Rotary position embedding over the first n_dims of each row. ``gg.rope(q, pos, 64)``"""
    return _op(lib.ggml_rope, "rope", a, b, int(n_dims), int(mode), ctx=ctx)


def rope_inplace(a: Tensor, b: Tensor, n_dims: int, mode: int = 0, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place rope (a view of a)."""
    return _op(lib.ggml_rope_inplace, "rope_inplace", a, b, int(n_dims), int(mode), ctx=ctx)


_ROPE_MODES = {"normal": "", "neox": "NEOX", "mrope": "MROPE", "imrope": "IMROPE", "vision": "VISION"}


def _rope_mode(mode: Union[str, int]) -> int:
    if isinstance(mode, str):
        key = _ROPE_MODES.get(mode.lower())
        if key is None:
            raise BadInputError(f"unknown rope mode {mode!r}: expected one of {sorted(_ROPE_MODES)}")
        return int(getattr(lib, "GGML_ROPE_TYPE_" + key)) if key else 0
    return int(mode)


def _sections(sections: Sequence[int]) -> Any:
    sec = [int(s) for s in sections]
    if len(sec) != 4:
        raise BadInputError(f"rope_multi: sections {sec} must have 4 entries")
    return _lib.ffi.new("int[4]", sec)


def rope_multi(a: Tensor, b: Tensor, c: Optional[Tensor] = None, n_dims: int = 0,
               sections: Sequence[int] = (0, 0, 0, 0), mode: Union[str, int] = "mrope", n_ctx_orig: int = 0,
               freq_base: float = 10000.0, freq_scale: float = 1.0, ext_factor: float = 0.0,
               attn_factor: float = 1.0, beta_fast: float = 32.0, beta_slow: float = 1.0, *,
               ctx: Optional[Context] = None) -> Tensor:
    """Multi-section rotary embedding: b holds 4 i32 position streams (4 * a.ne[2]), sections
    splits the rotated pairs among them; mode "mrope", "imrope", "vision" (or a ggml rope type).
    ``gg.rope_multi(q, pos4, None, 128, (24, 20, 20, 0), "imrope")``"""
    return _op(lib.ggml_rope_multi, "rope_multi", a, b, c, int(n_dims), _sections(sections), _rope_mode(mode),
               int(n_ctx_orig), float(freq_base), float(freq_scale), float(ext_factor), float(attn_factor),
               float(beta_fast), float(beta_slow), ctx=ctx)


def rope_multi_inplace(a: Tensor, b: Tensor, c: Optional[Tensor] = None, n_dims: int = 0,
                       sections: Sequence[int] = (0, 0, 0, 0), mode: Union[str, int] = "mrope",
                       n_ctx_orig: int = 0, freq_base: float = 10000.0, freq_scale: float = 1.0,
                       ext_factor: float = 0.0, attn_factor: float = 1.0, beta_fast: float = 32.0,
                       beta_slow: float = 1.0, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place rope_multi (a view of a)."""
    return _op(lib.ggml_rope_multi_inplace, "rope_multi_inplace", a, b, c, int(n_dims), _sections(sections),
               _rope_mode(mode), int(n_ctx_orig), float(freq_base), float(freq_scale), float(ext_factor),
               float(attn_factor), float(beta_fast), float(beta_slow), ctx=ctx)


def rope_set_offset(a: Tensor, n_offs: int) -> Tensor:
    """Moves the rotated channels of a rope node to [n_offs, n_offs + n_dims) (the others are
    copied); returns a. ``gg.rope_set_offset(gg.rope_ext(k, pos, None, 64), 448)``"""
    _lib.ok(lib.ggml_rope_set_offset, a._live(), int(n_offs), exc=BadInputError,
            what=f"rope_set_offset({a!r}, {n_offs})")
    return a


def im2col(a: Tensor, b: Tensor, s0: int, s1: int, p0: int, p1: int, d0: int, d1: int, is_2D: bool = True,
           dst_type: DTypeLike = "f32", *, ctx: Optional[Context] = None) -> Tensor:
    """The im2col matrix of data b for kernel a."""
    return _op(lib.ggml_im2col, "im2col", a, b, int(s0), int(s1), int(p0), int(p1), int(d0), int(d1),
               bool(is_2D), type_id(dst_type), ctx=ctx)


def im2col_3d(a: Tensor, b: Tensor, IC: int, s0: int = 1, s1: int = 1, s2: int = 1, p0: int = 0, p1: int = 0,
              p2: int = 0, d0: int = 1, d1: int = 1, d2: int = 1, dst_type: DTypeLike = "f32", *,
              ctx: Optional[Context] = None) -> Tensor:
    """The 3D im2col matrix of data b (ggml [IW, IH, ID, N*IC]) for kernel a ([KW, KH, KD, OC*IC]):
    ggml [KW*KH*KD*IC, OW, OH, OD*N]. ``gg.im2col_3d(k, x, 3, 1, 1, 1, 1, 1, 1)``"""
    return _op(lib.ggml_im2col_3d, "im2col_3d", a, b, int(IC), int(s0), int(s1), int(s2), int(p0), int(p1), int(p2),
               int(d0), int(d1), int(d2), type_id(dst_type), ctx=ctx, rank=4)


def conv_3d(a: Tensor, b: Tensor, IC: int, s0: int = 1, s1: int = 1, s2: int = 1, p0: int = 0, p1: int = 0,
            p2: int = 0, d0: int = 1, d1: int = 1, d2: int = 1, *, ctx: Optional[Context] = None) -> Tensor:
    """3D convolution (im2col_3d + mul_mat): kernel a numpy (OC*IC, KD, KH, KW), data b
    (N*IC, ID, IH, IW) -> (N*OC, OD, OH, OW). ``gg.conv_3d(k, x, 3, p0=1, p1=1, p2=1)``"""
    return _op(lib.ggml_conv_3d, "conv_3d", a, b, int(IC), int(s0), int(s1), int(s2), int(p0), int(p1), int(p2),
               int(d0), int(d1), int(d2), ctx=ctx, rank=4)


def conv_3d_direct(a: Tensor, b: Tensor, n_channels: int, n_batch: int, n_channels_out: int, s0: int = 1, s1: int = 1,
                   s2: int = 1, p0: int = 0, p1: int = 0, p2: int = 0, d0: int = 1, d1: int = 1, d2: int = 1, *,
                   ctx: Optional[Context] = None) -> Tensor:
    """3D convolution without the im2col buffer: shapes as conv_3d, f32 result.
    ``gg.conv_3d_direct(k, x, 3, 1, 8, p0=1, p1=1, p2=1)``"""
    return _op(lib.ggml_conv_3d_direct, "conv_3d_direct", a, b, int(s0), int(s1), int(s2), int(p0), int(p1), int(p2),
               int(d0), int(d1), int(d2), int(n_channels), int(n_batch), int(n_channels_out), ctx=ctx, rank=4)


def col2im_1d(a: Tensor, s0: int, oc: int, p0: int = 0, *, ctx: Optional[Context] = None) -> Tensor:
    """Overlap-add of transposed-convolution columns a (numpy (T_in, K*OC)) with stride s0:
    (OC, (T_in - 1)*s0 + K - 2*p0). ``gg.col2im_1d(cols, 2, 16, 1)``"""
    return _op(lib.ggml_col2im_1d, "col2im_1d", a, int(s0), int(oc), int(p0), ctx=ctx)


def conv_2d(a: Tensor, b: Tensor, s0: int = 1, s1: int = 1, p0: int = 0, p1: int = 0, d0: int = 1,
            d1: int = 1, *, ctx: Optional[Context] = None) -> Tensor:
    """2-D convolution (im2col + mul_mat): kernel a [OC, IC, KH, KW], data b [N, IC, H, W] (numpy order)."""
    return _op(lib.ggml_conv_2d, "conv_2d", a, b, int(s0), int(s1), int(p0), int(p1), int(d0), int(d1), ctx=ctx)


def pool_2d(a: Tensor, op: str, k0: int, k1: int, s0: int, s1: int, p0: float = 0.0, p1: float = 0.0, *,
            ctx: Optional[Context] = None) -> Tensor:
    """2-D pooling, op "max" or "avg". ``gg.pool_2d(x, "max", 2, 2, 2, 2)``"""
    ops = {"max": lib.GGML_OP_POOL_MAX, "avg": lib.GGML_OP_POOL_AVG}
    if str(op).lower() not in ops:
        raise BadInputError(f"unknown pooling {op!r}: expected 'max' or 'avg'")
    return _op(lib.ggml_pool_2d, "pool_2d", a, ops[str(op).lower()], int(k0), int(k1), int(s0), int(s1),
               float(p0), float(p1), ctx=ctx)


def pad(a: Tensor, p0: int = 0, p1: int = 0, p2: int = 0, p3: int = 0, *, ctx: Optional[Context] = None) -> Tensor:
    """Zero padding at the end of ggml axes 0..3. ``gg.pad(x, 2)``"""
    return _op(lib.ggml_pad, "pad", a, int(p0), int(p1), int(p2), int(p3), ctx=ctx)


def view_tensor(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """A view of all of a (in ctx, by default a's context)."""
    return (a._ctx if ctx is None else ctx).view_tensor(a)


def dup_tensor(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """A new tensor with a's type and shape (in ctx, by default a's context)."""
    return (a._ctx if ctx is None else ctx).dup_tensor(a)

# transformer and element-wise extras --------------------------------------------------------

def sin(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """Sin(a), element-wise. ``gg.sin(x)``"""
    return _op(lib.ggml_sin, "sin", a, ctx=ctx)


def sin_inplace(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place sin (a view of a). ``gg.sin_inplace(x)``"""
    return _op(lib.ggml_sin_inplace, "sin_inplace", a, ctx=ctx)


def cos(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """Cos(a), element-wise. ``gg.cos(x)``"""
    return _op(lib.ggml_cos, "cos", a, ctx=ctx)


def cos_inplace(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place cos (a view of a). ``gg.cos_inplace(x)``"""
    return _op(lib.ggml_cos_inplace, "cos_inplace", a, ctx=ctx)


def expm1(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """Exp(a) - 1, element-wise. ``gg.expm1(x)``"""
    return _op(lib.ggml_expm1, "expm1", a, ctx=ctx)


def expm1_inplace(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place expm1 (a view of a). ``gg.expm1_inplace(x)``"""
    return _op(lib.ggml_expm1_inplace, "expm1_inplace", a, ctx=ctx)


def softplus(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """Log(1 + exp(a)), element-wise. ``gg.softplus(x)``"""
    return _op(lib.ggml_softplus, "softplus", a, ctx=ctx)


def softplus_inplace(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place softplus (a view of a). ``gg.softplus_inplace(x)``"""
    return _op(lib.ggml_softplus_inplace, "softplus_inplace", a, ctx=ctx)


def floor(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """Floor(a), element-wise. ``gg.floor(x)``"""
    return _op(lib.ggml_floor, "floor", a, ctx=ctx)


def floor_inplace(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place floor (a view of a). ``gg.floor_inplace(x)``"""
    return _op(lib.ggml_floor_inplace, "floor_inplace", a, ctx=ctx)


def ceil(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """Ceil(a), element-wise. ``gg.ceil(x)``"""
    return _op(lib.ggml_ceil, "ceil", a, ctx=ctx)


def ceil_inplace(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place ceil (a view of a). ``gg.ceil_inplace(x)``"""
    return _op(lib.ggml_ceil_inplace, "ceil_inplace", a, ctx=ctx)


def round(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """A rounded to the nearest integer, halves away from 0, element-wise. ``gg.round(x)``"""
    return _op(lib.ggml_round, "round", a, ctx=ctx)


def round_inplace(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place round (a view of a). ``gg.round_inplace(x)``"""
    return _op(lib.ggml_round_inplace, "round_inplace", a, ctx=ctx)


def trunc(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """A rounded toward 0, element-wise. ``gg.trunc(x)``"""
    return _op(lib.ggml_trunc, "trunc", a, ctx=ctx)


def trunc_inplace(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place trunc (a view of a). ``gg.trunc_inplace(x)``"""
    return _op(lib.ggml_trunc_inplace, "trunc_inplace", a, ctx=ctx)


def xielu(a: Tensor, alpha_n: float = 0.8, alpha_p: float = 0.8, beta: float = 0.5, eps: float = -1e-6, *,
          ctx: Optional[Context] = None) -> Tensor:
    """The xIELU activation (slopes stored through softplus, as ggml). ``gg.xielu(x, 0.8, 0.8, 0.5, -1e-6)``"""
    return _op(lib.ggml_xielu, "xielu", a, float(alpha_n), float(alpha_p), float(beta), float(eps), ctx=ctx)


def clamp(a: Tensor, min: float, max: float, *, ctx: Optional[Context] = None) -> Tensor:
    """a clamped to [min, max], in place as ggml (the result is a view of a). ``gg.clamp(x, -1, 1)``"""
    return _op(lib.ggml_clamp, "clamp", a, float(min), float(max), ctx=ctx)


def leaky_relu(a: Tensor, negative_slope: float = 0.01, inplace: bool = False, *,
               ctx: Optional[Context] = None) -> Tensor:
    """a where a > 0, else negative_slope * a. ``gg.leaky_relu(x, 0.1)``"""
    return _op(lib.ggml_leaky_relu, "leaky_relu", a, float(negative_slope), bool(inplace), ctx=ctx)


def fill(a: Tensor, c: float, *, ctx: Optional[Context] = None) -> Tensor:
    """A tensor of a's shape with every element c. ``gg.fill(x, 0.0)``"""
    return _op(lib.ggml_fill, "fill", a, float(c), ctx=ctx)


def fill_inplace(a: Tensor, c: float, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place fill (a view of a). ``gg.fill_inplace(x, 1.0)``"""
    return _op(lib.ggml_fill_inplace, "fill_inplace", a, float(c), ctx=ctx)


_TRI_TYPES = {"upper_diag": "UPPER_DIAG", "upper": "UPPER", "lower_diag": "LOWER_DIAG", "lower": "LOWER"}


def tri(a: Tensor, type: Union[str, int] = "lower_diag", *, ctx: Optional[Context] = None) -> Tensor:
    """Keeps one triangle of each matrix ("upper_diag", "upper", "lower_diag", "lower"; the
    column index against the row index, as ggml), zeroes the rest. ``gg.tri(x, "lower")``"""
    if isinstance(type, str):
        key = _TRI_TYPES.get(type.lower())
        if key is None:
            raise BadInputError(f"unknown tri type {type!r}: expected one of {sorted(_TRI_TYPES)}")
        type = getattr(lib, "GGML_TRI_TYPE_" + key)
    return _op(lib.ggml_tri, "tri", a, int(type), ctx=ctx)


def cumsum(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """Running sum along each row (numpy's last axis). ``gg.cumsum(x)``"""
    return _op(lib.ggml_cumsum, "cumsum", a, ctx=ctx)


def diag(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """Each row vector (ggml ne[1] = 1) as a diagonal matrix. ``gg.diag(x)``"""
    return _op(lib.ggml_diag, "diag", a, ctx=ctx, rank=lambda: max(a.ndim, 2))


def count_equal(a: Tensor, b: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """The number of equal elements of a and b, as an int64 tensor of one element. ``gg.count_equal(x, y)``"""
    return _op(lib.ggml_count_equal, "count_equal", a, b, ctx=ctx, rank=1)


def l2_norm(a: Tensor, eps: float = 1e-12, *, ctx: Optional[Context] = None) -> Tensor:
    """Each row divided by its L2 norm (at least eps). ``gg.l2_norm(x)``"""
    return _op(lib.ggml_l2_norm, "l2_norm", a, float(eps), ctx=ctx)


def l2_norm_inplace(a: Tensor, eps: float = 1e-12, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place l2_norm (a view of a). ``gg.l2_norm_inplace(x)``"""
    return _op(lib.ggml_l2_norm_inplace, "l2_norm_inplace", a, float(eps), ctx=ctx)


def group_norm(a: Tensor, n_groups: int, eps: float = 1e-6, *, ctx: Optional[Context] = None) -> Tensor:
    """Mean 0, variance 1 over groups of channels (ggml ne[2]). ``gg.group_norm(x, 32)``"""
    return _op(lib.ggml_group_norm, "group_norm", a, int(n_groups), float(eps), ctx=ctx)


def group_norm_inplace(a: Tensor, n_groups: int, eps: float = 1e-6, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place group_norm (a view of a). ``gg.group_norm_inplace(x, 32)``"""
    return _op(lib.ggml_group_norm_inplace, "group_norm_inplace", a, int(n_groups), float(eps), ctx=ctx)


_GLU_IDS = {"reglu": "REGLU", "geglu": "GEGLU", "swiglu": "SWIGLU", "swiglu_oai": "SWIGLU_OAI",
            "geglu_erf": "GEGLU_ERF", "geglu_quick": "GEGLU_QUICK"}


def _glu_id(op: Union[str, int]) -> int:
    if isinstance(op, str):
        v = getattr(lib, "GGML_GLU_OP_" + _GLU_IDS.get(op.lower(), "?"), None)
        if v is None:
            raise BadInputError(f"unknown glu op {op!r}: expected one of {sorted(_GLU_IDS)}")
        return int(v)
    return int(op)


def glu(a: Tensor, op: Union[str, int], swapped: bool = False, *, ctx: Optional[Context] = None) -> Tensor:
    """Gated linear unit on rows holding value then gate (swapped: gate first): act(value) * gate,
    half as wide. ``gg.glu(x, "swiglu")``"""
    return _op(lib.ggml_glu, "glu", a, _glu_id(op), bool(swapped), ctx=ctx)


def glu_split(a: Tensor, b: Tensor, op: Union[str, int], *, ctx: Optional[Context] = None) -> Tensor:
    """Gated linear unit with the value a and the gate b: act(a) * b. ``gg.glu_split(x, g, "geglu")``"""
    return _op(lib.ggml_glu_split, "glu_split", a, b, _glu_id(op), ctx=ctx)


def reglu(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """REGLU on rows holding value then gate. ``gg.reglu(x)``"""
    return _op(lib.ggml_reglu, "reglu", a, ctx=ctx)


def reglu_swapped(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """REGLU on rows holding gate then value. ``gg.reglu_swapped(x)``"""
    return _op(lib.ggml_reglu_swapped, "reglu_swapped", a, ctx=ctx)


def reglu_split(a: Tensor, b: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """REGLU with the value a and the gate b. ``gg.reglu_split(x, g)``"""
    return _op(lib.ggml_reglu_split, "reglu_split", a, b, ctx=ctx)


def geglu(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """GEGLU on rows holding value then gate. ``gg.geglu(x)``"""
    return _op(lib.ggml_geglu, "geglu", a, ctx=ctx)


def geglu_swapped(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """GEGLU on rows holding gate then value. ``gg.geglu_swapped(x)``"""
    return _op(lib.ggml_geglu_swapped, "geglu_swapped", a, ctx=ctx)


def geglu_split(a: Tensor, b: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """GEGLU with the value a and the gate b. ``gg.geglu_split(x, g)``"""
    return _op(lib.ggml_geglu_split, "geglu_split", a, b, ctx=ctx)


def swiglu(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """SWIGLU on rows holding value then gate. ``gg.swiglu(x)``"""
    return _op(lib.ggml_swiglu, "swiglu", a, ctx=ctx)


def swiglu_swapped(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """SWIGLU on rows holding gate then value. ``gg.swiglu_swapped(x)``"""
    return _op(lib.ggml_swiglu_swapped, "swiglu_swapped", a, ctx=ctx)


def swiglu_split(a: Tensor, b: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """SWIGLU with the value a and the gate b. ``gg.swiglu_split(x, g)``"""
    return _op(lib.ggml_swiglu_split, "swiglu_split", a, b, ctx=ctx)


def geglu_erf(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """GEGLU_ERF on rows holding value then gate. ``gg.geglu_erf(x)``"""
    return _op(lib.ggml_geglu_erf, "geglu_erf", a, ctx=ctx)


def geglu_erf_swapped(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """GEGLU_ERF on rows holding gate then value. ``gg.geglu_erf_swapped(x)``"""
    return _op(lib.ggml_geglu_erf_swapped, "geglu_erf_swapped", a, ctx=ctx)


def geglu_erf_split(a: Tensor, b: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """GEGLU_ERF with the value a and the gate b. ``gg.geglu_erf_split(x, g)``"""
    return _op(lib.ggml_geglu_erf_split, "geglu_erf_split", a, b, ctx=ctx)


def geglu_quick(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """GEGLU_QUICK on rows holding value then gate. ``gg.geglu_quick(x)``"""
    return _op(lib.ggml_geglu_quick, "geglu_quick", a, ctx=ctx)


def geglu_quick_swapped(a: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """GEGLU_QUICK on rows holding gate then value. ``gg.geglu_quick_swapped(x)``"""
    return _op(lib.ggml_geglu_quick_swapped, "geglu_quick_swapped", a, ctx=ctx)


def geglu_quick_split(a: Tensor, b: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """GEGLU_QUICK with the value a and the gate b. ``gg.geglu_quick_split(x, g)``"""
    return _op(lib.ggml_geglu_quick_split, "geglu_quick_split", a, b, ctx=ctx)


def swiglu_oai(a: Tensor, b: Optional[Tensor] = None, alpha: float = 1.702, limit: float = 7.0, *,
               ctx: Optional[Context] = None) -> Tensor:
    """gpt-oss' SwiGLU: value clamped above at limit, gate to [-limit, limit], then
    x * sigmoid(alpha * x) * (gate + 1); b None: the gate is the second half of each row.
    ``gg.swiglu_oai(x, g)``"""
    return _op(lib.ggml_swiglu_oai, "swiglu_oai", a, b, float(alpha), float(limit), ctx=ctx)


def add_id(a: Tensor, b: Tensor, ids: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """a (tokens, slots, n) plus the rows of b (rows, n) chosen by the int32 ids (tokens, slots).
    ``gg.add_id(x, bias, ids)``"""
    return _op(lib.ggml_add_id, "add_id", a, b, ids, ctx=ctx)


def mul_mat_id(a: Tensor, b: Tensor, ids: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """Mixture of experts: a holds the experts (experts, m, k), b the activations
    (tokens, slots or 1, k), ids the int32 expert of each (token, slot); the result (tokens,
    slots, m) is each activation row times its expert's matrix. ``gg.mul_mat_id(experts, x, ids)``"""
    return _op(lib.ggml_mul_mat_id, "mul_mat_id", a, b, ids, ctx=ctx, rank=3)


_SORT_ORDERS = {"asc": "ASC", "desc": "DESC"}


def argsort(a: Tensor, order: str = "asc", *, ctx: Optional[Context] = None) -> Tensor:
    """The int32 indices that sort each row ("asc" or "desc"; ties keep their order). ``gg.argsort(x, "desc")``"""
    key = _SORT_ORDERS.get(str(order).lower())
    if key is None:
        raise BadInputError(f"unknown sort order {order!r}: expected 'asc' or 'desc'")
    return _op(lib.ggml_argsort, "argsort", a, getattr(lib, "GGML_SORT_ORDER_" + key), ctx=ctx)


def argsort_top_k(a: Tensor, k: int, *, ctx: Optional[Context] = None) -> Tensor:
    """The first k columns of a descending argsort (a view). ``gg.argsort_top_k(x, 2)``"""
    return _op(lib.ggml_argsort_top_k, "argsort_top_k", a, int(k), ctx=ctx)


def top_k(a: Tensor, k: int, *, ctx: Optional[Context] = None) -> Tensor:
    """The int32 indices of the k largest elements of each row, largest first. ``gg.top_k(x, 2)``"""
    return _op(lib.ggml_top_k, "top_k", a, int(k), ctx=ctx)


def soft_max_add_sinks(a: Tensor, sinks: Tensor) -> Tensor:
    """Adds per-head attention sinks (float32, one per head) to a soft_max node; returns a.
    ``gg.soft_max_add_sinks(p, sinks)``"""
    _add_src(lib.ggml_soft_max_add_sinks, "soft_max_add_sinks", a, sinks, 2)
    return a


def flash_attn_ext(q: Tensor, k: Tensor, v: Tensor, mask: Optional[Tensor] = None, scale: float = 1.0,
                   max_bias: float = 0.0, logit_softcap: float = 0.0, *, ctx: Optional[Context] = None) -> Tensor:
    """Fused attention softmax(scale * q k^T + mask) v. In numpy order q is (batch, heads, queries,
    D), k (batch, kv_heads, keys, D), v (batch, kv_heads, keys, Dv), mask (.., queries, keys);
    the result is (batch, queries, heads, Dv) (heads and queries swapped, as ggml).
    ``gg.flash_attn_ext(q, k, v, mask, 0.125)``"""
    return _op(lib.ggml_flash_attn_ext, "flash_attn_ext", q, k, v, mask, float(scale), float(max_bias),
               float(logit_softcap), ctx=ctx)


def flash_attn_ext_set_prec(a: Tensor, prec: str = "f32") -> Tensor:
    """Sets the precision of a flash_attn_ext node ("default" or "f32"); returns a."""
    p = {"default": lib.GGML_PREC_DEFAULT, "f32": lib.GGML_PREC_F32}.get(str(prec).lower())
    if p is None or a.op != "FLASH_ATTN_EXT":
        raise BadInputError(f"flash_attn_ext_set_prec needs a FLASH_ATTN_EXT node and 'default' or 'f32', got {a.op} and {prec!r}")
    lib.ggml_flash_attn_ext_set_prec(a._live(), p)
    return a


def flash_attn_ext_add_sinks(a: Tensor, sinks: Tensor) -> Tensor:
    """Adds per-head attention sinks to a flash_attn_ext node; returns a."""
    _add_src(lib.ggml_flash_attn_ext_add_sinks, "flash_attn_ext_add_sinks", a, sinks, 4)
    return a


def _add_src(fn: Any, name: str, a: Tensor, src: Tensor, slot: int) -> None:
    # the C setters log and leave the node alone when the source does not fit: check the result
    a._live()
    src._live()
    fn(a._ptr, src._ptr)
    if a._ptr.src[slot] != src._ptr:
        raise BadInputError(f"{name}: {src!r} does not fit {a!r} (see the log)")
    a._ctx._link(src)


def arange(start: float, stop: float, step: float = 1.0, *, ctx: Optional[Context] = None) -> Tensor:
    """float32 [start, stop) in steps of step, like numpy.arange; ctx is needed (there is no
    tensor argument to take it from). ``gg.arange(0, 10, 2, ctx=ctx)``"""
    if not isinstance(ctx, Context):
        raise BadInputError(f"arange(): ctx must be a Context, got {type(ctx).__name__}")
    p = _lib.new(lib.ggml_arange, ctx._check(), float(start), float(stop), float(step), exc=BadInputError,
                 what=f"cannot build arange({start}, {stop}, {step})")
    t = ctx._wrap(p)
    ctx._set_rank(t, 1)
    return t


def timestep_embedding(timesteps: Tensor, dim: int, max_period: int = 10000, *,
                       ctx: Optional[Context] = None) -> Tensor:
    """Sinusoidal embeddings (N, dim) of float32 timesteps (N,): cos then sin of t * max_period^(-j/half).
    ``gg.timestep_embedding(t, 320)``"""
    return _op(lib.ggml_timestep_embedding, "timestep_embedding", timesteps, int(dim), int(max_period), ctx=ctx, rank=2)

# convolution and image ops ----------------------------------------------------------------

def conv_1d(a: Tensor, b: Tensor, s0: int = 1, p0: int = 0, d0: int = 1, *, ctx: Optional[Context] = None) -> Tensor:
    """1D convolution (im2col + mul_mat): kernel a (OC, IC, K), data b (N, IC, L) -> (N, OC, OL).
    ``gg.conv_1d(w, x, 1, 1)``"""
    return _op(lib.ggml_conv_1d, "conv_1d", a, b, int(s0), int(p0), int(d0), ctx=ctx, rank=3)


def conv_1d_ph(a: Tensor, b: Tensor, s: int = 1, d: int = 1, *, ctx: Optional[Context] = None) -> Tensor:
    """conv_1d padded by half the kernel. ``gg.conv_1d_ph(w, x)``"""
    return _op(lib.ggml_conv_1d_ph, "conv_1d_ph", a, b, int(s), int(d), ctx=ctx, rank=3)


def conv_1d_dw(a: Tensor, b: Tensor, s0: int = 1, p0: int = 0, d0: int = 1, *, ctx: Optional[Context] = None) -> Tensor:
    """Depthwise 1D convolution: kernel a (C, 1, K), data b (C, L). ``gg.conv_1d_dw(w, x, 1, 1)``"""
    return _op(lib.ggml_conv_1d_dw, "conv_1d_dw", a, b, int(s0), int(p0), int(d0), ctx=ctx, rank=3)


def conv_2d_sk_p0(a: Tensor, b: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """conv_2d with the kernel's size as stride and no padding (patch embedding). ``gg.conv_2d_sk_p0(w, img)``"""
    return _op(lib.ggml_conv_2d_sk_p0, "conv_2d_sk_p0", a, b, ctx=ctx, rank=4)


def conv_2d_s1_ph(a: Tensor, b: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """conv_2d with stride 1 and half-kernel padding ("same"). ``gg.conv_2d_s1_ph(w, img)``"""
    return _op(lib.ggml_conv_2d_s1_ph, "conv_2d_s1_ph", a, b, ctx=ctx, rank=4)


def conv_2d_dw(a: Tensor, b: Tensor, s0: int = 1, s1: int = 1, p0: int = 0, p1: int = 0, d0: int = 1, d1: int = 1, *,
               ctx: Optional[Context] = None) -> Tensor:
    """Depthwise 2D convolution: kernel a (C, 1, KH, KW), data b (N, C, H, W). ``gg.conv_2d_dw(w, img, 1, 1, 1, 1)``"""
    return _op(lib.ggml_conv_2d_dw, "conv_2d_dw", a, b, int(s0), int(s1), int(p0), int(p1), int(d0), int(d1),
               ctx=ctx, rank=4)


def conv_2d_direct(a: Tensor, b: Tensor, s0: int = 1, s1: int = 1, p0: int = 0, p1: int = 0, d0: int = 1, d1: int = 1, *,
                   ctx: Optional[Context] = None) -> Tensor:
    """2D convolution computed directly (no im2col buffer): kernel a (OC, IC, KH, KW), data b
    (N, IC, H, W) -> (N, OC, OH, OW). ``gg.conv_2d_direct(w, img, 1, 1, 1, 1)``"""
    return _op(lib.ggml_conv_2d_direct, "conv_2d_direct", a, b, int(s0), int(s1), int(p0), int(p1), int(d0), int(d1),
               ctx=ctx, rank=4)


def conv_2d_dw_direct(a: Tensor, b: Tensor, s0: int = 1, s1: int = 1, p0: int = 0, p1: int = 0, d0: int = 1,
                      d1: int = 1, *, ctx: Optional[Context] = None) -> Tensor:
    """Depthwise 2D convolution computed directly: kernel a (C, 1, KH, KW), data b (N, C, H, W).
    ``gg.conv_2d_dw_direct(w, img, 1, 1, 1, 1)``"""
    return _op(lib.ggml_conv_2d_dw_direct, "conv_2d_dw_direct", a, b, int(s0), int(s1), int(p0), int(p1), int(d0),
               int(d1), ctx=ctx, rank=4)


def conv_transpose_1d(a: Tensor, b: Tensor, s0: int = 1, p0: int = 0, d0: int = 1, *,
                      ctx: Optional[Context] = None) -> Tensor:
    """Transposed 1D convolution: kernel a (Cin, Cout, K), data b (Cin, L) -> (Cout, (L-1)*s0 + K).
    ``gg.conv_transpose_1d(w, x, 2)``"""
    return _op(lib.ggml_conv_transpose_1d, "conv_transpose_1d", a, b, int(s0), int(p0), int(d0), ctx=ctx, rank=2)


def conv_transpose_2d_p0(a: Tensor, b: Tensor, stride: int = 1, *, ctx: Optional[Context] = None) -> Tensor:
    """Transposed 2D convolution without padding: kernel a (Cin, Cout, KH, KW), data b (N, Cin, H, W).
    ``gg.conv_transpose_2d_p0(w, img, 2)``"""
    return _op(lib.ggml_conv_transpose_2d_p0, "conv_transpose_2d_p0", a, b, int(stride), ctx=ctx, rank=4)


def pool_1d(a: Tensor, op: str, k0: int, s0: int, p0: int = 0, *, ctx: Optional[Context] = None) -> Tensor:
    """Max or average ("max" / "avg") over windows of k0 along rows. ``gg.pool_1d(x, "max", 3, 2)``"""
    ops = {"max": lib.GGML_OP_POOL_MAX, "avg": lib.GGML_OP_POOL_AVG}
    if str(op).lower() not in ops:
        raise BadInputError(f"unknown pool op {op!r}: expected 'max' or 'avg'")
    return _op(lib.ggml_pool_1d, "pool_1d", a, ops[str(op).lower()], int(k0), int(s0), int(p0), ctx=ctx)


_SCALE_MODES = {"nearest": "NEAREST", "bilinear": "BILINEAR", "bicubic": "BICUBIC"}


def _scale_mode(mode: Union[str, int], align_corners: bool, antialias: bool = False) -> int:
    if isinstance(mode, str):
        key = _SCALE_MODES.get(mode.lower())
        if key is None:
            raise BadInputError(f"unknown scale mode {mode!r}: expected one of {sorted(_SCALE_MODES)}")
        mode = getattr(lib, "GGML_SCALE_MODE_" + key)
    return (int(mode) | (int(lib.GGML_SCALE_FLAG_ALIGN_CORNERS) if align_corners else 0)
            | (int(lib.GGML_SCALE_FLAG_ANTIALIAS) if antialias else 0))


def interpolate(a: Tensor, shape: Sequence[int], mode: Union[str, int] = "nearest", align_corners: bool = False,
                antialias: bool = False, *, ctx: Optional[Context] = None) -> Tensor:
    """a resampled to shape (numpy order, up to 4 axes): "nearest", "bilinear" or "bicubic";
    antialias (bilinear only, as ggml) averages over every input pixel an output pixel covers.
    ``gg.interpolate(img, (1, 3, 64, 64), "bilinear")``"""
    shape = tuple(int(n) for n in shape)
    if not 1 <= len(shape) <= 4:
        raise BadInputError(f"interpolate: shape {shape} must have 1 to 4 axes")
    ne = list(reversed(shape)) + [1] * (4 - len(shape))
    return _op(lib.ggml_interpolate, "interpolate", a, ne[0], ne[1], ne[2], ne[3],
               _scale_mode(mode, align_corners, antialias), ctx=ctx, rank=max(a.ndim, len(shape)))


def upscale(a: Tensor, scale_factor: int, mode: Union[str, int] = "nearest", *, ctx: Optional[Context] = None) -> Tensor:
    """The last two axes scale_factor times larger. ``gg.upscale(img, 2)``"""
    return _op(lib.ggml_upscale, "upscale", a, int(scale_factor), _scale_mode(mode, False), ctx=ctx)


def upscale_ext(a: Tensor, ne0: int, ne1: int, ne2: int = 1, ne3: int = 1, mode: Union[str, int] = "nearest", *,
                ctx: Optional[Context] = None) -> Tensor:
    """a resampled to the ggml extents [ne0, ne1, ne2, ne3]. ``gg.upscale_ext(img, 64, 64, 3, 1)``"""
    return _op(lib.ggml_upscale_ext, "upscale_ext", a, int(ne0), int(ne1), int(ne2), int(ne3), _scale_mode(mode, False),
               ctx=ctx)


def pad_ext(a: Tensor, lp0: int = 0, rp0: int = 0, lp1: int = 0, rp1: int = 0, lp2: int = 0, rp2: int = 0,
            lp3: int = 0, rp3: int = 0, *, ctx: Optional[Context] = None) -> Tensor:
    """Zero padding before (lp) and after (rp) each ggml axis (0: the last numpy axis). ``gg.pad_ext(x, 1, 1)``"""
    return _op(lib.ggml_pad_ext, "pad_ext", a, int(lp0), int(rp0), int(lp1), int(rp1), int(lp2), int(rp2), int(lp3),
               int(rp3), ctx=ctx)


def pad_reflect_1d(a: Tensor, p0: int, p1: int, *, ctx: Optional[Context] = None) -> Tensor:
    """Rows padded by reflection, like numpy.pad(mode="reflect") on the last axis. ``gg.pad_reflect_1d(x, 2, 2)``"""
    return _op(lib.ggml_pad_reflect_1d, "pad_reflect_1d", a, int(p0), int(p1), ctx=ctx)


def roll(a: Tensor, shift0: int = 0, shift1: int = 0, shift2: int = 0, shift3: int = 0, *,
         ctx: Optional[Context] = None) -> Tensor:
    """Elements shifted with wrap-around along each ggml axis (0: the last numpy axis), like numpy.roll.
    ``gg.roll(x, 1)``"""
    return _op(lib.ggml_roll, "roll", a, int(shift0), int(shift1), int(shift2), int(shift3), ctx=ctx)


def repeat_4d(a: Tensor, ne0: int, ne1: int = 1, ne2: int = 1, ne3: int = 1, *, ctx: Optional[Context] = None) -> Tensor:
    """a tiled to the ggml extents [ne0, ne1, ne2, ne3]. ``gg.repeat_4d(x, 8, 4)``"""
    return _op(lib.ggml_repeat_4d, "repeat_4d", a, int(ne0), int(ne1), int(ne2), int(ne3), ctx=ctx,
               rank=lambda: max(a.ndim, 4 if ne3 > 1 else 3 if ne2 > 1 else 2 if ne1 > 1 else 1))


def get_rel_pos(a: Tensor, qh: int, kh: int, *, ctx: Optional[Context] = None) -> Tensor:
    """SAM's relative position table: a (2*qh - 1, C) -> (qh, kh, C). ``gg.get_rel_pos(rel, 14, 14)``"""
    return _op(lib.ggml_get_rel_pos, "get_rel_pos", a, int(qh), int(kh), ctx=ctx, rank=3)


def add_rel_pos(a: Tensor, pw: Tensor, ph: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """SAM's attention plus relative position terms pw and ph. ``gg.add_rel_pos(attn, rw, rh)``"""
    return _op(lib.ggml_add_rel_pos, "add_rel_pos", a, pw, ph, ctx=ctx)


def add_rel_pos_inplace(a: Tensor, pw: Tensor, ph: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place add_rel_pos (a view of a). ``gg.add_rel_pos_inplace(attn, rw, rh)``"""
    return _op(lib.ggml_add_rel_pos_inplace, "add_rel_pos_inplace", a, pw, ph, ctx=ctx)


def win_part(a: Tensor, w: int, *, ctx: Optional[Context] = None) -> Tensor:
    """SAM's windows: an image (H, W, C) cut into w x w windows, zero-padded: (n, w, w, C).
    ``gg.win_part(x, 14)``"""
    return _op(lib.ggml_win_part, "win_part", a, int(w), ctx=ctx, rank=4)


def win_unpart(a: Tensor, w0: int, h0: int, w: int, *, ctx: Optional[Context] = None) -> Tensor:
    """The windows of win_part put back into an image (h0, w0, C). ``gg.win_unpart(x, 64, 64, 14)``"""
    return _op(lib.ggml_win_unpart, "win_unpart", a, int(w0), int(h0), int(w), ctx=ctx, rank=3)

def acc(a: Tensor, b: Tensor, nb1: int, nb2: int, nb3: int, offset: int = 0, *,
        ctx: Optional[Context] = None) -> Tensor:
    """a with b added to the view of a at byte offset with byte strides nb1..nb3 (ggml
    order) and b's shape. ``gg.acc(x, y, x.nb[1], x.nb[2], x.nb[3], 0)``"""
    return _op(lib.ggml_acc, "acc", a, b, int(nb1), int(nb2), int(nb3), int(offset), ctx=ctx, rank=lambda: a.ndim)


def acc_inplace(a: Tensor, b: Tensor, nb1: int, nb2: int, nb3: int, offset: int = 0, *,
        ctx: Optional[Context] = None) -> Tensor:
    """In place: a with b added to the view of a at byte offset with byte strides nb1..nb3 (ggml
    order) and b's shape. ``gg.acc_inplace(x, y, x.nb[1], x.nb[2], x.nb[3], 0)``"""
    return _op(lib.ggml_acc_inplace, "acc_inplace", a, b, int(nb1), int(nb2), int(nb3), int(offset), ctx=ctx, rank=lambda: a.ndim)


def set(a: Tensor, b: Tensor, nb1: int, nb2: int, nb3: int, offset: int = 0, *,
        ctx: Optional[Context] = None) -> Tensor:
    """a with b written over the view of a at byte offset with byte strides nb1..nb3 (ggml
    order) and b's shape. ``gg.set(x, y, x.nb[1], x.nb[2], x.nb[3], 0)``"""
    return _op(lib.ggml_set, "set", a, b, int(nb1), int(nb2), int(nb3), int(offset), ctx=ctx, rank=lambda: a.ndim)


def set_inplace(a: Tensor, b: Tensor, nb1: int, nb2: int, nb3: int, offset: int = 0, *,
        ctx: Optional[Context] = None) -> Tensor:
    """In place: a with b written over the view of a at byte offset with byte strides nb1..nb3 (ggml
    order) and b's shape. ``gg.set_inplace(x, y, x.nb[1], x.nb[2], x.nb[3], 0)``"""
    return _op(lib.ggml_set_inplace, "set_inplace", a, b, int(nb1), int(nb2), int(nb3), int(offset), ctx=ctx, rank=lambda: a.ndim)


def set_1d(a: Tensor, b: Tensor, offset: int = 0, *, ctx: Optional[Context] = None) -> Tensor:
    """a with the elements of b written from byte offset. ``gg.set_1d(x, y, 16)``"""
    return _op(lib.ggml_set_1d, "set_1d", a, b, int(offset), ctx=ctx, rank=lambda: a.ndim)


def set_1d_inplace(a: Tensor, b: Tensor, offset: int = 0, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place set_1d (a view of a). ``gg.set_1d_inplace(x, y, 16)``"""
    return _op(lib.ggml_set_1d_inplace, "set_1d_inplace", a, b, int(offset), ctx=ctx, rank=lambda: a.ndim)


def set_2d(a: Tensor, b: Tensor, nb1: int, offset: int = 0, *, ctx: Optional[Context] = None) -> Tensor:
    """a with the rows of b written from byte offset, nb1 bytes apart. ``gg.set_2d(x, y, x.nb[1], 0)``"""
    return _op(lib.ggml_set_2d, "set_2d", a, b, int(nb1), int(offset), ctx=ctx, rank=lambda: a.ndim)


def set_2d_inplace(a: Tensor, b: Tensor, nb1: int, offset: int = 0, *, ctx: Optional[Context] = None) -> Tensor:
    """In-place set_2d (a view of a). ``gg.set_2d_inplace(x, y, x.nb[1], 0)``"""
    return _op(lib.ggml_set_2d_inplace, "set_2d_inplace", a, b, int(nb1), int(offset), ctx=ctx, rank=lambda: a.ndim)


def out_prod(a: Tensor, b: Tensor, *, ctx: Optional[Context] = None) -> Tensor:
    """Outer products summed: a (n, m) and b (n, p) -> (p, m) = b^T a in numpy terms. ``gg.out_prod(x, y)``"""
    return _op(lib.ggml_out_prod, "out_prod", a, b, ctx=ctx)


# every op reports a bad argument (int(None), float("x"), a non-Tensor) as a GgallocError
for _name in __all__:
    globals()[_name] = _lib.checked_arguments(globals()[_name])
del _name
