#ifndef EMBTOOL_SHA256_BLOCKS_H
#define EMBTOOL_SHA256_BLOCKS_H
// SHA-256's compression function for the training-data fingerprint a model records: 300 MB for 25M
// ratings, which the Swift code in EmbeddingCore hashes at about 270 MB/s. The x86 SHA extensions
// (Intel since Goldmont and Ice Lake, AMD since Zen) do several times that; without them the
// portable C below runs. Padding and the digest stay with `SHA256` in EmbeddingCore.

#include <stddef.h>
#include <stdint.h>

/// FIPS 180-4 §6.2.2 over `blocks` consecutive 64-byte blocks at `data`, updating the eight state
/// words H0..H7 in place.
void embtool_sha256_blocks(uint32_t *state, const uint8_t *data, size_t blocks);

/// The variant in use: 0 portable, 1 SHA extensions (chosen from the CPU when the library loads).
int embtool_sha256_level(void);
/// The variant the CPU supports at most.
int embtool_sha256_supported_level(void);
/// Uses variant `level` (at most the supported one; for tests). Returns the level set.
int embtool_sha256_set_level(int level);

#endif
