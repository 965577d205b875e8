/* nfdelay.c -- an NFQUEUE consumer that delays packets: the latency this kernel's missing
 * netem would add.
 *
 *   nfdelay --queue N --delay-ms D [--jitter-ms J] [--seed S]
 *
 * Binds NFQUEUE number N of the network namespace it runs in, holds each packet that an
 * nftables rule `queue num N bypass` sends it for D ms plus a uniform 0..J ms, then accepts
 * it. Order is kept: a packet is never released before the one queued ahead of it (with
 * jitter, a packet's release time is at least its predecessor's), as a real link's queue
 * would. It prints "nfdelay: queue N ready" on stdout once bound, so whoever starts it
 * (tests/lib/netfault.py) knows the delay is in force. On SIGTERM or SIGINT it accepts
 * every packet it still holds at once and exits 0: healing loses nothing. The queue fails
 * open (a full queue accepts), and the rule's `bypass` accepts while nobody is bound.
 *
 * A test tool, built by tests/tools/CMakeLists.txt only where libnetfilter_queue is found.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

/* A held packet: its queue id and when it leaves. A ring buffer, FIFO. */
struct held {
    uint32_t id;
    uint64_t due_us;
};

static struct held *ring;
static size_t ring_cap, ring_head, ring_len;
static uint64_t delay_us, jitter_us, last_due_us, rng = 88172645463325252ULL;
static volatile sig_atomic_t stopping;

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t next_rand(void) /* xorshift64: jitter needs no quality */
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Appends to the ring, growing it. Returns 0, or -1 when out of memory (the caller
 * accepts the packet at once rather than lose it). */
static int push(uint32_t id, uint64_t due)
{
    if (ring_len == ring_cap) {
        size_t cap = ring_cap ? ring_cap * 2 : 1024;
        struct held *r = malloc(cap * sizeof *r);
        if (!r)
            return -1;
        for (size_t i = 0; i < ring_len; i++)
            r[i] = ring[(ring_head + i) % ring_cap];
        free(ring);
        ring = r;
        ring_cap = cap;
        ring_head = 0;
    }
    ring[(ring_head + ring_len++) % ring_cap] = (struct held){ id, due };
    return 0;
}

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg, struct nfq_data *nfa,
                     void *data)
{
    struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
    if (!ph)
        return 0;
    uint32_t id = ntohl(ph->packet_id);
    uint64_t due = now_us() + delay_us + (jitter_us ? next_rand() % (jitter_us + 1) : 0);
    if (due < last_due_us)
        due = last_due_us; /* never overtake the packet ahead */
    last_due_us = due;
    if (push(id, due) < 0)
        nfq_set_verdict(qh, id, NF_ACCEPT, 0, NULL);
    return 0;
}

/* Accepts every held packet due by `until` (UINT64_MAX: all). */
static void release(struct nfq_q_handle *qh, uint64_t until)
{
    while (ring_len && ring[ring_head].due_us <= until) {
        nfq_set_verdict(qh, ring[ring_head].id, NF_ACCEPT, 0, NULL);
        ring_head = (ring_head + 1) % ring_cap;
        ring_len--;
    }
}

static void on_signal(int sig) { stopping = 1; }

static void usage(FILE *f)
{
    fprintf(f, "Usage: nfdelay --queue N --delay-ms D [--jitter-ms J] [--seed S]\n"
               "Holds each packet of NFQUEUE N for D ms (+ 0..J ms), in order, then accepts\n"
               "it. SIGTERM accepts the packets still held and exits.\n");
}

int main(int argc, char **argv)
{
    long queue = -1, delay = -1, jitter = 0;
    /* Options come in pairs (--name value): i steps by two. */
    for (int i = 1; i < argc; i += 2) {
        if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            usage(stderr);
            return 2;
        }
        char *end;
        long v = strtol(argv[i + 1], &end, 10);
        if (*end || v < 0) {
            fprintf(stderr, "nfdelay: %s %s: not a number >= 0\n", argv[i], argv[i + 1]);
            return 2;
        }
        if (strcmp(argv[i], "--queue") == 0 && v <= 65535)
            queue = v;
        else if (strcmp(argv[i], "--delay-ms") == 0 && v <= 60000)
            delay = v;
        else if (strcmp(argv[i], "--jitter-ms") == 0 && v <= 60000)
            jitter = v;
        else if (strcmp(argv[i], "--seed") == 0)
            rng = (uint64_t)v * 2654435761u + 1;
        else {
            usage(stderr);
            return 2;
        }
    }
    if (queue < 0 || delay < 0) {
        usage(stderr);
        return 2;
    }
    delay_us = (uint64_t)delay * 1000;
    jitter_us = (uint64_t)jitter * 1000;

    struct nfq_handle *h = nfq_open();
    if (!h) {
        perror("nfdelay: nfq_open");
        return 1;
    }
    struct nfq_q_handle *qh = nfq_create_queue(h, (uint16_t)queue, on_packet, NULL);
    if (!qh) {
        fprintf(stderr, "nfdelay: can't bind queue %ld (another consumer? not root?)\n", queue);
        return 1;
    }
    if (nfq_set_mode(qh, NFQNL_COPY_META, 0) < 0) {
        fprintf(stderr, "nfdelay: can't set the copy mode\n");
        return 1;
    }
    nfq_set_queue_maxlen(qh, 1 << 16);
    nfq_set_queue_flags(qh, NFQA_CFG_F_FAIL_OPEN, NFQA_CFG_F_FAIL_OPEN);
    nfnl_rcvbufsiz(nfq_nfnlh(h), 8 << 20);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: poll returns EINTR */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    printf("nfdelay: queue %ld ready\n", queue);
    fflush(stdout);

    int fd = nfq_fd(h);
    char buf[65536] __attribute__((aligned));
    while (!stopping) {
        uint64_t now = now_us();
        release(qh, now);
        int timeout = -1;
        if (ring_len) {
            uint64_t wait = ring[ring_head].due_us - now;
            timeout = (int)((wait + 999) / 1000);
        }
        struct pollfd p = { fd, POLLIN, 0 };
        int n = poll(&p, 1, timeout);
        if (n < 0 && errno != EINTR) {
            perror("nfdelay: poll");
            break;
        }
        if (n <= 0)
            continue;
        for (;;) { /* drain what is there without blocking */
            ssize_t len = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
            if (len < 0)
                break; /* EAGAIN; ENOBUFS: the kernel dropped some (fail-open accepts) */
            nfq_handle_packet(h, buf, (int)len);
        }
    }
    release(qh, UINT64_MAX);
    nfq_destroy_queue(qh);
    nfq_close(h);
    free(ring);
    return 0;
}
