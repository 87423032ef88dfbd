#define _GNU_SOURCE
#include "chttpshim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

const uint32_t CHTTP_EPOLLIN = EPOLLIN;
const uint32_t CHTTP_EPOLLOUT = EPOLLOUT;
const uint32_t CHTTP_EPOLLERR = EPOLLERR;
const uint32_t CHTTP_EPOLLHUP = EPOLLHUP;
const uint32_t CHTTP_EPOLLRDHUP = EPOLLRDHUP;

int chttp_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

static int control(int epfd, int op, int fd, uint32_t events, uint64_t token) {
    struct epoll_event event;
    memset(&event, 0, sizeof event);
    event.events = events;
    event.data.u64 = token;
    return epoll_ctl(epfd, op, fd, &event);
}

int chttp_epoll_add(int epfd, int fd, uint32_t events, uint64_t token) {
    return control(epfd, EPOLL_CTL_ADD, fd, events, token);
}

int chttp_epoll_modify(int epfd, int fd, uint32_t events, uint64_t token) {
    return control(epfd, EPOLL_CTL_MOD, fd, events, token);
}

int chttp_epoll_remove(int epfd, int fd) {
    struct epoll_event event;
    memset(&event, 0, sizeof event);
    return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, &event);
}

int chttp_epoll_wait(int epfd, chttp_event *events, int capacity, int timeout_ms) {
    struct epoll_event raw[256];
    if (capacity > 256) capacity = 256;
    int n = epoll_wait(epfd, raw, capacity, timeout_ms);
    if (n < 0) return errno == EINTR ? 0 : -1;
    for (int i = 0; i < n; i++) {
        events[i].events = raw[i].events;
        events[i].token = raw[i].data.u64;
    }
    return n;
}

int chttp_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

int chttp_eventfd_signal(int fd) {
    uint64_t one = 1;
    for (;;) {
        ssize_t n = write(fd, &one, sizeof one);
        if (n == sizeof one) return 0;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return 0;
        return -1;
    }
}

int chttp_eventfd_drain(int fd) {
    uint64_t value = 0;
    for (;;) {
        ssize_t n = read(fd, &value, sizeof value);
        if (n == sizeof value) return 1;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return 0;
        return -1;
    }
}

int chttp_listen(const char *host, uint16_t port, int backlog, int reuseport, uint16_t *bound_port) {
    struct sockaddr_storage storage;
    memset(&storage, 0, sizeof storage);
    socklen_t length;
    int family;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&storage;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&storage;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        family = AF_INET;
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        length = sizeof *v4;
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        family = AF_INET6;
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        length = sizeof *v6;
    } else {
        errno = EINVAL;
        return -1;
    }
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) goto fail;
    if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) goto fail;
    if (bind(fd, (struct sockaddr *)&storage, length) < 0) goto fail;
    if (listen(fd, backlog) < 0) goto fail;
    length = sizeof storage;
    if (getsockname(fd, (struct sockaddr *)&storage, &length) < 0) goto fail;
    *bound_port = ntohs(family == AF_INET ? v4->sin_port : v6->sin6_port);
    return fd;
fail:;
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

int chttp_accept(int fd, char *host, size_t host_capacity, uint16_t *port) {
    struct sockaddr_storage storage;
    socklen_t length = sizeof storage;
    int client;
    do {
        client = accept4(fd, (struct sockaddr *)&storage, &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
    } while (client < 0 && errno == EINTR);
    if (client < 0) return -1;
    int one = 1;
    (void)setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    host[0] = 0;
    *port = 0;
    if (storage.ss_family == AF_INET) {
        struct sockaddr_in *v4 = (struct sockaddr_in *)&storage;
        inet_ntop(AF_INET, &v4->sin_addr, host, (socklen_t)host_capacity);
        *port = ntohs(v4->sin_port);
    } else if (storage.ss_family == AF_INET6) {
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&storage;
        if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
            inet_ntop(AF_INET, &v6->sin6_addr.s6_addr[12], host, (socklen_t)host_capacity);
        } else {
            inet_ntop(AF_INET6, &v6->sin6_addr, host, (socklen_t)host_capacity);
        }
        *port = ntohs(v6->sin6_port);
    }
    return client;
}

long chttp_send2(int fd, const void *a, size_t a_length, const void *b, size_t b_length) {
    struct iovec vectors[2];
    int count = 0;
    if (a_length > 0) { vectors[count].iov_base = (void *)a; vectors[count].iov_len = a_length; count++; }
    if (b_length > 0) { vectors[count].iov_base = (void *)b; vectors[count].iov_len = b_length; count++; }
    if (count == 0) return 0;
    struct msghdr message;
    memset(&message, 0, sizeof message);
    message.msg_iov = vectors;
    message.msg_iovlen = (size_t)count;
    ssize_t n;
    do {
        n = sendmsg(fd, &message, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return (long)n;
}

long chttp_read(int fd, void *buffer, size_t capacity) {
    ssize_t n;
    do {
        n = read(fd, buffer, capacity);
    } while (n < 0 && errno == EINTR);
    return (long)n;
}

int chttp_shutdown_write(int fd) { return shutdown(fd, SHUT_WR); }

int chttp_close(int fd) { return close(fd); }

void chttp_ignore_sigpipe(void) { signal(SIGPIPE, SIG_IGN); }

static void termination_set(sigset_t *set) {
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
}

int chttp_block_termination_signals(int block) {
    sigset_t set;
    termination_set(&set);
    int rc = pthread_sigmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
    if (rc != 0) { errno = rc; return -1; }
    return 0;
}

int chttp_termination_signalfd(void) {
    sigset_t set;
    termination_set(&set);
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int chttp_signalfd_read(int fd) {
    struct signalfd_siginfo info;
    for (;;) {
        ssize_t n = read(fd, &info, sizeof info);
        if (n == sizeof info) return (int)info.ssi_signo;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return 0;
        return -1;
    }
}

int chttp_thread_kill(uint64_t thread, int signal) {
    int rc = pthread_kill((pthread_t)thread, signal);
    if (rc != 0) { errno = rc; return -1; }
    return 0;
}

uint64_t chttp_current_thread(void) { return (uint64_t)pthread_self(); }

long chttp_raise_fd_limit(void) {
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) < 0) return -1;
    if (limit.rlim_cur < limit.rlim_max) {
        struct rlimit raised = limit;
        raised.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
    }
    return limit.rlim_cur == RLIM_INFINITY ? 1L << 20 : (long)limit.rlim_cur;
}

long chttp_fd_limit(void) {
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) < 0) return -1;
    return limit.rlim_cur == RLIM_INFINITY ? 1L << 20 : (long)limit.rlim_cur;
}

int chttp_set_fd_limit(long soft) {
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) < 0) return -1;
    limit.rlim_cur = (rlim_t)soft;
    return setrlimit(RLIMIT_NOFILE, &limit);
}

int chttp_open_reserve(void) { return open("/dev/null", O_RDONLY | O_CLOEXEC); }

uint64_t chttp_monotonic_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
}

int chttp_imf_fixdate(int64_t seconds, char *out) {
    static const char *days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)seconds;
    struct tm tm;
    gmtime_r(&t, &tm);
    return snprintf(out, 30, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
                    months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}
