#version 450
#extension GL_GOOGLE_include_directive : require
// d = a (op) b with b broadcast over a as ggml does (each extent of b divides a's).
// op: 0 add, 1 sub, 2 mul, 3 div.
#include "common.glsl"

#define WG 256
layout(local_size_x = WG) in;

layout(binding = 0) readonly buffer A { float a[]; };
layout(binding = 1) readonly buffer B { float b[]; };
layout(binding = 3) buffer D { float d[]; };

void main() {
    uint nrows = pc.d_ne[1]*pc.d_ne[2]*pc.d_ne[3];
    bool bcast0 = pc.b_ne[0] != pc.d_ne[0];
    for (uint row = gl_WorkGroupID.y; row < nrows; row += gl_NumWorkGroups.y) {
        uvec3 r = row_coords(row, pc.d_ne[1], pc.d_ne[2]);
        uint ia = a_row(r);
        uint id = d_row(r);
        uint ib = pc.b_off + (r.x % pc.b_ne[1])*pc.b_nb[1] + (r.y % pc.b_ne[2])*pc.b_nb[2] + (r.z % pc.b_ne[3])*pc.b_nb[3];
        for (uint i0 = gl_GlobalInvocationID.x; i0 < pc.d_ne[0]; i0 += gl_NumWorkGroups.x*WG) {
            uint j0 = i0;
            if (bcast0) j0 = i0 % pc.b_ne[0];
            float x = a[ia + i0*pc.a_nb[0]];
            float y = b[ib + j0*pc.b_nb[0]];
            float z;
            switch (pc.op) {
                case 0:  z = x + y; break;
                case 1:  z = x - y; break;
                case 2:  z = x * y; break;
                default: z = x / y; break;
            }
            d[id + i0*pc.d_nb[0]] = z;
        }
    }
}
