#ifndef EMBTOOL_ADAM_KERNELS_H
#define EMBTOOL_ADAM_KERNELS_H
// Adam's two updates (fastai's Adam, as EmbeddingTrain's `AdamStep` writes them) on the widest
// vectors the CPU has: AVX-512F, else AVX, else the portable loop. Every variant performs the same
// IEEE operations in the same order (multiplications, additions, one division and one square root
// per element; no fused multiply-add: the target is compiled with -ffp-contract=off), so each gives
// the bits of `AdamStep.apply` / `applyZeroGradient` whatever the CPU. Two more kernels chain them
// for the trainers that step rows lazily: a run of zero-gradient steps with the row in registers
// (recipe fastai), and recipe sparse's catch-up fused with its step.

#include <stddef.h>

/// The scalars of one step (see `AdamStep`): q holds sqrt(v).
typedef struct {
    float decay;            // 1 - lr*wd (1 without weight decay)
    float mom;              // beta1
    float sqr_mom;          // sqr_mom
    float sqrt_sqr_mom;     // sqrt(sqr_mom)
    float inv_sqrt_debias2; // 1 / sqrt(1 - sqr_mom^t)
    float step_size;        // lr / (1 - mom^t)
    float eps;
} embtool_adam_scalars;

/// m = mom*m + (1-mom)*g;  q = sqrt(sqr_mom*q*q + (1-sqr_mom)*g*g);
/// p = p*decay - step_size*(m/(q*c + eps));  g = 0.
void embtool_adam_step(float *p, float *g, float *m, float *q, size_t n, const embtool_adam_scalars *s);

/// The same step where g = 0: m = mom*m;  q = sqrt_sqr_mom*q;  p = p*decay - step_size*(m/(q*c + eps)).
void embtool_adam_zero_gradient_step(float *p, float *m, float *q, size_t n, const embtool_adam_scalars *s);

/// `count` zero-gradient steps one after the other, step k with the scalars `steps[k]`: the bits
/// of calling `embtool_adam_zero_gradient_step` once per step, but each element is loaded and
/// stored once (it stays in a register through all the steps).
void embtool_adam_replay_zero_gradient_steps(float *p, float *m, float *q, size_t n, const embtool_adam_scalars *steps,
                                            size_t count);

/// What the steps a row of recipe sparse sat out did to it (`SparseAdam.Absence`).
typedef struct {
    float decay;     // product of the missed steps' 1 - lr*wd
    float drift;     // the momentum's drift, in closed form
    float c;         // 1 / sqrt(1 - sqr_mom^t) of the first missed step
    float mom_decay; // product of the missed steps' beta1
    float sqr_decay; // sqrt(sqr_mom)^missed
} embtool_sparse_absence;

/// Recipe sparse's catch-up then full step, in one pass:
/// p = (p - drift*(m/(q*c_a + eps)))*decay_a;  m = mom*(m*mom_decay) + (1-mom)*g;  q = q*sqr_decay;
/// then the full step from that state (as `embtool_adam_step`), and g = 0.
void embtool_adam_catch_up_step(float *p, float *g, float *m, float *q, size_t n, const embtool_sparse_absence *a,
                                const embtool_adam_scalars *s);

/// The variant in use: 0 portable, 1 AVX, 2 AVX-512F (chosen from the CPU when the library loads).
int embtool_adam_level(void);
/// The variant the CPU supports at most.
int embtool_adam_supported_level(void);
/// Uses variant `level` (at most the supported one; for tests). Returns the level set.
int embtool_adam_set_level(int level);

#endif
