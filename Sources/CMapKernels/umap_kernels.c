#include "umap_kernels.h"
#include <stdlib.h>
#include <string.h>

// Eight float lanes; on AVX2 one register, otherwise the compiler splits each operation in two.
typedef float f8 __attribute__((vector_size(32)));
typedef int32_t i8 __attribute__((vector_size(32)));
typedef uint32_t u8 __attribute__((vector_size(32)));
typedef float f4 __attribute__((vector_size(16)));

#define INLINE static inline __attribute__((always_inline))

INLINE f8 splat(float x) { return (f8){x, x, x, x, x, x, x, x}; }
INLINE f8 select8(i8 mask, f8 yes, f8 no) { return (f8)((mask & (i8)yes) | (~mask & (i8)no)); }
INLINE f8 at_least(f8 v, float floor) { return select8(v < splat(floor), splat(floor), v); }
INLINE f8 at_most(f8 v, float ceiling) { return select8(v > splat(ceiling), splat(ceiling), v); }

// log2(x) for normal x > 0: x = 2^e * m with m in [sqrt(1/2), sqrt(2)), log2(m) = (2/ln 2) atanh(t),
// t = (m - 1)/(m + 1), by an odd polynomial to t^5 (largest error 3.3e-8).
INLINE f8 fast_log2(f8 x) {
    u8 bits = (u8)x;
    i8 e = (i8)(bits - 0x3F3504F3u) >> 23;
    f8 m = (f8)(bits - ((u8)e << 23));
    f8 t = (m - splat(1)) / (m + splat(1)), t2 = t * t;
    f8 series = t2 * splat(0.5994649100f) + splat(0.9614543622f);
    series = series * t2 + splat(2.8853913955f);
    return __builtin_convertvector(e, f8) + t * series;
}

// 2^y: y = i + f, f in [-1/2, 1/2], 2^f by a polynomial to f^5 (relative error 8.3e-8), 2^i by the
// exponent bits; y clamped to [-126, 126]; i rounded by adding and subtracting 1.5 * 2^23.
INLINE f8 fast_exp2(f8 y) {
    y = at_most(at_least(y, -126), 126);
    f8 shifted = y + splat(12582912.0f);
    f8 f = y - (shifted - splat(12582912.0f));
    f8 p = f * splat(0.0013280815f) + splat(0.0096770464f);
    p = p * f + splat(0.0555071204f);
    p = p * f + splat(0.2402208705f);
    p = p * f + splat(0.6931469566f);
    p = p * f + splat(1.0000000797f);
    i8 exponent = ((i8)shifted - 0x4B400000) + 127;
    return p * (f8)(exponent << 23);
}

// Per-lane constants of a block: kind 0 starts a sample (lane 0 the edge's attraction, the rest
// negative samples), kind 1 continues one (all negative samples).
typedef struct {
    f8 c0, c1, epsilon, weight;
} lane_terms;

static const f8 lane_numbers = {0, 1, 2, 3, 4, 5, 6, 7};

static lane_terms make_terms(int edge_lane, float b, float gamma) {
    lane_terms t;
    for (int k = 0; k < 8; k++) {
        float edge = (edge_lane && k == 0) ? 1.0f : 0.0f;
        t.c0[k] = (1 - edge) * (2 * gamma * b);
        t.c1[k] = edge * (-2 * b);
        t.epsilon[k] = (1 - edge) * 0.001f;
        t.weight[k] = 1 + edge;
    }
    return t;
}

// One block's summed, clipped gradient at p (x, y), times alpha, added to p:
//   c = (c0 + c1 a d^(2b)) / ((d^2 + eps)(1 + a d^(2b))),  p += alpha * sum(w * clip(c (p - o)))
// Lanes numbered `used` or more weigh nothing. The sum adds lane k and k + 4, then the two pairs.
INLINE void step_block(float *px, float *py, const float *block, float used, const lane_terms *t, float a, float b,
                       float alpha) {
    f8 dx = splat(*px) - *(const f8 *)block, dy = splat(*py) - *(const f8 *)(block + 8);
    f8 weight = t->weight * at_most(at_least(splat(used) - lane_numbers, 0), 1);
    f8 d2 = at_least(dx * dx + dy * dy, 1e-30f);
    f8 ap = splat(a) * fast_exp2(splat(b) * fast_log2(d2));
    f8 coefficient = (t->c0 + t->c1 * ap) / ((d2 + t->epsilon) * (ap + splat(1)));
    f8 gx = weight * at_most(at_least(coefficient * dx, -4), 4);
    f8 gy = weight * at_most(at_least(coefficient * dy, -4), 4);
    f4 sx = __builtin_shufflevector(gx, gx, 0, 1, 2, 3) + __builtin_shufflevector(gx, gx, 4, 5, 6, 7);
    f4 sy = __builtin_shufflevector(gy, gy, 0, 1, 2, 3) + __builtin_shufflevector(gy, gy, 4, 5, 6, 7);
    *px = *px + ((sx[0] + sx[2]) + (sx[1] + sx[3])) * alpha;
    *py = *py + ((sy[0] + sy[2]) + (sy[1] + sy[3])) * alpha;
}

// SplitMix64's finaliser over (seed, a, b), as EmbeddingAnalysis' CounterHash.
static inline uint64_t counter_hash(uint64_t seed, uint64_t a, uint64_t b) {
    uint64_t z = seed + a * 0x9E3779B97F4A7C15ull + b * 0xD1B54A32D192ED03ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// Two indices uniform in 0..<n from one SplitMix64 output (Lemire's multiply-shift on each half).
static inline void two_below(uint64_t *state, uint64_t n, intptr_t *k1, intptr_t *k2) {
    *state += 0x9E3779B97F4A7C15ull;
    uint64_t z = *state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    uint64_t m = (uint32_t)n;
    *k1 = (intptr_t)(((z >> 32) * m) >> 32);
    *k2 = (intptr_t)(((z & 0xFFFFFFFFull) * m) >> 32);
}

static void reserve(embtool_umap_scratch *s, intptr_t blocks) {
    if (blocks <= s->capacity) return;
    intptr_t capacity = 2 * blocks;
    float *lanes = aligned_alloc(64, (size_t)capacity * 64);
    int32_t *used = malloc((size_t)capacity * sizeof(int32_t));
    uint8_t *kinds = malloc((size_t)capacity);
    if (!lanes || !used || !kinds) abort();
    memset(lanes, 0, (size_t)capacity * 64);  // unused lanes must hold finite values
    if (s->capacity > 0) {
        memcpy(lanes, s->lanes, (size_t)s->capacity * 64);
        memcpy(used, s->used, (size_t)s->capacity * sizeof(int32_t));
        memcpy(kinds, s->kinds, (size_t)s->capacity);
    }
    free(s->lanes);
    free(s->used);
    free(s->kinds);
    s->lanes = lanes;
    s->used = used;
    s->kinds = kinds;
    s->capacity = capacity;
}

static void reserve_due(embtool_umap_scratch *s, intptr_t edges) {
    if (edges <= s->due_capacity) return;
    free(s->due);
    s->due_capacity = 2 * edges;
    s->due = malloc((size_t)s->due_capacity * sizeof(int32_t));
    if (!s->due) abort();
}

void embtool_umap_scratch_free(embtool_umap_scratch *s) {
    free(s->due);
    free(s->lanes);
    free(s->used);
    free(s->kinds);
    *s = (embtool_umap_scratch){0};
}

// Point i's samples due this epoch, as blocks of eight lanes: a sample's first block holds the
// edge's other end in lane 0 and then its negative samples (a draw of i itself is skipped, as
// umap-learn skips it); a sample never shares a block with another. Returns the block count.
// The due edges are found first without a branch: whether an edge is due is a coin toss the
// branch predictor loses.
INLINE intptr_t fill_samples(const embtool_umap_epoch *s, intptr_t i, int32_t epoch, embtool_umap_scratch *scratch) {
    const float now = (float)epoch;
    const float *restrict old = s->old_positions;
    const float *restrict per_sample = s->per_sample, *restrict per_negative = s->per_negative;
    float *restrict next_sample = s->next_sample, *restrict next_negative = s->next_negative;
    const int32_t *restrict columns = s->columns;
    const intptr_t lo = s->row_start[i], hi = s->row_start[i + 1];
    reserve_due(scratch, hi - lo);
    int32_t *restrict due = scratch->due;
    intptr_t dueCount = 0;
    for (intptr_t e = lo; e < hi; e++) {
        due[dueCount] = (int32_t)(e - lo);
        dueCount += next_sample[e] <= now;
    }
    uint64_t rng = counter_hash(s->seed, (uint64_t)i, (uint64_t)epoch);
    const uint64_t n = (uint64_t)s->count;
    intptr_t count = 0;
    for (intptr_t d = 0; d < dueCount; d++) {
        const intptr_t e = lo + due[d];
        next_sample[e] += per_sample[e];
        float owed = (now - next_negative[e]) / per_negative[e];
        intptr_t negatives = owed >= 1 ? (owed < 1e9f ? (intptr_t)owed : 1000000000) : 0;
        next_negative[e] += (float)negatives * per_negative[e];
        reserve(scratch, count + ((negatives + 8) >> 3));
        float *restrict lanes = scratch->lanes;
        intptr_t block = count, lane = 0;
        uint8_t kind = 0;
#define PUT(k)                                       \
    do {                                             \
        float *at = lanes + 16 * block + lane;       \
        at[0] = old[2 * (k)];                        \
        at[8] = old[2 * (k) + 1];                    \
        if (++lane == 8) {                           \
            scratch->used[block] = 8;                \
            scratch->kinds[block] = kind;            \
            kind = 1;                                \
            lane = 0;                                \
            block++;                                 \
        }                                            \
    } while (0)
        PUT(columns[e]);
        for (intptr_t left = negatives; left > 0; left -= 2) {
            intptr_t k1, k2;
            two_below(&rng, n, &k1, &k2);
            if (k1 != i) PUT(k1);
            if (left > 1 && k2 != i) PUT(k2);
        }
#undef PUT
        if (lane > 0) {
            scratch->used[block] = (int32_t)lane;
            scratch->kinds[block] = kind;
            block++;
        }
        count = block;
    }
    return count;
}

INLINE void walk_block(float *px, float *py, const embtool_umap_scratch *s, intptr_t block, const lane_terms *terms,
                       float a, float b, float alpha) {
    step_block(px, py, s->lanes + 16 * block, (float)s->used[block], terms + s->kinds[block], a, b, alpha);
}

// Points `GROUP` at a time, their walks interleaved block by block: each walk is one long chain of
// dependent arithmetic, and independent points' chains can overlap in the CPU. Eight rather than
// two: the 59k-point layout's 200 epochs took 1.73-1.92 s instead of 2.09-2.22 s (AMD EPYC, 2 cores).
#define GROUP EMBTOOL_UMAP_SCRATCHES
INLINE void move_points(const embtool_umap_epoch *s, intptr_t first, intptr_t end, int32_t epoch, float alpha,
                        embtool_umap_scratch *scratch) {
    const lane_terms terms[2] = {make_terms(1, s->b, s->gamma), make_terms(0, s->b, s->gamma)};
    const float a = s->a, b = s->b;
    const float *old = s->old_positions;
    for (intptr_t i = first; i < end; i += GROUP) {
        const intptr_t members = end - i < GROUP ? end - i : GROUP;
        intptr_t blocks[GROUP] = {0}, most = 0;
        float x[GROUP], y[GROUP];
        for (intptr_t k = 0; k < members; k++) {
            blocks[k] = fill_samples(s, i + k, epoch, &scratch[k]);
            most = blocks[k] > most ? blocks[k] : most;
            x[k] = old[2 * (i + k)];
            y[k] = old[2 * (i + k) + 1];
        }
        for (intptr_t block = 0; block < most; block++)
            for (intptr_t k = 0; k < GROUP; k++)
                if (block < blocks[k]) walk_block(&x[k], &y[k], &scratch[k], block, terms, a, b, alpha);
        for (intptr_t k = 0; k < members; k++) {
            s->new_positions[2 * (i + k)] = x[k];
            s->new_positions[2 * (i + k) + 1] = y[k];
        }
    }
}

static void move_points_portable(const embtool_umap_epoch *s, intptr_t first, intptr_t end, int32_t epoch,
                                 float alpha, embtool_umap_scratch *scratch) {
    move_points(s, first, end, epoch, alpha, scratch);
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) static void move_points_avx2(const embtool_umap_epoch *s, intptr_t first,
                                                              intptr_t end, int32_t epoch, float alpha,
                                                              embtool_umap_scratch *scratch) {
    move_points(s, first, end, epoch, alpha, scratch);
}
#endif

typedef void (*move_fn)(const embtool_umap_epoch *, intptr_t, intptr_t, int32_t, float, embtool_umap_scratch *);
#if defined(__x86_64__)
static const move_fn variants[] = {move_points_portable, move_points_avx2};
#else
static const move_fn variants[] = {move_points_portable};
#endif
static int level = 0;

static int supported_level(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) return 1;
#endif
    return 0;
}

__attribute__((constructor)) static void choose_level(void) { level = supported_level(); }

int embtool_umap_level(void) { return level; }

int embtool_umap_set_level(int wanted) {
    int supported = supported_level();
    level = wanted < 0 ? 0 : (wanted > supported ? supported : wanted);
    return level;
}

void embtool_umap_move_points(const embtool_umap_epoch *s, intptr_t first, intptr_t end, int32_t epoch, float alpha,
                              embtool_umap_scratch *scratch) {
    variants[level](s, first, end, epoch, alpha, scratch);
}

void embtool_umap_fast_pow(const float *x, float *out, size_t n, float b) {
    for (size_t j = 0; j < n; j += 8) {
        f8 v = splat(1);
        for (size_t k = 0; k < 8 && j + k < n; k++) v[k] = x[j + k];
        f8 r = fast_exp2(splat(b) * fast_log2(v));
        for (size_t k = 0; k < 8 && j + k < n; k++) out[j + k] = r[k];
    }
}
