// quant-dot-avx2-gemv.h — several weight rows against one activation row, with AVX2: the
// arithmetic of quant-dot-avx512-gemv.h (read its notes) on 256-bit registers. Included twice
// by quant-dot-avx2.c: once with AVX-VNNI's fused products (CPUs with AVX-VNNI but no AVX-512),
// once with their two-instruction equivalents. The includer defines QG_FN, QG_NAME(x),
// QG_DPBUSD(acc, u8, s8) and QG_DPWSSD(acc, a, b) as quant-dot-avx512-gemv.h describes.
//
// Q4_0: two blocks per register (their 2 x 16 bytes of nibbles in the two 128-bit lanes; the
// activations' first and second halves rearranged to match once per step for all rows), four
// blocks per step. Q8_0: |x| against y with x's signs. Q4_K (and Q5_K, whose fifth bits join
// the nibbles): per 64 weights, the low and high nibbles against 32 activations each, summed
// into words and multiplied by the sub-block's scale in the word product; the minimums' part
// stays in four float lanes to the row's end.

QG_INLINE __m256i QG_NAME(lanes2)(const void * p0, const void * p1) {
    return _mm256_set_m128i(_mm_loadu_si128((const __m128i *) p1), _mm_loadu_si128((const __m128i *) p0));
}

QG_INLINE float QG_NAME(hsum)(__m256 v) {
    __m128 r = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    r = _mm_add_ps(r, _mm_movehl_ps(r, r));
    r = _mm_add_ss(r, _mm_movehdup_ps(r));
    return _mm_cvtss_f32(r);
}

QG_INLINE void QG_NAME(q4_0_rows)(int nb, float * s, const char * x, size_t bx, const block_q8_0 * y, const int R) {
    const __m256i m4 = _mm256_set1_epi8(15);
    const __m256i eight = _mm256_set1_epi8(8);
    const __m256i lane01 = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1);
    const __m256i lane23 = _mm256_setr_epi32(2, 2, 2, 2, 3, 3, 3, 3);
    __m256 acc[4];
    for (int r = 0; r < R; r++) acc[r] = _mm256_setzero_ps();
    int i = 0;
    for (; i + 3 < nb; i += 4) {
        const __m256i yl0 = QG_NAME(lanes2)(y[i].qs, y[i + 1].qs);
        const __m256i yh0 = QG_NAME(lanes2)(y[i].qs + 16, y[i + 1].qs + 16);
        const __m256i yl1 = QG_NAME(lanes2)(y[i + 2].qs, y[i + 3].qs);
        const __m256i yh1 = QG_NAME(lanes2)(y[i + 2].qs + 16, y[i + 3].qs + 16);
        const __m256i corr0 = QG_DPBUSD(QG_DPBUSD(_mm256_setzero_si256(), eight, yl0), eight, yh0);
        const __m256i corr1 = QG_DPBUSD(QG_DPBUSD(_mm256_setzero_si256(), eight, yl1), eight, yh1);
        const __m128 dy = qg_halves4(y[i].d, y[i + 1].d, y[i + 2].d, y[i + 3].d);
        for (int r = 0; r < R; r++) {
            const block_q4_0 * xb = (const block_q4_0 *) (x + (size_t) r * bx) + i;
            QG_PREFETCH(xb, 72, R);
            const __m256i b0 = QG_NAME(lanes2)(xb[0].qs, xb[1].qs);
            const __m256i b1 = QG_NAME(lanes2)(xb[2].qs, xb[3].qs);
            __m256i s0 = QG_DPBUSD(_mm256_setzero_si256(), _mm256_and_si256(b0, m4), yl0);
            s0 = QG_DPBUSD(s0, _mm256_and_si256(_mm256_srli_epi16(b0, 4), m4), yh0);
            __m256i s1 = QG_DPBUSD(_mm256_setzero_si256(), _mm256_and_si256(b1, m4), yl1);
            s1 = QG_DPBUSD(s1, _mm256_and_si256(_mm256_srli_epi16(b1, 4), m4), yh1);
            const __m256 d = _mm256_castps128_ps256(_mm_mul_ps(qg_halves4(xb[0].d, xb[1].d, xb[2].d, xb[3].d), dy));
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(s0, corr0)), _mm256_permutevar8x32_ps(d, lane01), acc[r]);
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(s1, corr1)), _mm256_permutevar8x32_ps(d, lane23), acc[r]);
        }
    }
    for (int r = 0; r < R; r++) {
        s[r] = QG_NAME(hsum)(acc[r]) + qg_tail(GGML_TYPE_Q4_0, QK4_0, i, nb, x + (size_t) r * bx, sizeof(block_q4_0), y, sizeof(block_q8_0));
    }
}

// two blocks per step, into two accumulators: one would make the float adds a chain
QG_INLINE void QG_NAME(q8_0_rows)(int nb, float * s, const char * x, size_t bx, const block_q8_0 * y, const int R) {
    __m256 acc[4], acc2[4];
    for (int r = 0; r < R; r++) acc[r] = acc2[r] = _mm256_setzero_ps();
    int i = 0;
    for (; i + 1 < nb; i += 2) {
        const __m256i qy0 = _mm256_loadu_si256((const __m256i *) y[i].qs);
        const __m256i qy1 = _mm256_loadu_si256((const __m256i *) y[i + 1].qs);
        const float dy0 = _cvtsh_ss(y[i].d), dy1 = _cvtsh_ss(y[i + 1].d);
        for (int r = 0; r < R; r++) {
            const block_q8_0 * xb = (const block_q8_0 *) (x + (size_t) r * bx) + i;
            QG_PREFETCH(xb, 68, R);
            const __m256i qx0 = _mm256_loadu_si256((const __m256i *) xb[0].qs);
            const __m256i qx1 = _mm256_loadu_si256((const __m256i *) xb[1].qs);
            const __m256i s0 = QG_DPBUSD(_mm256_setzero_si256(), _mm256_sign_epi8(qx0, qx0), _mm256_sign_epi8(qy0, qx0));
            const __m256i s1 = QG_DPBUSD(_mm256_setzero_si256(), _mm256_sign_epi8(qx1, qx1), _mm256_sign_epi8(qy1, qx1));
            acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(xb[0].d) * dy0), _mm256_cvtepi32_ps(s0), acc[r]);
            acc2[r] = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(xb[1].d) * dy1), _mm256_cvtepi32_ps(s1), acc2[r]);
        }
    }
    for (int r = 0; r < R; r++) {
        float sum = QG_NAME(hsum)(_mm256_add_ps(acc[r], acc2[r]));
        if (i < nb) {
            const block_q8_0 * xb = (const block_q8_0 *) (x + (size_t) r * bx) + i;
            int sumi = 0;
            for (int j = 0; j < QK8_0; j++) sumi += xb->qs[j] * y[i].qs[j];
            sum += (float) sumi * (_cvtsh_ss(xb->d) * _cvtsh_ss(y[i].d));
        }
        s[r] = sum;
    }
}

QG_INLINE void QG_NAME(q4_K_rows)(int nb, float * s, const char * x, size_t bx, const block_q8_K * y, const int R) {
    const __m256i m4 = _mm256_set1_epi8(15);
    __m256 acc[4];
    __m128 acc_m[4];
    for (int r = 0; r < R; r++) {
        acc[r] = _mm256_setzero_ps();
        acc_m[r] = _mm_setzero_ps();
    }
    for (int i = 0; i < nb; i++) {
        const int8_t * q8 = y[i].qs;
        const __m256i bs = _mm256_loadu_si256((const __m256i *) y[i].bsums);
        const __m128i bsum32 = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
        for (int r = 0; r < R; r++) {
            const block_q4_K * xb = (const block_q4_K *) (x + (size_t) r * bx) + i;
            QG_PREFETCH(xb, 144, R);
            uint8_t sc[8], m[8];
            k4_unpack(xb->scales, sc, m);
            const __m128i mins = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *) m));
            acc_m[r] = _mm_fmadd_ps(_mm_set1_ps(-y[i].d * _cvtsh_ss(xb->dmin)), _mm_cvtepi32_ps(_mm_madd_epi16(bsum32, mins)), acc_m[r]);
            __m256i sumi = _mm256_setzero_si256();
            for (int j = 0; j < 4; j++) {
                const __m256i bits = _mm256_loadu_si256((const __m256i *) (xb->qs + 32 * j));
                const __m256i p0 = _mm256_maddubs_epi16(_mm256_and_si256(bits, m4), _mm256_loadu_si256((const __m256i *) (q8 + 64 * j)));
                const __m256i p1 = _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(bits, 4), m4),
                                                        _mm256_loadu_si256((const __m256i *) (q8 + 64 * j + 32)));
                sumi = QG_DPWSSD(sumi, p0, _mm256_set1_epi16(sc[2 * j]));
                sumi = QG_DPWSSD(sumi, p1, _mm256_set1_epi16(sc[2 * j + 1]));
            }
            acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(y[i].d * _cvtsh_ss(xb->d)), _mm256_cvtepi32_ps(sumi), acc[r]);
        }
    }
    for (int r = 0; r < R; r++) {
        __m128 mm = _mm_add_ps(acc_m[r], _mm_movehl_ps(acc_m[r], acc_m[r]));
        mm = _mm_add_ss(mm, _mm_movehdup_ps(mm));
        s[r] = QG_NAME(hsum)(acc[r]) + _mm_cvtss_f32(mm);
    }
}

// The 32 nibbles of a 32-weight block as bytes, in weight order (low nibbles: weights 0-15)
QG_INLINE __m256i QG_NAME(nib32)(const uint8_t * qs) {
    const __m128i b = _mm_loadu_si128((const __m128i *) qs);
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(b, 4), b), _mm256_set1_epi8(15));
}

// 16 in byte j where bit j of the block's 32-bit qh is set: the fifth bits of Q5_0 and Q5_1
QG_INLINE __m256i QG_NAME(bit5)(const uint8_t * qh) {
    uint32_t h;
    memcpy(&h, qh, 4);
    const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32((int) h),
                                               _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                                                2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
    const __m256i bit = _mm256_set1_epi64x((long long) 0x8040201008040201ull);
    return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit), _mm256_set1_epi8(16));
}

// Q4_1, Q5_0, Q5_1: one block per step; the quants go unsigned into the byte product. Q5_0's
// offset of 16 comes off with 16 * (the activation block's sum); Q4_1's and Q5_1's minimum
// multiplies Q8_1's stored s = d * sum(q), outside the vector sum.
QG_INLINE void QG_NAME(q4_1_rows)(int nb, float * s, const char * x, size_t bx, const block_q8_1 * y, const int R) {
    for (int r = 0; r < R; r++) {
        const block_q4_1 * xr = (const block_q4_1 *) (x + (size_t) r * bx);
        __m256 acc = _mm256_setzero_ps();
        float acc_m = 0.0f;
        for (int i = 0; i < nb; i++) {
            const __m256i sumi = QG_DPBUSD(_mm256_setzero_si256(), QG_NAME(nib32)(xr[i].qs), _mm256_loadu_si256((const __m256i *) y[i].qs));
            acc = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(xr[i].d) * _cvtsh_ss(y[i].d)), _mm256_cvtepi32_ps(sumi), acc);
            acc_m += _cvtsh_ss(xr[i].m) * _cvtsh_ss(y[i].s);
        }
        s[r] = QG_NAME(hsum)(acc) + acc_m;
    }
}

QG_INLINE void QG_NAME(q5_0_rows)(int nb, float * s, const char * x, size_t bx, const block_q8_0 * y, const int R) {
    const __m256i sixteen = _mm256_set1_epi8(16);
    for (int r = 0; r < R; r++) {
        const block_q5_0 * xr = (const block_q5_0 *) (x + (size_t) r * bx);
        __m256 acc = _mm256_setzero_ps();
        for (int i = 0; i < nb; i++) {
            const __m256i qy = _mm256_loadu_si256((const __m256i *) y[i].qs);
            const __m256i q = _mm256_or_si256(QG_NAME(nib32)(xr[i].qs), QG_NAME(bit5)(xr[i].qh));
            const __m256i sumi = _mm256_sub_epi32(QG_DPBUSD(_mm256_setzero_si256(), q, qy), QG_DPBUSD(_mm256_setzero_si256(), sixteen, qy));
            acc = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(xr[i].d) * _cvtsh_ss(y[i].d)), _mm256_cvtepi32_ps(sumi), acc);
        }
        s[r] = QG_NAME(hsum)(acc);
    }
}

QG_INLINE void QG_NAME(q5_1_rows)(int nb, float * s, const char * x, size_t bx, const block_q8_1 * y, const int R) {
    for (int r = 0; r < R; r++) {
        const block_q5_1 * xr = (const block_q5_1 *) (x + (size_t) r * bx);
        __m256 acc = _mm256_setzero_ps();
        float acc_m = 0.0f;
        for (int i = 0; i < nb; i++) {
            const __m256i q = _mm256_or_si256(QG_NAME(nib32)(xr[i].qs), QG_NAME(bit5)(xr[i].qh));
            const __m256i sumi = QG_DPBUSD(_mm256_setzero_si256(), q, _mm256_loadu_si256((const __m256i *) y[i].qs));
            acc = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(xr[i].d) * _cvtsh_ss(y[i].d)), _mm256_cvtepi32_ps(sumi), acc);
            acc_m += _cvtsh_ss(xr[i].m) * _cvtsh_ss(y[i].s);
        }
        s[r] = QG_NAME(hsum)(acc) + acc_m;
    }
}

// IQ4_NL and MXFP4: each nibble indexes a table of 16 signed values (one byte shuffle looks up
// 32), then |v| against y with v's signs
QG_INLINE __m256i QG_NAME(lut_dot)(const uint8_t * qs, __m256i table, __m256i qy) {
    const __m256i v = _mm256_shuffle_epi8(table, QG_NAME(nib32)(qs));
    return QG_DPBUSD(_mm256_setzero_si256(), _mm256_sign_epi8(v, v), _mm256_sign_epi8(qy, v));
}

QG_INLINE void QG_NAME(iq4_nl_rows)(int nb, float * s, const char * x, size_t bx, const block_q8_0 * y, const int R) {
    const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *) ggalloc_kvalues_iq4nl));
    for (int r = 0; r < R; r++) {
        const block_iq4_nl * xr = (const block_iq4_nl *) (x + (size_t) r * bx);
        __m256 acc = _mm256_setzero_ps();
        for (int i = 0; i < nb; i++) {
            const __m256i sumi = QG_NAME(lut_dot)(xr[i].qs, table, _mm256_loadu_si256((const __m256i *) y[i].qs));
            acc = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(xr[i].d) * _cvtsh_ss(y[i].d)), _mm256_cvtepi32_ps(sumi), acc);
        }
        s[r] = QG_NAME(hsum)(acc);
    }
}

// MXFP4's scale 2^(e - 128), built from its bits (e = 0 is the subnormal 2^-128)
QG_INLINE float QG_NAME(e8m0_half)(uint8_t e) {
    const uint32_t bits = e >= 1 ? (uint32_t) (e - 1) << 23 : 0x00200000u;
    float f;
    memcpy(&f, &bits, sizeof(f));
    return f;
}

QG_INLINE void QG_NAME(mxfp4_rows)(int nb, float * s, const char * x, size_t bx, const block_q8_0 * y, const int R) {
    const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *) ggalloc_kvalues_mxfp4));
    for (int r = 0; r < R; r++) {
        const block_mxfp4 * xr = (const block_mxfp4 *) (x + (size_t) r * bx);
        __m256 acc = _mm256_setzero_ps();
        for (int i = 0; i < nb; i++) {
            const __m256i sumi = QG_NAME(lut_dot)(xr[i].qs, table, _mm256_loadu_si256((const __m256i *) y[i].qs));
            acc = _mm256_fmadd_ps(_mm256_set1_ps(QG_NAME(e8m0_half)(xr[i].e) * _cvtsh_ss(y[i].d)), _mm256_cvtepi32_ps(sumi), acc);
        }
        s[r] = QG_NAME(hsum)(acc);
    }
}

// Q5_K: Q4_K's nibbles with a fifth bit from qh (bit 2j of byte l for the low nibble of byte l
// of chunk j, bit 2j + 1 for its high nibble), the same scales and minimums
QG_INLINE void QG_NAME(q5_K_rows)(int nb, float * s, const char * x, size_t bx, const block_q8_K * y, const int R) {
    const __m256i m4 = _mm256_set1_epi8(15);
    const __m256i bit4 = _mm256_set1_epi8(16);
    __m256 acc[4];
    __m128 acc_m[4];
    for (int r = 0; r < R; r++) {
        acc[r] = _mm256_setzero_ps();
        acc_m[r] = _mm_setzero_ps();
    }
    for (int i = 0; i < nb; i++) {
        const int8_t * q8 = y[i].qs;
        const __m256i bs = _mm256_loadu_si256((const __m256i *) y[i].bsums);
        const __m128i bsum32 = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
        for (int r = 0; r < R; r++) {
            const block_q5_K * xb = (const block_q5_K *) (x + (size_t) r * bx) + i;
            QG_PREFETCH(xb, 176, R);
            uint8_t sc[8], m[8];
            k4_unpack(xb->scales, sc, m);
            const __m128i mins = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *) m));
            acc_m[r] = _mm_fmadd_ps(_mm_set1_ps(-y[i].d * _cvtsh_ss(xb->dmin)), _mm_cvtepi32_ps(_mm_madd_epi16(bsum32, mins)), acc_m[r]);
            // the fifth bits, moved to bit 4 of each byte: chunk j's low nibbles take bit 2j
            __m256i hb = _mm256_loadu_si256((const __m256i *) xb->qh);
            __m256i sumi = _mm256_setzero_si256();
            for (int j = 0; j < 4; j++) {
                const __m256i bits = _mm256_loadu_si256((const __m256i *) (xb->qs + 32 * j));
                const __m256i lo = _mm256_or_si256(_mm256_and_si256(bits, m4), _mm256_and_si256(_mm256_slli_epi16(hb, 4), bit4));
                const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(bits, 4), m4), _mm256_and_si256(_mm256_slli_epi16(hb, 3), bit4));
                hb = _mm256_srli_epi16(hb, 2);
                const __m256i p0 = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *) (q8 + 64 * j)));
                const __m256i p1 = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *) (q8 + 64 * j + 32)));
                sumi = QG_DPWSSD(sumi, p0, _mm256_set1_epi16(sc[2 * j]));
                sumi = QG_DPWSSD(sumi, p1, _mm256_set1_epi16(sc[2 * j + 1]));
            }
            acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(y[i].d * _cvtsh_ss(xb->d)), _mm256_cvtepi32_ps(sumi), acc[r]);
        }
    }
    for (int r = 0; r < R; r++) {
        __m128 mm = _mm_add_ps(acc_m[r], _mm_movehl_ps(acc_m[r], acc_m[r]));
        mm = _mm_add_ss(mm, _mm_movehdup_ps(mm));
        s[r] = QG_NAME(hsum)(acc[r]) + _mm_cvtss_f32(mm);
    }
}

QG_ENTRIES(q4_0, QK8_0, block_q8_0, QG_R_Q4_0)
QG_ENTRIES(q8_0, QK8_0, block_q8_0, QG_R_Q8_0)
QG_ENTRIES(q4_K, QK_K, block_q8_K, QG_R_Q4_K)
QG_ENTRIES(q5_K, QK_K, block_q8_K, 1)
QG_ENTRIES(q4_1, QK8_1, block_q8_1, 1)
QG_ENTRIES(q5_0, QK8_0, block_q8_0, 1)
QG_ENTRIES(q5_1, QK8_1, block_q8_1, 1)
QG_ENTRIES(iq4_nl, QK8_0, block_q8_0, 1)
QG_ENTRIES(mxfp4, QK8_0, block_q8_0, 1)

