#ifndef EMBTOOL_CLAPACK_SHIM_H
#define EMBTOOL_CLAPACK_SHIM_H
// Debian puts OpenBLAS's cblas.h under the multiarch include folder
// (/usr/include/<triplet>/cblas.h), which is on the compiler's default search
// path, so a plain include stays portable across architectures.
#include <cblas.h>
#include <lapacke.h>
#endif
