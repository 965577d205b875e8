"""test_lincheck.py -- the linearizability checker alone, on hand-written
histories.  Times are small integers; `write(c, k, v, t0, t1)` is client c's
SET k v invoked at t0 and answered at t1 (t1=None: outcome unknown).

Each behaviour is tested both ways: a history the checker must accept and a
close variant it must reject, so no test here passes with a checker that
answers the same thing every time.
"""

import random
import time

import pytest

from lincheck import (DEL_ANY, INCR_ERR, READ, WRITE, Op, check, delete,
                      failed_write, incr, read, write)


def ok(history, **kw):
    res = check(history, **kw)
    assert res.ok is True, res.report()
    return res


def bad(history, kind="not-linearizable", **kw):
    res = check(history, **kw)
    assert res.ok is False, "checker accepted a bad history:\n" + res.report()
    assert kind in res.kinds(), res.report()
    return res


K = b"k"


# -- sequential histories -----------------------------------------------------

def test_empty_history():
    res = ok([])
    assert res.keys == 0


def test_sequential_write_read():
    ok([write(1, K, b"a", 0, 1), read(1, K, b"a", 2, 3),
        write(1, K, b"b", 4, 5), read(2, K, b"b", 6, 7)])


def test_sequential_wrong_read():
    bad([write(1, K, b"a", 0, 1), write(1, K, b"b", 2, 3), read(1, K, b"a", 4, 5)])


def test_read_of_missing_key():
    ok([read(1, K, None, 0, 1), write(1, K, b"a", 2, 3)])
    bad([write(1, K, b"a", 0, 1), read(1, K, None, 2, 3)])


def test_initial_state_is_used():
    ok([read(1, K, b"x", 0, 1)], initial=b"x")
    bad([read(1, K, b"y", 0, 1)], initial=b"x", kind="never-written")


# -- concurrency ----------------------------------------------------------------

def test_concurrent_write_read_either_value():
    # the read overlaps the write: it may see the old or the new value
    for seen in (None, b"a"):
        ok([write(1, K, b"a", 0, 10), read(2, K, seen, 2, 5)])


def test_concurrent_writes_any_order():
    h = [write(1, K, b"a", 0, 10), write(2, K, b"b", 1, 11)]
    ok(h + [read(3, K, b"a", 12, 13)])
    ok(h + [read(3, K, b"b", 12, 13)])
    # but two later reads cannot disagree about the last write
    bad(h + [read(3, K, b"a", 12, 13), read(3, K, b"b", 14, 15)])


def test_concurrent_reads_see_order_consistently():
    # both writes overlap both reads: reads may see a then b, not b then a
    # when the reads are themselves ordered
    h = [write(1, K, b"a", 0, 20), write(2, K, b"b", 0, 20)]
    ok(h + [read(3, K, b"a", 1, 2), read(3, K, b"b", 3, 4)])
    ok(h + [read(3, K, b"b", 1, 2), read(3, K, b"a", 3, 4)])
    bad(h + [read(3, K, b"a", 1, 2), read(3, K, b"b", 3, 4), read(3, K, b"a", 5, 6)])


def test_stale_read_after_completed_write():
    res = bad([write(1, K, b"a", 0, 1), write(1, K, b"b", 2, 3),
               read(2, K, b"a", 4, 5)])
    text = res.report()
    assert "GET" in text and "'b'" in text and "'a'" in text, text


def test_read_going_backwards():
    # the write of b overlaps both reads, but once a read saw b, a later read
    # cannot see a again
    h = [write(1, K, b"a", 0, 1), write(1, K, b"b", 2, 20)]
    ok(h + [read(2, K, b"a", 3, 4), read(2, K, b"b", 5, 6)])
    bad(h + [read(2, K, b"b", 3, 4), read(3, K, b"a", 5, 6)])


def test_stale_read_report_names_the_op_and_window():
    res = bad([write(1, K, b"old", 0, 1), write(1, K, b"new", 2, 3),
               read(7, K, b"old", 4, 5)])
    text = res.report()
    assert "c7 GET" in text and "key 'k'" in text.replace('b"k"', "'k'"), text
    assert "it read 'old' but the key held 'new'" in text, text


# -- unknown outcomes -------------------------------------------------------------

def test_unknown_write_may_take_effect_late():
    ok([write(1, K, b"a", 0, 1), write(2, K, b"u", 2, None),
        read(3, K, b"a", 10, 11), read(3, K, b"u", 50, 51)])


def test_unknown_write_may_never_take_effect():
    ok([write(1, K, b"a", 0, 1), write(2, K, b"u", 2, None),
        read(3, K, b"a", 10, 11), read(3, K, b"a", 50, 51)])


def test_unknown_write_seen_then_unseen():
    bad([write(1, K, b"a", 0, 1), write(2, K, b"u", 2, None),
         read(3, K, b"u", 10, 11), read(3, K, b"a", 50, 51)])


def test_unknown_write_cannot_act_before_invocation():
    bad([write(1, K, b"a", 0, 1), read(3, K, b"u", 10, 11),
         write(2, K, b"u", 20, None)], kind="read-from-future")


def test_unknown_read_is_ignored():
    ok([write(1, K, b"a", 0, 1), read(2, K, b"zzz", 2, None)])


def test_unknown_delete_and_incr():
    ok([write(1, K, b"5", 0, 1), incr(2, K, 3, None, 2, None),
        read(1, K, b"8", 10, 11)])
    ok([write(1, K, b"5", 0, 1), incr(2, K, 3, None, 2, None),
        read(1, K, b"5", 10, 11)])
    bad([write(1, K, b"5", 0, 1), incr(2, K, 3, None, 2, None),
         read(1, K, b"7", 10, 11)])
    ok([write(1, K, b"a", 0, 1), delete(2, K, None, 2, None), read(1, K, None, 5, 6)])
    bad([write(1, K, b"a", 0, 1), delete(2, K, None, 2, None), read(1, K, None, 5, 6),
         read(1, K, b"a", 7, 8)])


def test_many_unknown_ops_stay_cheap():
    # 40 writes whose outcome is unknown, interleaved with reads of a value
    # none of them wrote: exponential without the dominance rule in the cache
    h = [write(0, K, b"base", 0, 1)]
    for i in range(40):
        h.append(write(1 + i % 7, K, b"u%d" % i, 10 + i, None))
        h.append(read(9, K, b"base", 10 + i, 11 + i))
    t = time.monotonic()
    ok(h, timeout_s=10)
    assert time.monotonic() - t < 5
    h.append(read(9, K, b"u3", 100, 101))
    h.append(read(9, K, b"base", 102, 103))
    bad(h, timeout_s=10)


# -- failed writes ---------------------------------------------------------------

def test_failed_write_not_visible_ok():
    ok([write(1, K, b"a", 0, 1), failed_write(2, K, b"f", 2, 3, "NOREPLICAS x"),
        read(3, K, b"a", 4, 5)])


def test_failed_write_visible():
    res = bad([write(1, K, b"a", 0, 1), failed_write(2, K, b"f", 2, 3, "NOREPLICAS x"),
               read(3, K, b"f", 4, 5)], kind="failed-write-visible")
    assert "a write the client saw fail is visible" in res.report()
    assert "NOREPLICAS x" in res.report()


def test_failed_write_visible_during_its_call():
    # even a read concurrent with the failed write must not see it
    bad([write(1, K, b"a", 0, 1), failed_write(2, K, b"f", 2, 10),
         read(3, K, b"f", 3, 4)], kind="failed-write-visible")


def test_value_never_written():
    bad([write(1, K, b"a", 0, 1), read(2, K, b"zz", 2, 3)], kind="never-written")


# -- incr ------------------------------------------------------------------------

def test_incr_consistent():
    ok([incr(1, K, 1, 1, 0, 1), incr(2, K, 5, 6, 2, 3), read(1, K, b"6", 4, 5),
        incr(1, K, -10, -4, 6, 7), read(2, K, b"-4", 8, 9)])


def test_incr_concurrent_any_order():
    h = [incr(1, K, 1, 1, 0, 10), incr(2, K, 2, 3, 0, 10)]   # 1 first, then 2
    ok(h)
    ok([incr(1, K, 1, 3, 0, 10), incr(2, K, 2, 2, 0, 10)])   # 2 first, then 1
    bad([incr(1, K, 1, 1, 0, 10), incr(2, K, 2, 2, 0, 10)])  # both saw 0


def test_incr_inconsistent():
    bad([incr(1, K, 1, 1, 0, 1), incr(2, K, 1, 1, 2, 3)])
    bad([write(1, K, b"10", 0, 1), incr(2, K, 1, 1, 2, 3)])


def test_incr_error_is_a_read():
    ok([write(1, K, b"abc", 0, 1), incr(2, K, 1, INCR_ERR, 2, 3)])
    bad([write(1, K, b"7", 0, 1), incr(2, K, 1, INCR_ERR, 2, 3)])
    bad([incr(2, K, 1, INCR_ERR, 2, 3)])              # missing key counts as 0
    bad([write(1, K, b"abc", 0, 1), incr(2, K, 1, 1, 2, 3)])   # no number to add to
    ok([write(1, K, b"abc", 0, 1), incr(2, K, 1, INCR_ERR, 2, 3),
        read(1, K, b"abc", 4, 5)])


def test_incr_of_leading_zero_or_minus_zero_is_an_error():
    ok([write(1, K, b"007", 0, 1), incr(2, K, 1, INCR_ERR, 2, 3)])
    ok([write(1, K, b"-0", 0, 1), incr(2, K, 1, INCR_ERR, 2, 3)])
    bad([write(1, K, b"-3", 0, 1), incr(2, K, 1, INCR_ERR, 2, 3)])


# -- delete counts ---------------------------------------------------------------

def test_delete_counts():
    ok([delete(1, K, 0, 0, 1), write(1, K, b"a", 2, 3), delete(2, K, 1, 4, 5),
        read(1, K, None, 6, 7), delete(1, K, 0, 8, 9)])
    bad([write(1, K, b"a", 0, 1), delete(2, K, 0, 2, 3)])
    bad([delete(1, K, 1, 0, 1)])
    bad([write(1, K, b"a", 0, 1), delete(2, K, 1, 2, 3), delete(3, K, 1, 4, 5)])


def test_concurrent_deletes_only_one_counts():
    h = [write(1, K, b"a", 0, 1)]
    ok(h + [delete(2, K, 1, 2, 10), delete(3, K, 0, 2, 10)])
    bad(h + [delete(2, K, 1, 2, 10), delete(3, K, 1, 2, 10)])


def test_multi_key_delete_count_unknown_per_key():
    ok([write(1, K, b"a", 0, 1), delete(2, K, DEL_ANY, 2, 3), read(1, K, None, 4, 5)])
    bad([write(1, K, b"a", 0, 1), delete(2, K, DEL_ANY, 2, 3), read(1, K, b"a", 4, 5)])


# -- acknowledged writes and final reads -----------------------------------------

def test_lost_acked_write():
    h = [write(1, K, b"a", 0, 1), write(2, K, b"b", 2, 3), read(3, K, b"a", 10, 11)]
    res = bad(h, kind="lost-acked-write")
    assert "an acknowledged write is lost" in res.report()
    assert "not-linearizable" in res.kinds()
    ok([write(1, K, b"a", 0, 1), write(2, K, b"b", 2, 3), read(3, K, b"b", 10, 11)])


def test_lost_acked_write_final_missing():
    bad([write(1, K, b"a", 0, 1), read(3, K, None, 10, 11)], kind="lost-acked-write")
    ok([write(1, K, b"a", 0, 1), delete(2, K, 1, 2, 3), read(3, K, None, 10, 11)])


def test_unknown_write_may_overwrite_acked():
    ok([write(1, K, b"a", 0, 1), write(2, K, b"u", 0, None), read(3, K, b"u", 10, 11)])


# -- MSET --------------------------------------------------------------------------

def mset(client, pairs, t0, t1, gid):
    keys = tuple(k for k, _ in pairs)
    desc = "MSET " + " ".join("%s %s" % (k.decode(), v.decode()) for k, v in pairs)
    return [Op(client, k, WRITE, v, None, t0, t1, desc=desc, group=(gid, keys))
            for k, v in pairs]


def test_mset_atomic_ok():
    h = [write(1, b"x", b"x0", 0, 1), write(1, b"y", b"y0", 0, 1)]
    h += mset(2, [(b"x", b"m1"), (b"y", b"m1")], 2, 20, gid=1)
    h += [read(3, b"x", b"m1", 3, 4), read(3, b"y", b"m1", 5, 6)]
    ok(h)


def test_mset_torn():
    # per key, each read is fine (the MSET overlaps both reads), but a reader
    # saw the MSET on x and then the value before it on y
    h = [write(1, b"x", b"x0", 0, 1), write(1, b"y", b"y0", 0, 1)]
    h += mset(2, [(b"x", b"m1"), (b"y", b"m1")], 2, 20, gid=1)
    h += [read(3, b"x", b"m1", 3, 4), read(3, b"y", b"y0", 5, 6)]
    res = check(h)
    assert res.ok is False and res.kinds() == ["mset-not-atomic"], res.report()
    assert check(h, mset=False).ok is True


# -- scale and limits ----------------------------------------------------------------

def random_history(seed, n_ops=300, clients=6, keys=3, stale=False):
    """A linearizable history from a simulated register store with random
    overlaps; with stale=True one read is changed to an old value."""
    rng = random.Random(seed)
    state = {}
    written = {}
    h = []
    t = 0
    busy = [0] * clients
    seq = 0
    for _ in range(n_ops):
        c = rng.randrange(clients)
        k = b"k%d" % rng.randrange(keys)
        t += rng.randint(1, 3)
        t0 = max(t, busy[c])
        at = t0 + rng.randint(0, 5)          # the instant it takes effect
        t1 = at + rng.randint(0, 5)
        busy[c] = t1 + 1
        p = rng.random()
        if p < 0.4:
            seq += 1
            v = b"v%d" % seq
            ops = (WRITE, v)
        elif p < 0.5:
            ops = ("del", None)
        else:
            ops = (READ, None)
        h.append([at, c, k, ops, t0, t1])
    h.sort(key=lambda e: e[0])                # apply in effect order
    out = []
    for at, c, k, (kind, v), t0, t1 in h:
        if kind == WRITE:
            written.setdefault(k, []).append(v)
            state[k] = v
            out.append(write(c, k, v, t0, t1))
        elif kind == "del":
            out.append(delete(c, k, int(state.get(k) is not None), t0, t1))
            state[k] = None
        else:
            out.append(read(c, k, state.get(k), t0, t1))
    if stale:
        for op in reversed(out):
            old = [w for w in written.get(op.key, []) if w != op.output]
            if op.kind == READ and len(old) > 2 and op.invoke > 200:
                op.output = old[0]
                break
    return out


@pytest.mark.parametrize("seed", range(5))
def test_random_linearizable_histories(seed):
    ok(random_history(seed))


@pytest.mark.parametrize("seed", range(5))
def test_random_histories_with_a_stale_read(seed):
    res = check(random_history(seed, stale=True))
    assert res.ok is False, res.report()


def test_twenty_keys_few_hundred_ops_each_is_fast():
    h = random_history(99, n_ops=20 * 400, clients=8, keys=20)
    t = time.monotonic()
    ok(h)
    assert time.monotonic() - t < 20


def test_too_big_to_check_is_reported_not_hung():
    # 40 mutually concurrent writes, and one reader who sees v0, v1, then v0
    # again: not linearizable, but only after trying every subset of the
    # other writes before each read -- 2^40 configurations.  The search must
    # give up within its budget and say so, neither hang nor pass.
    h = [write(c, K, b"v%d" % c, 0, 1000) for c in range(40)]
    h += [read(99, K, b"v0", 1, 2), read(99, K, b"v1", 3, 4), read(99, K, b"v0", 5, 6)]
    t = time.monotonic()
    res = check(h, timeout_s=0.3)
    assert time.monotonic() - t < 5
    assert res.ok is None, res.report()
    assert "too big to check" in res.report().lower()
    # the same shape with 6 writes is decided
    h = [write(c, K, b"v%d" % c, 0, 1000) for c in range(6)]
    h += [read(99, K, b"v0", 1, 2), read(99, K, b"v1", 3, 4), read(99, K, b"v0", 5, 6)]
    assert check(h, timeout_s=5).ok is False


# -- against brute force ---------------------------------------------------------------

def brute_force(ops):
    """Linearizable? by trying every order of every subset of the unknown ops."""
    from itertools import permutations
    from lincheck import _BAD, step
    live = [op for op in ops if not op.failed and not (op.kind == READ and op.response is None)]
    definite = [op for op in live if op.response is not None]
    unknown = [op for op in live if op.response is None]
    for mask in range(1 << len(unknown)):
        chosen = definite + [u for i, u in enumerate(unknown) if mask >> i & 1]
        for order in permutations(chosen):
            ok_order, state = True, None
            for n, op in enumerate(order):
                if any(o.response is not None and o.response < op.invoke
                       for o in order[n + 1:]):
                    ok_order = False        # something later had returned before op began
                    break
                state = step(state, op)
                if state is _BAD:
                    ok_order = False
                    break
            if ok_order:
                return True
    return False


def tiny_random_history(rng):
    h = []
    for c in range(rng.randint(2, 6)):
        t0 = rng.randint(0, 10)
        t1 = None if rng.random() < 0.25 else t0 + rng.randint(0, 6)
        p = rng.random()
        if p < 0.35:
            h.append(write(c, K, rng.choice([b"a", b"b", b"1"]), t0, t1))
        elif p < 0.7:
            h.append(read(c, K, rng.choice([None, b"a", b"b", b"1", b"2"]), t0, t1))
        elif p < 0.85:
            h.append(delete(c, K, rng.choice([0, 1, DEL_ANY]), t0, t1))
        else:
            h.append(incr(c, K, 1, rng.choice([1, 2, INCR_ERR]), t0, t1))
    return h


def test_matches_brute_force_on_small_random_histories():
    rng = random.Random(7)
    verdicts = {True: 0, False: 0}
    for n in range(3000):
        h = tiny_random_history(rng)
        got = check(h, lost_writes=False, mset=False).ok
        want = brute_force(h)
        assert got == want, "history %d: checker %s, brute force %s:\n%s" % (
            n, got, want, "\n".join(map(repr, h)))
        verdicts[want] += 1
    assert verdicts[True] > 300 and verdicts[False] > 300, verdicts
    print(verdicts)
