/* data_cmd.c -- the data commands: reads (one replica) and writes (rounds).
 *
 * Data commands are evaluated by the replicas (replica/exec.c), so the coordinator only
 * checks what Redis checks before running a command (the name, the arity: registry.c) and
 * forwards: a read to the read batcher (reads.c), which sends it to one replica as part of
 * a TPC.MREAD, a write into a round (txn.h). Option syntax errors, wrong values and the
 * like come back from the replicas as the command's reply, as they would from Redis's
 * command itself (also inside MULTI/EXEC).
 *
 * data_cmd_submit() is the front end's one door into the round engine: plain writes and
 * EXEC's TX op (multi.c) both go through it.
 */
#include "data_cmd.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "coord.h"
#include "op.h"
#include "reads.h"
#include "registry.h"
#include "replica_link.h"
#include "settings.h"
#include "txn_io.h"
#include "util.h"

static struct coord *coord;

static void cmd_read(struct client *cl, const struct resp_request *req);
static void cmd_write(struct client *cl, const struct resp_request *req);
static void cmd_write_pairs(struct client *cl, const struct resp_request *req);
static void cmd_maybe_write(struct client *cl, const struct resp_request *req);
static void cmd_object(struct client *cl, const struct resp_request *req);

/* OBJECT's subcommands: each a read of its key (cmd_object.h on the replicas); the registry
 * checks their names and arities first, as Redis does. */
static const struct subcommand object_subcommands[] = {
    { "encoding", 3, cmd_read }, { "freq", 3, cmd_read }, { "idletime", 3, cmd_read },
    { "refcount", 3, cmd_read }, { "help", 2, cmd_read }, { NULL, 0, NULL },
};

#define W CMD_WRITE
#define R CMD_READ
#define F CMD_FAST

/* Doc fields (group, since, summary) are Redis 7.0's; COMMAND DOCS and INFO read them. */
static const struct command data_commands[] = {
    { "append", 3, W, 1, 1, 1, "string", "2.0.0",
      "Appends a string to the value of a key. Creates the key if it doesn't exist.",
      cmd_write, NULL },
    { "bitcount", -2, R, 1, 1, 1, "bitmap", "2.6.0",
      "Counts the number of set bits (population counting) in a string.", cmd_read, NULL },
    { "bitfield", -2, W, 1, 1, 1, "bitmap", "3.2.0",
      "Perform arbitrary bitfield integer operations on strings", cmd_maybe_write, NULL },
    { "bitfield_ro", -2, R | F, 1, 1, 1, "bitmap", "6.0.0",
      "Perform arbitrary bitfield integer operations on strings. Read-only variant of "
      "BITFIELD", cmd_read, NULL },
    { "bitop", -4, W, 2, -1, 1, "bitmap", "2.6.0",
      "Performs bitwise operations on multiple strings, and stores the result.", cmd_write,
      NULL },
    { "bitpos", -3, R, 1, 1, 1, "bitmap", "2.8.7",
      "Finds the first set (1) or clear (0) bit in a string.", cmd_read, NULL },
    { "copy", -3, W, 1, 2, 1, "generic", "6.2.0", "Copies the value of a key to a new key.",
      cmd_write, NULL },
    { "dbsize", 1, R | F, 0, 0, 0, "server", "1.0.0",
      "Returns the number of keys in the database.", cmd_read, NULL },
    { "decr", 2, W | F, 1, 1, 1, "string", "1.0.0",
      "Decrements the integer value of a key by one. Uses 0 as initial value if the key "
      "doesn't exist.", cmd_write, NULL },
    { "decrby", 3, W | F, 1, 1, 1, "string", "1.0.0",
      "Decrements a number from the integer value of a key. Uses 0 as initial value if the "
      "key doesn't exist.", cmd_write, NULL },
    { "del", -2, W, 1, -1, 1, "generic", "1.0.0", "Deletes one or more keys.", cmd_write,
      NULL },
    { "exists", -2, R | F, 1, -1, 1, "generic", "1.0.0",
      "Determines whether one or more keys exist.", cmd_read, NULL },
    { "expire", -3, W | F, 1, 1, 1, "generic", "1.0.0",
      "Sets the expiration time of a key in seconds.", cmd_write, NULL },
    { "expireat", -3, W | F, 1, 1, 1, "generic", "1.2.0",
      "Sets the expiration time of a key to a Unix timestamp.", cmd_write, NULL },
    { "expiretime", 2, R | F, 1, 1, 1, "generic", "7.0.0",
      "Returns the expiration time of a key as a Unix timestamp.", cmd_read, NULL },
    { "flushall", -1, W, 0, 0, 0, "server", "1.0.0", "Removes all keys from all databases.",
      cmd_write, NULL },
    { "flushdb", -1, W, 0, 0, 0, "server", "1.0.0",
      "Remove all keys from the current database.", cmd_write, NULL },
    { "get", 2, R | F, 1, 1, 1, "string", "1.0.0", "Returns the string value of a key.",
      cmd_read, NULL },
    { "getbit", 3, R | F, 1, 1, 1, "bitmap", "2.2.0", "Returns a bit value by offset.",
      cmd_read, NULL },
    { "getdel", 2, W | F, 1, 1, 1, "string", "6.2.0",
      "Returns the string value of a key after deleting the key.", cmd_write, NULL },
    { "getex", -2, W | F, 1, 1, 1, "string", "6.2.0",
      "Returns the string value of a key after setting its expiration time.", cmd_write, NULL },
    { "getrange", 4, R, 1, 1, 1, "string", "2.4.0",
      "Returns a substring of the string stored at a key.", cmd_read, NULL },
    { "getset", 3, W | F, 1, 1, 1, "string", "1.0.0",
      "Returns the previous string value of a key after setting it to a new value.",
      cmd_write, NULL },
    { "hdel", -3, W | F, 1, 1, 1, "hash", "2.0.0",
      "Deletes one or more fields and their values from a hash. Deletes the hash if no "
      "fields remain.", cmd_write, NULL },
    { "hexists", 3, R | F, 1, 1, 1, "hash", "2.0.0",
      "Determines whether a field exists in a hash.", cmd_read, NULL },
    { "hget", 3, R | F, 1, 1, 1, "hash", "2.0.0", "Returns the value of a field in a hash.",
      cmd_read, NULL },
    { "hgetall", 2, R, 1, 1, 1, "hash", "2.0.0", "Returns all fields and values in a hash.",
      cmd_read, NULL },
    { "hincrby", 4, W | F, 1, 1, 1, "hash", "2.0.0",
      "Increments the integer value of a field in a hash by a number. Uses 0 as initial "
      "value if the field doesn't exist.", cmd_write, NULL },
    { "hincrbyfloat", 4, W | F, 1, 1, 1, "hash", "2.6.0",
      "Increments the floating point value of a field by a number. Uses 0 as initial value "
      "if the field doesn't exist.", cmd_write, NULL },
    { "hkeys", 2, R, 1, 1, 1, "hash", "2.0.0", "Returns all fields in a hash.", cmd_read,
      NULL },
    { "hlen", 2, R | F, 1, 1, 1, "hash", "2.0.0", "Returns the number of fields in a hash.",
      cmd_read, NULL },
    { "hmget", -3, R | F, 1, 1, 1, "hash", "2.0.0",
      "Returns the values of all fields in a hash.", cmd_read, NULL },
    { "hmset", -4, W | F, 1, 1, 1, "hash", "2.0.0", "Sets the values of multiple fields.",
      cmd_write, NULL },
    { "hrandfield", -2, R, 1, 1, 1, "hash", "6.2.0",
      "Returns one or more random fields from a hash.", cmd_read, NULL },
    { "hscan", -3, R, 1, 1, 1, "hash", "2.8.0",
      "Iterates over fields and values of a hash.", cmd_read, NULL },
    { "hset", -4, W | F, 1, 1, 1, "hash", "2.0.0",
      "Creates or modifies the value of a field in a hash.", cmd_write, NULL },
    { "hsetnx", 4, W | F, 1, 1, 1, "hash", "2.0.0",
      "Sets the value of a field in a hash only when the field doesn't exist.", cmd_write,
      NULL },
    { "hstrlen", 3, R | F, 1, 1, 1, "hash", "3.2.0",
      "Returns the length of the value of a field.", cmd_read, NULL },
    { "hvals", 2, R, 1, 1, 1, "hash", "2.0.0", "Returns all values in a hash.", cmd_read,
      NULL },
    { "incr", 2, W | F, 1, 1, 1, "string", "1.0.0",
      "Increments the integer value of a key by one. Uses 0 as initial value if the key "
      "doesn't exist.", cmd_write, NULL },
    { "incrby", 3, W | F, 1, 1, 1, "string", "1.0.0",
      "Increments the integer value of a key by a number. Uses 0 as initial value if the "
      "key doesn't exist.", cmd_write, NULL },
    { "incrbyfloat", 3, W | F, 1, 1, 1, "string", "2.6.0",
      "Increment the floating point value of a key by a number. Uses 0 as initial value if "
      "the key doesn't exist.", cmd_write, NULL },
    { "keys", 2, R, 0, 0, 0, "generic", "1.0.0", "Returns all key names that match a pattern.",
      cmd_read, NULL },
    { "lcs", -3, R, 1, 2, 1, "string", "7.0.0", "Find longest common substring", cmd_read,
      NULL },
    { "lindex", 3, R, 1, 1, 1, "list", "1.0.0",
      "Get an element from a list by its index", cmd_read, NULL },
    { "linsert", 5, W, 1, 1, 1, "list", "2.2.0",
      "Insert an element before or after another element in a list", cmd_write, NULL },
    { "llen", 2, R | F, 1, 1, 1, "list", "1.0.0",
      "Get the length of a list", cmd_read, NULL },
    { "lmove", 5, W, 1, 2, 1, "list", "6.2.0",
      "Pop an element from a list, push it to another list and return it", cmd_write, NULL },
    { "lmpop", -4, W, 0, 0, 0, "list", "7.0.0",
      "Pop elements from a list", cmd_write, NULL },
    { "lpop", -2, W | F, 1, 1, 1, "list", "1.0.0",
      "Remove and get the first elements in a list", cmd_write, NULL },
    { "lpos", -3, R, 1, 1, 1, "list", "6.0.6",
      "Return the index of matching elements on a list", cmd_read, NULL },
    { "lpush", -3, W | F, 1, 1, 1, "list", "1.0.0",
      "Prepend one or multiple elements to a list", cmd_write, NULL },
    { "lpushx", -3, W | F, 1, 1, 1, "list", "2.2.0",
      "Prepend an element to a list, only if the list exists", cmd_write, NULL },
    { "lrange", 4, R, 1, 1, 1, "list", "1.0.0",
      "Get a range of elements from a list", cmd_read, NULL },
    { "lrem", 4, W, 1, 1, 1, "list", "1.0.0",
      "Remove elements from a list", cmd_write, NULL },
    { "lset", 4, W, 1, 1, 1, "list", "1.0.0",
      "Set the value of an element in a list by its index", cmd_write, NULL },
    { "ltrim", 4, W, 1, 1, 1, "list", "1.0.0",
      "Trim a list to the specified range", cmd_write, NULL },
    { "mget", -2, R | F, 1, -1, 1, "string", "1.0.0",
      "Atomically returns the string values of one or more keys.", cmd_read, NULL },
    { "mset", -3, W, 1, -1, 2, "string", "1.0.1",
      "Atomically creates or modifies the string values of one or more keys.",
      cmd_write_pairs, NULL },
    { "msetnx", -3, W, 1, -1, 2, "string", "1.0.1",
      "Atomically modifies the string values of one or more keys only when all keys don't "
      "exist.", cmd_write_pairs, NULL },
    { "object", -2, R, 0, 0, 0, "generic", "2.2.3",
      "A container for object introspection commands", cmd_object, object_subcommands },
    { "move", 3, W | F, 1, 1, 1, "generic", "1.0.0", "Moves a key to another database.",
      cmd_write, NULL },
    { "persist", 2, W | F, 1, 1, 1, "generic", "2.2.0",
      "Removes the expiration time of a key.", cmd_write, NULL },
    { "pexpire", -3, W | F, 1, 1, 1, "generic", "2.6.0",
      "Sets the expiration time of a key in milliseconds.", cmd_write, NULL },
    { "pexpireat", -3, W | F, 1, 1, 1, "generic", "2.6.0",
      "Sets the expiration time of a key to a Unix milliseconds timestamp.", cmd_write, NULL },
    { "pexpiretime", 2, R | F, 1, 1, 1, "generic", "7.0.0",
      "Returns the expiration time of a key as a Unix milliseconds timestamp.", cmd_read,
      NULL },
    { "psetex", 4, W, 1, 1, 1, "string", "2.6.0",
      "Sets both string value and expiration time in milliseconds of a key. The key is "
      "created if it doesn't exist.", cmd_write, NULL },
    { "pttl", 2, R | F, 1, 1, 1, "generic", "2.6.0",
      "Returns the expiration time in milliseconds of a key.", cmd_read, NULL },
    { "randomkey", 1, R, 0, 0, 0, "generic", "1.0.0",
      "Returns a random key name from the database.", cmd_read, NULL },
    { "rename", 3, W, 1, 2, 1, "generic", "1.0.0",
      "Renames a key and overwrites the destination.", cmd_write, NULL },
    { "renamenx", 3, W | F, 1, 2, 1, "generic", "1.0.0",
      "Renames a key only when the target key name doesn't exist.", cmd_write, NULL },
    { "rpop", -2, W | F, 1, 1, 1, "list", "1.0.0",
      "Remove and get the last elements in a list", cmd_write, NULL },
    { "rpoplpush", 3, W, 1, 2, 1, "list", "1.2.0",
      "Remove the last element in a list, prepend it to another list and return it",
      cmd_write, NULL },
    { "rpush", -3, W | F, 1, 1, 1, "list", "1.0.0",
      "Append one or multiple elements to a list", cmd_write, NULL },
    { "rpushx", -3, W | F, 1, 1, 1, "list", "2.2.0",
      "Append an element to a list, only if the list exists", cmd_write, NULL },
    { "scan", -2, R, 0, 0, 0, "generic", "2.8.0",
      "Iterates over the key names in the database.", cmd_read, NULL },
    { "sadd", -3, W | F, 1, 1, 1, "set", "1.0.0",
      "Adds one or more members to a set. Creates the key if it doesn't exist.", cmd_write,
      NULL },
    { "scard", 2, R | F, 1, 1, 1, "set", "1.0.0", "Returns the number of members in a set.",
      cmd_read, NULL },
    { "sdiff", -2, R, 1, -1, 1, "set", "1.0.0", "Returns the difference of multiple sets.",
      cmd_read, NULL },
    { "sdiffstore", -3, W, 1, -1, 1, "set", "1.0.0",
      "Stores the difference of multiple sets in a key.", cmd_write, NULL },
    { "sinter", -2, R, 1, -1, 1, "set", "1.0.0", "Returns the intersect of multiple sets.",
      cmd_read, NULL },
    { "sintercard", -3, R, 2, -1, 1, "set", "7.0.0",
      "Returns the number of members of the intersect of multiple sets.", cmd_read, NULL },
    { "sinterstore", -3, W, 1, -1, 1, "set", "1.0.0",
      "Stores the intersect of multiple sets in a key.", cmd_write, NULL },
    { "sismember", 3, R | F, 1, 1, 1, "set", "1.0.0",
      "Determines whether a member belongs to a set.", cmd_read, NULL },
    { "smembers", 2, R, 1, 1, 1, "set", "1.0.0", "Returns all members of a set.", cmd_read,
      NULL },
    { "smismember", -3, R | F, 1, 1, 1, "set", "6.2.0",
      "Determines whether multiple members belong to a set.", cmd_read, NULL },
    { "smove", 4, W | F, 1, 2, 1, "set", "1.0.0", "Moves a member from one set to another.",
      cmd_write, NULL },
    { "sort", -2, W, 1, 1, 1, "generic", "1.0.0",
      "Sort the elements in a list, set or sorted set, optionally storing the result",
      cmd_maybe_write, NULL },
    { "sort_ro", -2, R, 1, 1, 1, "generic", "7.0.0",
      "Sort the elements in a list, set or sorted set. Read-only variant of SORT.", cmd_read,
      NULL },
    { "spop", -2, W | F, 1, 1, 1, "set", "1.0.0",
      "Returns one or more random members from a set after removing them. Deletes the set "
      "if the last member was popped.", cmd_write, NULL },
    { "srandmember", -2, R, 1, 1, 1, "set", "1.0.0",
      "Get one or multiple random members from a set", cmd_read, NULL },
    { "srem", -3, W | F, 1, 1, 1, "set", "1.0.0",
      "Removes one or more members from a set. Deletes the set if the last member was "
      "removed.", cmd_write, NULL },
    { "sscan", -3, R, 1, 1, 1, "set", "2.8.0", "Iterates over members of a set.", cmd_read,
      NULL },
    { "sunion", -2, R, 1, -1, 1, "set", "1.0.0", "Returns the union of multiple sets.",
      cmd_read, NULL },
    { "sunionstore", -3, W, 1, -1, 1, "set", "1.0.0",
      "Stores the union of multiple sets in a key.", cmd_write, NULL },
    { "set", -3, W, 1, 1, 1, "string", "1.0.0",
      "Sets the string value of a key, ignoring its type. The key is created if it doesn't "
      "exist.", cmd_write, NULL },
    { "setbit", 4, W, 1, 1, 1, "bitmap", "2.2.0",
      "Sets or clears the bit at offset of the string value. Creates the key if it doesn't "
      "exist.", cmd_write, NULL },
    { "setex", 4, W, 1, 1, 1, "string", "2.0.0",
      "Sets the string value and expiration time of a key. Creates the key if it doesn't "
      "exist.", cmd_write, NULL },
    { "setnx", 3, W | F, 1, 1, 1, "string", "1.0.0",
      "Set the string value of a key only when the key doesn't exist.", cmd_write, NULL },
    { "setrange", 4, W, 1, 1, 1, "string", "2.2.0",
      "Overwrites a part of a string value with another by an offset. Creates the key if it "
      "doesn't exist.", cmd_write, NULL },
    { "strlen", 2, R | F, 1, 1, 1, "string", "2.2.0", "Returns the length of a string value.",
      cmd_read, NULL },
    { "substr", 4, R, 1, 1, 1, "string", "1.0.0",
      "Returns a substring from a string value.", cmd_read, NULL },
    { "swapdb", 3, W | F, 0, 0, 0, "server", "4.0.0", "Swaps two Redis databases.", cmd_write,
      NULL },
    { "touch", -2, R | F, 1, -1, 1, "generic", "3.2.1",
      "Returns the number of existing keys out of those specified after updating the time "
      "they were last accessed.", cmd_read, NULL },
    { "ttl", 2, R | F, 1, 1, 1, "generic", "1.0.0",
      "Returns the expiration time in seconds of a key.", cmd_read, NULL },
    { "type", 2, R | F, 1, 1, 1, "generic", "1.0.0",
      "Determines the type of value stored at a key.", cmd_read, NULL },
    { "unlink", -2, W | F, 1, -1, 1, "generic", "4.0.0",
      "Asynchronously deletes one or more keys.", cmd_write, NULL },
    { "zadd", -4, W | F, 1, 1, 1, "sorted-set", "1.2.0",
      "Adds one or more members to a sorted set, or updates their scores. Creates the "
      "key if it doesn't exist.", cmd_write, NULL },
    { "zcard", 2, R | F, 1, 1, 1, "sorted-set", "1.2.0",
      "Returns the number of members in a sorted set.", cmd_read, NULL },
    { "zcount", 4, R | F, 1, 1, 1, "sorted-set", "2.0.0",
      "Returns the count of members in a sorted set that have scores within a range.",
      cmd_read, NULL },
    { "zincrby", 4, W | F, 1, 1, 1, "sorted-set", "1.2.0",
      "Increments the score of a member in a sorted set.", cmd_write, NULL },
    { "zlexcount", 4, R | F, 1, 1, 1, "sorted-set", "2.8.9",
      "Returns the number of members in a sorted set within a lexicographical range.",
      cmd_read, NULL },
    { "zmscore", -3, R | F, 1, 1, 1, "sorted-set", "6.2.0",
      "Returns the score of one or more members in a sorted set.", cmd_read, NULL },
    { "zpopmax", -2, W | F, 1, 1, 1, "sorted-set", "5.0.0",
      "Returns the highest-scoring members from a sorted set after removing them. "
      "Deletes the sorted set if the last member was popped.", cmd_write, NULL },
    { "zpopmin", -2, W | F, 1, 1, 1, "sorted-set", "5.0.0",
      "Returns the lowest-scoring members from a sorted set after removing them. "
      "Deletes the sorted set if the last member was popped.", cmd_write, NULL },
    { "zmpop", -4, W, 0, 0, 0, "sorted-set", "7.0.0",
      "Returns the highest- or lowest-scoring members from one or more sorted sets after "
      "removing them. Deletes the sorted set if the last member was popped.", cmd_write,
      NULL },
    { "zrandmember", -2, R, 1, 1, 1, "sorted-set", "6.2.0",
      "Returns one or more random members from a sorted set.", cmd_read, NULL },
    { "zrange", -4, R, 1, 1, 1, "sorted-set", "1.2.0",
      "Returns members in a sorted set within a range of indexes.", cmd_read, NULL },
    { "zrangebylex", -4, R, 1, 1, 1, "sorted-set", "2.8.9",
      "Returns members in a sorted set within a lexicographical range.", cmd_read, NULL },
    { "zrangebyscore", -4, R, 1, 1, 1, "sorted-set", "1.0.5",
      "Returns members in a sorted set within a range of scores.", cmd_read, NULL },
    { "zrangestore", -5, W, 1, 2, 1, "sorted-set", "6.2.0",
      "Stores a range of members from sorted set in a key.", cmd_write, NULL },
    { "zrank", 3, R | F, 1, 1, 1, "sorted-set", "2.0.0",
      "Returns the index of a member in a sorted set ordered by ascending scores.",
      cmd_read, NULL },
    { "zrem", -3, W | F, 1, 1, 1, "sorted-set", "1.2.0",
      "Removes one or more members from a sorted set. Deletes the sorted set if all "
      "members were removed.", cmd_write, NULL },
    { "zremrangebylex", 4, W, 1, 1, 1, "sorted-set", "2.8.9",
      "Removes members in a sorted set within a lexicographical range. Deletes the "
      "sorted set if all members were removed.", cmd_write, NULL },
    { "zremrangebyrank", 4, W, 1, 1, 1, "sorted-set", "2.0.0",
      "Removes members in a sorted set within a range of indexes. Deletes the sorted "
      "set if all members were removed.", cmd_write, NULL },
    { "zremrangebyscore", 4, W, 1, 1, 1, "sorted-set", "1.2.0",
      "Removes members in a sorted set within a range of scores. Deletes the sorted set "
      "if all members were removed.", cmd_write, NULL },
    { "zrevrange", -4, R, 1, 1, 1, "sorted-set", "1.2.0",
      "Returns members in a sorted set within a range of indexes in reverse order.",
      cmd_read, NULL },
    { "zrevrangebylex", -4, R, 1, 1, 1, "sorted-set", "2.8.9",
      "Returns members in a sorted set within a lexicographical range in reverse order.",
      cmd_read, NULL },
    { "zrevrangebyscore", -4, R, 1, 1, 1, "sorted-set", "2.2.0",
      "Returns members in a sorted set within a range of scores in reverse order.",
      cmd_read, NULL },
    { "zrevrank", 3, R | F, 1, 1, 1, "sorted-set", "2.0.0",
      "Returns the index of a member in a sorted set ordered by descending scores.",
      cmd_read, NULL },
    { "zscan", -3, R, 1, 1, 1, "sorted-set", "2.8.0",
      "Iterates over members and scores of a sorted set.", cmd_read, NULL },
    { "zscore", 3, R | F, 1, 1, 1, "sorted-set", "1.2.0",
      "Returns the score of a member in a sorted set.", cmd_read, NULL },
    { "zdiff", -3, R, 0, 0, 0, "sorted-set", "6.2.0",
      "Returns the difference between multiple sorted sets.", cmd_read, NULL },
    { "zdiffstore", -4, W, 1, 1, 1, "sorted-set", "6.2.0",
      "Stores the difference of multiple sorted sets in a key.", cmd_write, NULL },
    { "zinter", -3, R, 0, 0, 0, "sorted-set", "6.2.0",
      "Returns the intersect of multiple sorted sets.", cmd_read, NULL },
    { "zintercard", -3, R, 0, 0, 0, "sorted-set", "7.0.0",
      "Returns the number of members of the intersect of multiple sorted sets.", cmd_read, NULL },
    { "zinterstore", -4, W, 1, 1, 1, "sorted-set", "2.0.0",
      "Stores the intersect of multiple sorted sets in a key.", cmd_write, NULL },
    { "zunion", -3, R, 0, 0, 0, "sorted-set", "6.2.0",
      "Returns the union of multiple sorted sets.", cmd_read, NULL },
    { "zunionstore", -4, W, 1, 1, 1, "sorted-set", "2.0.0",
      "Stores the union of multiple sorted sets in a key.", cmd_write, NULL },
};
const size_t data_commands_count = sizeof data_commands / sizeof data_commands[0];

#undef W
#undef R
#undef F

int data_cmd_init(struct coord *c)
{
    coord = c;
    reads_init(c->base, c->txn);
    return registry_add(data_commands, sizeof data_commands / sizeof data_commands[0]);
}

void data_cmd_submit(struct op *op, struct slot *slot)
{
    txn_submit_slot(coord->txn, op, slot);
}

/* Whether argv[i] is a database index past `databases` that Redis would read as an int. */
static int past_databases(char *const *argv, const size_t *lens, int i)
{
    int64_t v;
    return util_parse_i64(argv[i], lens[i], &v) == 0 && v >= settings_databases() &&
           v <= INT32_MAX;
}

struct op *data_cmd_op(int db, int argc, char *const *argv, const size_t *lens)
{
    char **av = malloc(((size_t)argc + 1) * sizeof *av);
    if (!av)
        return NULL;
    memcpy(av, argv, (size_t)argc * sizeof *av);
    if (argc == 3 && (op_name_is(argv[0], lens[0], "move") ||
                      op_name_is(argv[0], lens[0], "swapdb"))) {
        for (int i = op_name_is(argv[0], lens[0], "move") ? 2 : 1; i < 3; i++)
            if (past_databases(argv, lens, i))
                av[i] = "-1";
    } else if (argc > 3 && op_name_is(argv[0], lens[0], "copy")) {
        for (int j = 3; j < argc; j++) {
            if (op_name_is(argv[j], lens[j], "replace"))
                continue;
            if (!op_name_is(argv[j], lens[j], "db") || j + 1 == argc)
                break;
            j++;
            if (past_databases(argv, lens, j))
                av[j] = "-1";
        }
    }
    size_t *lv = malloc(((size_t)argc + 1) * sizeof *lv);
    struct op *op = NULL;
    if (lv) {
        for (int i = 0; i < argc; i++)
            lv[i] = av[i] == argv[i] ? lens[i] : strlen(av[i]);
        op = op_new_db(db, argc, av, lv);
    }
    free(av);
    free(lv);
    return op;
}

/* ---- reads: one replica answers (reads.h) ---- */

/* The read's answer, or the reason it has none, into its slot. */
static void read_reply(void *arg, const struct link_reply *r, const char *err)
{
    struct slot *slot = arg;
    if (r)
        link_reply_write(r, slot_writer(slot));
    else
        resp_write_error(slot_writer(slot), err);
    slot_done(slot);
}

static void cmd_read(struct client *cl, const struct resp_request *req)
{
    if (client_has_writes(cl)) {
        client_park(cl, req); /* read-your-writes: runs again once the writes are done */
        return;
    }
    struct op *op = data_cmd_op(client_db(cl), req->argc, req->argv, req->lens);
    struct slot *slot = op ? client_slot_new(cl, 0) : NULL;
    if (!slot) {
        op_free(op);
        resp_write_error(client_reply_writer(cl), "ERR out of memory");
        return;
    }
    if (reads_submit(op, read_reply, slot) < 0) {
        resp_write_error(slot_writer(slot), "ERR no replica is available to serve reads");
        slot_done(slot);
    }
}

/* ---- writes: a 2PC round ---- */

static void cmd_write(struct client *cl, const struct resp_request *req)
{
    struct op *op = data_cmd_op(client_db(cl), req->argc, req->argv, req->lens);
    struct slot *slot = op ? client_slot_new(cl, 1) : NULL;
    if (!slot) {
        op_free(op);
        resp_write_error(client_reply_writer(cl), "ERR out of memory");
        return;
    }
    data_cmd_submit(op, slot);
}

/* MSET and MSETNX: keys and values come in pairs (Redis checks it after the arity). */
static void cmd_write_pairs(struct client *cl, const struct resp_request *req)
{
    if (req->argc % 2 == 0) {
        char msg[160];
        registry_arity_error(msg, sizeof msg,
                             registry_lookup(req->argv[0], req->lens[0])->name, NULL);
        resp_write_error(client_reply_writer(cl), msg);
        return;
    }
    cmd_write(cl, req);
}

/* BITFIELD: a write (a round) with a SET or INCRBY, else a read served by one replica, as
 * Redis runs a GET-only BITFIELD as a read; SORT likewise with or without STORE. The
 * replicas classify them the same way (op_bitfield_writes, op_sort_stores), and refuse a
 * TPC.READ of one that writes. */
static void cmd_maybe_write(struct client *cl, const struct resp_request *req)
{
    struct op args = { .argc = req->argc, .argv = req->argv, .lens = req->lens };
    if (op_is(&args, "sort") ? op_sort_stores(&args) : op_bitfield_writes(&args, NULL))
        cmd_write(cl, req);
    else
        cmd_read(cl, req);
}

static void cmd_object(struct client *cl, const struct resp_request *req)
{
    registry_run_subcommand(cl, req, object_subcommands);
}
