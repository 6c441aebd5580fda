#version 450
#extension GL_GOOGLE_include_directive : require
// Rotary position embedding, ggml's normal (adjacent pairs) and neox (pairs n_dims/2 apart)
// modes with YaRN scaling. One invocation per pair of a row (rows over the y workgroups);
// dimensions from n_dims on are copied.
// The angle is built by the same repeated multiplication as the CPU kernel, so both see the
// same float rounding. Scalars (as float bits where marked) in the b words:
//   b_ne: theta_scale*, freq_scale*, ext_factor*, attn_factor*
//   b_nb: corr_dims[0]*, corr_dims[1]*, n_dims, neox (0/1)
// b_off: i32 positions (binding 1, one per i2); op 1: frequency factors at c_off (binding 2).
#include "common.glsl"

#define WG 256
layout(local_size_x = WG) in;

layout(binding = 0) readonly buffer A { float a[]; };
layout(binding = 1) readonly buffer P { int pos[]; };
layout(binding = 2) readonly buffer F { float ff[]; };
layout(binding = 3) buffer D { float d[]; };

void main() {
    float theta_scale = uintBitsToFloat(pc.b_ne[0]);
    float freq_scale  = uintBitsToFloat(pc.b_ne[1]);
    float ext_factor  = uintBitsToFloat(pc.b_ne[2]);
    float attn_factor = uintBitsToFloat(pc.b_ne[3]);
    float corr0       = uintBitsToFloat(pc.b_nb[0]);
    float corr1       = uintBitsToFloat(pc.b_nb[1]);
    uint  n_dims      = pc.b_nb[2];
    bool  neox        = pc.b_nb[3] != 0u;

    uint half0 = pc.a_ne[0] / 2u;
    uint nrows = pc.a_ne[1]*pc.a_ne[2]*pc.a_ne[3];
    for (uint row = gl_WorkGroupID.y; row < nrows; row += gl_NumWorkGroups.y) {
        uvec3 r = row_coords(row, pc.a_ne[1], pc.a_ne[2]);
        uint ia = a_row(r);
        uint id = d_row(r);
        float p = float(pos[pc.b_off + r.y]);
        for (uint ip = gl_GlobalInvocationID.x; ip < half0; ip += gl_NumWorkGroups.x*WG) {
            uint i0 = 2u*ip;
            if (i0 >= n_dims) {
                d[id + i0*pc.d_nb[0]]        = a[ia + i0*pc.a_nb[0]];
                d[id + (i0 + 1u)*pc.d_nb[0]] = a[ia + (i0 + 1u)*pc.a_nb[0]];
                continue;
            }
            float theta = p;
            for (uint j = 0u; j < ip; j++) theta *= theta_scale;
            if (pc.op != 0u) theta /= ff[pc.c_off + ip];

            float theta_interp = freq_scale*theta;
            float th = theta_interp;
            float mscale = attn_factor;
            if (ext_factor != 0.0) {
                float y = (float(ip) - corr0) / max(0.001, corr1 - corr0);
                float ramp_mix = (1.0 - min(1.0, max(0.0, y))) * ext_factor;
                th = theta_interp*(1.0 - ramp_mix) + theta*ramp_mix;
                mscale *= 1.0 + 0.1*log(1.0 / freq_scale);
            }
            float cs = cos(th)*mscale;
            float sn = sin(th)*mscale;

            uint j0 = neox ? ip : i0;
            uint j1 = neox ? ip + n_dims/2u : i0 + 1u;
            float x0 = a[ia + j0*pc.a_nb[0]];
            float x1 = a[ia + j1*pc.a_nb[0]];
            d[id + j0*pc.d_nb[0]] = x0*cs - x1*sn;
            d[id + j1*pc.d_nb[0]] = x0*sn + x1*cs;
        }
    }
}
