#ifndef EMBTOOL_CLAPACK_SHIM_H
#define EMBTOOL_CLAPACK_SHIM_H
// Debian puts OpenBLAS's cblas.h under the multiarch include folder
// (/usr/include/<triplet>/cblas.h), which is on the compiler's default search
// path, so a plain include stays portable across architectures.
#include <cblas.h>
#include <lapacke.h>

// A hint to start loading the cache line holding `p` (Swift has no prefetch
// of its own). Training prefetches the rows of the next ratings while it
// computes the current one.
static inline void embtool_prefetch(const void *p) { __builtin_prefetch(p, 1, 3); }
#endif
