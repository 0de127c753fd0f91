#include "sha256_blocks.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

// The SHA extensions keep the state as two vectors, ABEF and CDGH (word A in the high lane), and take
// two rounds per sha256rnds2 with the message words already added to the round constants.
// sha256msg1/msg2 compute the schedule four words at a time: for the group W[t..t+3],
//   msg1(W[t-16..t-13], W[t-12..t-9])  = W[t-16..t-13] + σ0(W[t-15..t-12]),
//   + W[t-7..t-4]                         (the two previous groups shifted by one word),
//   msg2(that, W[t-4..t-1])             adds σ1(W[t-2..t+1]), the last two from the first two.
__attribute__((target("sha,sse4.1,ssse3"))) static void blocks_sha(uint32_t *h, const uint8_t *data, size_t blocks) {
    const __m128i byte_swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i dcba = _mm_loadu_si128((const __m128i *)h);
    __m128i hgfe = _mm_loadu_si128((const __m128i *)(h + 4));
    __m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);
    __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);
    __m128i abef = _mm_alignr_epi8(cdab, efgh, 8);
    __m128i cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);

    for (; blocks > 0; blocks--, data += 64) {
        const __m128i abef_before = abef, cdgh_before = cdgh;
        __m128i w[4];
        for (int i = 0; i < 16; i++) {
            __m128i group;
            if (i < 4) {
                group = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 16 * i)), byte_swap);
            } else {
                __m128i partial = _mm_sha256msg1_epu32(w[i & 3], w[(i + 1) & 3]);
                partial = _mm_add_epi32(partial, _mm_alignr_epi8(w[(i + 3) & 3], w[(i + 2) & 3], 4));
                group = _mm_sha256msg2_epu32(partial, w[(i + 3) & 3]);
            }
            w[i & 3] = group;
            __m128i wk = _mm_add_epi32(group, _mm_loadu_si128((const __m128i *)(K + 4 * i)));
            cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);
            abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(wk, 0x0E));
        }
        abef = _mm_add_epi32(abef, abef_before);
        cdgh = _mm_add_epi32(cdgh, cdgh_before);
    }

    __m128i feba = _mm_shuffle_epi32(abef, 0x1B);
    __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
    _mm_storeu_si128((__m128i *)h, _mm_blend_epi16(feba, dchg, 0xF0));
    _mm_storeu_si128((__m128i *)(h + 4), _mm_alignr_epi8(dchg, feba, 8));
}
#endif

int embtool_sha256_has_extensions(void) {
#if defined(__x86_64__)
    unsigned a, b, c, d;
    // CPUID.(EAX=7, ECX=0):EBX bit 29 is SHA; its instructions use SSE registers, which every x86-64 OS saves.
    return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b >> 29 & 1);
#else
    return 0;
#endif
}

void embtool_sha256_blocks_extensions(uint32_t *state, const uint8_t *data, size_t blocks) {
#if defined(__x86_64__)
    if (blocks > 0) blocks_sha(state, data, blocks);
#else
    (void)state; (void)data; (void)blocks;
#endif
}
