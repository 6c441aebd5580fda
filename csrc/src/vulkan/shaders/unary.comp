#version 450
#extension GL_GOOGLE_include_directive : require
// Element-wise operations on f32 with a and d of one shape (any strides). The op numbers are
// the C side's enum vk_unary (compute.c). f0, f1: scale's factor and bias; diag_mask's n_past
// comes in b_off.
#include "common.glsl"

#define WG 256
layout(local_size_x = WG) in;

layout(binding = 0) readonly buffer A { float a[]; };
layout(binding = 3) buffer D { float d[]; };

float apply(float x, uvec4 c) {
    const float NEG_INF = uintBitsToFloat(0xff800000u);
    switch (pc.op) {
        case 0:  return x*pc.f0 + pc.f1;                                       // scale
        case 1:  return x*x;                                                   // sqr
        case 2:  return sqrt(x);                                               // sqrt
        case 3:  return log(x);                                                // log
        case 4:  return int(c.x) > int(pc.b_off) + int(c.y) ? NEG_INF : x;     // diag_mask_inf
        case 5:  return int(c.x) > int(pc.b_off) + int(c.y) ? 0.0 : x;         // diag_mask_zero
        case 6:  return abs(x);
        case 7:  return x > 0.0 ? 1.0 : (x < 0.0 ? -1.0 : 0.0);                // sgn
        case 8:  return -x;
        case 9:  return x > 0.0 ? 1.0 : 0.0;                                   // step
        case 10: return tanh(clamp(x, -15.0, 15.0));
        case 11: return x > 0.0 ? x : exp(x) - 1.0;                            // elu
        case 12: return x > 0.0 ? x : 0.0;                                     // relu
        case 13: return 1.0 / (1.0 + exp(-x));                                 // sigmoid
        case 14: {                                                             // gelu (tanh form)
            float u = 0.7978845608028654*x*(1.0 + 0.044715*x*x);
            return 0.5*x*(1.0 + tanh(clamp(u, -15.0, 15.0)));
        }
        case 15: return x / (1.0 + exp(-1.702*x));                             // gelu_quick
        case 16: return x / (1.0 + exp(-x));                                   // silu
        case 17: return x*min(1.0, max(0.0, (x + 3.0) / 6.0));                 // hardswish
        case 18: return min(1.0, max(0.0, (x + 3.0) / 6.0));                   // hardsigmoid
        case 19: return exp(x);
        case 20: return 0.5*x*(1.0 + erf_approx(x*0.7071067811865476));       // gelu_erf
        case 21: return abs(x) < 1e-5 ? x + 0.5*x*x : exp(x) - 1.0;           // expm1
        case 22: return x > 20.0 ? x : log(1.0 + exp(x));                     // softplus
        case 23: return floor(x);
        case 24: return ceil(x);
        case 25: return sign(x)*floor(abs(x) + 0.5);                          // round: halves away from 0
        default: return trunc(x);
    }
}

void main() {
    uint nrows = pc.d_ne[1]*pc.d_ne[2]*pc.d_ne[3];
    for (uint row = gl_WorkGroupID.y; row < nrows; row += gl_NumWorkGroups.y) {
        uvec3 r = row_coords(row, pc.d_ne[1], pc.d_ne[2]);
        uint ia = a_row(r);
        uint id = d_row(r);
        for (uint i0 = gl_GlobalInvocationID.x; i0 < pc.d_ne[0]; i0 += gl_NumWorkGroups.x*WG) {
            d[id + i0*pc.d_nb[0]] = apply(a[ia + i0*pc.a_nb[0]], uvec4(i0, r));
        }
    }
}
