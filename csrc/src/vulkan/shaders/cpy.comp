#version 450
#extension GL_GOOGLE_include_directive : require
//! variant cpy_f32_f32
//! variant cpy_f32_f16 D_F16
//! variant cpy_f16_f32 A_F16
//! variant cpy_f16_f16 A_F16 D_F16
// Element i of a (in a's row-major order) goes to element i of d (in d's order): the shapes
// may differ as long as the element counts agree, and both sides may have any strides.
// op 0: a and d have one shape, walked by rows; op 1: shapes differ, each element's
// coordinates are worked out on both sides from its linear index.
#include "common.glsl"

#ifdef A_F16
#define A_TYPE float16_t
#else
#define A_TYPE float
#endif
#ifdef D_F16
#define D_TYPE float16_t
#else
#define D_TYPE float
#endif

#define WG 256
layout(local_size_x = WG) in;

layout(binding = 0) readonly buffer A { A_TYPE a[]; };
layout(binding = 3) writeonly buffer D { D_TYPE d[]; };

void main() {
    if (pc.op == 0u) {
        uint nrows = pc.d_ne[1]*pc.d_ne[2]*pc.d_ne[3];
        for (uint row = gl_WorkGroupID.y; row < nrows; row += gl_NumWorkGroups.y) {
            uvec3 r = row_coords(row, pc.d_ne[1], pc.d_ne[2]);
            uint ia = a_row(r);
            uint id = d_row(r);
            for (uint i0 = gl_GlobalInvocationID.x; i0 < pc.d_ne[0]; i0 += gl_NumWorkGroups.x*WG) {
                d[id + i0*pc.d_nb[0]] = D_TYPE(float(a[ia + i0*pc.a_nb[0]]));
            }
        }
        return;
    }
    uint n = pc.a_ne[0]*pc.a_ne[1]*pc.a_ne[2]*pc.a_ne[3];
    uint stride = gl_NumWorkGroups.x*WG;
    uint first = gl_GlobalInvocationID.x + gl_WorkGroupID.y*stride;
    for (uint i = first; i < n; i += stride*gl_NumWorkGroups.y) {
        uvec4 ca = unravel(i, pc.a_ne[0], pc.a_ne[1], pc.a_ne[2]);
        uvec4 cd = unravel(i, pc.d_ne[0], pc.d_ne[1], pc.d_ne[2]);
        d[d_index(cd)] = D_TYPE(float(a[a_index(ca)]));
    }
}
