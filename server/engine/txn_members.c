/* txn_members.c -- the cluster's identity and replica set (see txn.h). First cut: the
 * API, over a fixed set of in-sync members. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "txn_internal.h"

int txn_member_get(const struct txn *t, int i, struct txn_member_info *mi)
{
    if (i < 0 || i >= t->nlinks)
        return -1;
    *mi = (struct txn_member_info){ (uint64_t)i + 1, t->io.addr(t->io.ctx, i), "in-sync",
                                    "?", 0, 0, 0, 0, "" };
    return 0;
}
uint64_t txn_cluster_id(const struct txn *t) { (void)t; return 0; }
uint64_t txn_epoch(const struct txn *t) { (void)t; return 0; }
int txn_members(const struct txn *t, int *in_sync)
{
    if (in_sync)
        *in_sync = t->nlinks;
    return t->nlinks;
}
int txn_member_add(struct txn *t, const char *addr, char *err, size_t errlen)
{
    (void)t, (void)addr;
    snprintf(err, errlen, "ERR not yet");
    return -1;
}
int txn_member_remove(struct txn *t, const char *which, char *err, size_t errlen)
{
    (void)t, (void)which;
    snprintf(err, errlen, "ERR not yet");
    return -1;
}
int txn_member_replace(struct txn *t, const char *which, const char *addr, char *err,
                       size_t errlen)
{
    (void)t, (void)which, (void)addr;
    snprintf(err, errlen, "ERR not yet");
    return -1;
}
void txn_set_min_replicas(struct txn *t, int k) { (void)t, (void)k; }
int txn_min_replicas(const struct txn *t) { (void)t; return 0; }
void txn_set_down_after(struct txn *t, int ms) { (void)t, (void)ms; }
void txn_set_write_wait(struct txn *t, int ms) { (void)t, (void)ms; }
const char *txn_loading(struct txn *t, char *buf, size_t len)
{
    (void)t, (void)buf, (void)len;
    return NULL;
}
