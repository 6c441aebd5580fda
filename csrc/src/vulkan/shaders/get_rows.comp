#version 450
#extension GL_GOOGLE_include_directive : require
//! variant get_rows_f32
//! variant get_rows_f16 A_F16
// d[i0, i1, i2, i3] = a[i0, b[i1, i2, i3], i2, i3] with i32 indices b. An index outside a's
// rows gives a row of zeros (the shader has no way to report it).
#include "common.glsl"

#ifdef A_F16
#define A_TYPE float16_t
#else
#define A_TYPE float
#endif

#define WG 256
layout(local_size_x = WG) in;

layout(binding = 0) readonly buffer A { A_TYPE a[]; };
layout(binding = 1) readonly buffer B { int b[]; };
layout(binding = 3) writeonly buffer D { float d[]; };

void main() {
    uint nrows = pc.d_ne[1]*pc.d_ne[2]*pc.d_ne[3];
    for (uint row = gl_WorkGroupID.y; row < nrows; row += gl_NumWorkGroups.y) {
        uvec3 r = row_coords(row, pc.d_ne[1], pc.d_ne[2]);
        uint id = d_row(r);
        int idx = b[pc.b_off + r.x*pc.b_nb[0] + r.y*pc.b_nb[1] + r.z*pc.b_nb[2]];
        bool ok = idx >= 0 && uint(idx) < pc.a_ne[1];
        uint ia = pc.a_off + uint(max(idx, 0))*pc.a_nb[1] + r.y*pc.a_nb[2] + r.z*pc.a_nb[3];
        for (uint i0 = gl_GlobalInvocationID.x; i0 < pc.d_ne[0]; i0 += gl_NumWorkGroups.x*WG) {
            d[id + i0*pc.d_nb[0]] = ok ? float(a[ia + i0*pc.a_nb[0]]) : 0.0;
        }
    }
}
