/* io.c - see io.h.  Every wait has a deadline (poll), every read a bound
 * taken from the header before the body is read, so a slow or lying peer
 * costs one connection for at most the timeout and no more memory than the
 * largest legal message. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "provision/io.h"
#include "provision/proto.h"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events until deadline: 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd p = { .fd = fd, .events = events };
        int n = poll(&p, 1, (int)left);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return -errno;
    }
}

int prov_dial(const struct wg_sockaddr *addr, int timeout_ms)
{
    int fam = addr->addr.sa.sa_family, err = 0;
    socklen_t el = sizeof(err);
    int fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (fam != AF_VSOCK) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    if (connect(fd, &addr->addr.sa, wg_sockaddr_socklen(addr)) < 0) {
        if (errno != EINPROGRESS) {
            err = -errno;
            goto fail;
        }
        if ((err = wait_fd(fd, POLLOUT, now_ms() + timeout_ms)) < 0)
            goto fail;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
            err = err ? -err : -errno;
            goto fail;
        }
    }
    return fd;
fail:
    close(fd);
    return err;
}

int prov_listen(uint16_t port, bool vsock)
{
    int one = 1, zero = 0, rc;
    int fd = socket(vsock ? AF_VSOCK : AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (vsock) {
        struct sockaddr_vm vm = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY,
                                  .svm_port = port };
        rc = bind(fd, (struct sockaddr *)&vm, sizeof(vm));
    } else {
        struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(port),
                                    .sin6_addr = IN6ADDR_ANY_INIT };
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
        rc = bind(fd, (struct sockaddr *)&in6, sizeof(in6));
    }
    if (rc < 0 || listen(fd, 8) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

static int read_full(int fd, uint8_t *buf, size_t len, int64_t deadline)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = recv(fd, buf + got, len - got, MSG_DONTWAIT);
        if (n > 0) {
            got += (size_t)n;
            continue;
        }
        if (n == 0)
            return -ECONNRESET;
        if (errno != EAGAIN && errno != EINTR)
            return -errno;
        int rc = wait_fd(fd, POLLIN, deadline);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int prov_read_message(int fd, int timeout_ms, uint8_t **out, size_t *out_len)
{
    int64_t deadline = now_ms() + timeout_ms;
    uint8_t hdr[PROV_HDR_LEN], type;
    size_t body;
    int rc;

    *out = NULL;
    if ((rc = read_full(fd, hdr, sizeof(hdr), deadline)) < 0 ||
        (rc = prov_header_parse(hdr, &type, &body)) < 0)
        return rc;
    uint8_t *m = malloc(PROV_HDR_LEN + body);
    if (!m)
        return -ENOMEM;
    memcpy(m, hdr, PROV_HDR_LEN);
    if ((rc = read_full(fd, m + PROV_HDR_LEN, body, deadline)) < 0) {
        free(m);
        return rc;
    }
    *out = m;
    *out_len = PROV_HDR_LEN + body;
    return 0;
}

int prov_write_all(int fd, const uint8_t *buf, size_t len, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    size_t done = 0;
    while (done < len) {
        ssize_t n = send(fd, buf + done, len - done, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return -errno;
        int rc = wait_fd(fd, POLLOUT, deadline);
        if (rc < 0)
            return rc;
    }
    return 0;
}
