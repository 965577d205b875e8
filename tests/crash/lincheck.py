"""lincheck.py -- a linearizability checker for histories of per-key registers.

A history is a list of Op: one client operation on one key, with the time it
was invoked and the time its reply arrived (None when the outcome is unknown:
the connection dropped or timed out).  check(history) answers whether some
order of the operations, each taking effect at one instant between its
invocation and its response, explains every reply.  This is the algorithm of
Wing & Gong with Lowe's memoization, the way Porcupine implements it:

  * P-compositionality: linearizability is local, so each key is checked on
    its own (a small search per key instead of one huge search).
  * The search walks a doubly linked list of call/return entries sorted by
    time; it "lifts" a call (linearizes the op) when the model accepts it,
    and backtracks when it reaches the return of an op it has not
    linearized.  A cache of (linearized-set bitset, register state) prunes
    configurations already explored.
  * Unknown-outcome ops have no return entry: they may take effect at any
    point after invocation, or never.  The cache treats a configuration that
    linearized a subset of the same unknown ops (same definite ops, same
    state) as covering this one: it kept every option this one has.  This
    keeps histories with many lost connections cheap.
  * Each key has a time budget; a key that exceeds it is reported as "too big
    to check" (Result.ok is None), never a hang and never a pass.

The model of a key is a Redis string register (bytes, or None = missing):

  kind     input      output                       effect
  write    value      ignored (OK)                 state = value
  delete   -          0 / 1, or DEL_ANY            state = None; the count
                      (a multi-key DEL whose total   must match presence
                      does not say which key)
  incr     by         new integer, or INCR_ERR     state = state + by; an
                      (value not an integer /       INCR_ERR reply means the
                      overflow)                     state was not an integer:
                                                    a read, no effect
  read     -          bytes or None                must equal the state

Ops whose reply was a definite error (output is a Failed) never took effect:
they are left out of the search.  Writes should carry unique values, so that
reading a value one failed write wrote is reported directly as "a write the
client saw fail is visible" (also caught by the search, less readably).

Beyond the search, check() runs these cheaper rules, each reported by name
(the first three look only at read values that are not integers, since INCR
makes those; the search judges the rest):
  failed-write-visible  a read returned a value only a failed write wrote
  never-written         a read returned a value no write (of any outcome) wrote
  read-from-future      a read returned a value whose every write began after
                        the read had already returned
  lost-acked-write      a final read (invoked after every definite op on the
                        key returned) shows a value written by an op that
                        completed before some acknowledged write began
  mset-not-atomic       see below
An MSET is checked as one write per key (op.group names the MSET), which is
per-key linearizability: weaker than atomicity.  Atomicity gets a necessary
condition only: if a read of k1 returned MSET m's value, a read of k2 (also
in m) invoked after that read returned must not show a value (or absence)
that m must already have overwritten (its writer completed before m began).
A full check of multi-key atomicity would need a multi-key model; this rule
catches a torn MSET that a later reader can see.

Times are any comparable numbers (the tests use time.monotonic_ns()).

Usage:
    from lincheck import Op, check, write, read, delete, incr, NOT_INT
    res = check(history, timeout_s=30, time_unit=1e6, unit_name="ms")
    assert res.ok, res.report()
"""

import bisect
import re
import time
from collections import defaultdict

WRITE, DELETE, INCR, READ = "write", "delete", "incr", "read"
KINDS = (WRITE, DELETE, INCR, READ)
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1


class _Marker:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


INCR_ERR = _Marker("ERR not an integer")   # INCR's definite "not an integer"
NOT_INT = INCR_ERR
DEL_ANY = _Marker("(count not known per key)")


class Failed:
    """The output of an op whose reply was a definite error: not applied."""

    def __init__(self, message=""):
        self.message = message

    def __repr__(self):
        return "Failed(%r)" % self.message


class Op:
    """One operation on one key.  response None = outcome unknown."""

    __slots__ = ("client", "key", "kind", "input", "output", "invoke",
                 "response", "desc", "group", "id")

    def __init__(self, client, key, kind, input=None, output=None, invoke=0,
                 response=None, desc=None, group=None):
        if kind not in KINDS:
            raise ValueError("unknown op kind %r" % (kind,))
        self.client, self.key, self.kind = client, key, kind
        self.input, self.output = input, output
        self.invoke, self.response = invoke, response
        self.desc = desc        # the client command, e.g. "MSET r1 .. r4 .."
        self.group = group      # MSET: (id, keys) shared by its projections
        self.id = None

    @property
    def failed(self):
        return isinstance(self.output, Failed)

    @property
    def unknown(self):
        return self.response is None and not self.failed

    @property
    def acked(self):
        return self.response is not None and not self.failed

    def __repr__(self):
        return "Op(%s)" % fmt_op(self)


# -- constructors for hand-written histories -------------------------------

def write(client, key, value, t0, t1, **kw):
    return Op(client, key, WRITE, value, None, t0, t1, **kw)


def failed_write(client, key, value, t0, t1, message="ERR failed"):
    return Op(client, key, WRITE, value, Failed(message), t0, t1)


def read(client, key, value, t0, t1):
    return Op(client, key, READ, None, value, t0, t1)


def delete(client, key, count, t0, t1):
    return Op(client, key, DELETE, None, count, t0, t1)


def incr(client, key, by, result, t0, t1):
    return Op(client, key, INCR, by, result, t0, t1)


# -- the model ---------------------------------------------------------------

_INT_RE = re.compile(rb"-?(0|[1-9][0-9]*)\Z")
_BAD = _Marker("BAD")


def parse_int(state):
    """The integer INCR sees in state (None counts as 0), or None."""
    if state is None:
        return 0
    if not _INT_RE.match(state) or state == b"-0":
        return None
    n = int(state)
    return n if INT64_MIN <= n <= INT64_MAX else None


def step(state, op):
    """The state after op takes effect in state, or _BAD if its output says
    it could not have taken effect there."""
    kind = op.kind
    if kind == READ:
        return state if op.output == state else _BAD
    if kind == WRITE:
        return op.input
    known = op.response is not None
    if kind == DELETE:
        out = op.output
        if not known or out is DEL_ANY or (out == 1) == (state is not None):
            return None
        return _BAD
    cur = parse_int(state)
    new = None if cur is None else cur + op.input
    if new is not None and not INT64_MIN <= new <= INT64_MAX:
        new = None
    if not known:
        return state if new is None else b"%d" % new
    if new is None:
        return state if op.output is INCR_ERR else _BAD
    return b"%d" % new if op.output == new else _BAD


def why_not(state, op):
    """A sentence saying why op cannot take effect in state ('' if it can)."""
    if step(state, op) is not _BAD:
        return ""
    if op.kind == READ:
        return "it read %s but the key held %s" % (fmt_val(op.output), fmt_val(state))
    if op.kind == DELETE:
        return "it deleted %d key(s) but the key %s" % (
            op.output, "was missing" if state is None else "held " + fmt_val(state))
    if op.output is INCR_ERR:
        return "it said 'not an integer' but the key held %s" % fmt_val(state)
    cur = parse_int(state)
    if cur is None:
        return "it returned %r but the key held %s, not an integer" % (
            op.output, fmt_val(state))
    return "it returned %r but the key held %s, so it would have returned %d" % (
        op.output, fmt_val(state), cur + op.input)


# -- formatting ----------------------------------------------------------------

def fmt_val(v):
    if v is None:
        return "(nil)"
    if isinstance(v, bytes):
        r = repr(v)[1:]
        return r if len(r) <= 40 else r[:37] + "...'"
    return repr(v)


def fmt_key(k):
    return fmt_val(k) if isinstance(k, bytes) else repr(k)


def fmt_op(op, t0=0, unit=1.0, unit_name=""):
    if op.kind == WRITE:
        what = "SET %s %s" % (fmt_key(op.key), fmt_val(op.input))
    elif op.kind == DELETE:
        what = "DEL %s" % fmt_key(op.key)
    elif op.kind == INCR:
        what = "INCRBY %s %d" % (fmt_key(op.key), op.input)
    else:
        what = "GET %s" % fmt_key(op.key)
    if op.failed:
        out = "ERR (failed: %s)" % op.output.message
    elif op.response is None:
        out = "?? (outcome unknown)"
    elif op.kind == WRITE:
        out = "OK"
    elif op.kind == READ:
        out = fmt_val(op.output)
    else:
        out = repr(op.output)
    t_in = "%.3f" % ((op.invoke - t0) / unit)
    t_out = "?" if op.response is None else "%.3f" % ((op.response - t0) / unit)
    via = "  (%s)" % op.desc if op.desc and not op.desc.startswith(what) else ""
    return "c%s %s -> %s  [%s .. %s%s]%s" % (op.client, what, out, t_in, t_out,
                                            unit_name, via)


_GRAVITY = ["failed-write-visible", "lost-acked-write", "never-written",
            "read-from-future", "mset-not-atomic", "not-linearizable"]


class Violation:
    """One broken rule: kind (a name from the module doc), key, message."""

    def __init__(self, kind, key, message):
        self.kind, self.key, self.message = kind, key, message

    def __repr__(self):
        return "Violation(%s, %s)" % (self.kind, fmt_key(self.key))


class Result:
    def __init__(self):
        self.violations = []
        self.too_big = []          # (key, n ops, message)
        self.keys = 0
        self.ops = 0
        self.elapsed = 0.0
        self.slowest = (None, 0.0)  # (key, seconds)

    @property
    def ok(self):
        """True: linearizable; False: a violation; None: too big to check."""
        if self.violations:
            return False
        return None if self.too_big else True

    def merge(self, other):
        """Adds another Result (e.g. of a later batch of keys) to this one."""
        self.violations += other.violations
        self.too_big += other.too_big
        self.keys += other.keys
        self.ops += other.ops
        self.elapsed += other.elapsed
        if other.slowest[1] > self.slowest[1]:
            self.slowest = other.slowest
        return self

    def kinds(self):
        return sorted({v.kind for v in self.violations})

    def summary(self):
        verdict = {True: "linearizable", False: "NOT linearizable",
                   None: "TOO BIG TO CHECK"}[self.ok]
        return ("%s: %d keys, %d ops, checked in %.2f s (slowest key %s: %.2f s)"
                % (verdict, self.keys, self.ops, self.elapsed,
                   fmt_key(self.slowest[0]), self.slowest[1]))

    def report(self, limit=5):
        """The summary, then up to limit violations, the gravest kinds first."""
        out = [self.summary()]
        grave = sorted(self.violations, key=lambda v: _GRAVITY.index(v.kind))
        for v in grave[:limit]:
            out.append("--- %s on key %s\n%s" % (v.kind, fmt_key(v.key), v.message))
        if len(self.violations) > limit:
            out.append("... and %d more violations" % (len(self.violations) - limit))
        for key, n, msg in self.too_big:
            out.append("--- too big to check: key %s (%d ops): %s" % (fmt_key(key), n, msg))
        return "\n".join(out)


class TooBig(Exception):
    pass


# -- the search (Wing-Gong-Lowe) ------------------------------------------------

def _search(ops, initial, deadline):
    """Linearize ops (one key, no failed ops, no unknown reads).  Returns None
    if linearizable, else (prefix op indices, state, blocking op index) of the
    longest linearizable prefix found.  Raises TooBig past deadline."""
    events = []
    for i, op in enumerate(ops):
        events.append((op.invoke, 0, i))
        if op.response is not None:
            events.append((op.response, 1, i))
    events.sort(key=lambda e: (e[0], e[1]))   # a tie counts as overlap
    m = len(events)
    nxt = list(range(1, m + 2))
    nxt[m] = -1
    prv = list(range(-1, m))
    node_op = [-1] + [e[2] for e in events]
    is_call = [False] + [e[1] == 0 for e in events]
    ret_node = {e[2]: n for n, e in enumerate(events, 1) if e[1] == 1}
    match = [0] + [ret_node.get(e[2], 0) if e[1] == 0 else 0 for e in events]
    unknown_mask = 0
    for i, op in enumerate(ops):
        if op.response is None:
            unknown_mask |= 1 << i
    n_definite = len(ret_node)
    # Normal form: an unknown op directly followed by an op that overwrites
    # the key without looking at it (SET, or a DEL whose count says nothing)
    # had no visible effect; leaving it out (it may never happen) gives the
    # same state with more options, and the search reaches that config from
    # the same parent.  So a blind op is never tried right after an unknown.
    blind = [op.kind == WRITE or (op.kind == DELETE and
                                  (op.response is None or op.output is DEL_ANY))
             for op in ops]
    all_mask = (1 << len(ops)) - 1
    def_mask = all_mask & ~unknown_mask

    def unlink(e):
        p, n = prv[e], nxt[e]
        nxt[p] = n
        if n != -1:
            prv[n] = p

    def relink(e):
        p, n = prv[e], nxt[e]
        nxt[p] = e
        if n != -1:
            prv[n] = e

    cache = {}
    calls = []
    state, lin, done = initial, 0, 0
    best = (-1, None, None, None)
    entry = nxt[0]
    unknown_pass = False    # first try the definite calls, then the unknown ones
    tick = 0
    while done < n_definite:
        tick += 1
        if tick & 0x3fff == 0 and time.monotonic() > deadline:
            raise TooBig("search still running after its time budget "
                         "(%d configurations cached)" % len(cache))
        if is_call[entry]:
            if (match[entry] == 0) != unknown_pass:
                entry = nxt[entry]
                continue
            i = node_op[entry]
            if blind[i] and calls and match[calls[-1][0]] == 0:
                entry = nxt[entry]    # see "normal form" above
                continue
            new = step(state, ops[i])
            if new is not _BAD:
                nlin = lin | (1 << i)
                ckey = (nlin & def_mask, new)
                u = nlin & unknown_mask
                seen = cache.get(ckey)
                if seen is None or not any(s & ~u == 0 for s in seen):
                    if seen is None:
                        cache[ckey] = [u]
                    else:
                        seen.append(u)
                    calls.append((entry, state))
                    state, lin = new, nlin
                    unlink(entry)
                    if match[entry]:
                        unlink(match[entry])
                        done += 1
                    entry = nxt[0]
                    unknown_pass = False
                    continue
            entry = nxt[entry]
        elif not unknown_pass and unknown_mask:
            unknown_pass = True
            entry = nxt[0]
        else:
            if done > best[0]:
                best = (done, [node_op[e] for e, _ in calls], state, node_op[entry])
            if not calls:
                return best[1:]
            entry, state = calls.pop()
            lin &= ~(1 << node_op[entry])
            unknown_pass = match[entry] == 0
            if match[entry]:
                relink(match[entry])
                done -= 1
            relink(entry)
            entry = nxt[entry]
    return None


def _explain(key, ops, found, t0, unit, unit_name):
    prefix, state, blocking = found
    x = ops[blocking]
    f = lambda op: fmt_op(op, t0, unit, unit_name)   # noqa: E731
    done = set(prefix)
    n_def = sum(1 for op in ops if op.response is not None)
    lines = ["key %s is not linearizable." % fmt_key(key),
             "The longest linearizable prefix takes effect %d of %d completed ops"
             % (sum(1 for i in prefix if ops[i].response is not None), n_def),
             "and leaves the key holding %s; after it this op cannot take effect"
             % fmt_val(state),
             "before it returned, in any order of the ops still open:",
             "  >> " + f(x)]
    reason = why_not(state, x)
    if reason:
        lines.append("     (%s)" % reason)
    lines.append("Ops that could go next at that point:")
    open_ops = [i for i, op in enumerate(ops)
                if i not in done and op.invoke <= x.response]
    open_ops.sort(key=lambda i: ops[i].invoke)
    for i in open_ops[:20]:
        r = why_not(state, ops[i])
        lines.append("  %s  %s" % (f(ops[i]), "-- " + r if r else
                                   "-- possible, but every continuation fails"))
    tail = prefix[-6:]
    if tail:
        lines.append("Last ops of the linearizable prefix, in their linearized order:")
        lines += ["  " + f(ops[i]) for i in tail]
    # the window: from the earliest completed op among the last of the prefix
    # to the blocking op's response (unknown ops would stretch it to their
    # invocation, long ago: they are listed apart)
    lo = min([ops[i].invoke for i in tail if ops[i].response is not None] + [x.invoke])
    window = [op for op in ops if op.response is not None and
              op.invoke <= x.response and op.response >= lo]
    window.sort(key=lambda op: op.invoke)
    lines.append("The %d completed ops on this key overlapping [%.3f .. %.3f%s], "
                 "by invocation:" % (len(window), (lo - t0) / unit,
                                     (x.response - t0) / unit, unit_name))
    if len(window) > 30:
        lines.append("     ... %d earlier ones" % (len(window) - 30))
    for op in window[-30:]:
        lines.append(("  >> " if op is x else "     ") + f(op))
    pending = [op for op in ops if op.response is None and op.invoke <= x.response]
    if pending:
        lines.append("Ops with unknown outcome invoked before it (may take effect any "
                     "time after their invocation, or never):")
        lines += ["     " + f(op) for op in pending[-10:]]
    return "\n".join(lines)


# -- the cheap direct rules ------------------------------------------------------

def _writers(ops):
    """{value: [write ops]} of one key (unique values expected)."""
    w = defaultdict(list)
    for op in ops:
        if op.kind == WRITE:
            w[op.input].append(op)
    return w


def _direct_rules(key, ops, fmt, initial):
    out = []
    writers = _writers(ops)
    for r in ops:
        if r.kind != READ or not r.acked or r.output is None or r.output == initial:
            continue
        if parse_int(r.output) is not None:
            continue    # an INCR may have made it: the search decides
        ws = writers.get(r.output, [])
        if ws and all(w.failed for w in ws):
            out.append(Violation("failed-write-visible", key,
                       "a write the client saw fail is visible:\n  %s\nbut later\n  %s"
                       % ("\n  ".join(fmt(w) for w in ws), fmt(r))))
        elif not ws:
            out.append(Violation("never-written", key,
                       "a read returned a value no client wrote to this key:\n  %s"
                       % fmt(r)))
        elif ws and all(w.invoke > r.response for w in ws):
            out.append(Violation("read-from-future", key,
                       "a read returned a value before its write began:\n  %s\n  %s"
                       % (fmt(r), "\n  ".join(fmt(w) for w in ws))))
    return out


def _lost_acked(key, ops, fmt, initial):
    """Final reads against acknowledged writes (check (c) of the crash test)."""
    definite = [op for op in ops if op.acked and op.kind != READ]
    if not definite:
        return []
    end = max(op.response for op in definite)
    finals = [op for op in ops if op.kind == READ and op.acked and op.invoke > end]
    if not finals:
        return []
    final = max(finals, key=lambda op: op.invoke)
    if final.output is None:
        cands = [op for op in ops if op.kind == DELETE and not op.failed]
    elif parse_int(final.output) is not None:
        if any(op.kind == INCR and op.unknown for op in ops):
            return []    # an unknown INCR may have written it: leave it to the search
        cands = [op for op in ops if not op.failed and
                 ((op.kind == WRITE and op.input == final.output) or
                  (op.kind == INCR and op.output == parse_int(final.output)))]
    else:
        cands = [op for op in ops if op.kind == WRITE and not op.failed and
                 op.input == final.output]
    if not cands and final.output != initial:
        return []        # never-written / failed-write-visible report it
    if cands:
        newest = max(cands, key=lambda op: float("inf") if op.response is None
                     else op.response)
        if newest.response is None:
            return []
        done_at, what = newest.response, fmt(newest)
    else:
        done_at, what = float("-inf"), "the initial state (nothing else wrote it)"
    lost = [w for w in definite if w.invoke > done_at and w.output is not INCR_ERR]
    if not lost:
        return []
    lost.sort(key=lambda op: op.invoke)
    return [Violation("lost-acked-write", key,
            "an acknowledged write is lost: the final read\n  %s\nshows what\n  %s\n"
            "wrote, but these acknowledged writes began after that completed:\n  %s"
            % (fmt(final), what, "\n  ".join(fmt(w) for w in lost[-5:])))]


def _mset_atomicity(history, fmt):
    """The necessary condition for MSET atomicity described in the module doc."""
    by_key = defaultdict(list)
    for op in history:
        by_key[op.key].append(op)
    reads = {k: sorted((op for op in v if op.kind == READ and op.acked),
                       key=lambda op: op.invoke) for k, v in by_key.items()}
    read_times = {k: [r.invoke for r in v] for k, v in reads.items()}
    writers = {k: _writers(v) for k, v in by_key.items()}
    groups = defaultdict(list)
    for op in history:
        if op.group is not None and op.kind == WRITE and not op.failed:
            groups[op.group[0]].append(op)
    out = []
    for parts in groups.values():
        m_invoke = parts[0].invoke
        for p1 in parts:
            seen = [r for r in reads.get(p1.key, ()) if r.output == p1.input]
            if not seen:
                continue
            first = min(seen, key=lambda r: r.response)
            for p2 in parts:
                if p2 is p1:
                    continue
                rs = reads.get(p2.key, [])
                lo = bisect.bisect_right(read_times.get(p2.key, []), first.response)
                for r2 in rs[lo:]:
                    if p2.response is not None and r2.invoke > p2.response:
                        break    # per-key linearizability covers later reads
                    if r2.output == p2.input:
                        continue
                    if r2.output is None:
                        dels = [d for d in by_key[p2.key] if d.kind == DELETE and not d.failed]
                        older = all(d.response is not None and d.response < m_invoke
                                    for d in dels)
                    else:
                        ws = [w for w in writers[p2.key].get(r2.output, []) if not w.failed]
                        older = bool(ws) and all(w.response is not None and
                                                 w.response < m_invoke for w in ws)
                    if older:
                        out.append(Violation("mset-not-atomic", p2.key,
                                   "an MSET was seen half applied:\n  %s\n  %s\n"
                                   "showed its value on %s, but then\n  %s\n"
                                   "showed a value it must have overwritten"
                                   % (p1.desc or fmt(p1), fmt(first), fmt_key(p1.key),
                                      fmt(r2))))
                        break
    return out


# -- entry point ----------------------------------------------------------------

def check(history, timeout_s=60.0, initial=None, t0=None, time_unit=1.0,
          unit_name="", lost_writes=True, mset=True):
    """Check a history (list of Op, any order).  timeout_s bounds each key's
    search.  t0/time_unit/unit_name only shape the report's times."""
    start = time.monotonic()
    res = Result()
    history = list(history)
    for n, op in enumerate(history):
        op.id = n
    if t0 is None:
        t0 = min((op.invoke for op in history), default=0)
    fmt = lambda op: fmt_op(op, t0, time_unit, unit_name)   # noqa: E731
    by_key = defaultdict(list)
    for op in history:
        by_key[op.key].append(op)
    res.keys = len(by_key)
    res.ops = len(history)
    for key in sorted(by_key, key=lambda k: len(by_key[k])):
        ops = by_key[key]
        direct = _direct_rules(key, ops, fmt, initial)
        if lost_writes:
            direct += _lost_acked(key, ops, fmt, initial)
        res.violations += direct
        if any(v.kind != "lost-acked-write" for v in direct):
            continue    # the search would only repeat it, less readably
        live = [op for op in ops if not op.failed and
                not (op.kind == READ and op.response is None)]
        live.sort(key=lambda op: op.invoke)
        t_key = time.monotonic()
        try:
            found = _search(live, initial, t_key + timeout_s)
        except TooBig as e:
            res.too_big.append((key, len(live), str(e)))
            continue
        took = time.monotonic() - t_key
        if took > res.slowest[1]:
            res.slowest = (key, took)
        if found is not None:
            res.violations.append(Violation(
                "not-linearizable", key,
                _explain(key, live, found, t0, time_unit, unit_name)))
    if mset:
        res.violations += _mset_atomicity(history, fmt)
    res.elapsed = time.monotonic() - start
    return res
