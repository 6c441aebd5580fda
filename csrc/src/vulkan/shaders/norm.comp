#version 450
#extension GL_GOOGLE_include_directive : require
// One workgroup of 64 per row (rows looped when there are more than workgroups): the row is
// summed in a shared-memory tree, then written. 64 invocations keep each barrier cheap where
// a barrier switches between SIMD chunks (CPU implementations of Vulkan). op 0: norm (mean 0, variance 1), op 1: rms_norm,
// op 2: rms_norm times b (broadcast over a's rows: ggml's rms_norm followed by mul, fused). f0: eps.
#include "common.glsl"

#define WG 64
layout(local_size_x = WG) in;

layout(binding = 0) readonly buffer A { float a[]; };
layout(binding = 1) readonly buffer B { float b[]; };
layout(binding = 3) buffer D { float d[]; };

shared float red[WG];

float reduce_sum(float v) {
    uint t = gl_LocalInvocationID.x;
    red[t] = v;
    barrier();
    for (uint s = WG/2; s > 0; s >>= 1) {
        if (t < s) red[t] += red[t + s];
        barrier();
    }
    float r = red[0];
    barrier();
    return r;
}

void main() {
    uint ne0 = pc.a_ne[0];
    uint nrows = pc.a_ne[1]*pc.a_ne[2]*pc.a_ne[3];
    uint t = gl_LocalInvocationID.x;
    for (uint row = gl_WorkGroupID.x; row < nrows; row += gl_NumWorkGroups.x) {
        uvec4 c = unravel(row, pc.a_ne[1], pc.a_ne[2], pc.a_ne[3]);
        uvec4 rc = uvec4(0u, c.x, c.y, c.z);
        uint ia = a_index(rc);
        uint id = d_index(rc);
        float mean = 0.0;
        if (pc.op == 0u) {
            float s = 0.0;
            for (uint i = t; i < ne0; i += WG) s += a[ia + i*pc.a_nb[0]];
            mean = reduce_sum(s) / float(ne0);
        }
        float s2 = 0.0;
        for (uint i = t; i < ne0; i += WG) {
            float v = a[ia + i*pc.a_nb[0]] - mean;
            s2 += v*v;
        }
        float scale = 1.0 / sqrt(reduce_sum(s2) / float(ne0) + pc.f0);
        if (pc.op == 2u) {
            uint ib = pc.b_off + (c.x % pc.b_ne[1])*pc.b_nb[1] + (c.y % pc.b_ne[2])*pc.b_nb[2] + (c.z % pc.b_ne[3])*pc.b_nb[3];
            for (uint i = t; i < ne0; i += WG) {
                d[id + i*pc.d_nb[0]] = a[ia + i*pc.a_nb[0]] * scale * b[ib + (i % pc.b_ne[0])*pc.b_nb[0]];
            }
        } else {
            for (uint i = t; i < ne0; i += WG) {
                d[id + i*pc.d_nb[0]] = (a[ia + i*pc.a_nb[0]] - mean) * scale;
            }
        }
    }
}
