#version 450
#extension GL_GOOGLE_include_directive : require
//! variant get_rows_q4_0 Q4_0
//! variant get_rows_q8_0 Q8_0
// get_rows from a table of Q4_0 or Q8_0 blocks into f32: d[i0, i1, i2, i3] is element i0 of row
// b[i1, i2, i3] of a, dequantized as ggml does (scale times quant). a is read as 16-bit words,
// as in mul_mat_q.comp. An index outside a's rows gives a row of zeros.
#include "common.glsl"

#define WG 256
layout(local_size_x = WG) in;

layout(binding = 0) readonly buffer A { uint16_t a[]; };
layout(binding = 1) readonly buffer B { int b[]; };
layout(binding = 3) writeonly buffer D { float d[]; };

float element(uint row, uint i0) {
    uint blk = row + (i0 / 32)*pc.a_nb[0];
    uint j = i0 % 32;
    float scale = unpackHalf2x16(uint(a[blk])).x;
#ifdef Q8_0
    uint w = uint(a[blk + 1 + j/2]);
    int q = (j & 1u) == 0u ? int(w << 24) >> 24 : int(w << 16) >> 24;
    return scale * float(q);
#else
    uint byte_i = j % 16;
    uint w = uint(a[blk + 1 + byte_i/2]);
    uint byte_v = (byte_i & 1u) == 0u ? (w & 0xffu) : (w >> 8);
    uint nib = j < 16 ? (byte_v & 15u) : (byte_v >> 4);
    return scale * float(int(nib) - 8);
#endif
}

void main() {
    uint nrows = pc.d_ne[1]*pc.d_ne[2]*pc.d_ne[3];
    for (uint row = gl_WorkGroupID.y; row < nrows; row += gl_NumWorkGroups.y) {
        uvec3 r = row_coords(row, pc.d_ne[1], pc.d_ne[2]);
        uint id = d_row(r);
        int idx = b[pc.b_off + r.x*pc.b_nb[0] + r.y*pc.b_nb[1] + r.z*pc.b_nb[2]];
        bool ok = idx >= 0 && uint(idx) < pc.a_ne[1];
        uint ia = pc.a_off + uint(max(idx, 0))*pc.a_nb[1] + r.y*pc.a_nb[2] + r.z*pc.a_nb[3];
        for (uint i0 = gl_GlobalInvocationID.x; i0 < pc.d_ne[0]; i0 += gl_NumWorkGroups.x*WG) {
            d[id + i0*pc.d_nb[0]] = ok ? element(ia, i0) : 0.0;
        }
    }
}
