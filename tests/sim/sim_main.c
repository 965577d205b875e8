/* sim_main.c -- twopc-sim: runs the simulator (sim.h) over a range of seeds.
 *
 *     twopc-sim --seeds 1-200              every seed must pass; a failure prints its seed
 *     twopc-sim --seed 1234 --verbose      replays one seed, printing every event
 *     twopc-sim --bug presumed-abort --expect-violation --seeds 1-500
 *                                          a deliberately broken rule: finds the first seed
 *                                          that catches it, then replays that seed and
 *                                          checks it fails the same way again
 *
 * Exit status: 0 when every seed held (or, with --expect-violation, when a seed caught the
 * bug and replayed identically), 1 otherwise, 2 on bad usage.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "failpoint.h"
#include "log.h"
#include "sim.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: twopc-sim [--seeds A-B | --seed N] [--replicas N] [--clients N]\n"
               "                 [--run-ms MS] [--bug NAME [--expect-violation]] [--wipe PERCENT]\n"
               "                 [--rollback PERCENT] [--min-replicas K] [--members PERCENT]\n"
               "                 [--partition PERCENT] [--disk-errors PERCENT]\n"
               "                 [--stray-hello PERCENT] [--databases N] [--verbose]\n"
               "bugs: presumed-abort unfenced-abort reply-before-commit skip-in-doubt "
               "vote-before-durable trust-lost-data (with --wipe)\n"
               "      commit-on-k-votes trust-left-out (with --min-replicas) no-fence\n"
               "      trust-failed-fsync (with --disk-errors) eager-hello (with --stray-hello)\n"
               "--partition: percent of faults that cut the network (default 10; 0: none)\n");
}

/* The engine's failpoint switch behind each broken rule (vote-before-durable is the
 * simulator's own replica driver releasing votes early). */
static const char *bug_switch(const char *bug)
{
    static const char *const map[][2] = {
        { "presumed-abort", "coord.bug.presumed_abort" },
        { "unfenced-abort", "coord.bug.unfenced_abort" },
        { "reply-before-commit", "coord.bug.reply_before_commit" },
        { "skip-in-doubt", "coord.bug.skip_in_doubt" },
        { "vote-before-durable", "" },
        { "no-fence", "" },
        { "trust-lost-data", "coord.bug.trust_lost_data" },
        { "commit-on-k-votes", "coord.bug.commit_on_k_votes" },
        { "trust-left-out", "coord.bug.trust_left_out" },
        { "trust-failed-fsync", "coord.bug.trust_failed_fsync" },
        { "eager-hello", "replica.bug.eager_hello" },
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(bug, map[i][0]) == 0)
            return map[i][1];
    return NULL;
}

/* The seed being run, for the abort handler: an invariant check inside the engine or the
 * participant aborts the process, and the seed must still be printed so it replays. */
static volatile uint64_t current_seed;
static const char *current_bug;

static void on_abort(int sig)
{
    char msg[160];
    int n = snprintf(msg, sizeof msg, "\ntwopc-sim: an invariant check failed in seed %" PRIu64
                     "; replay: twopc-sim --seed %" PRIu64 "%s%s --verbose\n", current_seed,
                     current_seed, current_bug ? " --bug " : "", current_bug ? current_bug : "");
    if (n > 0 && write(1, msg, (size_t)n) < 0)
        _exit(3);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void print_result(uint64_t seed, const struct sim_result *r)
{
    printf("seed %" PRIu64 ": %s%s  (%" PRIu64 " rounds: %" PRIu64 " committed; %" PRIu64
           " ok / %" PRIu64
           " failed / %" PRIu64 " unknown writes+reads, %" PRIu64 " crashes, %" PRIu64
           " pauses, %" PRIu64 " breaks, %" PRIu64 " strays, %" PRIu64 " events)\n",
           seed, r->violation ? "VIOLATION: " : "ok", r->violation ? r->what : "", r->rounds,
           r->committed, r->ops_ok, r->ops_failed, r->ops_unknown, r->crashes, r->pauses, r->breaks,
           r->strays, r->events);
}

int main(int argc, char **argv)
{
    struct sim_config cfg = { .nreplicas = 3, .nclients = 6, .run_ms = 4000, .partition = 10 };
    uint64_t from = 1, to = 20;
    int expect = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--seeds") == 0 && v) {
            if (sscanf(v, "%" SCNu64 "-%" SCNu64, &from, &to) != 2 || to < from) {
                usage(stderr);
                return 2;
            }
            i++;
        } else if (strcmp(a, "--seed") == 0 && v) {
            from = to = strtoull(v, NULL, 10), i++;
        } else if (strcmp(a, "--replicas") == 0 && v) {
            cfg.nreplicas = atoi(v), i++;
        } else if (strcmp(a, "--clients") == 0 && v) {
            cfg.nclients = atoi(v), i++;
        } else if (strcmp(a, "--run-ms") == 0 && v) {
            cfg.run_ms = strtoull(v, NULL, 10), i++;
        } else if (strcmp(a, "--bug") == 0 && v) {
            cfg.bug = v, i++;
        } else if (strcmp(a, "--expect-violation") == 0) {
            expect = 1;
        } else if (strcmp(a, "--wipe") == 0 && v) {
            cfg.wipe = atoi(v), i++;
        } else if (strcmp(a, "--rollback") == 0 && v) {
            cfg.rollback = atoi(v), i++;
        } else if (strcmp(a, "--min-replicas") == 0 && v) {
            cfg.min_replicas = atoi(v), i++;
        } else if (strcmp(a, "--disk-errors") == 0 && v) {
            cfg.disk_errors = atoi(v), i++;
        } else if (strcmp(a, "--partition") == 0 && v) {
            cfg.partition = atoi(v), i++;
        } else if (strcmp(a, "--databases") == 0 && v) {
            cfg.databases = atoi(v), i++;
        } else if (strcmp(a, "--stray-hello") == 0 && v) {
            cfg.stray_hello = atoi(v), i++;
        } else if (strcmp(a, "--members") == 0 && v) {
            cfg.members = atoi(v), i++;
        } else if (strcmp(a, "--verbose") == 0) {
            cfg.verbose = 1;
        } else {
            usage(strcmp(a, "--help") == 0 ? stdout : stderr);
            return strcmp(a, "--help") == 0 ? 0 : 2;
        }
    }
    const char *sw = cfg.bug ? bug_switch(cfg.bug) : "";
    if (!sw) {
        usage(stderr);
        return 2;
    }
    if (*sw) {
        setenv("TWOPC_FAILPOINTS", sw, 1);
        failpoint_init();
    }
    log_init('S', cfg.verbose ? NULL : "/dev/null", LOG_LEVEL_WARNING);
    current_bug = cfg.bug;
    signal(SIGABRT, on_abort);
    time_t t0 = time(NULL);
    uint64_t rounds = 0, failed = 0, wipes = 0, rollbacks = 0, repairs = 0, changes = 0;
    uint64_t partitions = 0, timeouts = 0, disk_errors = 0;
    for (uint64_t seed = from; seed <= to; seed++) {
        struct sim_result r;
        cfg.seed = current_seed = seed;
        if (sim_run(&cfg, &r) < 0) {
            fprintf(stderr, "twopc-sim: bad configuration\n");
            return 2;
        }
        rounds += r.rounds;
        wipes += r.wipes;
        rollbacks += r.rollbacks;
        repairs += r.repairs;
        changes += r.member_changes;
        partitions += r.partitions;
        timeouts += r.timeouts;
        disk_errors += r.disk_errors;
        if (r.violation || cfg.verbose || from == to)
            print_result(seed, &r);
        if (!r.violation)
            continue;
        failed++;
        if (!expect) {
            printf("replay: twopc-sim --seed %" PRIu64 "%s%s --verbose\n", seed,
                   cfg.bug ? " --bug " : "", cfg.bug ? cfg.bug : "");
            continue;
        }
        /* It counts only if the same seed passes with the rule intact. */
        struct sim_config clean = cfg;
        struct sim_result ok, again;
        clean.bug = NULL;
#ifdef TWOPC_FAILPOINTS
        int fp = failpoints_enabled;
        failpoints_enabled = 0;
#endif
        sim_run(&clean, &ok);
#ifdef TWOPC_FAILPOINTS
        failpoints_enabled = fp;
#endif
        if (ok.violation) {
            printf("seed %" PRIu64 " fails without the bug too: not counted\n", seed);
            continue;
        }
        sim_run(&cfg, &again);
        int same = again.violation && strcmp(again.what, r.what) == 0 &&
                   again.events == r.events;
        printf("bug %s caught by seed %" PRIu64 " (which passes without it); replayed: %s\n",
               cfg.bug, seed, same ? "the same violation at the same event" : "DIFFERENT");
        return same ? 0 : 1;
    }
    printf("%" PRIu64 " seeds, %" PRIu64 " rounds, %" PRIu64 " violations, %ld s\n",
           to - from + 1, rounds, failed, (long)(time(NULL) - t0));
    if (cfg.partition)
        printf("%" PRIu64 " network partitions, %" PRIu64 " links dropped by the link timeout\n",
               partitions, timeouts);
    if (cfg.disk_errors)
        printf("%" PRIu64 " log syncs failed (cut back to the durable offset, written again)\n",
               disk_errors);
    if (cfg.members || cfg.min_replicas)
        printf("%" PRIu64 " replica-set changes (added, removed, replaced), min-replicas %d\n",
               changes, cfg.min_replicas);
    if (cfg.wipe || cfg.rollback || cfg.members || cfg.min_replicas)
        printf("%" PRIu64 " disks wiped, %" PRIu64 " folders rolled back, %" PRIu64
               " repairs (a replica that lost data is never read nor counted as a vote until "
               "repaired)\n", wipes, rollbacks, repairs);
    if (expect) {
        printf("bug %s was NOT caught by seeds %" PRIu64 "-%" PRIu64 "\n", cfg.bug, from, to);
        return 1;
    }
    return failed ? 1 : 0;
}
