/* forward_relay.h - the forwarder's insides, shared by forward.c (thread,
 * commands, listening sockets) and forward_relay.c (the TCP and UDP relays).
 * Nothing outside those two files includes it: the interface is forward.h.
 * Everything here is used on the forwarder's thread only.
 */
#ifndef WGVSOCK_PLUGIN_FORWARD_RELAY_H
#define WGVSOCK_PLUGIN_FORWARD_RELAY_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "plugin/forward.h"

#define FWD_PIPE_SIZE (256 * 1024)
#define FWD_KEY_MAX 129

enum kind { K_WAKE, K_LISTEN, K_CONN_A, K_CONN_B, K_FLOW };

struct handle {
    enum kind kind;
    void *obj;
};

struct pub;

struct listener {
    struct handle h;
    struct pub *pub;
    int fd;
    struct pm_binding b;
    bool paused;                /* out of fds: accept again at the next tick */
    bool dead;
    struct listener *next;
};

struct conn {                   /* a: the client (host side), b: the container */
    struct handle ha, hb;
    struct pub *pub;
    int a, b;
    int ab[2], ba[2];           /* pipes a->b and b->a */
    size_t n_ab, n_ba;          /* bytes sitting in each pipe */
    uint16_t port;              /* the container's, for messages */
    bool connecting, a_eof, b_eof, b_shut, a_shut, dead;
    struct conn *next;
};

struct flow {
    struct handle h;
    struct listener *l;
    int fd;                     /* connected to the container's port */
    struct sockaddr_storage client;
    socklen_t client_len;
    time_t last;
    bool dead;
    struct flow *next;
};

struct pub {
    char key[FWD_KEY_MAX];
    /* The container's network namespace.  Docker names the file at Join but
     * creates it only when the container's process starts (after
     * ProgramExternalConnectivity), so it is opened at the first use. */
    char *netns_path;
    int netns;
    bool netns_warned;
    struct in_addr target;
    struct listener *ls;
    struct conn *conns;
    struct flow *flows;
    struct pub *next;
};

enum cmd_type { CMD_PUBLISH, CMD_UNPUBLISH, CMD_STOP };

struct cmd {
    enum cmd_type type;
    const char *key, *netns_path, *container_ip;
    struct pm_binding *b;
    size_t n;
    char *err;
    int ret;
    bool done;
    struct cmd *next;
};

struct fwd {
    pthread_t thread;
    int epfd, wakefd, host_netns;
    struct handle wake;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct cmd *queue;
    struct pub *pubs;
    unsigned n_conns, n_flows;
    struct conn *dead_conns;
    struct flow *dead_flows;
    struct listener *dead_ls;
    bool stop;
};

time_t relay_now(void);
void relay_close_fd(int *fd);
/* A socket (SOCK_STREAM/SOCK_DGRAM) of p's container's network namespace:
 * opens the namespace file at the first use, enters, creates, leaves.
 * fd or -errno. */
int relay_socket_in(struct fwd *f, struct pub *p, int type);
int relay_epoll_add(struct fwd *f, int fd, struct handle *h, uint32_t events);

/* TCP: accept what is pending on l; handle an event of a connection; close
 * one (reset: with RST to the client). */
void relay_tcp_accept(struct fwd *f, struct listener *l);
void relay_conn_event(struct fwd *f, struct conn *c);
void relay_conn_close(struct fwd *f, struct conn *c, bool reset);

/* UDP: datagrams from clients on l, answers from a flow's container side,
 * and closing a flow. */
void relay_udp_from_client(struct fwd *f, struct listener *l);
void relay_udp_from_container(struct fwd *f, struct flow *fl);
void relay_flow_close(struct fwd *f, struct flow *fl);

#endif
