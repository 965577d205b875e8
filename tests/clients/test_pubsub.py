"""Pub/sub with redis-py: one publisher fans out to several subscribers (channels and
patterns, over their own connections); every subscriber receives each message meant for it
exactly once, in publish order, and nothing else. Then the subscribers leave (unsubscribe,
close) and the coordinator forgets them."""

import time

import pytest
import redis

from conftest import wait_for

CHANNELS = ["fan:a", "fan:b", "fan:c", "other"]
MESSAGES = 300




def expected(sub, published):
    """What a subscriber with channels and patterns gets, in order: per message, the
    channel's message, then one pmessage per matching pattern (patterns here match
    disjoint channel sets or are tested on their own, so their order is fixed)."""
    out = []
    for ch, data in published:
        if ch in sub["channels"]:
            out.append(("message", None, ch, data))
        for pat in sub["patterns"]:
            if ch.startswith(pat[:-1]):  # the patterns here are all "prefix*"
                out.append(("pmessage", pat, ch, data))
    return out


def drain(ps, n, timeout=20.0):
    """n data messages from ps (subscription confirmations skipped)."""
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        m = ps.get_message(timeout=1.0, ignore_subscribe_messages=True)
        if m is not None:
            got.append((m["type"], m["pattern"], m["channel"], m["data"]))
    return got


def test_fan_out(c):
    subs = [
        {"channels": ["fan:a"], "patterns": []},
        {"channels": ["fan:a", "fan:b"], "patterns": []},
        {"channels": [], "patterns": ["fan:*"]},
        {"channels": ["fan:c"], "patterns": ["fan:*"]},  # both messages for fan:c
        {"channels": ["other"], "patterns": ["oth*"]},
        {"channels": [], "patterns": []},                # subscribed to nothing
    ]
    clients = [c.client(decode_responses=True) for _ in subs]
    pubsubs = []
    try:
        for cl, sub in zip(clients, subs):
            ps = cl.pubsub()
            if sub["channels"]:
                ps.subscribe(*sub["channels"])
            if sub["patterns"]:
                ps.psubscribe(*sub["patterns"])
            pubsubs.append(ps)
        pub = c.client(decode_responses=True)
        want = {"fan:a": 2, "fan:b": 1, "fan:c": 1}
        wait_for("every subscription", lambda: dict(pub.pubsub_numsub(*want)) == want
                 and pub.pubsub_numpat() == 2)
        published, counts = [], []
        for i in range(MESSAGES):
            ch = CHANNELS[i % len(CHANNELS)]
            data = "m%d:%s" % (i, "x" * (i % 7))
            counts.append(pub.publish(ch, data))
            published.append((ch, data))
        # PUBLISH's reply counts every delivery
        for (ch, _), n in zip(published, counts):
            assert n == sum(len(expected(s, [(ch, "")])) for s in subs), ch
        for ps, sub in zip(pubsubs, subs):
            want_msgs = expected(sub, published)
            got = drain(ps, len(want_msgs)) if want_msgs else []
            assert got == want_msgs, (sub, got[:5], want_msgs[:5])
            assert ps.get_message(timeout=0.2, ignore_subscribe_messages=True) is None
        # unsubscribing stops the flow; the counts come back down
        pubsubs[0].unsubscribe()
        pubsubs[2].punsubscribe()
        wait_for("the unsubscriptions", lambda: pub.pubsub_numsub("fan:a")[0][1] == 1)
        assert pub.pubsub_numpat() == 2  # fan:* is still sub 3's
        assert pub.publish("fan:a", "late") == 2  # sub 1's channel, sub 3's pattern
        for i, ps in enumerate(pubsubs[:4]):
            got = drain(ps, 1, timeout=1.0 if i in (0, 2) else 20.0)
            assert [g[3] for g in got] == ([] if i in (0, 2) else ["late"]), (i, got)
    finally:
        for ps in pubsubs:
            ps.close()
        for cl in clients:
            cl.close()


def test_leaving_subscribers_are_forgotten(c):
    pub = c.client(decode_responses=True)
    for round_ in range(3):
        clients = [c.client() for _ in range(20)]
        pss = []
        for i, cl in enumerate(clients):
            ps = cl.pubsub()
            ps.subscribe("leave:all", "leave:%d" % i)
            ps.psubscribe("leave:*")
            pss.append(ps)
        wait_for("20 subscribers", lambda: pub.pubsub_numsub("leave:all")[0][1] == 20)
        assert pub.publish("leave:all", "x") == 40  # the channel, and the pattern, each
        for ps in pss:
            ps.close()  # redis-py closes the connection
        for cl in clients:
            cl.close()
        wait_for("the subscribers to be gone",
                 lambda: pub.pubsub_numsub("leave:all")[0][1] == 0 and pub.pubsub_numpat() == 0)
        assert pub.publish("leave:all", "x") == 0
        assert not [ch for ch in pub.pubsub_channels() if ch.startswith("leave:")]


def test_notify_keyspace_events_from_config_file(manual_cluster, tmp_path):
    """notify-keyspace-events in the config file: set at start-up, the events of a
    committed write arrive (redis-py's pubsub), a failed write's do not."""
    conf = tmp_path / "notify.conf"
    conf.write_text("notify-keyspace-events KEA\n")
    mc = manual_cluster("--config", str(conf))
    r = redis.Redis(port=mc.port, decode_responses=True)
    assert r.config_get("notify-keyspace-events") == {"notify-keyspace-events": "AKE"}
    ps = r.pubsub()
    ps.psubscribe("__keyspace@0__:n:*")
    r.set("n:a", "x")
    r.incr("n:b")
    with pytest.raises(redis.ResponseError):
        r.incr("n:a")  # not an integer: nothing changed, no event
    r.delete("n:a", "n:missing")
    got = drain(ps, 3)
    assert [(m[2], m[3]) for m in got] == [("__keyspace@0__:n:a", "set"),
                                           ("__keyspace@0__:n:b", "incrby"),
                                           ("__keyspace@0__:n:a", "del")]
    assert ps.get_message(timeout=0.3, ignore_subscribe_messages=True) is None
    ps.close()
    r.close()


def test_idle_timeout_spares_subscribers(manual_cluster):
    """With timeout 1, an idle client is closed, an idle subscriber is not (Redis spares its
    pub/sub clients); once it unsubscribes it is an idle client like any other."""
    mc = manual_cluster("--timeout", "1")
    sub = redis.Redis(port=mc.port, decode_responses=True).pubsub()
    sub.subscribe("idle:ch")
    idle = redis.Redis(port=mc.port, decode_responses=True)
    idle.ping()
    pub = redis.Redis(port=mc.port, decode_responses=True)
    time.sleep(2.5)
    names = [c["cmd"] for c in pub.client_list()]
    assert "subscribe" in names and "ping" not in names, names
    assert pub.publish("idle:ch", "still here") == 1
    assert drain(sub, 1) == [("message", None, "idle:ch", "still here")]
    sub.unsubscribe()
    wait_for("the unsubscribed client to be closed",
             lambda: "unsubscribe" not in [c["cmd"] for c in pub.client_list()])
    sub.close()
