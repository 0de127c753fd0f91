#include "adam_kernels.h"
#include <math.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

// One element, in the order of every vector variant below (and of AdamStep in Swift).
static inline void step1(float *p, float *g, float *m, float *q, const embtool_adam_scalars *s) {
    float gj = *g;
    float mj = s->mom * *m + (1.0f - s->mom) * gj;
    float qn = sqrtf(s->sqr_mom * (*q * *q) + (1.0f - s->sqr_mom) * (gj * gj));
    *p = *p * s->decay - s->step_size * (mj / (qn * s->inv_sqrt_debias2 + s->eps));
    *m = mj; *q = qn; *g = 0.0f;
}

static inline void zero1(float *p, float *m, float *q, const embtool_adam_scalars *s) {
    float mj = s->mom * *m;
    float qn = s->sqrt_sqr_mom * *q;
    *p = *p * s->decay - s->step_size * (mj / (qn * s->inv_sqrt_debias2 + s->eps));
    *m = mj; *q = qn;
}

static void step_portable(float *p, float *g, float *m, float *q, size_t n, const embtool_adam_scalars *s) {
    for (size_t j = 0; j < n; j++) step1(p + j, g + j, m + j, q + j, s);
}

static void zero_portable(float *p, float *m, float *q, size_t n, const embtool_adam_scalars *s) {
    for (size_t j = 0; j < n; j++) zero1(p + j, m + j, q + j, s);
}

static inline void catch_up_step1(float *p, float *g, float *m, float *q, const embtool_sparse_absence *a,
                                  const embtool_adam_scalars *s) {
    float mj = *m, qj = *q;
    float pj = (*p - a->drift * (mj / (qj * a->c + s->eps))) * a->decay;
    float gj = *g;
    mj = s->mom * (mj * a->mom_decay) + (1.0f - s->mom) * gj;
    qj = qj * a->sqr_decay;
    qj = sqrtf(s->sqr_mom * (qj * qj) + (1.0f - s->sqr_mom) * (gj * gj));
    pj = pj * s->decay - s->step_size * (mj / (qj * s->inv_sqrt_debias2 + s->eps));
    *m = mj; *q = qj; *p = pj; *g = 0.0f;
}

static void catch_up_step_portable(float *p, float *g, float *m, float *q, size_t n, const embtool_sparse_absence *a,
                                   const embtool_adam_scalars *s) {
    for (size_t j = 0; j < n; j++) catch_up_step1(p + j, g + j, m + j, q + j, a, s);
}

static void replay_portable(float *p, float *m, float *q, size_t n, const embtool_adam_scalars *steps, size_t count) {
    for (size_t j = 0; j < n; j++) {
        float pj = p[j], mj = m[j], qj = q[j];
        for (size_t t = 0; t < count; t++) zero1(&pj, &mj, &qj, steps + t);
        p[j] = pj; m[j] = mj; q[j] = qj;
    }
}

#if defined(__x86_64__)
// The vector variants, written once for a lane type V of W floats. The last n mod W elements go
// through the same lanes with a mask (LOADM/STOREM, lanes past the end read as 0 and are not
// written): a row of 74 or 102 floats would otherwise spend most of its time in scalar divisions.
#define ADAM_VARIANTS(SUFFIX, TARGET, V, M, W, MASK, SET1, LOAD, STORE, LOADM, STOREM, ADD, SUB, MUL, DIV, SQRT, ZERO) \
    __attribute__((target(TARGET))) static inline void step_block_##SUFFIX(                                        \
        float *p, float *g, float *m, float *q, M mask, V decay, V mom, V damp_mom, V sqr_mom, V damp_sqr, V c,     \
        V step, V eps) {                                                                                            \
        V gj = LOADM(mask, g), qj = LOADM(mask, q);                                                                 \
        V mj = ADD(MUL(mom, LOADM(mask, m)), MUL(damp_mom, gj));                                                    \
        V qn = SQRT(ADD(MUL(sqr_mom, MUL(qj, qj)), MUL(damp_sqr, MUL(gj, gj))));                                    \
        V pj = SUB(MUL(LOADM(mask, p), decay), MUL(step, DIV(mj, ADD(MUL(qn, c), eps))));                           \
        STOREM(m, mask, mj); STOREM(q, mask, qn); STOREM(p, mask, pj); STOREM(g, mask, ZERO());                     \
    }                                                                                                               \
    __attribute__((target(TARGET))) static void step_##SUFFIX(float *p, float *g, float *m, float *q, size_t n,   \
                                                               const embtool_adam_scalars *s) {                    \
        const V decay = SET1(s->decay), mom = SET1(s->mom), damp_mom = SET1(1.0f - s->mom);                      \
        const V sqr_mom = SET1(s->sqr_mom), damp_sqr = SET1(1.0f - s->sqr_mom), c = SET1(s->inv_sqrt_debias2);    \
        const V step = SET1(s->step_size), eps = SET1(s->eps);                                                      \
        size_t j = 0;                                                                                               \
        for (; j + W <= n; j += W)                                                                                  \
            step_block_##SUFFIX(p + j, g + j, m + j, q + j, MASK(W), decay, mom, damp_mom, sqr_mom, damp_sqr, c,    \
                                step, eps);                                                                         \
        if (j < n)                                                                                                  \
            step_block_##SUFFIX(p + j, g + j, m + j, q + j, MASK(n - j), decay, mom, damp_mom, sqr_mom, damp_sqr,   \
                                c, step, eps);                                                                      \
    }                                                                                                               \
    __attribute__((target(TARGET))) static inline void zero_block_##SUFFIX(float *p, float *m, float *q, M mask,   \
                                                                            V decay, V mom, V root, V c, V step,    \
                                                                            V eps) {                                \
        V mj = MUL(mom, LOADM(mask, m));                                                                            \
        V qn = MUL(root, LOADM(mask, q));                                                                           \
        V pj = SUB(MUL(LOADM(mask, p), decay), MUL(step, DIV(mj, ADD(MUL(qn, c), eps))));                           \
        STOREM(m, mask, mj); STOREM(q, mask, qn); STOREM(p, mask, pj);                                              \
    }                                                                                                               \
    __attribute__((target(TARGET))) static void zero_##SUFFIX(float *p, float *m, float *q, size_t n,             \
                                                               const embtool_adam_scalars *s) {                    \
        const V decay = SET1(s->decay), mom = SET1(s->mom), root = SET1(s->sqrt_sqr_mom);                         \
        const V c = SET1(s->inv_sqrt_debias2), step = SET1(s->step_size), eps = SET1(s->eps);                     \
        size_t j = 0;                                                                                               \
        for (; j + W <= n; j += W) zero_block_##SUFFIX(p + j, m + j, q + j, MASK(W), decay, mom, root, c, step, eps); \
        if (j < n) zero_block_##SUFFIX(p + j, m + j, q + j, MASK(n - j), decay, mom, root, c, step, eps);           \
    }                                                                                                               \
    /* K vectors (the last masked by `last`) held in registers through all `count` steps. */                      \
    __attribute__((target(TARGET), always_inline)) static inline void replay_chunk_##SUFFIX(                       \
        float *p, float *m, float *q, const int K, M last, const embtool_adam_scalars *steps, size_t count) {       \
        V P[4], Mo[4], Q[4];                                                                                        \
        for (int k = 0; k < K; k++) {                                                                               \
            M mask = k == K - 1 ? last : MASK(W);                                                                   \
            P[k] = LOADM(mask, p + k * W); Mo[k] = LOADM(mask, m + k * W); Q[k] = LOADM(mask, q + k * W);          \
        }                                                                                                           \
        for (size_t t = 0; t < count; t++) {                                                                        \
            const embtool_adam_scalars *s = steps + t;                                                              \
            const V decay = SET1(s->decay), mom = SET1(s->mom), root = SET1(s->sqrt_sqr_mom);                     \
            const V c = SET1(s->inv_sqrt_debias2), step = SET1(s->step_size), eps = SET1(s->eps);                 \
            for (int k = 0; k < K; k++) {                                                                           \
                Mo[k] = MUL(mom, Mo[k]);                                                                            \
                Q[k] = MUL(root, Q[k]);                                                                             \
                P[k] = SUB(MUL(P[k], decay), MUL(step, DIV(Mo[k], ADD(MUL(Q[k], c), eps))));                        \
            }                                                                                                       \
        }                                                                                                           \
        for (int k = 0; k < K; k++) {                                                                               \
            M mask = k == K - 1 ? last : MASK(W);                                                                   \
            STOREM(p + k * W, mask, P[k]); STOREM(m + k * W, mask, Mo[k]); STOREM(q + k * W, mask, Q[k]);          \
        }                                                                                                           \
    }                                                                                                               \
    __attribute__((target(TARGET))) static inline void catch_up_block_##SUFFIX(                                    \
        float *p, float *g, float *m, float *q, M mask, V a_decay, V drift, V c0, V mom_decay, V sqr_decay, V mom,  \
        V damp_mom, V sqr_mom, V damp_sqr, V wd, V c, V step, V eps) {                                              \
        V mj = LOADM(mask, m), qj = LOADM(mask, q);                                                                 \
        V pj = MUL(SUB(LOADM(mask, p), MUL(drift, DIV(mj, ADD(MUL(qj, c0), eps)))), a_decay);                       \
        V gj = LOADM(mask, g);                                                                                      \
        mj = ADD(MUL(mom, MUL(mj, mom_decay)), MUL(damp_mom, gj));                                                  \
        qj = MUL(qj, sqr_decay);                                                                                    \
        qj = SQRT(ADD(MUL(sqr_mom, MUL(qj, qj)), MUL(damp_sqr, MUL(gj, gj))));                                      \
        pj = SUB(MUL(pj, wd), MUL(step, DIV(mj, ADD(MUL(qj, c), eps))));                                            \
        STOREM(m, mask, mj); STOREM(q, mask, qj); STOREM(p, mask, pj); STOREM(g, mask, ZERO());                     \
    }                                                                                                               \
    __attribute__((target(TARGET))) static void catch_up_step_##SUFFIX(float *p, float *g, float *m, float *q,      \
                                                                        size_t n, const embtool_sparse_absence *a,  \
                                                                        const embtool_adam_scalars *s) {            \
        const V a_decay = SET1(a->decay), drift = SET1(a->drift), c0 = SET1(a->c);                                 \
        const V mom_decay = SET1(a->mom_decay), sqr_decay = SET1(a->sqr_decay);                                   \
        const V mom = SET1(s->mom), damp_mom = SET1(1.0f - s->mom), sqr_mom = SET1(s->sqr_mom);                    \
        const V damp_sqr = SET1(1.0f - s->sqr_mom), wd = SET1(s->decay), c = SET1(s->inv_sqrt_debias2);           \
        const V step = SET1(s->step_size), eps = SET1(s->eps);                                                      \
        size_t j = 0;                                                                                               \
        for (; j + W <= n; j += W)                                                                                  \
            catch_up_block_##SUFFIX(p + j, g + j, m + j, q + j, MASK(W), a_decay, drift, c0, mom_decay, sqr_decay,  \
                                    mom, damp_mom, sqr_mom, damp_sqr, wd, c, step, eps);                            \
        if (j < n)                                                                                                  \
            catch_up_block_##SUFFIX(p + j, g + j, m + j, q + j, MASK(n - j), a_decay, drift, c0, mom_decay,         \
                                    sqr_decay, mom, damp_mom, sqr_mom, damp_sqr, wd, c, step, eps);                 \
    }                                                                                                               \
    __attribute__((target(TARGET))) static void replay_##SUFFIX(float *p, float *m, float *q, size_t n,           \
                                                                 const embtool_adam_scalars *steps, size_t count) { \
        size_t j = 0;                                                                                               \
        for (; j + 4 * W <= n; j += 4 * W) replay_chunk_##SUFFIX(p + j, m + j, q + j, 4, MASK(W), steps, count);    \
        size_t rest = n - j;                                                                                        \
        if (rest == 0) return;                                                                                      \
        M last = MASK(rest % W == 0 ? W : rest % W);                                                                \
        switch ((rest + W - 1) / W) {                                                                               \
        case 1: replay_chunk_##SUFFIX(p + j, m + j, q + j, 1, last, steps, count); break;                           \
        case 2: replay_chunk_##SUFFIX(p + j, m + j, q + j, 2, last, steps, count); break;                           \
        case 3: replay_chunk_##SUFFIX(p + j, m + j, q + j, 3, last, steps, count); break;                           \
        default: replay_chunk_##SUFFIX(p + j, m + j, q + j, 4, last, steps, count); break;                          \
        }                                                                                                           \
    }

// AVX: masks from a table, eight lanes of -1 then eight of 0 (AVX has no integer compare on 256 bits).
static const int avx_mask_table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
#define AVX_MASK(k) _mm256_loadu_si256((const __m256i *)(avx_mask_table + 8 - (k)))
#define AVX_LOADM(mask, ptr) _mm256_maskload_ps(ptr, mask)
#define AVX_STOREM(ptr, mask, v) _mm256_maskstore_ps(ptr, mask, v)
ADAM_VARIANTS(avx, "avx", __m256, __m256i, 8, AVX_MASK, _mm256_set1_ps, _mm256_loadu_ps, _mm256_storeu_ps, AVX_LOADM,
              AVX_STOREM, _mm256_add_ps, _mm256_sub_ps, _mm256_mul_ps, _mm256_div_ps, _mm256_sqrt_ps, _mm256_setzero_ps)

#define AVX512_MASK(k) ((__mmask16)((1u << (k)) - 1u))
#define AVX512_LOADM(mask, ptr) _mm512_maskz_loadu_ps(mask, ptr)
#define AVX512_STOREM(ptr, mask, v) _mm512_mask_storeu_ps(ptr, mask, v)
ADAM_VARIANTS(avx512, "avx512f", __m512, __mmask16, 16, AVX512_MASK, _mm512_set1_ps, _mm512_loadu_ps, _mm512_storeu_ps,
              AVX512_LOADM, AVX512_STOREM, _mm512_add_ps, _mm512_sub_ps, _mm512_mul_ps, _mm512_div_ps, _mm512_sqrt_ps,
              _mm512_setzero_ps)
#endif

typedef void (*step_fn)(float *, float *, float *, float *, size_t, const embtool_adam_scalars *);
typedef void (*zero_fn)(float *, float *, float *, size_t, const embtool_adam_scalars *);
typedef void (*catch_up_fn)(float *, float *, float *, float *, size_t, const embtool_sparse_absence *,
                            const embtool_adam_scalars *);
typedef void (*replay_fn)(float *, float *, float *, size_t, const embtool_adam_scalars *, size_t);

#if defined(__x86_64__)
static const step_fn step_variants[] = {step_portable, step_avx, step_avx512};
static const zero_fn zero_variants[] = {zero_portable, zero_avx, zero_avx512};
static const replay_fn replay_variants[] = {replay_portable, replay_avx, replay_avx512};
static const catch_up_fn catch_up_variants[] = {catch_up_step_portable, catch_up_step_avx, catch_up_step_avx512};
#else
static const step_fn step_variants[] = {step_portable};
static const zero_fn zero_variants[] = {zero_portable};
static const replay_fn replay_variants[] = {replay_portable};
static const catch_up_fn catch_up_variants[] = {catch_up_step_portable};
#endif
static int level = 0;

int embtool_adam_supported_level(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    // AVX-512 and AVX need the OS to save their registers; __builtin_cpu_supports checks that too.
    if (__builtin_cpu_supports("avx512f")) return 2;
    if (__builtin_cpu_supports("avx")) return 1;
#endif
    return 0;
}

__attribute__((constructor)) static void choose_level(void) { level = embtool_adam_supported_level(); }

int embtool_adam_level(void) { return level; }

int embtool_adam_set_level(int wanted) {
    int supported = embtool_adam_supported_level();
    level = wanted < 0 ? 0 : (wanted > supported ? supported : wanted);
    return level;
}

void embtool_adam_step(float *p, float *g, float *m, float *q, size_t n, const embtool_adam_scalars *s) {
    step_variants[level](p, g, m, q, n, s);
}

void embtool_adam_zero_gradient_step(float *p, float *m, float *q, size_t n, const embtool_adam_scalars *s) {
    zero_variants[level](p, m, q, n, s);
}

void embtool_adam_replay_zero_gradient_steps(float *p, float *m, float *q, size_t n, const embtool_adam_scalars *steps,
                                            size_t count) {
    if (count > 0) replay_variants[level](p, m, q, n, steps, count);
}

void embtool_adam_catch_up_step(float *p, float *g, float *m, float *q, size_t n, const embtool_sparse_absence *a,
                                const embtool_adam_scalars *s) {
    catch_up_variants[level](p, g, m, q, n, a, s);
}
