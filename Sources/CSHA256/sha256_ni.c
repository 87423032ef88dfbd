// SHA-256 compression with the x86 SHA extensions (SHA-NI).
//
// The structure follows Intel's published reference sequence: the state is kept as two
// vectors (ABEF, CDGH) because that is the layout _mm_sha256rnds2_epu32 consumes, each
// _mm_sha256rnds2_epu32 performs two rounds, and the message schedule for the next four
// rounds is produced with msg1/msg2 while the current rounds run.
//
// The target attribute lives on the function (not on the command line) so the package
// builds without global -msha flags; the caller must check csha256_ni_available() first.

#include "csha256.h"

#include <errno.h>
#if defined(__linux__)
#include <sys/random.h>
#endif

// Lives here only because Swift's Glibc module does not export getrandom(2); SystemRandom calls it.
long csha256_getrandom(void *buffer, size_t length) {
#if defined(__linux__)
    return (long)getrandom(buffer, length, 0);
#else
    (void)buffer;
    (void)length;
    errno = ENOSYS;
    return -1;
#endif
}

#if defined(__x86_64__) || defined(__i386__)

#include <cpuid.h>
#include <immintrin.h>

int csha256_ni_available(void) {
    unsigned int eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) {
        return 0;
    }
    // SSSE3 provides pshufb (byte swap) and SSE4.1 provides pblendw, both used below.
    const int has_ssse3 = (ecx & bit_SSSE3) != 0;
    const int has_sse41 = (ecx & bit_SSE4_1) != 0;
    const int has_sse2 = (edx & bit_SSE2) != 0;
    // __get_cpuid_count fails when leaf 7 is above the CPU's maximum basic leaf.
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) {
        return 0;
    }
    const int has_sha = (ebx & (1u << 29)) != 0;
    return has_sse2 && has_ssse3 && has_sse41 && has_sha;
}

static const uint32_t csha256_k[64] __attribute__((aligned(16))) = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

// Four rounds using message vector M (words 4i..4i+3) plus the matching round constants.
// rnds2 consumes the low two words of its third operand, so the sum is shifted down for the
// second pair.
#define CSHA256_ROUNDS4(M, i)                                                             \
    do {                                                                                  \
        __m128i wk = _mm_add_epi32((M), _mm_load_si128((const __m128i *)&csha256_k[4 * (i)])); \
        cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);                                     \
        wk = _mm_shuffle_epi32(wk, 0x0E);                                                 \
        abef = _mm_sha256rnds2_epu32(abef, cdgh, wk);                                     \
    } while (0)

// Finishes the schedule of NEXT (words for the group after CUR) from the two preceding groups.
#define CSHA256_SCHED2(NEXT, CUR, PREV) \
    (NEXT) = _mm_sha256msg2_epu32(_mm_add_epi32((NEXT), _mm_alignr_epi8((CUR), (PREV), 4)), (CUR))

// Starts the schedule of PREV (reused for the group three ahead) with the sigma0 terms.
#define CSHA256_SCHED1(PREV, CUR) (PREV) = _mm_sha256msg1_epu32((PREV), (CUR))

__attribute__((target("sha,sse4.1,ssse3")))
void csha256_ni_compress(uint32_t state[8], const uint8_t *blocks, size_t nblocks) {
    // Big-endian word loads: reverse the bytes within each 32-bit lane.
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);

    // state[] is a..h; rearrange into ABEF / CDGH (highest lane first).
    __m128i tmp = _mm_loadu_si128((const __m128i *)&state[0]);   // D C B A
    __m128i cdgh = _mm_loadu_si128((const __m128i *)&state[4]);  // H G F E
    tmp = _mm_shuffle_epi32(tmp, 0xB1);                           // C D A B
    cdgh = _mm_shuffle_epi32(cdgh, 0x1B);                         // E F G H
    __m128i abef = _mm_alignr_epi8(tmp, cdgh, 8);                 // A B E F
    cdgh = _mm_blend_epi16(cdgh, tmp, 0xF0);                      // C D G H

    while (nblocks > 0) {
        const __m128i abef_save = abef;
        const __m128i cdgh_save = cdgh;

        __m128i m0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(blocks + 0)), bswap);
        __m128i m1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(blocks + 16)), bswap);
        __m128i m2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(blocks + 32)), bswap);
        __m128i m3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(blocks + 48)), bswap);

        // Group i uses m[i % 4]; SCHED2 at group i (3..14) completes m[(i+1) % 4], and
        // SCHED1 at group i (1..12) starts m[(i-1) % 4] (after SCHED2 read it).
        CSHA256_ROUNDS4(m0, 0);
        CSHA256_ROUNDS4(m1, 1);  CSHA256_SCHED1(m0, m1);
        CSHA256_ROUNDS4(m2, 2);  CSHA256_SCHED1(m1, m2);
        CSHA256_ROUNDS4(m3, 3);  CSHA256_SCHED2(m0, m3, m2); CSHA256_SCHED1(m2, m3);
        CSHA256_ROUNDS4(m0, 4);  CSHA256_SCHED2(m1, m0, m3); CSHA256_SCHED1(m3, m0);
        CSHA256_ROUNDS4(m1, 5);  CSHA256_SCHED2(m2, m1, m0); CSHA256_SCHED1(m0, m1);
        CSHA256_ROUNDS4(m2, 6);  CSHA256_SCHED2(m3, m2, m1); CSHA256_SCHED1(m1, m2);
        CSHA256_ROUNDS4(m3, 7);  CSHA256_SCHED2(m0, m3, m2); CSHA256_SCHED1(m2, m3);
        CSHA256_ROUNDS4(m0, 8);  CSHA256_SCHED2(m1, m0, m3); CSHA256_SCHED1(m3, m0);
        CSHA256_ROUNDS4(m1, 9);  CSHA256_SCHED2(m2, m1, m0); CSHA256_SCHED1(m0, m1);
        CSHA256_ROUNDS4(m2, 10); CSHA256_SCHED2(m3, m2, m1); CSHA256_SCHED1(m1, m2);
        CSHA256_ROUNDS4(m3, 11); CSHA256_SCHED2(m0, m3, m2); CSHA256_SCHED1(m2, m3);
        CSHA256_ROUNDS4(m0, 12); CSHA256_SCHED2(m1, m0, m3); CSHA256_SCHED1(m3, m0);
        CSHA256_ROUNDS4(m1, 13); CSHA256_SCHED2(m2, m1, m0);
        CSHA256_ROUNDS4(m2, 14); CSHA256_SCHED2(m3, m2, m1);
        CSHA256_ROUNDS4(m3, 15);

        abef = _mm_add_epi32(abef, abef_save);
        cdgh = _mm_add_epi32(cdgh, cdgh_save);
        blocks += 64;
        nblocks -= 1;
    }

    // Back from ABEF / CDGH to a..h.
    tmp = _mm_shuffle_epi32(abef, 0x1B);       // F E B A
    cdgh = _mm_shuffle_epi32(cdgh, 0xB1);      // D C H G
    abef = _mm_blend_epi16(tmp, cdgh, 0xF0);   // D C B A
    cdgh = _mm_alignr_epi8(cdgh, tmp, 8);      // H G F E
    _mm_storeu_si128((__m128i *)&state[0], abef);
    _mm_storeu_si128((__m128i *)&state[4], cdgh);
}


// The two-lane form: the same rounds on two independent messages, interleaved. One lane's rnds2 depends on its
// previous rnds2 (the rounds are latency-bound), so the other lane's instructions fill the gaps: two messages cost
// little more than one.
#define CSHA256_ROUNDS4_2(MA, MB, i)                                                      \
    do {                                                                                  \
        const __m128i k = _mm_load_si128((const __m128i *)&csha256_k[4 * (i)]);           \
        __m128i wka = _mm_add_epi32((MA), k);                                             \
        __m128i wkb = _mm_add_epi32((MB), k);                                             \
        cdgh_a = _mm_sha256rnds2_epu32(cdgh_a, abef_a, wka);                              \
        cdgh_b = _mm_sha256rnds2_epu32(cdgh_b, abef_b, wkb);                              \
        wka = _mm_shuffle_epi32(wka, 0x0E);                                               \
        wkb = _mm_shuffle_epi32(wkb, 0x0E);                                               \
        abef_a = _mm_sha256rnds2_epu32(abef_a, cdgh_a, wka);                              \
        abef_b = _mm_sha256rnds2_epu32(abef_b, cdgh_b, wkb);                              \
    } while (0)

#define CSHA256_STEP_2(G, R, S2N, S2C, S2P, S1P, S1C, DO2, DO1)                            \
    do {                                                                                  \
        CSHA256_ROUNDS4_2(a##R, b##R, G);                                                 \
        if (DO2) { CSHA256_SCHED2(a##S2N, a##S2C, a##S2P); CSHA256_SCHED2(b##S2N, b##S2C, b##S2P); } \
        if (DO1) { CSHA256_SCHED1(a##S1P, a##S1C); CSHA256_SCHED1(b##S1P, b##S1C); }       \
    } while (0)

// state[] (a..h) to the ABEF / CDGH pair rnds2 works on, and back.
#define CSHA256_LOAD_STATE(S, ABEF, CDGH)                                                 \
    do {                                                                                  \
        __m128i t_ = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&(S)[0]), 0xB1); \
        CDGH = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&(S)[4]), 0x1B);       \
        ABEF = _mm_alignr_epi8(t_, CDGH, 8);                                              \
        CDGH = _mm_blend_epi16(CDGH, t_, 0xF0);                                           \
    } while (0)
#define CSHA256_STORE_STATE(S, ABEF, CDGH)                                                \
    do {                                                                                  \
        __m128i t_ = _mm_shuffle_epi32((ABEF), 0x1B);                                     \
        __m128i c_ = _mm_shuffle_epi32((CDGH), 0xB1);                                     \
        _mm_storeu_si128((__m128i *)&(S)[0], _mm_blend_epi16(t_, c_, 0xF0));              \
        _mm_storeu_si128((__m128i *)&(S)[4], _mm_alignr_epi8(c_, t_, 8));                 \
    } while (0)

__attribute__((target("sha,sse4.1,ssse3")))
void csha256_ni_compress2(uint32_t state_a[8], const uint8_t *blocks_a,
                          uint32_t state_b[8], const uint8_t *blocks_b, size_t nblocks) {
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i abef_a, cdgh_a, abef_b, cdgh_b;
    CSHA256_LOAD_STATE(state_a, abef_a, cdgh_a);
    CSHA256_LOAD_STATE(state_b, abef_b, cdgh_b);

    while (nblocks > 0) {
        const __m128i abef_a_save = abef_a, cdgh_a_save = cdgh_a;
        const __m128i abef_b_save = abef_b, cdgh_b_save = cdgh_b;

        __m128i a0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(blocks_a + 0)), bswap);
        __m128i b0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(blocks_b + 0)), bswap);
        __m128i a1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(blocks_a + 16)), bswap);
        __m128i b1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(blocks_b + 16)), bswap);
        __m128i a2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(blocks_a + 32)), bswap);
        __m128i b2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(blocks_b + 32)), bswap);
        __m128i a3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(blocks_a + 48)), bswap);
        __m128i b3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(blocks_b + 48)), bswap);

        // The one-lane schedule above, per lane: group G uses m[G % 4]; SCHED2 completes m[(G+1) % 4] (G = 3..14),
        // SCHED1 starts m[(G-1) % 4] (G = 1..12).
        CSHA256_STEP_2(0, 0, 1, 0, 3, 3, 0, 0, 0);
        CSHA256_STEP_2(1, 1, 2, 1, 0, 0, 1, 0, 1);
        CSHA256_STEP_2(2, 2, 3, 2, 1, 1, 2, 0, 1);
        CSHA256_STEP_2(3, 3, 0, 3, 2, 2, 3, 1, 1);
        CSHA256_STEP_2(4, 0, 1, 0, 3, 3, 0, 1, 1);
        CSHA256_STEP_2(5, 1, 2, 1, 0, 0, 1, 1, 1);
        CSHA256_STEP_2(6, 2, 3, 2, 1, 1, 2, 1, 1);
        CSHA256_STEP_2(7, 3, 0, 3, 2, 2, 3, 1, 1);
        CSHA256_STEP_2(8, 0, 1, 0, 3, 3, 0, 1, 1);
        CSHA256_STEP_2(9, 1, 2, 1, 0, 0, 1, 1, 1);
        CSHA256_STEP_2(10, 2, 3, 2, 1, 1, 2, 1, 1);
        CSHA256_STEP_2(11, 3, 0, 3, 2, 2, 3, 1, 1);
        CSHA256_STEP_2(12, 0, 1, 0, 3, 3, 0, 1, 1);
        CSHA256_STEP_2(13, 1, 2, 1, 0, 0, 1, 1, 0);
        CSHA256_STEP_2(14, 2, 3, 2, 1, 1, 2, 1, 0);
        CSHA256_STEP_2(15, 3, 0, 3, 2, 2, 3, 0, 0);

        abef_a = _mm_add_epi32(abef_a, abef_a_save);
        cdgh_a = _mm_add_epi32(cdgh_a, cdgh_a_save);
        abef_b = _mm_add_epi32(abef_b, abef_b_save);
        cdgh_b = _mm_add_epi32(cdgh_b, cdgh_b_save);
        blocks_a += 64;
        blocks_b += 64;
        nblocks -= 1;
    }

    CSHA256_STORE_STATE(state_a, abef_a, cdgh_a);
    CSHA256_STORE_STATE(state_b, abef_b, cdgh_b);
}

#else

int csha256_ni_available(void) {
    return 0;
}

void csha256_ni_compress(uint32_t state[8], const uint8_t *blocks, size_t nblocks) {
    // Never called: Swift only dispatches here after csha256_ni_available() returned 1.
    (void)state;
    (void)blocks;
    (void)nblocks;
}

void csha256_ni_compress2(uint32_t state_a[8], const uint8_t *blocks_a,
                          uint32_t state_b[8], const uint8_t *blocks_b, size_t nblocks) {
    // Never called, as csha256_ni_compress.
    (void)state_a;
    (void)blocks_a;
    (void)state_b;
    (void)blocks_b;
    (void)nblocks;
}

#endif
