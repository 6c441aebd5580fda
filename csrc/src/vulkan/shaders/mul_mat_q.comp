#version 450
#extension GL_GOOGLE_include_directive : require
//! variant mul_mat_q4_0 Q4_0
//! variant mul_mat_q8_0 Q8_0
// Quantized weights a (Q4_0 or Q8_0 blocks of 32) times f32 activations b: each invocation
// computes whole dot products of one row of a with every column of b, decoding each block once
// per column (as mul_mv does for f32/f16, no reduction across invocations). a is read as 16-bit
// words (its strides and offset are in words, see compute.c): a block's f16 scale is its first
// word, then its bytes of quants, two per word, low byte first.
#include "common.glsl"

#define WG 64
layout(local_size_x = WG) in;

layout(binding = 0) readonly buffer A { uint16_t a[]; };
layout(binding = 1) readonly buffer B { float b[]; };
layout(binding = 3) writeonly buffer D { float d[]; };

// sum over the 32 weights of block blk (word index) times b[bk + i*bs]
float block_dot(uint blk, uint bk, uint bs) {
    float scale = unpackHalf2x16(uint(a[blk])).x;
    float s = 0.0;
#ifdef Q8_0
    for (uint j = 0; j < 16; j++) {
        uint w = uint(a[blk + 1 + j]);
        int q0 = int(w << 24) >> 24;
        int q1 = int(w << 16) >> 24;
        s += float(q0) * b[bk + (2*j)*bs] + float(q1) * b[bk + (2*j + 1)*bs];
    }
#else
    for (uint j = 0; j < 8; j++) {
        uint w = uint(a[blk + 1 + j]);
        uint b0 = w & 0xffu;
        uint b1 = w >> 8;
        s += float(int(b0 & 15u) - 8) * b[bk + (2*j)*bs]      + float(int(b1 & 15u) - 8) * b[bk + (2*j + 1)*bs]
           + float(int(b0 >> 4) - 8)  * b[bk + (2*j + 16)*bs] + float(int(b1 >> 4) - 8)  * b[bk + (2*j + 17)*bs];
    }
#endif
    return scale * s;
}

void main() {
    uint M = pc.d_ne[0];
    uint N = pc.d_ne[1];
    uint nblk = pc.a_ne[0] / 32;
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
                for (uint k = 0; k < nblk; k++) {
                    s += block_dot(arow + k*pc.a_nb[0], bcol + k*32*pc.b_nb[0], pc.b_nb[0]);
                }
                d[dbase + m*pc.d_nb[0] + n*pc.d_nb[1]] = s;
            }
        }
    }
}
