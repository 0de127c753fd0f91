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

static const u8 lane_indices = {0, 1, 2, 3, 4, 5, 6, 7};

// Lanes whose number is below `count` (any count; at most eight lanes are).
INLINE i8 lanes_below(intptr_t count) {
    const int32_t bound = count < 0 ? 0 : (count > 8 ? 8 : (int32_t)count);
    return (i8)lane_indices < bound;
}

// The coefficient table (embtool_umap_coefficient_table): for each kind (0 the pull, 1 a push),
// STEPS points per octave of d^2 from 2^-100 (float bits LOW_BITS) over OCTAVES octaves, each point
// a (value, slope to the next) pair. A d^2's segment is its float bits above LOW_BITS shifted right
// by SHIFT; the bits below are the position inside the segment.
#define TABLE_STEPS_LOG2 7
#define TABLE_OCTAVES 160
#define TABLE_SHIFT (23 - TABLE_STEPS_LOG2)
#define TABLE_POINTS ((TABLE_OCTAVES << TABLE_STEPS_LOG2) + 1)
#define TABLE_LOW_BITS (27u << 23)
#define TABLE_HIGH_BITS (TABLE_LOW_BITS + ((uint32_t)(TABLE_POINTS - 1) << TABLE_SHIFT) - 1)
_Static_assert(EMBTOOL_UMAP_TABLE_FLOATS == 4 * TABLE_POINTS, "the header's table size");

// SplitMix64's finaliser over (seed, a, b), as EmbeddingAnalysis' CounterHash.
static inline uint64_t counter_hash(uint64_t seed, uint64_t a, uint64_t b) {
    uint64_t z = seed + a * 0x9E3779B97F4A7C15ull + b * 0xD1B54A32D192ED03ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// Eight negative-sample indices below n: draw d of a point's epoch is
//   lowbias32((key_lo + d * 0x9E3779B9) ^ key_hi) * n >> 32
// (Wellons' lowbias32 mixer, then Lemire's multiply-shift), key the point's and epoch's
// counter_hash. 32-bit lanes throughout, so eight draws are one vector computation.
INLINE i8 draw_indices(uint32_t key_lo, uint32_t key_hi, uint32_t first_draw, uint32_t n) {
    u8 x = ((lane_indices + first_draw) * 0x9E3779B9u + key_lo) ^ key_hi;
    x ^= x >> 16;
    x *= 0x7FEB352Du;
    x ^= x >> 15;
    x *= 0x846CA68Bu;
    x ^= x >> 16;
    typedef uint64_t u4_64 __attribute__((vector_size(32)));
    u4_64 even = (u4_64)x & 0xFFFFFFFFull, odd = (u4_64)x >> 32;
    even = (even * (uint64_t)n) >> 32;
    odd = (odd * (uint64_t)n) & 0xFFFFFFFF00000000ull;
    return (i8)(even | odd);
}

// The (x, y) rows of `positions` at eight indices, as an x vector and a y vector.
INLINE void gather_rows(const float *positions, i8 index, f8 *x, f8 *y) {
    typedef uint64_t u4_64 __attribute__((vector_size(32)));
    uint64_t row[8];
    for (int k = 0; k < 8; k++) memcpy(&row[k], positions + 2 * (intptr_t)index[k], 8);
    u4_64 low = {row[0], row[1], row[2], row[3]}, high = {row[4], row[5], row[6], row[7]};
    f8 lf = (f8)low, hf = (f8)high;
    *x = __builtin_shufflevector(lf, hf, 0, 2, 4, 6, 8, 10, 12, 14);
    *y = __builtin_shufflevector(lf, hf, 1, 3, 5, 7, 9, 11, 13, 15);
}

// The table rows of eight lanes' d2, lane k from the row of its kind (kind_offset[k]: 0 the pull's,
// TABLE_POINTS a push's): the segment's value and slope, and the position within it.
INLINE void table_rows(const float *table, f8 d2, i8 kind_offset, f8 *value, f8 *slope, f8 *within) {
    const u8 low = (u8){0} + TABLE_LOW_BITS, high = (u8){0} + TABLE_HIGH_BITS;
    u8 bits = (u8)d2;
    i8 below = (i8)(bits < low), above = (i8)(bits > high);
    bits = (u8)((below & (i8)low) | (above & (i8)high) | (~(below | above) & (i8)bits));
    u8 offset = bits - low;
    i8 point = (i8)(offset >> TABLE_SHIFT) + kind_offset;
    *within = __builtin_convertvector((i8)(offset & ((1u << TABLE_SHIFT) - 1)), f8) * splat(1.0f / (1 << TABLE_SHIFT));
    gather_rows(table, point, value, slope);
}

// c(d2) for eight lanes: the table's linear interpolation.
INLINE f8 coefficients(const float *table, f8 d2, i8 kind_offset) {
    f8 value, slope, within;
    table_rows(table, d2, kind_offset, &value, &slope, &within);
    return value + within * slope;
}

void embtool_umap_coefficient_table(float a, float b, float gamma, float *table) {
    float previous[2] = {0, 0};
    for (intptr_t j = 0; j <= TABLE_POINTS; j++) {
        uint32_t bits = TABLE_LOW_BITS + ((uint32_t)j << TABLE_SHIFT);
        float d2;
        memcpy(&d2, &bits, 4);
        float ap = a * fast_exp2(splat(b) * fast_log2(splat(d2)))[0];
        float value[2] = {(-2 * b * ap) / (d2 * (ap + 1)), (2 * gamma * b) / ((d2 + 0.001f) * (ap + 1))};
        for (int kind = 0; kind < 2; kind++) {
            if (j > 0) {
                float *at = table + 2 * (kind * TABLE_POINTS + j - 1);
                at[0] = previous[kind];
                at[1] = value[kind] - previous[kind];
            }
            previous[kind] = value[kind];
        }
    }
}

float embtool_umap_coefficient(const float *table, float d2, int edge) {
    const i8 kind = (i8){0} + (edge ? 0 : TABLE_POINTS);
    return coefficients(table, splat(d2), kind)[0];
}

// Room for a point's due edges' other ends, `edges` of them, and a block's worth beyond (which the
// compaction writes and the lane loads may read).
static void reserve(embtool_umap_scratch *s, intptr_t edges) {
    if (edges + 8 <= s->capacity) return;
    free(s->pulls);
    s->capacity = 2 * edges + 8;
    s->pulls = malloc((size_t)s->capacity * sizeof(int32_t));
    if (!s->pulls) abort();
}

void embtool_umap_scratch_free(embtool_umap_scratch *s) {
    free(s->pulls);
    *s = (embtool_umap_scratch){0};
}

// The epoch's pool of negative samples: entry k is point draw_k (draw k of the epoch's stream, keyed
// by counter_hash(seed, POOL_STREAM, epoch)) with its position in the snapshot. Entries first..<end.
#define POOL_STREAM 0x706F6F6Cu  // "pool"
void embtool_umap_fill_pool(const embtool_umap_epoch *s, int32_t epoch, intptr_t first, intptr_t end) {
    const uint64_t key = counter_hash(s->seed, POOL_STREAM, (uint64_t)epoch);
    const float *old = s->old_positions;
    for (intptr_t k = first; k < end; k += 8) {
        const i8 index = draw_indices((uint32_t)key, (uint32_t)(key >> 32), (uint32_t)k, (uint32_t)s->count);
        f8 x, y;
        gather_rows(old, index, &x, &y);
        const intptr_t lanes = end - k < 8 ? end - k : 8;
        memcpy(s->pool_index + k, &index, (size_t)lanes * 4);
        memcpy(s->pool_x + k, &x, (size_t)lanes * 4);
        memcpy(s->pool_y + k, &y, (size_t)lanes * 4);
    }
}

void embtool_umap_wrap_pool(const embtool_umap_epoch *s) {
    const intptr_t size = s->pool_size;
    for (intptr_t j = 0; j < 8; j++) {
        s->pool_index[size + j] = s->pool_index[j];
        s->pool_x[size + j] = s->pool_x[j];
        s->pool_y[size + j] = s->pool_y[j];
        s->pool_index[-1 - j] = s->pool_index[size - 1 - j];
        s->pool_x[-1 - j] = s->pool_x[size - 1 - j];
        s->pool_y[-1 - j] = s->pool_y[size - 1 - j];
    }
}

// Point i's move in epoch `epoch`, alpha times the sum of its samples' clipped gradients, all taken
// at its position at the epoch's start (x, y). An edge of frequency f is due in an epoch t > 0 when
// floor(t * f) passes an integer. The point's samples are lanes g = 0, 1, ...: first one per due
// edge (a pull by the edge's other end, weight 2: both ends of an edge pull), then negative_rate
// negative samples per due edge, consecutive entries of the epoch's pool from a start drawn for the
// point, wrapping at its end (a push each, weight 1; none from i itself, as umap-learn skips them).
// Lane L of every block of eight adds into accumulator L; the eight are summed at the end (lane k
// with k + 4, then the pairs). `pulls` is room for the point's due edges' other ends.
INLINE void move_point(const embtool_umap_epoch *s, intptr_t i, int32_t epoch, uint64_t key, int32_t *pulls,
                       float alpha) {
    const intptr_t lo = s->row_start[i], hi = s->row_start[i + 1];
    const float *old = s->old_positions;
    const float now = (float)epoch, before = epoch > 0 ? (float)(epoch - 1) : now;  // nothing due in epoch 0
    // The due edges' other ends into pulls, eight edges at a time (frequency and columns have room
    // for eight past the last edge) and without a branch: whether an edge is due is a coin toss.
    intptr_t due = 0;
    for (intptr_t e = lo; e < hi; e += 8) {
        f8 f;
        i8 column;
        memcpy(&f, s->frequency + e, 32);
        memcpy(&column, s->columns + e, 32);
        const i8 is_due = (__builtin_convertvector(splat(now) * f, i8) > __builtin_convertvector(splat(before) * f, i8))
                          & lanes_below(hi - e);
        for (int k = 0; k < 8; k++) {
            pulls[due] = column[k];
            due -= is_due[k];  // -1 where due
        }
    }
    const intptr_t lanes = due + due * s->negative_rate, blocks = (lanes + 7) >> 3, size = s->pool_size;
    // The pool entry under lane 0 of the current block (lane g holds push g - due): from -8 on, as
    // a block holding a push starts at most 7 lanes before the first.
    intptr_t entry = (intptr_t)(((uint64_t)(uint32_t)key * (uint64_t)size) >> 32) - due;
    const float x = old[2 * i], y = old[2 * i + 1];
    const f8 px = splat(x), py = splat(y);
    const float *table = s->coefficients;
    // A three-stage pipeline over the blocks, so that no stage waits on its own loads: block t's
    // positions (A), block t - 1's distances and table rows (B), block t - 2's gradient (C).
    f8 a_x = splat(0), a_y = splat(0), a_weight = splat(0);
    i8 a_kind = (i8){0};
    f8 b_dx = splat(0), b_dy = splat(0), b_weight = splat(0), b_value = splat(0), b_slope = splat(0), b_within = splat(0);
    f8 sum_x = splat(0), sum_y = splat(0);
    for (intptr_t t = 0; t < blocks + 2; t++) {
        if (t >= 2) {  // C: block t - 2
            const f8 coefficient = b_value + b_within * b_slope;
            sum_x += b_weight * at_most(at_least(coefficient * b_dx, -4), 4);
            sum_y += b_weight * at_most(at_least(coefficient * b_dy, -4), 4);
        }
        if (t >= 1 && t <= blocks) {  // B: block t - 1
            b_dx = px - a_x;
            b_dy = py - a_y;
            b_weight = a_weight;
            table_rows(table, b_dx * b_dx + b_dy * b_dy, a_kind, &b_value, &b_slope, &b_within);
        }
        if (t < blocks) {  // A: block t
            const intptr_t g = 8 * t;
            const i8 pull = lanes_below(due - g);
            i8 index = (i8){0};
            if (g + 8 > due) {  // pushes: the pool's entries, read straight
                if (entry >= size) entry -= size;
                memcpy(&index, s->pool_index + entry, 32);
                memcpy(&a_x, s->pool_x + entry, 32);
                memcpy(&a_y, s->pool_y + entry, 32);
            }
            if (g < due) {  // pulls: the edges' other ends, gathered
                i8 column;
                f8 column_x, column_y;
                memcpy(&column, pulls + g, 32);
                gather_rows(old, pull & column, &column_x, &column_y);
                index = (pull & column) | (~pull & index);
                a_x = select8(pull, column_x, a_x);
                a_y = select8(pull, column_y, a_y);
            }
            entry += 8;
            const i8 keep = lanes_below(lanes - g) & (pull | (index != (int32_t)i));
            a_weight = (f8)(keep & (i8)(splat(1) + (f8)((i8)splat(1) & pull)));
            a_kind = ~pull & ((i8){0} + TABLE_POINTS);
        }
    }
    const f4 hx = __builtin_shufflevector(sum_x, sum_x, 0, 1, 2, 3) + __builtin_shufflevector(sum_x, sum_x, 4, 5, 6, 7);
    const f4 hy = __builtin_shufflevector(sum_y, sum_y, 0, 1, 2, 3) + __builtin_shufflevector(sum_y, sum_y, 4, 5, 6, 7);
    s->new_positions[2 * i] = x + ((hx[0] + hx[2]) + (hx[1] + hx[3])) * alpha;
    s->new_positions[2 * i + 1] = y + ((hy[0] + hy[2]) + (hy[1] + hy[3])) * alpha;
}

// Points first..<end.
INLINE void move_points(const embtool_umap_epoch *s, intptr_t first, intptr_t end, int32_t epoch, float alpha,
                        embtool_umap_scratch *scratch) {
    for (intptr_t i = first; i < end; i++) {
        reserve(scratch, s->row_start[i + 1] - s->row_start[i]);
        const uint64_t key = counter_hash(s->seed, (uint64_t)i, (uint64_t)epoch);
        move_point(s, i, epoch, key, scratch->pulls, alpha);
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
