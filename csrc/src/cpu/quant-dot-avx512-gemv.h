// quant-dot-avx512-gemv.h — several weight rows against one activation row, with AVX-512.
// Included twice by quant-dot-avx512.c: once with VNNI's fused byte and word dot products, once
// with their two-instruction equivalents for AVX-512 CPUs without VNNI. The includer defines:
//   QG_FN                   attributes of every function here (the VNNI target, or nothing)
//   QG_NAME(x)              the name of x in this copy
//   QG_DPBUSD(acc, u8, s8)  acc + the sums of 4 products of unsigned by signed bytes (int32)
//   QG_DPWSSD(acc, a, b)    acc + the sums of 2 products of signed words (int32)
//
// Decoding one token multiplies each weight row once with the same activation row, so the work
// is bound by reading the weights and by the instructions spent per weight. Rows can be taken
// R at a time (QG_R_* below): the activation blocks (and everything derived from them alone:
// their f16 scales, their rearranged bytes, the offsets' corrections) are then loaded once for
// the R rows, and each row costs its own loads, nibble masks, one fused product per 64 weights
// and one float multiply-add per block. The remaining rows go one at a time through the same
// code.
//
// Q4_0: four blocks (128 weights) per step. Their 4 x 16 bytes of nibbles sit in the four
// 128-bit lanes of one register; the low nibbles of lane k are block k's weights 0-15 and the
// high ones its weights 16-31, so the activations are rearranged to match (their first halves
// in one register, their second halves in another) once per step for all rows. The nibbles go
// into the unsigned side of the byte product as they are (0..15); the offset of 8 is taken out
// with 8 * (the activation block's sum), computed once per step. Each 128-bit lane then holds
// one block's sum, scaled by that block's d_x * d_y.
// Q8_0: the weights are signed, so |x| goes into the unsigned side and x's signs onto y.
// Q4_K: a super-block's 128 bytes are two registers; masking the low and high nibbles gives
// the sub-block pairs (0, 2), (1, 3), (4, 6), (5, 7), and the activations are rearranged once
// into the same pairs. The byte products are summed into words and multiplied by each sub-
// block's 6-bit scale (a word per lane) in the word product. The scales and minimums are
// unpacked straight into a register, and the minimums' part (mins times the Q8_K sums of each
// 32 activations) stays in four float lanes until the row ends, so no block pays a horizontal
// sum.

QG_INLINE __m512i QG_NAME(lanes4)(const uint8_t * p0, const uint8_t * p1, const uint8_t * p2, const uint8_t * p3) {
    __m512i v = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *) p0));
    v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *) p1), 1);
    v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *) p2), 2);
    return _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *) p3), 3);
}

QG_INLINE __m512i QG_NAME(halves2)(const void * lo, const void * hi) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *) lo)),
                              _mm256_loadu_si256((const __m256i *) hi), 1);
}

QG_INLINE void QG_NAME(q4_0_rows)(int nb, float * s, const char * x, size_t bx, const block_q8_0 * y, const int R) {
    const __m512i m4 = _mm512_set1_epi8(15);
    const __m512i eight = _mm512_set1_epi8(8);
    const __m512i lane_of = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    __m512 acc[4];
    for (int r = 0; r < R; r++) acc[r] = _mm512_setzero_ps();
    int i = 0;
    for (; i + 3 < nb; i += 4) {
        const __m512i yl = QG_NAME(lanes4)((const uint8_t *) y[i].qs, (const uint8_t *) y[i + 1].qs,
                                           (const uint8_t *) y[i + 2].qs, (const uint8_t *) y[i + 3].qs);
        const __m512i yh = QG_NAME(lanes4)((const uint8_t *) y[i].qs + 16, (const uint8_t *) y[i + 1].qs + 16,
                                           (const uint8_t *) y[i + 2].qs + 16, (const uint8_t *) y[i + 3].qs + 16);
        const __m512i corr = QG_DPBUSD(QG_DPBUSD(_mm512_setzero_si512(), eight, yl), eight, yh);
        const __m128 dy = qg_halves4(y[i].d, y[i + 1].d, y[i + 2].d, y[i + 3].d);
        for (int r = 0; r < R; r++) {
            const block_q4_0 * xb = (const block_q4_0 *) (x + (size_t) r * bx) + i;
            QG_PREFETCH(xb, 72, R);
            const __m512i bits = QG_NAME(lanes4)(xb[0].qs, xb[1].qs, xb[2].qs, xb[3].qs);
            const __m512i lo = _mm512_and_si512(bits, m4);
            const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(bits, 4), m4);
            const __m512i sumi = _mm512_sub_epi32(QG_DPBUSD(QG_DPBUSD(_mm512_setzero_si512(), lo, yl), hi, yh), corr);
            const __m128 d = _mm_mul_ps(qg_halves4(xb[0].d, xb[1].d, xb[2].d, xb[3].d), dy);
            acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi), _mm512_permutexvar_ps(lane_of, _mm512_castps128_ps512(d)), acc[r]);
        }
    }
    for (int r = 0; r < R; r++) {
        s[r] = _mm512_reduce_add_ps(acc[r]) + qg_tail(GGML_TYPE_Q4_0, QK4_0, i, nb, x + (size_t) r * bx, sizeof(block_q4_0), y, sizeof(block_q8_0));
    }
}

QG_INLINE void QG_NAME(q8_0_rows)(int nb, float * s, const char * x, size_t bx, const block_q8_0 * y, const int R) {
    const __m512i lane_lo = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    const __m512i lane_hi = _mm512_setr_epi32(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    __m512 acc[4];
    for (int r = 0; r < R; r++) acc[r] = _mm512_setzero_ps();
    int i = 0;
    for (; i + 3 < nb; i += 4) {
        const __m512i y0 = QG_NAME(halves2)(y[i].qs, y[i + 1].qs);
        const __m512i y1 = QG_NAME(halves2)(y[i + 2].qs, y[i + 3].qs);
        const __m128 dy = qg_halves4(y[i].d, y[i + 1].d, y[i + 2].d, y[i + 3].d);
        for (int r = 0; r < R; r++) {
            const block_q8_0 * xb = (const block_q8_0 *) (x + (size_t) r * bx) + i;
            QG_PREFETCH(xb, 136, R);
            const __m512i x0 = QG_NAME(halves2)(xb[0].qs, xb[1].qs);
            const __m512i x1 = QG_NAME(halves2)(xb[2].qs, xb[3].qs);
            const __m512i s0 = QG_DPBUSD(_mm512_setzero_si512(), _mm512_abs_epi8(x0),
                                         _mm512_mask_sub_epi8(y0, _mm512_movepi8_mask(x0), _mm512_setzero_si512(), y0));
            const __m512i s1 = QG_DPBUSD(_mm512_setzero_si512(), _mm512_abs_epi8(x1),
                                         _mm512_mask_sub_epi8(y1, _mm512_movepi8_mask(x1), _mm512_setzero_si512(), y1));
            const __m512 d = _mm512_castps128_ps512(_mm_mul_ps(qg_halves4(xb[0].d, xb[1].d, xb[2].d, xb[3].d), dy));
            acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s0), _mm512_permutexvar_ps(lane_lo, d), acc[r]);
            acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s1), _mm512_permutexvar_ps(lane_hi, d), acc[r]);
        }
    }
    for (int r = 0; r < R; r++) {
        s[r] = _mm512_reduce_add_ps(acc[r]) + qg_tail(GGML_TYPE_Q8_0, QK8_0, i, nb, x + (size_t) r * bx, sizeof(block_q8_0), y, sizeof(block_q8_0));
    }
}

// word-lane pattern: the first 16 words take word a of a register, the last 16 word b
QG_INLINE __m512i QG_NAME(words2)(short a, short b) {
    return _mm512_inserti64x4(_mm512_set1_epi16(a), _mm256_set1_epi16(b), 1);
}

// A Q4_K block's 8 scales (bytes 0-7) and 8 mins (bytes 8-15) of 6 bits, unpacked from the
// three 32-bit words of its 12 bytes as k4_unpack does, into one register
QG_INLINE __m128i QG_NAME(k4_scales_mins)(const uint8_t * q) {
    uint32_t u[3];
    memcpy(u, q, 12);
    return _mm_setr_epi32((int) (u[0] & 0x3f3f3f3fu),
                          (int) ((u[2] & 0x0f0f0f0fu) | (((u[0] >> 6) & 0x03030303u) << 4)),
                          (int) (u[1] & 0x3f3f3f3fu),
                          (int) (((u[2] >> 4) & 0x0f0f0f0fu) | (((u[1] >> 6) & 0x03030303u) << 4)));
}

QG_INLINE void QG_NAME(q4_K_rows)(int nb, float * s, const char * x, size_t bx, const block_q8_K * y, const int R) {
    const __m512i m4 = _mm512_set1_epi8(15);
    const __m512i p02 = QG_NAME(words2)(0, 2), p13 = QG_NAME(words2)(1, 3);
    const __m512i p46 = QG_NAME(words2)(4, 6), p57 = QG_NAME(words2)(5, 7);
    __m512 acc[4];
    __m128 acc_m[4]; // the minimums' part, kept in 4 lanes until the end
    for (int r = 0; r < R; r++) {
        acc[r] = _mm512_setzero_ps();
        acc_m[r] = _mm_setzero_ps();
    }
    for (int i = 0; i < nb; i++) {
        const int8_t * q8 = y[i].qs;
        const __m512i ya0 = QG_NAME(halves2)(q8, q8 + 64), yb0 = QG_NAME(halves2)(q8 + 32, q8 + 96);
        const __m512i ya1 = QG_NAME(halves2)(q8 + 128, q8 + 192), yb1 = QG_NAME(halves2)(q8 + 160, q8 + 224);
        // the sums of each 32 activations (sub-block j's), from the sums of 16
        const __m256i bs = _mm256_loadu_si256((const __m256i *) y[i].bsums);
        const __m128i bsum32 = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
        for (int r = 0; r < R; r++) {
            const block_q4_K * xb = (const block_q4_K *) (x + (size_t) r * bx) + i;
            QG_PREFETCH(xb, 144, R);
            const __m128i scm = QG_NAME(k4_scales_mins)(xb->scales);
            const __m512i scw = _mm512_castsi128_si512(_mm_cvtepu8_epi16(scm));
            const __m128i mins = _mm_cvtepu8_epi16(_mm_srli_si128(scm, 8));
            acc_m[r] = _mm_fmadd_ps(_mm_set1_ps(-y[i].d * _cvtsh_ss(xb->dmin)), _mm_cvtepi32_ps(_mm_madd_epi16(bsum32, mins)), acc_m[r]);
            const __m512i bits0 = _mm512_loadu_si512((const void *) xb->qs);
            const __m512i bits1 = _mm512_loadu_si512((const void *) (xb->qs + 64));
            const __m512i lo0 = _mm512_and_si512(bits0, m4), hi0 = _mm512_and_si512(_mm512_srli_epi16(bits0, 4), m4);
            const __m512i lo1 = _mm512_and_si512(bits1, m4), hi1 = _mm512_and_si512(_mm512_srli_epi16(bits1, 4), m4);
            __m512i sumi = QG_DPWSSD(_mm512_setzero_si512(), _mm512_maddubs_epi16(lo0, ya0), _mm512_permutexvar_epi16(p02, scw));
            sumi = QG_DPWSSD(sumi, _mm512_maddubs_epi16(hi0, yb0), _mm512_permutexvar_epi16(p13, scw));
            sumi = QG_DPWSSD(sumi, _mm512_maddubs_epi16(lo1, ya1), _mm512_permutexvar_epi16(p46, scw));
            sumi = QG_DPWSSD(sumi, _mm512_maddubs_epi16(hi1, yb1), _mm512_permutexvar_epi16(p57, scw));
            acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(y[i].d * _cvtsh_ss(xb->d)), _mm512_cvtepi32_ps(sumi), acc[r]);
        }
    }
    for (int r = 0; r < R; r++) {
        __m128 m = _mm_add_ps(acc_m[r], _mm_movehl_ps(acc_m[r], acc_m[r]));
        m = _mm_add_ss(m, _mm_movehdup_ps(m));
        s[r] = _mm512_reduce_add_ps(acc[r]) + _mm_cvtss_f32(m);
    }
}

QG_ENTRIES(q4_0, QK8_0, block_q8_0, QG_R_Q4_0)
QG_ENTRIES(q8_0, QK8_0, block_q8_0, QG_R_Q8_0)
QG_ENTRIES(q4_K, QK_K, block_q8_K, QG_R_Q4_K)

