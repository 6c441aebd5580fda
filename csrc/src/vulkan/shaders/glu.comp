#version 450
#extension GL_GOOGLE_include_directive : require
// Gated linear units: d = act(x) * g, the value x from a and the gate g from b. When the node
// holds value and gate side by side in a's rows, the C side binds a twice, with the gate's half
// as b. op: ggml_glu_op; f0, f1: swiglu_oai's alpha and limit.
#include "common.glsl"

#define WG 256
layout(local_size_x = WG) in;

layout(binding = 0) readonly buffer A { float a[]; };
layout(binding = 1) readonly buffer B { float b[]; };
layout(binding = 3) buffer D { float d[]; };

float act(float x, float g) {
    switch (pc.op) {
        case 0: return max(x, 0.0)*g;                                            // reglu
        case 1: {                                                                // geglu (tanh form)
            float u = 0.7978845608028654*x*(1.0 + 0.044715*x*x);
            return 0.5*x*(1.0 + tanh(clamp(u, -15.0, 15.0)))*g;
        }
        case 2: return x/(1.0 + exp(-x))*g;                                      // swiglu
        case 3: {                                                                // swiglu_oai
            float xv = min(x, pc.f1);
            float gv = clamp(g, -pc.f1, pc.f1);
            return xv/(1.0 + exp(-pc.f0*xv))*(gv + 1.0);
        }
        case 4: return 0.5*x*(1.0 + erf_approx(x*0.7071067811865476))*g;       // geglu_erf
        default: return x/(1.0 + exp(-1.702*x))*g;                               // geglu_quick
    }
}

void main() {
    uint nrows = pc.d_ne[1]*pc.d_ne[2]*pc.d_ne[3];
    for (uint row = gl_WorkGroupID.y; row < nrows; row += gl_NumWorkGroups.y) {
        uvec3 r = row_coords(row, pc.d_ne[1], pc.d_ne[2]);
        uint ia = a_row(r);
        uint ib = pc.b_off + r.x*pc.b_nb[1] + r.y*pc.b_nb[2] + r.z*pc.b_nb[3];
        uint id = d_row(r);
        for (uint i0 = gl_GlobalInvocationID.x; i0 < pc.d_ne[0]; i0 += gl_NumWorkGroups.x*WG) {
            d[id + i0*pc.d_nb[0]] = act(a[ia + i0*pc.a_nb[0]], b[ib + i0*pc.b_nb[0]]);
        }
    }
}
