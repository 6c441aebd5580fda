#pragma once

// Helpers for the RPC tests and benchmark: ggml's own RPC server (the peer program) started on a
// free loopback port and killed by its process id, and a raw protocol conversation for tests
// that compare replies byte by byte.

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

// ggml's server: $GGALLOC_RPC_PEER, else ../shared/peers/ggml-rpc-server beside the repository.
// NULL if it is not there.
static inline const char * rpc_peer_path(void) {
    static char path[1024];
    const char * env = getenv("GGALLOC_RPC_PEER");
    if (env != NULL && *env) {
        snprintf(path, sizeof(path), "%s", env);
    } else {
        snprintf(path, sizeof(path), "%s/../../../shared/peers/ggml-rpc-server", GGALLOC_DATA_DIR);
    }
    return access(path, X_OK) == 0 ? path : NULL;
}

// A loopback port nobody listens on right now.
static inline int rpc_free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { 0 };
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof(a);
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *) &a, sizeof(a)) == 0 && getsockname(fd, (struct sockaddr *) &a, &len) == 0) {
        port = ntohs(a.sin_port);
    }
    if (fd >= 0) {
        close(fd);
    }
    return port;
}

// A raw connection to 127.0.0.1:port, -1 if it is refused.
static inline int rpc_raw_connect(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { 0 };
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t) port);
    if (fd < 0 || connect(fd, (struct sockaddr *) &a, sizeof(a)) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct timeval tv = { 10, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

static inline void rpc_sleep_ms(int ms) {
    struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

// Starts ggml's server on 127.0.0.1:port and waits (up to 10 s) until it accepts; its pid, or
// -1 if it did not come up.
static inline pid_t rpc_peer_start(const char * path, int port) {
    char endpoint[64];
    snprintf(endpoint, sizeof(endpoint), "127.0.0.1:%d", port);
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) {
            dup2(devnull, 1);
            dup2(devnull, 2);
        }
        execl(path, path, endpoint, "1", (char *) NULL);
        _exit(127);
    }
    if (pid < 0) {
        return -1;
    }
    for (int i = 0; i < 200; i++) {
        int fd = rpc_raw_connect(port);
        if (fd >= 0) {
            close(fd);
            return pid;
        }
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            return -1;
        }
        rpc_sleep_ms(50);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

static inline void rpc_peer_stop(pid_t pid) {
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
}

//
// Raw conversation
//

static inline bool rpc_raw_send(int fd, int cmd, const void * payload, uint64_t size) {
    uint8_t hdr[9];
    hdr[0] = (uint8_t) cmd;
    for (int i = 0; i < 8; i++) {
        hdr[1 + i] = (uint8_t) (size >> (8 * i));
    }
    if (send(fd, hdr, 9, MSG_NOSIGNAL) != 9) {
        return false;
    }
    const char * p = payload;
    while (size > 0) {
        ssize_t k = send(fd, p, size, MSG_NOSIGNAL);
        if (k <= 0) {
            return false;
        }
        p += k;
        size -= (uint64_t) k;
    }
    return true;
}

static inline bool rpc_raw_recv_all(int fd, void * data, size_t n) {
    char * p = data;
    while (n > 0) {
        ssize_t k = recv(fd, p, n, 0);
        if (k <= 0) {
            return false;
        }
        p += k;
        n -= (size_t) k;
    }
    return true;
}

// Receives one reply into out (at most cap bytes); its size, or -1 if the connection ended
// (or the reply is larger than cap).
static inline long long rpc_raw_reply(int fd, void * out, size_t cap) {
    uint8_t szb[8];
    if (!rpc_raw_recv_all(fd, szb, 8)) {
        return -1;
    }
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) {
        n = (n << 8) | szb[i];
    }
    if (n > cap || !rpc_raw_recv_all(fd, out, (size_t) n)) {
        return -1;
    }
    return (long long) n;
}

// Whether the peer closed the connection (reads EOF within 5 s).
static inline bool rpc_raw_closed(int fd) {
    struct timeval tv = { 5, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char c;
    ssize_t k = recv(fd, &c, 1, 0);
    return k == 0 || (k < 0 && errno == ECONNRESET);
}
