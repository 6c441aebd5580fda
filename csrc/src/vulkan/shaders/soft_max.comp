#version 450
#extension GL_GOOGLE_include_directive : require
//! variant soft_max_f32
//! variant soft_max_f16 MASK_F16
// soft_max(a*scale + slope*mask) per row, one workgroup per row: max, then the sum of
// exponentials, then the quotients, each a pass over the row with a shared-memory reduction.
// A row whose every element is -inf gives zeros.
// op: 1 when a mask is bound at b (rows i1, broadcast over i2 and i3). f0: scale,
// f1: max_bias (ALiBi slopes per head i2 when > 0).
#include "common.glsl"

#define WG 64
layout(local_size_x = WG) in;

#ifdef MASK_F16
#define MASK_TYPE float16_t
#else
#define MASK_TYPE float
#endif

layout(binding = 0) readonly buffer A { float a[]; };
layout(binding = 1) readonly buffer B { MASK_TYPE m[]; };
layout(binding = 3) buffer D { float d[]; };

shared float red[WG];

float reduce(float v, bool is_max) {
    uint t = gl_LocalInvocationID.x;
    red[t] = v;
    barrier();
    for (uint s = WG/2; s > 0; s >>= 1) {
        if (t < s) red[t] = is_max ? max(red[t], red[t + s]) : red[t] + red[t + s];
        barrier();
    }
    float r = red[0];
    barrier();
    return r;
}

void main() {
    const float NEG_INF = uintBitsToFloat(0xff800000u);
    uint ne0 = pc.a_ne[0];
    uint nrows = pc.a_ne[1]*pc.a_ne[2]*pc.a_ne[3];
    uint t = gl_LocalInvocationID.x;
    for (uint row = gl_WorkGroupID.x; row < nrows; row += gl_NumWorkGroups.x) {
        uvec4 c = unravel(row, pc.a_ne[1], pc.a_ne[2], pc.a_ne[3]);
        uvec4 rc = uvec4(0u, c.x, c.y, c.z);
        uint ia = a_index(rc);
        uint id = d_index(rc);
        uint im = pc.b_off + c.x*pc.b_nb[1] + (c.y % pc.b_ne[2])*pc.b_nb[2] + (c.z % pc.b_ne[3])*pc.b_nb[3];

        float slope = 1.0;
        if (pc.f1 > 0.0) {
            uint n_head = pc.a_ne[2];
            uint n_head_log2 = 1u << uint(findMSB(n_head));
            float m0 = exp2(-pc.f1 / float(n_head_log2));
            float m1 = exp2(-pc.f1 / 2.0 / float(n_head_log2));
            uint h = c.y;
            slope = h < n_head_log2 ? pow(m0, float(h + 1u)) : pow(m1, float(2u*(h - n_head_log2) + 1u));
        }

        float mx = NEG_INF;
        for (uint i = t; i < ne0; i += WG) {
            float v = a[ia + i*pc.a_nb[0]]*pc.f0 + (pc.op != 0u ? slope*float(m[im + i*pc.b_nb[0]]) : 0.0);
            mx = max(mx, v);
        }
        mx = reduce(mx, true);
        float s = 0.0;
        for (uint i = t; i < ne0; i += WG) {
            float v = a[ia + i*pc.a_nb[0]]*pc.f0 + (pc.op != 0u ? slope*float(m[im + i*pc.b_nb[0]]) : 0.0);
            s += exp(v - mx);
        }
        float inv = 1.0 / reduce(s, false);
        for (uint i = t; i < ne0; i += WG) {
            float v = a[ia + i*pc.a_nb[0]]*pc.f0 + (pc.op != 0u ? slope*float(m[im + i*pc.b_nb[0]]) : 0.0);
            // a row masked everywhere gives zeros, as ggml does, rather than NaN
            d[id + i*pc.d_nb[0]] = mx == NEG_INF ? 0.0 : exp(v - mx) * inv;
        }
    }
}
