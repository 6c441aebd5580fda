#version 450
#extension GL_GOOGLE_include_directive : require
//! variant mul_mat_f32
//! variant mul_mat_f16 A_F16
// d[i0, i1] = sum_k a[k, i0] * b[k, i1] for each (i2, i3), a broadcast over b's batches.
// Tiled: a workgroup of 8x8 invocations computes a 64x64 block of d, each invocation an 8x8
// block (8 consecutive rows of a times 8 consecutive rows of b). The K axis is walked in steps
// of 16 through two shared tiles, so every element of a and b is read from the buffer once per
// block instead of once per output, and the tiles are read back as vec4, four outputs' worth
// per load. Few invocations with many outputs each keep barriers cheap on CPU implementations
// of Vulkan (a barrier switches between the workgroup's SIMD chunks) and give GPUs register
// reuse.
#include "common.glsl"

#ifdef A_F16
#define A_TYPE float16_t
#else
#define A_TYPE float
#endif

#define BM 64
#define BN 64
#define BK 16
#define WGX 8
layout(local_size_x = WGX, local_size_y = WGX) in;

layout(binding = 0) readonly buffer A { A_TYPE a[]; };
layout(binding = 1) readonly buffer B { float b[]; };
layout(binding = 3) writeonly buffer D { float d[]; };

shared vec4 sa[BK][BM/4];
shared vec4 sb[BK][BN/4];

void main() {
    uint M = pc.d_ne[0];
    uint N = pc.d_ne[1];
    uint K = pc.a_ne[0];
    uint tx = gl_LocalInvocationID.x;
    uint ty = gl_LocalInvocationID.y;
    uint tid = ty*WGX + tx;
    uint r2 = pc.d_ne[2] / pc.a_ne[2];
    uint r3 = pc.d_ne[3] / pc.a_ne[3];
    uint nbatch = pc.d_ne[2]*pc.d_ne[3];

    for (uint z = gl_WorkGroupID.z; z < nbatch; z += gl_NumWorkGroups.z) {
        uint i2 = z % pc.d_ne[2];
        uint i3 = z / pc.d_ne[2];
        uint abase = pc.a_off + (i2 / r2)*pc.a_nb[2] + (i3 / r3)*pc.a_nb[3];
        uint bbase = pc.b_off + i2*pc.b_nb[2] + i3*pc.b_nb[3];
        uint dbase = pc.d_off + i2*pc.d_nb[2] + i3*pc.d_nb[3];
        for (uint m0 = gl_WorkGroupID.x*BM; m0 < M; m0 += gl_NumWorkGroups.x*BM) {
            for (uint n0 = gl_WorkGroupID.y*BN; n0 < N; n0 += gl_NumWorkGroups.y*BN) {
                vec4 acc[8][2];
                for (uint j = 0; j < 8; j++) {
                    acc[j][0] = vec4(0.0);
                    acc[j][1] = vec4(0.0);
                }
                for (uint k0 = 0; k0 < K; k0 += BK) {
                    for (uint e = tid; e < BK*BM; e += WGX*WGX) {
                        uint kk = e % BK;
                        uint mm = e / BK;
                        uint k = k0 + kk;
                        uint m = m0 + mm;
                        uint n = n0 + mm;
                        sa[kk][mm >> 2][mm & 3u] = (k < K && m < M) ? float(a[abase + m*pc.a_nb[1] + k*pc.a_nb[0]]) : 0.0;
                        sb[kk][mm >> 2][mm & 3u] = (k < K && n < N) ? b[bbase + n*pc.b_nb[1] + k*pc.b_nb[0]] : 0.0;
                    }
                    barrier();
                    for (uint kk = 0; kk < BK; kk++) {
                        vec4 a0 = sa[kk][2u*tx];
                        vec4 a1 = sa[kk][2u*tx + 1u];
                        vec4 b0 = sb[kk][2u*ty];
                        vec4 b1 = sb[kk][2u*ty + 1u];
                        acc[0][0] += a0*b0.x; acc[0][1] += a1*b0.x;
                        acc[1][0] += a0*b0.y; acc[1][1] += a1*b0.y;
                        acc[2][0] += a0*b0.z; acc[2][1] += a1*b0.z;
                        acc[3][0] += a0*b0.w; acc[3][1] += a1*b0.w;
                        acc[4][0] += a0*b1.x; acc[4][1] += a1*b1.x;
                        acc[5][0] += a0*b1.y; acc[5][1] += a1*b1.y;
                        acc[6][0] += a0*b1.z; acc[6][1] += a1*b1.z;
                        acc[7][0] += a0*b1.w; acc[7][1] += a1*b1.w;
                    }
                    barrier();
                }
                for (uint j = 0; j < 8; j++) {
                    uint n = n0 + 8u*ty + j;
                    if (n >= N) break;
                    for (uint i = 0; i < 8; i++) {
                        uint m = m0 + 8u*tx + i;
                        if (m < M) d[dbase + m*pc.d_nb[0] + n*pc.d_nb[1]] = acc[j][i >> 2][i & 3u];
                    }
                }
            }
        }
    }
}
