#ifndef CHTTPSHIM_H
#define CHTTPSHIM_H

// The Linux calls Swift's Glibc module lacks (epoll, eventfd, signalfd, accept4, sendmsg with MSG_NOSIGNAL),
// wrapped with plain integer types so that no system header is shared with Glibc. Every call returns -1 with
// errno set on failure, like the call it wraps.

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// One readiness event: the epoll event mask and the 64-bit token given to chttp_epoll_ctl.
typedef struct {
    uint32_t events;
    uint64_t token;
} chttp_event;

/// epoll flags (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, EPOLLRDHUP, EPOLLEXCLUSIVE).
extern const uint32_t CHTTP_EPOLLIN;
extern const uint32_t CHTTP_EPOLLOUT;
extern const uint32_t CHTTP_EPOLLERR;
extern const uint32_t CHTTP_EPOLLHUP;
extern const uint32_t CHTTP_EPOLLRDHUP;

/// epoll_create1(EPOLL_CLOEXEC).
int chttp_epoll_create(void);
/// epoll_ctl(EPOLL_CTL_ADD) with `events` (level-triggered) and `token` as the event's data.
int chttp_epoll_add(int epfd, int fd, uint32_t events, uint64_t token);
/// epoll_ctl(EPOLL_CTL_MOD).
int chttp_epoll_modify(int epfd, int fd, uint32_t events, uint64_t token);
/// epoll_ctl(EPOLL_CTL_DEL).
int chttp_epoll_remove(int epfd, int fd);
/// epoll_wait into `events` (at most `capacity`); EINTR is returned as 0 events.
int chttp_epoll_wait(int epfd, chttp_event *events, int capacity, int timeout_ms);

/// eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC).
int chttp_eventfd(void);
/// Adds 1 to the eventfd counter (wakes a waiting epoll); EAGAIN (counter full) counts as success.
int chttp_eventfd_signal(int fd);
/// Reads and resets the eventfd counter; 0 when it was already zero.
int chttp_eventfd_drain(int fd);

/// Creates a non-blocking, close-on-exec TCP listener on `host` (numeric IPv4 or IPv6) and `port` (0: any),
/// with SO_REUSEADDR, SO_REUSEPORT when `reuseport`, and `backlog`. Writes the bound port. Returns the fd.
int chttp_listen(const char *host, uint16_t port, int backlog, int reuseport, uint16_t *bound_port);

/// accept4(SOCK_NONBLOCK | SOCK_CLOEXEC); writes the peer as text (numeric, IPv4-mapped IPv6 shown as IPv4)
/// into `host` (at least 64 bytes) and its port. Sets TCP_NODELAY on the new socket.
int chttp_accept(int fd, char *host, size_t host_capacity, uint16_t *port);

/// sendmsg of two buffers (either may be empty) with MSG_NOSIGNAL: the head and the body in one call.
long chttp_send2(int fd, const void *a, size_t a_length, const void *b, size_t b_length);

/// read(2) that retries EINTR.
long chttp_read(int fd, void *buffer, size_t capacity);

/// shutdown(fd, SHUT_WR).
int chttp_shutdown_write(int fd);

/// close(2).
int chttp_close(int fd);

/// Ignores SIGPIPE for the whole process (writes to a closed peer return EPIPE instead of killing us).
void chttp_ignore_sigpipe(void);

/// Blocks (1) or unblocks (0) SIGTERM and SIGINT in the calling thread; threads created afterwards inherit it.
int chttp_block_termination_signals(int block);

/// A non-blocking signalfd for SIGTERM and SIGINT (they must be blocked in every thread).
int chttp_termination_signalfd(void);

/// Reads one signal from a signalfd: its number, 0 when none is pending, -1 on error.
int chttp_signalfd_read(int fd);

/// Sends `signal` to the thread `thread` (a pthread_t from chttp_current_thread).
int chttp_thread_kill(uint64_t thread, int signal);

/// pthread_self() of the calling thread.
uint64_t chttp_current_thread(void);

/// Raises the soft RLIMIT_NOFILE to the hard limit; returns the resulting soft limit (or -1).
long chttp_raise_fd_limit(void);

/// The current soft RLIMIT_NOFILE, or -1.
long chttp_fd_limit(void);

/// Sets the soft RLIMIT_NOFILE (tests use it to provoke EMFILE); returns 0 or -1.
int chttp_set_fd_limit(long soft);

/// Opens /dev/null read-only, close-on-exec: the reserve descriptor kept for EMFILE.
int chttp_open_reserve(void);

/// clock_gettime(CLOCK_MONOTONIC) in nanoseconds.
uint64_t chttp_monotonic_ns(void);

/// The IMF-fixdate (RFC 9110 §5.6.7) of `seconds` since the epoch, written to `out` (at least 30 bytes); returns 29.
int chttp_imf_fixdate(int64_t seconds, char *out);

#ifdef __cplusplus
}
#endif

#endif
