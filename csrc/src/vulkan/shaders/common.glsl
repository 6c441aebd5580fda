// Shared by every compute shader: one push-constant block of 128 bytes (the minimum every
// Vulkan device offers). Extents (ne) are in elements, strides (nb) and offsets (off) in
// elements of the tensor's own type, so a tensor can start anywhere in a bound buffer.
// a: src0, b: src1, c: src2, d: the node itself. Shaders that need more scalars than op and
// f0..f2 reuse the b_ne / b_nb words as documented in their own file.

#extension GL_EXT_shader_16bit_storage : require

layout(push_constant) uniform Push {
    uint a_ne[4];
    uint a_nb[4];
    uint b_ne[4];
    uint b_nb[4];
    uint d_ne[4];
    uint d_nb[4];
    uint a_off;
    uint b_off;
    uint c_off;
    uint d_off;
    uint op;
    float f0;
    float f1;
    float f2;
} pc;

// Splits a linear index over the extents ne (ne[0] fastest) into four coordinates.
uvec4 unravel(uint i, uint ne0, uint ne1, uint ne2) {
    uint i0 = i % ne0;
    uint r  = i / ne0;
    uint i1 = r % ne1;
    r /= ne1;
    uint i2 = r % ne2;
    uint i3 = r / ne2;
    return uvec4(i0, i1, i2, i3);
}

// Element-wise shaders walk rows: the rows (i1, i2, i3) of the node are spread over the y
// workgroups and the elements of a row over the x invocations, so the divisions that split an
// index into coordinates happen once per row, not once per element.
uvec3 row_coords(uint row, uint ne1, uint ne2) {
    uint i1 = row % ne1;
    uint r  = row / ne1;
    return uvec3(i1, r % ne2, r / ne2);
}

uint a_row(uvec3 r) { return pc.a_off + r.x*pc.a_nb[1] + r.y*pc.a_nb[2] + r.z*pc.a_nb[3]; }
uint d_row(uvec3 r) { return pc.d_off + r.x*pc.d_nb[1] + r.y*pc.d_nb[2] + r.z*pc.d_nb[3]; }

uint a_index(uvec4 c) { return pc.a_off + c.x*pc.a_nb[0] + c.y*pc.a_nb[1] + c.z*pc.a_nb[2] + c.w*pc.a_nb[3]; }
uint d_index(uvec4 c) { return pc.d_off + c.x*pc.d_nb[0] + c.y*pc.d_nb[1] + c.z*pc.d_nb[2] + c.w*pc.d_nb[3]; }

// erf from its Chebyshev-fitted complement (fractional error below 1.2e-7 everywhere).
float erf_approx(float x) {
    float z = abs(x);
    float t = 1.0 / (1.0 + 0.5*z);
    float r = t*exp(-z*z - 1.26551223 + t*(1.00002368 + t*(0.37409196 + t*(0.09678418 +
              t*(-0.18628806 + t*(0.27886807 + t*(-1.13520398 + t*(1.48851587 +
              t*(-0.82215223 + t*0.17087277)))))))));
    return x >= 0.0 ? 1.0 - r : r - 1.0;
}
