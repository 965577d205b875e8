"""test_replay_speed.py -- log replay after a long workload stays under a second (a
benchmark-ish check with a bound generous enough never to flake).

The goal of the issue: "restart after a 1-million-round workload takes under a second of
log replay".  Replay time is bounded because the logs are compacted (--log-max-bytes,
16 MB by default): the vote log holds at most the records since the last compaction.

The test commits TWOPC_REPLAY_ROUNDS rounds (default 20,000; INFO rounds_committed counts
them) through redis-py pipelines (transaction=False) of TWOPC_REPLAY_BATCH SETs (default
50; one pipeline is one round) over a 5,000-key space, then kill -9s every process,
restarts them, and checks the start-up lines

    replica:      vote log replayed: N records, C rounds applied, D in doubt,
                  applied_round R, in X ms
    coordinator:  decision log replayed: N records, C committed rounds to finish,
                  next round R, in X ms

report X < 1000 ms for every process, then that every key holds its last value on every
replica.  The measured numbers are printed (run with -s to see them when it passes).

The full-size manual run (about 30-45 minutes on 2 cores):

    TWOPC_REPLAY_ROUNDS=1000000 /usr/bin/python3 -m pytest -q -s -p no:cacheprovider \\
        tests/recovery/test_replay_speed.py
"""

import os
import re
import time

import pytest

ROUNDS = int(os.environ.get("TWOPC_REPLAY_ROUNDS", "20000"))
BATCH = int(os.environ.get("TWOPC_REPLAY_BATCH", "50"))
KEYS = 5000
BOUND_MS = 1000

REPLICA_LINE = re.compile(r"vote log replayed: (\d+) records, (\d+) rounds applied, (\d+) "
                          r"in doubt, applied_round (\d+), in (\d+) ms")
COORD_LINE = re.compile(r"decision log replayed: (\d+) records, (\d+) committed rounds to "
                        r"finish, next round (\d+), in (\d+) ms")


@pytest.mark.benchmark
def test_replay_after_many_rounds_is_fast(rig, capsys):
    r = rig.client(socket_timeout=30.0)
    expected = {}
    start_rounds = int(rig.info()["rounds_committed"])
    done = 0
    n = 0
    t0 = time.monotonic()
    while done < ROUNDS:
        for _ in range(200):
            pipe = r.pipeline(transaction=False)
            for _ in range(BATCH):
                k, v = b"speed:%05d" % (n % KEYS), b"v%d" % n
                pipe.set(k, v)
                expected[k] = v
                n += 1
            assert all(x is True for x in pipe.execute())
        done = int(rig.info()["rounds_committed"]) - start_rounds
    write_s = time.monotonic() - t0
    r.close()
    sizes = {"decision.log": os.path.getsize(rig.decision_log)}
    sizes.update({"votes.log %d" % i: os.path.getsize(rig.votes_log(i)) for i in (1, 2, 3)})

    marks = {d.name: d.log_mark() for d in rig.daemons()}
    rig.kill_all()
    t1 = time.monotonic()
    rig.start()
    ready_s = time.monotonic() - t1

    report = ["replay after %d rounds (%d SETs, %.1f s of writes; logs at kill: %s); "
              "restart to ready %.0f ms" % (done, n, write_s, ", ".join(
                  "%s %d bytes" % kv for kv in sorted(sizes.items())), ready_s * 1000)]
    times = {}
    for d in rig.daemons():
        log = d.log_since(marks[d.name])
        m = (COORD_LINE if d is rig.coord else REPLICA_LINE).search(log)
        assert m, "no replay line in %s's log:\n%s" % (d.name, log)
        times[d.name] = int(m.groups()[-1])
        report.append("  %-11s %s" % (d.name, m.group(0)))
    with capsys.disabled():
        print("\n" + "\n".join(report))
    slow = {k: v for k, v in times.items() if v >= BOUND_MS}
    assert not slow, "log replay took >= %d ms: %s\n%s" % (BOUND_MS, slow, "\n".join(report))

    rig.settle()
    for i, table in enumerate(rig.all_rows(), 1):
        assert table == expected, "replica %d lost data: %d keys, %d expected" % (
            i, len(table), len(expected))
    rig.digest()
