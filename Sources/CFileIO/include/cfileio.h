#ifndef CFILEIO_H
#define CFILEIO_H

// The Linux file calls Swift's Glibc module lacks, with plain integer types (no system header shared with Glibc).

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Starts the writeback of bytes [offset, offset + length) of `fd` without waiting for it
/// (sync_file_range(SYNC_FILE_RANGE_WRITE)): a long sequential write then keeps the disk busy instead of piling up
/// dirty pages until the kernel throttles the writer. Advisory: no durability promise (fsync still decides).
/// Returns 0, or -1 with errno set; 0 where the call does not exist.
int cfileio_start_writeback(int fd, int64_t offset, int64_t length);

#ifdef __cplusplus
}
#endif

#endif
