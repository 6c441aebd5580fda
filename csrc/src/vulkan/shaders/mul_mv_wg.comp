#version 450
#extension GL_GOOGLE_include_directive : require
//! variant mul_mv_wg_f32
//! variant mul_mv_wg_f16 A_F16
// Matrix times a few vectors, for GPUs: one workgroup per row of a, whose invocations read
// neighbouring elements of the row (coalesced) and meet in a shared-memory sum. (CPU
// implementations of Vulkan use mul_mv.comp instead, where barriers are expensive.)
#include "common.glsl"

#ifdef A_F16
#define A_TYPE float16_t
#else
#define A_TYPE float
#endif

#define WG 64
layout(local_size_x = WG) in;

layout(binding = 0) readonly buffer A { A_TYPE a[]; };
layout(binding = 1) readonly buffer B { float b[]; };
layout(binding = 3) writeonly buffer D { float d[]; };

shared float red[WG];

void main() {
    uint M = pc.d_ne[0];
    uint N = pc.d_ne[1];
    uint K = pc.a_ne[0];
    uint t = gl_LocalInvocationID.x;
    uint r2 = pc.d_ne[2] / pc.a_ne[2];
    uint r3 = pc.d_ne[3] / pc.a_ne[3];
    uint nbatch = pc.d_ne[2]*pc.d_ne[3];

    for (uint z = gl_WorkGroupID.y; z < nbatch; z += gl_NumWorkGroups.y) {
        uint i2 = z % pc.d_ne[2];
        uint i3 = z / pc.d_ne[2];
        uint abase = pc.a_off + (i2 / r2)*pc.a_nb[2] + (i3 / r3)*pc.a_nb[3];
        uint bbase = pc.b_off + i2*pc.b_nb[2] + i3*pc.b_nb[3];
        uint dbase = pc.d_off + i2*pc.d_nb[2] + i3*pc.d_nb[3];
        for (uint m = gl_WorkGroupID.x; m < M; m += gl_NumWorkGroups.x) {
            for (uint n = 0; n < N; n++) {
                float s = 0.0;
                for (uint k = t; k < K; k += WG) {
                    s += float(a[abase + m*pc.a_nb[1] + k*pc.a_nb[0]]) * b[bbase + n*pc.b_nb[1] + k*pc.b_nb[0]];
                }
                red[t] = s;
                barrier();
                for (uint w = WG/2; w > 0; w >>= 1) {
                    if (t < w) red[t] += red[t + w];
                    barrier();
                }
                if (t == 0u) d[dbase + m*pc.d_nb[0] + n*pc.d_nb[1]] = red[0];
                barrier();
            }
        }
    }
}
