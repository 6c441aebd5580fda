#version 450
#extension GL_GOOGLE_include_directive : require
//! variant set_rows_f32
//! variant set_rows_f16 D_F16
// d[i0, c[i1, i2 % .., i3 % ..], i2, i3] = a[i0, i1, i2, i3]: the rows of a written into d (a view
// of the destination) at the indices c. op 0: i32 indices; op 1: i64, read as two words (an
// index needs its high word 0). An index outside d's rows writes nothing (the shader has no way
// to report it).
#include "common.glsl"

#ifdef D_F16
#define D_TYPE float16_t
#else
#define D_TYPE float
#endif

#define WG 256
layout(local_size_x = WG) in;

layout(binding = 0) readonly buffer A { float a[]; };
layout(binding = 1) readonly buffer C { uint c[]; };
layout(binding = 3) buffer D { D_TYPE d[]; };

void main() {
    uint nrows = pc.a_ne[1]*pc.a_ne[2]*pc.a_ne[3];
    uint w = pc.op == 1 ? 2 : 1;
    for (uint row = gl_WorkGroupID.y; row < nrows; row += gl_NumWorkGroups.y) {
        uvec3 r = row_coords(row, pc.a_ne[1], pc.a_ne[2]);
        uint ic = w*(pc.b_off + r.x*pc.b_nb[0] + (r.y % pc.b_ne[1])*pc.b_nb[1] + (r.z % pc.b_ne[2])*pc.b_nb[2]);
        int idx = int(c[ic]);
        if (idx < 0 || uint(idx) >= pc.d_ne[1] || (w == 2 && c[ic + 1] != 0)) {
            continue;
        }
        uint ia = a_row(r);
        uint id = pc.d_off + uint(idx)*pc.d_nb[1] + r.y*pc.d_nb[2] + r.z*pc.d_nb[3];
        for (uint i0 = gl_GlobalInvocationID.x; i0 < pc.a_ne[0]; i0 += gl_NumWorkGroups.x*WG) {
            d[id + i0*pc.d_nb[0]] = D_TYPE(a[ia + i0*pc.a_nb[0]]);
        }
    }
}
