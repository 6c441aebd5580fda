#version 450
#extension GL_GOOGLE_include_directive : require
//! variant mul_mv_f32
//! variant mul_mv_f16 A_F16
// Matrix times a few vectors (d_ne[1] small, as in decoding): each invocation computes whole
// dot products of one row of a with the vectors of b, walking K in order. There is no
// reduction across invocations, hence no barrier: on CPU implementations of Vulkan, where a
// workgroup barrier switches between SIMD chunks, that is what makes decoding fast; on GPUs
// the rows of a neighbouring invocations read share cache lines as K advances.
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

void main() {
    uint M = pc.d_ne[0];
    uint N = pc.d_ne[1];
    uint K = pc.a_ne[0];
    uint r2 = pc.d_ne[2] / pc.a_ne[2];
    uint r3 = pc.d_ne[3] / pc.a_ne[3];
    uint nbatch = pc.d_ne[2]*pc.d_ne[3];

    for (uint z = gl_WorkGroupID.y; z < nbatch; z += gl_NumWorkGroups.y) {
        uint i2 = z % pc.d_ne[2];
        uint i3 = z / pc.d_ne[2];
        uint abase = pc.a_off + (i2 / r2)*pc.a_nb[2] + (i3 / r3)*pc.a_nb[3];
        uint bbase = pc.b_off + i2*pc.b_nb[2] + i3*pc.b_nb[3];
        uint dbase = pc.d_off + i2*pc.d_nb[2] + i3*pc.d_nb[3];
        for (uint m = gl_GlobalInvocationID.x; m < M; m += gl_NumWorkGroups.x*WG) {
            uint arow = abase + m*pc.a_nb[1];
            for (uint n = 0; n < N; n++) {
                uint bcol = bbase + n*pc.b_nb[1];
                float s = 0.0;
                if (pc.a_nb[0] == 1u && pc.b_nb[0] == 1u) {
                    for (uint k = 0; k < K; k++) s += float(a[arow + k]) * b[bcol + k];
                } else {
                    for (uint k = 0; k < K; k++) s += float(a[arow + k*pc.a_nb[0]]) * b[bcol + k*pc.b_nb[0]];
                }
                d[dbase + m*pc.d_nb[0] + n*pc.d_nb[1]] = s;
            }
        }
    }
}
