#ifndef CSHA256_H
#define CSHA256_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Returns 1 when the CPU has the SHA extensions (plus SSSE3 and SSE4.1) that csha256_ni_compress needs, else 0.
int csha256_ni_available(void);

/// Runs the SHA-256 compression function over nblocks consecutive 64-byte blocks, updating state (a..h) in place.
/// Only call when csha256_ni_available() returned 1; on other architectures this is a no-op.
void csha256_ni_compress(uint32_t state[8], const uint8_t *blocks, size_t nblocks);

/// Two independent csha256_ni_compress calls of nblocks blocks each (state_a over blocks_a, state_b over blocks_b),
/// interleaved so one lane's rounds run in the other's latency. Same preconditions as csha256_ni_compress.
void csha256_ni_compress2(uint32_t state_a[8], const uint8_t *blocks_a,
                          uint32_t state_b[8], const uint8_t *blocks_b, size_t nblocks);

/// Linux: glibc getrandom(buffer, length, 0) (Swift's Glibc module does not export it); returns bytes written or -1 with errno set.
/// Other platforms: always -1 with errno = ENOSYS.
long csha256_getrandom(void *buffer, size_t length);

#ifdef __cplusplus
}
#endif

#endif
