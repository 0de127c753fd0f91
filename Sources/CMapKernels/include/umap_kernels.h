#ifndef EMBTOOL_UMAP_KERNELS_H
#define EMBTOOL_UMAP_KERNELS_H
// One epoch of UMAP's layout SGD for a range of points (EmbeddingAnalysis' `UMAPLayout` documents
// the algorithm). Eight lanes at a time: on AVX2 in one register, elsewhere in two SSE halves. Every
// variant performs the same IEEE operations in the same order (no fused multiply-add: the target is
// compiled with -ffp-contract=off), so a seed gives the same layout on every x86-64 CPU.

#include <stddef.h>
#include <stdint.h>

/// What an epoch reads and writes. Within an epoch each point moves only itself, reading the others
/// in `old_positions` (the epoch before), and writes its own row of `new_positions`, so disjoint
/// ranges of points can run on different threads.
typedef struct {
    intptr_t count;                // points
    const intptr_t *row_start;     // count + 1 offsets into columns
    const int32_t *columns;        // the other end of each edge, and room for 8 past the last
    const float *frequency;        // each edge's samples per epoch: w / w_max, and room for 8 past the last
    int32_t negative_rate;         // negative samples per sample
    const float *old_positions;    // count x 2
    float *new_positions;          // count x 2
    const float *coefficients;     // embtool_umap_coefficient_table's table for the layout's a, b, gamma
    uint64_t seed;
    // The epoch's negative samples (embtool_umap_fill_pool): pool_size entries (at least 8), each a
    // point and its snapshot position, with room for 8 entries before the first and after the last.
    intptr_t pool_size;
    int32_t *pool_index;
    float *pool_x;
    float *pool_y;
} embtool_umap_epoch;

/// Fills entries first..<end of the epoch's pool: entry k is a point drawn uniformly by a
/// counter-based hash of (seed, epoch, k), with its position in old_positions. Disjoint ranges can
/// run on different threads; then embtool_umap_wrap_pool, before embtool_umap_move_points.
void embtool_umap_fill_pool(const embtool_umap_epoch *epoch_state, int32_t epoch, intptr_t first, intptr_t end);

/// Copies the pool's first 8 entries after its last and its last 8 before its first, so that 8
/// consecutive entries can be read from any start in -8 ..< pool_size, wrapping.
void embtool_umap_wrap_pool(const embtool_umap_epoch *epoch_state);

/// The gradient's coefficient as a function of d^2, tabulated: a pull along an edge is
/// c(d^2) (p - o) with c = -2ab d^(2(b-1)) / (1 + a d^(2b)), a push by a negative sample
/// c = 2 gamma b / ((0.001 + d^2)(1 + a d^(2b))). The table holds both at 2^7 points per octave of
/// d^2 from 2^-100 to 2^60, with the slope to the next point; a lane reads its segment by the float
/// bits of d^2 and interpolates linearly (relative error below 1e-4; d^2 beyond 2^60 reads the last
/// point). The points are computed with the kernel's x^b, in float, so the table is the same on
/// every CPU.
#define EMBTOOL_UMAP_TABLE_FLOATS 81924  // 4 x (160 octaves x 128 points + 1)
void embtool_umap_coefficient_table(float a, float b, float gamma, float *table);

/// c(d2) as a lane of the kernel reads it from `table`: the pull's (`edge` 1) or a push's (0).
float embtool_umap_coefficient(const float *table, float d2, int edge);

/// A worker's scratch: a point's due edges' other ends. Start zeroed; grows as needed; release with
/// embtool_umap_scratch_free.
typedef struct {
    int32_t *pulls;
    intptr_t capacity;
} embtool_umap_scratch;

/// Moves points first..<end for epoch `epoch` at learning rate `alpha`, using `scratch` (one call at
/// a time).
void embtool_umap_move_points(const embtool_umap_epoch *epoch_state, intptr_t first, intptr_t end, int32_t epoch,
                              float alpha, embtool_umap_scratch *scratch);

void embtool_umap_scratch_free(embtool_umap_scratch *scratch);

/// x^b for each of n normal x > 0 as the coefficient table computes it, 2^(b log2 x) by two short
/// polynomials (relative error below 2e-6 for x in [1e-4, 1e4]); for tests.
void embtool_umap_fast_pow(const float *x, float *out, size_t n, float b);

/// The variant in use: 0 portable, 1 AVX2 (chosen from the CPU when the library loads).
int embtool_umap_level(void);
/// Uses variant `level` (at most the supported one; for tests). Returns the level set.
int embtool_umap_set_level(int level);

#endif
