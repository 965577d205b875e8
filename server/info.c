/* info.c -- INFO and COMMAND: what tools ask a server about itself.
 *
 * INFO's sections follow Redis 7.0's names, order and "field:value\r\n" format so that
 * tools parsing INFO (redis-cli --stat, client libraries, monitoring) read them: server,
 * clients, memory, persistence, stats, replication, cpu, modules, errorstats, cluster,
 * keyspace, plus "# Twopc" (the round engine, the replica set -- cluster id, epoch, the
 * members and their in-sync/out state -- and the state of each replica link). Fields
 * describing Redis machinery twopc does not have keep a Redis's idle values (no RDB
 * saves, no replicas in Redis's sense: the twopc replicas are in the Twopc section), except
 * that start-up recovery shows as Redis's loading (persistence: loading:1 and its fields).
 *
 * Keyspace needs the key counts, which only the replicas know: INFO asks one READY replica
 * for every database's (TPC.KEYSPACE, after the client's own writes, like any read) and
 * answers when it replies, with a "db<n>:keys=..,expires=..,avg_ttl=.." line per database
 * holding keys, as Redis. With no replica available, or inside EXEC, it shows the last
 * counts it saw.
 */
#define _GNU_SOURCE /* mallinfo2 */
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "info.h"

#include "blocking.h"
#include "client.h"
#include "conn.h"
#include "coord.h"
#include "registry.h"
#include "replica_link.h"
#include "settings.h"
#include "pubsub.h"
#include "stats.h"
#include "txn_io.h"
#include "wal.h"
#include "util.h"

static struct coord *coord;
/* The keyspace section's lines as a replica last gave them (TPC.KEYSPACE), one
 * "db<n>:keys=..,expires=..,avg_ttl=..\r\n" per database holding keys; NULL: never seen. */
static struct evbuffer *last_keyspace;
static uint64_t peak_memory;

static const char *run_id(void)
{
    static char id[41];
    if (id[0])
        return id;
    unsigned char raw[20] = { 0 };
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd < 0 || read(fd, raw, sizeof raw) != (ssize_t)sizeof raw)
        for (size_t i = 0; i < sizeof raw; i++)
            raw[i] = (unsigned char)(rand() ^ getpid());
    if (fd >= 0)
        close(fd);
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(id + 2 * i, 3, "%02x", raw[i]);
    return id;
}

static void section_server(struct evbuffer *b, const struct coord *c)
{
    struct utsname u;
    struct timeval tv;
    uname(&u);
    gettimeofday(&tv, NULL);
    uint64_t up = (util_mono_ms() - c->start_ms) / 1000;
    evbuffer_add_printf(
        b,
        "# Server\r\nredis_version:%s\r\ntwopc_version:%s\r\nredis_git_sha1:00000000\r\n"
        "redis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:standalone\r\nos:%s %s %s\r\n"
        "arch_bits:%d\r\nmonotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:libevent\r\n"
        "atomicvar_api:c11-builtin\r\ngcc_version:%d.%d.0\r\nprocess_id:%d\r\n"
        "process_supervised:no\r\nrun_id:%s\r\ntcp_port:%d\r\nserver_time_usec:%lld\r\n"
        "uptime_in_seconds:%llu\r\nuptime_in_days:%llu\r\nhz:10\r\nconfigured_hz:10\r\n"
        "lru_clock:%lld\r\nexecutable:%s\r\nconfig_file:%s\r\nio_threads_active:0\r\n\r\n",
        INFO_REDIS_VERSION, INFO_TWOPC_VERSION, u.sysname, u.release, u.machine,
        (int)(sizeof(void *) * 8),
#ifdef __GNUC__
        __GNUC__, __GNUC_MINOR__,
#else
        0, 0,
#endif
        (int)getpid(), run_id(), c->port,
        (long long)tv.tv_sec * 1000000 + tv.tv_usec, (unsigned long long)up,
        (unsigned long long)(up / 86400), (long long)(tv.tv_sec & ((1 << 24) - 1)),
        c->executable ? c->executable : "", c->config_file ? c->config_file : "");
}

static void section_clients(struct evbuffer *b, const struct coord *c)
{
    evbuffer_add_printf(b,
                        "# Clients\r\nconnected_clients:%zu\r\ncluster_connections:0\r\n"
                        "maxclients:%lld\r\nclient_recent_max_input_buffer:0\r\n"
                        "client_recent_max_output_buffer:0\r\nblocked_clients:%zu\r\n"
                        "tracking_clients:0\r\nclients_in_timeout_table:%zu\r\n"
                        "pending_replies:%zu\r\n\r\n",
                        client_count(), settings_get()->maxclients, blocking_count(0),
                        blocking_count(1), client_pending_total());
}

/* "1.23M", as Redis's bytesToHuman. */
static void human(char *out, size_t outlen, uint64_t n)
{
    static const char *units = "BKMGTP";
    double d = (double)n;
    int u = 0;
    while (d >= 1024 && u < 5)
        d /= 1024, u++;
    if (u == 0)
        snprintf(out, outlen, "%lluB", (unsigned long long)n);
    else
        snprintf(out, outlen, "%.2f%c", d, units[u]);
}

static uint64_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%llu %llu", &size, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

static void section_memory(struct evbuffer *b, const struct coord *c)
{
    struct mallinfo2 mi = mallinfo2();
    uint64_t used = mi.uordblks + mi.hblkhd, rss = rss_bytes();
    if (used == 0)
        used = rss; /* an allocator mallinfo2 does not see (sanitizers) */
    char h_used[32], h_rss[32], h_peak[32];
    if (used > peak_memory)
        peak_memory = used;
    human(h_used, sizeof h_used, used);
    human(h_rss, sizeof h_rss, rss);
    human(h_peak, sizeof h_peak, peak_memory);
    evbuffer_add_printf(b,
                        "# Memory\r\nused_memory:%llu\r\nused_memory_human:%s\r\n"
                        "used_memory_rss:%llu\r\nused_memory_rss_human:%s\r\n"
                        "used_memory_peak:%llu\r\nused_memory_peak_human:%s\r\n"
                        "maxmemory:0\r\nmaxmemory_human:0B\r\nmaxmemory_policy:noeviction\r\n"
                        "mem_fragmentation_ratio:%.2f\r\nmem_allocator:libc\r\n\r\n",
                        (unsigned long long)used, h_used, (unsigned long long)rss, h_rss,
                        (unsigned long long)peak_memory, h_peak,
                        used ? (double)rss / (double)used : 0.0);
}

/* While the engine recovers at start-up (txn_loading), Redis 7's loading fields, at the end
 * of the section as Redis prints them. There are no bytes to count: what is awaited is
 * replicas answering, so the totals are 0 and the ETA is Redis's own "don't know" figure,
 * 1 second (ioredis's ready check waits loading_eta_seconds before asking again). */
static void loading_fields(struct evbuffer *b, const struct coord *c, long long start)
{
    evbuffer_add_printf(b,
                        "loading_start_time:%lld\r\nloading_total_bytes:0\r\n"
                        "loading_rdb_used_mem:0\r\nloading_loaded_bytes:0\r\n"
                        "loading_loaded_perc:0.00\r\nloading_eta_seconds:1\r\n",
                        start);
}

static void section_persistence(struct evbuffer *b, const struct coord *c)
{
    /* Every acknowledged write is already in every replica's fsync'd log: the AOF-like
     * fields say so; there are no snapshots. */
    long long start = (long long)(util_wall_ms() - (util_mono_ms() - c->start_ms)) / 1000;
    char why[256];
    int loading = c->txn && txn_loading(c->txn, why, sizeof why) != NULL;
    evbuffer_add_printf(b,
                        "# Persistence\r\nloading:%d\r\nasync_loading:0\r\n"
                        "rdb_changes_since_last_save:0\r\nrdb_bgsave_in_progress:0\r\n"
                        "rdb_last_save_time:%lld\r\nrdb_last_bgsave_status:ok\r\n"
                        "aof_enabled:1\r\naof_rewrite_in_progress:0\r\n"
                        "aof_rewrite_scheduled:0\r\naof_last_write_status:ok\r\n",
                        loading, start);
    if (loading)
        loading_fields(b, c, start);
    evbuffer_add(b, "\r\n", 2);
}

static void section_stats(struct evbuffer *b, const struct coord *c)
{
    struct stats st;
    uint64_t in = 0, out = 0;
    size_t channels, patterns, shard_channels;
    stats_get(&st);
    pubsub_counts(&channels, &patterns, &shard_channels);
    if (c->srv)
        conn_server_bytes(c->srv, &in, &out);
    evbuffer_add_printf(
        b,
        "# Stats\r\ntotal_connections_received:%llu\r\ntotal_commands_processed:%llu\r\n"
        "instantaneous_ops_per_sec:%llu\r\ntotal_net_input_bytes:%llu\r\n"
        "total_net_output_bytes:%llu\r\nrejected_connections:%llu\r\nexpired_keys:0\r\n"
        "evicted_keys:0\r\nkeyspace_hits:0\r\nkeyspace_misses:0\r\npubsub_channels:%zu\r\n"
        "pubsub_patterns:%zu\r\npubsubshard_channels:%zu\r\ntotal_error_replies:0\r\n"
        "client_output_buffer_limit_disconnections:%llu\r\n\r\n",
        (unsigned long long)st.connections, (unsigned long long)st.commands,
        (unsigned long long)st.ops_per_sec, (unsigned long long)in, (unsigned long long)out,
        (unsigned long long)st.rejected, channels, patterns, shard_channels,
        (unsigned long long)(c->srv ? conn_server_output_disconnections(c->srv) : 0));
}

static void section_replication(struct evbuffer *b, const struct coord *c)
{
    evbuffer_add_printf(b,
                        "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n"
                        "master_failover_state:no-failover\r\nmaster_replid:%s\r\n"
                        "master_replid2:0000000000000000000000000000000000000000\r\n"
                        "master_repl_offset:0\r\nsecond_repl_offset:-1\r\n"
                        "repl_backlog_active:0\r\nrepl_backlog_size:1048576\r\n"
                        "repl_backlog_first_byte_offset:0\r\nrepl_backlog_histlen:0\r\n\r\n",
                        run_id());
}

static void section_cpu(struct evbuffer *b, const struct coord *c)
{
    struct rusage self, kids;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &kids);
    evbuffer_add_printf(b,
                        "# CPU\r\nused_cpu_sys:%ld.%06ld\r\nused_cpu_user:%ld.%06ld\r\n"
                        "used_cpu_sys_children:%ld.%06ld\r\nused_cpu_user_children:%ld.%06ld"
                        "\r\n\r\n",
                        (long)self.ru_stime.tv_sec, (long)self.ru_stime.tv_usec,
                        (long)self.ru_utime.tv_sec, (long)self.ru_utime.tv_usec,
                        (long)kids.ru_stime.tv_sec, (long)kids.ru_stime.tv_usec,
                        (long)kids.ru_utime.tv_sec, (long)kids.ru_utime.tv_usec);
}

static void section_modules(struct evbuffer *b, const struct coord *c)
{
    evbuffer_add_printf(b, "# Modules\r\n\r\n");
}

static void section_errorstats(struct evbuffer *b, const struct coord *c)
{
    evbuffer_add_printf(b, "# Errorstats\r\n\r\n");
}

static void section_cluster(struct evbuffer *b, const struct coord *c)
{
    evbuffer_add_printf(b, "# Cluster\r\ncluster_enabled:0\r\n\r\n");
}

static void section_keyspace(struct evbuffer *b, const struct coord *c)
{
    evbuffer_add_printf(b, "# Keyspace\r\n");
    if (last_keyspace)
        evbuffer_add(b, evbuffer_pullup(last_keyspace, -1), evbuffer_get_length(last_keyspace));
    evbuffer_add(b, "\r\n", 2);
}

/* The address of link slot i, or "-" (none, or an empty slot). */
static const char *slot_addr(const struct txn *t, int i)
{
    struct link *l = i >= 0 ? txn_link(t, i) : NULL;
    return l ? link_addr(l) : "-";
}

/* One member's line: the link's fields first (tests and tools read addr= and state=, the
 * link state), then the member's own from the engine (member= is its in-sync/out state). */
static void replica_line(struct evbuffer *b, const struct coord *c, int i,
                         const struct txn_member_info *mi)
{
    struct link *l = txn_link(c->txn, i);
    char hello[17] = "-";
    if (mi->hello_cluster)
        snprintf(hello, sizeof hello, "%016llx", (unsigned long long)mi->hello_cluster);
    evbuffer_add_printf(b,
                        "replica_%d:addr=%s,state=%s,connects=%llu,stalled=%d,id=%llu,"
                        "member=%s,epoch=%llu,applied=%llu,hello_cluster=%s,proto=%d\r\n",
                        i + 1, mi->addr, l ? link_state_name(link_state(l)) : mi->link,
                        l ? (unsigned long long)link_connects(l) : 0ULL,
                        l ? link_stalled(l, (uint64_t)c->prepare_timeout_ms) : 0,
                        (unsigned long long)mi->id, mi->state, (unsigned long long)mi->epoch,
                        (unsigned long long)mi->applied, hello, l ? link_proto(l) : 0);
    /* Why the replica and this coordinator refused each other (versions, the secret). */
    if (l && link_refusal(l)[0])
        evbuffer_add_printf(b, "replica_%d_refused:%s\r\n", i + 1, link_refusal(l));
}

static void section_twopc(struct evbuffer *b, const struct coord *c)
{
    struct txn_stats st;
    struct txn_member_info mi;
    const struct settings *set = settings_get();
    txn_get_stats(c->txn, &st);
    int n = txn_nlinks(c->txn), ready = 0, in_sync = 0;
    int members = txn_members(c->txn, &in_sync);
    for (int i = 0; i < n; i++) {
        struct link *l = txn_link(c->txn, i);
        ready += txn_member_get(c->txn, i, &mi) == 0 && l && link_state(l) == LINK_READY;
    }
    evbuffer_add_printf(b,
                        "# Twopc\r\ncluster_id:%016llx\r\nepoch:%llu\r\nreplicas:%d\r\n"
                        "replicas_in_sync:%d\r\nreplicas_ready:%d\r\nmin_replicas:%d\r\n"
                        "down_after_ms:%lld\r\nwrite_wait_ms:%lld\r\n",
                        (unsigned long long)txn_cluster_id(c->txn),
                        (unsigned long long)txn_epoch(c->txn), members, in_sync, ready,
                        txn_min_replicas(c->txn), set->down_after_ms, set->write_wait_ms);
    evbuffer_add_printf(b,
                        "rounds_committed:%llu\r\nrounds_aborted:%llu\r\nops_committed:%llu\r\n"
                        "rounds_unacked:%zu\r\nops_pending:%zu\r\nnext_round:%llu\r\n"
                        "prepare_timeout_ms:%d\r\nlink_timeout_ms:%lld\r\n",
                        (unsigned long long)st.committed, (unsigned long long)st.aborted,
                        (unsigned long long)st.ops_committed, st.unacked_rounds,
                        st.pending_ops, (unsigned long long)st.next_rid,
                        c->prepare_timeout_ms, (long long)link_timeout());
    /* Redis's aof_last_write_status: err while the decision log cannot make records
     * durable (a full or failing disk; writes get MISCONF), ok otherwise. */
    evbuffer_add_printf(b, "decision_log_status:%s\r\n",
                        wal_failing(txn_log(c->txn), NULL, 0) ? "err" : "ok");
    for (int i = 0; i < n; i++)
        if (txn_member_get(c->txn, i, &mi) == 0) /* an empty slot: a removed member */
            replica_line(b, c, i, &mi);
    struct txn_repair_stats rs;
    txn_get_repair(c->txn, &rs);
    evbuffer_add_printf(b, "repair:state=%s,target=%s,source=%s,round=%llu,keys=%llu,"
                        "bytes=%llu,elapsed_ms=%llu,done=%llu,failed=%llu\r\n", rs.state,
                        slot_addr(c->txn, rs.target), slot_addr(c->txn, rs.source),
                        (unsigned long long)rs.round, (unsigned long long)rs.keys,
                        (unsigned long long)rs.bytes, (unsigned long long)rs.elapsed_ms,
                        (unsigned long long)rs.done, (unsigned long long)rs.failed);
    evbuffer_add(b, "\r\n", 2);
}

static const struct {
    const char *name;
    void (*fn)(struct evbuffer *, const struct coord *);
} sections[] = {
    { "server", section_server },         { "clients", section_clients },
    { "memory", section_memory },         { "persistence", section_persistence },
    { "stats", section_stats },           { "replication", section_replication },
    { "cpu", section_cpu },               { "modules", section_modules },
    { "errorstats", section_errorstats }, { "cluster", section_cluster },
    { "keyspace", section_keyspace },     { "twopc", section_twopc },
};
#define NSECTIONS (sizeof sections / sizeof sections[0])
#define KEYSPACE_BIT (1u << 10)

/* The sections a request asks for, one bit each (Redis: none named means "default",
 * which is every section here; unknown names add nothing). */
static unsigned wanted_sections(const struct resp_request *req)
{
    unsigned want = req->argc == 1 ? ~0u : 0;
    for (int i = 1; i < req->argc; i++) {
        const char *a = req->argv[i];
        if (!strcasecmp(a, "all") || !strcasecmp(a, "default") || !strcasecmp(a, "everything"))
            want = ~0u;
        size_t s = 0;
        while (s < NSECTIONS && strcasecmp(a, sections[s].name) != 0)
            s++;
        want |= s < NSECTIONS ? 1u << s : 0;
    }
    return want;
}

static void write_info_text(struct resp_writer *w, unsigned want)
{
    struct evbuffer *b = evbuffer_new();
    const struct coord *c = coord;
    for (size_t s = 0; s < NSECTIONS; s++)
        if (want & (1u << s))
            sections[s].fn(b, c);
    size_t len = evbuffer_get_length(b);
    /* Like Redis, no trailing blank line after the last section. */
    if (len >= 2)
        len -= 2;
    resp_write_verbatim(w, len ? (const char *)evbuffer_pullup(b, -1) : "", len);
    evbuffer_free(b);
}

struct info_call {
    struct slot *slot;
    unsigned want;
};

/* Keeps TPC.KEYSPACE's answer (an array of [db, keys, expires, avg_ttl]) as the section's
 * lines; a malformed or error reply keeps the last ones. */
static void keep_keyspace(const struct link_reply *r)
{
    struct evbuffer *b = evbuffer_new();
    int ok = b && r && !link_reply_is_error(r);
    for (size_t i = 0; ok && i < link_reply_len(r); i++) {
        const struct link_reply *row = link_reply_elem(r, i);
        long long v[4];
        ok = link_reply_len(row) == 4;
        for (size_t j = 0; ok && j < 4; j++)
            ok = link_reply_int(link_reply_elem(row, j), &v[j]) == 0;
        if (ok)
            evbuffer_add_printf(b, "db%lld:keys=%lld,expires=%lld,avg_ttl=%lld\r\n", v[0],
                                v[1], v[2], v[3]);
    }
    if (!ok) {
        if (b)
            evbuffer_free(b);
        return;
    }
    if (last_keyspace)
        evbuffer_free(last_keyspace);
    last_keyspace = b;
}

static void keyspace_done(struct link *l, const struct link_reply *r, void *arg)
{
    struct info_call *ic = arg;
    keep_keyspace(r);
    write_info_text(slot_writer(ic->slot), ic->want);
    slot_done(ic->slot);
    free(ic);
}

static void cmd_info(struct client *cl, const struct resp_request *req)
{
    char now[24];
    const char *argv[3] = { "TPC.READ", now, "TPC.KEYSPACE" };
    size_t lens[3] = { 8, util_u64_to_str(txn_now_ms(coord->txn), now), 12 };
    unsigned want = wanted_sections(req);
    struct link *l = NULL;
    if ((want & KEYSPACE_BIT) && !client_capturing(cl)) {
        if (client_has_writes(cl)) {
            client_park(cl, req); /* the count must include this client's writes */
            return;
        }
        l = txn_read_link(coord->txn, NULL);
    }
    struct info_call *ic = l ? calloc(1, sizeof *ic) : NULL;
    if (ic && (ic->slot = client_slot_new(cl, 0))) {
        ic->want = want;
        if (link_send(l, 3, argv, lens, keyspace_done, ic) == 0)
            return;
        write_info_text(slot_writer(ic->slot), want);
        slot_done(ic->slot);
    } else {
        write_info_text(client_reply_writer(cl), want);
    }
    free(ic);
}

/* ---- COMMAND ---- */

static void write_flags(struct resp_writer *w, const struct command *cmd)
{
    const char *flags[5];
    size_t n = 0; /* in Redis's order */
    if (cmd->flags & CMD_WRITE)
        flags[n++] = "write";
    if (cmd->flags & CMD_READ)
        flags[n++] = "readonly";
    if (cmd->flags & CMD_BLOCKING)
        flags[n++] = "blocking";
    if (cmd->flags & CMD_LOADING)
        flags[n++] = "loading";
    if (cmd->flags & CMD_FAST)
        flags[n++] = "fast";
    resp_write_array(w, n);
    for (size_t i = 0; i < n; i++)
        resp_write_simple(w, flags[i]);
}

static void write_info(struct resp_writer *w, const struct command *cmd)
{
    resp_write_array(w, 10);
    resp_write_cstr(w, cmd->name);
    resp_write_int(w, cmd->arity);
    write_flags(w, cmd);
    resp_write_int(w, cmd->first_key);
    resp_write_int(w, cmd->last_key);
    resp_write_int(w, cmd->step);
    resp_write_array(w, 0); /* ACL categories */
    resp_write_array(w, 0); /* tips */
    resp_write_array(w, 0); /* key specs */
    resp_write_array(w, 0); /* subcommands */
}

static void write_docs(struct resp_writer *w, const struct command *cmd)
{
    resp_write_cstr(w, cmd->name);
    resp_write_map(w, 3);
    resp_write_cstr(w, "summary");
    resp_write_cstr(w, cmd->summary);
    resp_write_cstr(w, "since");
    resp_write_cstr(w, cmd->since);
    resp_write_cstr(w, "group");
    resp_write_cstr(w, cmd->group);
}

static void sub_all(struct client *cl, const struct resp_request *req)
{
    struct resp_writer *w = client_reply_writer(cl);
    size_t n = registry_count();
    resp_write_array(w, n);
    for (size_t i = 0; i < n; i++)
        write_info(w, registry_at(i));
}

static void sub_count(struct client *cl, const struct resp_request *req)
{
    resp_write_int(client_reply_writer(cl), (int64_t)registry_count());
}

static void sub_list(struct client *cl, const struct resp_request *req)
{
    struct resp_writer *w = client_reply_writer(cl);
    size_t n = registry_count();
    if (req->argc != 2) { /* FILTERBY: not supported */
        resp_write_error(w, "ERR syntax error");
        return;
    }
    resp_write_array(w, n);
    for (size_t i = 0; i < n; i++)
        resp_write_cstr(w, registry_at(i)->name);
}

static void sub_info(struct client *cl, const struct resp_request *req)
{
    struct resp_writer *w = client_reply_writer(cl);
    if (req->argc == 2) {
        sub_all(cl, req);
        return;
    }
    resp_write_array(w, (size_t)req->argc - 2);
    for (int i = 2; i < req->argc; i++) {
        const struct command *cmd = registry_lookup(req->argv[i], req->lens[i]);
        if (cmd)
            write_info(w, cmd);
        else
            resp_write_null(w);
    }
}

static void sub_docs(struct client *cl, const struct resp_request *req)
{
    struct resp_writer *w = client_reply_writer(cl);
    size_t n = registry_count(), found = 0;
    for (int i = 2; i < req->argc; i++)
        found += registry_lookup(req->argv[i], req->lens[i]) != NULL;
    resp_write_map(w, req->argc == 2 ? n : found);
    for (size_t i = 0; req->argc == 2 && i < n; i++)
        write_docs(w, registry_at(i));
    for (int i = 2; i < req->argc; i++) {
        const struct command *cmd = registry_lookup(req->argv[i], req->lens[i]);
        if (cmd)
            write_docs(w, cmd);
    }
}

/* COMMAND GETKEYS cmd args...: the key positions from the table's first/last/step. */
static void sub_getkeys(struct client *cl, const struct resp_request *req)
{
    struct resp_writer *w = client_reply_writer(cl);
    const struct command *cmd = registry_lookup(req->argv[2], req->lens[2]);
    int argc = req->argc - 2;
    if (!cmd) {
        resp_write_error(w, "ERR Invalid command specified");
        return;
    }
    if (cmd->first_key <= 0) {
        resp_write_error(w, "ERR The command has no key arguments");
        return;
    }
    if ((cmd->arity > 0 && argc != cmd->arity) || argc < -cmd->arity) {
        resp_write_error(w, "ERR Invalid number of arguments specified for command");
        return;
    }
    int last = cmd->last_key < 0 ? argc + cmd->last_key : cmd->last_key;
    int step = cmd->step > 0 ? cmd->step : 1;
    if (last >= argc)
        last = argc - 1;
    resp_write_array(w, (size_t)((last - cmd->first_key) / step + 1));
    for (int i = cmd->first_key; i <= last; i += step)
        resp_write_bulk(w, req->argv[2 + i], req->lens[2 + i]);
}

static void sub_help(struct client *cl, const struct resp_request *req)
{
    static const char *const lines[] = {
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "(no subcommand)",
        "    Return details about all Redis commands.",
        "COUNT",
        "    Return the total number of commands in this Redis server.",
        "LIST",
        "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "GETKEYS <full-command>",
        "    Return the keys from a full Redis command.",
        "HELP",
        "    Prints this help.",
    };
    registry_help(cl, lines, sizeof lines / sizeof lines[0]);
}

static const struct subcommand command_subcommands[] = {
    { "count", 2, sub_count }, { "list", -2, sub_list },       { "info", -2, sub_info },
    { "docs", -2, sub_docs },  { "getkeys", -4, sub_getkeys }, { "help", 2, sub_help },
    { NULL, 0, NULL },
};

static void cmd_command(struct client *cl, const struct resp_request *req)
{
    if (req->argc == 1)
        sub_all(cl, req);
    else
        registry_run_subcommand(cl, req, command_subcommands);
}

static const struct command info_commands[] = {
    { "command", -1, CMD_LOCAL | CMD_LOADING, 0, 0, 0, "server", "2.8.13",
      "Returns detailed information about all commands.", cmd_command, command_subcommands },
    { "info", -1, CMD_LOCAL | CMD_LOADING, 0, 0, 0, "server", "1.0.0",
      "Returns information and statistics about the server.", cmd_info, NULL },
};

int info_init(struct coord *c)
{
    coord = c;
    return registry_add(info_commands, sizeof info_commands / sizeof info_commands[0]);
}
