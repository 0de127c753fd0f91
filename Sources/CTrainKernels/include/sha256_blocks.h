#ifndef EMBTOOL_SHA256_BLOCKS_H
#define EMBTOOL_SHA256_BLOCKS_H
// SHA-256's compression function on the x86 SHA extensions (Intel since Goldmont and Ice Lake, AMD
// since Zen), for the training-data fingerprint a model records: 300 MB for 25M ratings, which the
// Swift function in EmbeddingCore hashes at about 270 MB/s. Padding and the digest stay with
// `SHA256` in EmbeddingCore, which also runs its own function on CPUs without the extensions.

#include <stddef.h>
#include <stdint.h>

/// Whether the CPU has the SHA extensions.
int embtool_sha256_has_extensions(void);

/// FIPS 180-4 §6.2.2 over `blocks` consecutive 64-byte blocks at `data`, updating the eight state
/// words H0..H7 in place. Only where `embtool_sha256_has_extensions()`.
void embtool_sha256_blocks_extensions(uint32_t *state, const uint8_t *data, size_t blocks);

#endif
