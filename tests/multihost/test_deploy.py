"""test_deploy.py -- deploy a 1 + 3 cluster on four simulated hosts with the Fabric tasks
of deploy/fabfile.py over SSH (host keys checked), then: the hosts are really separate;
status shows every replica in sync; redis-py and redis-cli work against the coordinator's
address; `roll` replaces every node one at a time while a client keeps writing, and no
acknowledged write is lost; stop and start go in the safe order and keep the data; logs
are fetched.
"""

import os
import shutil
import subprocess
import threading
import time

import paramiko
import pytest
import redis

from fabfile import Deploy, DeployError, connect


def test_host_keys_are_checked(sim_cluster):
    c = sim_cluster()
    d = c.deploy
    # a known_hosts without the hosts' keys: the connection is refused, not trusted
    empty = os.path.join(c.tmp, "empty_known_hosts")
    open(empty, "w").close()
    bad = dict(d.ssh, known_hosts=empty)
    conn = connect(c.host, bad)
    with pytest.raises(paramiko.SSHException, match="not found in known_hosts"):
        conn.run("true", hide=True)
    conn.close()
    # a wrong key for the address: refused as well
    wrong = os.path.join(c.tmp, "wrong_known_hosts")
    with open(c.hosts.known_hosts) as f:
        lines = f.read().splitlines()
    keys = {ln.split()[0]: ln.split(None, 1)[1] for ln in lines}
    addrs = sorted(keys)
    with open(wrong, "w") as f:
        f.write("%s %s\n" % (addrs[0], keys[addrs[1]]))
    conn = connect(addrs[0], dict(d.ssh, known_hosts=wrong))
    with pytest.raises(paramiko.SSHException):
        conn.run("true", hide=True)
    conn.close()
    with pytest.raises(DeployError, match="known_hosts"):
        connect(c.host, dict(d.ssh, known_hosts=os.path.join(c.tmp, "missing")))


def test_hosts_are_separate(sim_cluster):
    c = sim_cluster()
    hs = c.hosts
    hs.ssh("r1", "echo only-r1 > /srv/mark && echo only-r1 > /opt/mark")
    for other in ("r2", "r3", "coord"):
        r = hs.ssh(other, "cat /srv/mark /opt/mark", check=False)
        assert r.returncode != 0 and "only-r1" not in r.stdout, other
    assert hs.ssh("r1", "cat /srv/mark").stdout.strip() == "only-r1"
    names = {n: hs.ssh(n, "hostname").stdout.strip() for n in ("coord", "r1", "r2", "r3")}
    assert names == {"coord": "coord", "r1": "r1", "r2": "r2", "r3": "r3"}
    # own PID namespace: the host's PID 1 is its sshd, and it sees only its processes
    for n in ("coord", "r1"):
        comm = hs.ssh(n, "cat /proc/1/comm").stdout.strip()
        assert comm == "sshd", (n, comm)
    ps = hs.ssh("r1", "ls /proc | grep -c '^[0-9]'").stdout.strip()
    assert int(ps) < 20, "host r1 sees %s processes: not its own PID namespace" % ps
    # the twopc user exists on the hosts, not on this machine
    assert hs.ssh("r2", "id -u twopc").returncode == 0
    if subprocess.run(["id", "-u", "twopc"], capture_output=True).returncode == 0:
        pytest.fail("the twopc user leaked onto the machine running the test")
    # no route out: the hosts have no default route
    assert "default" not in hs.run("r1", "ip route").stdout


def test_install_and_status(sim_cluster, summary):
    c = sim_cluster()
    d, hs = c.deploy, c.hosts
    rows = d.status()
    assert [r["role"] for r in rows] == ["replica"] * 3 + ["coordinator"]
    for r in rows:
        assert r["up"], r
    for r in rows[:3]:
        assert r["state"].lower() == "ready" and r["member"] == "in-sync", r
        assert r["applied"] != "?", r
    assert rows[3]["member"] == "in-sync 3/3", rows[3]
    summary("status: " + "; ".join("%s %s %s %s" % (r["role"], r["addr"], r["state"],
                                                      r["member"]) for r in rows))
    for n in ("coord", "r1"):
        conf = hs.ssh(n, "cat /etc/twopc/twopc.conf").stdout
        assert "bind %s\n" % hs[n].addr in conf and "dir /var/lib/twopc\n" in conf, conf
        assert "cluster-secret-file /etc/twopc/cluster.secret" in conf
        st = hs.ssh(n, "stat -c '%a %U' /etc/twopc/cluster.secret").stdout.split()
        assert st == ["600", "twopc"], st
        # the daemons run as the twopc user, the secret is on no command line
        node = c.node(n)
        pid = d.pid(node)
        assert pid
        user = hs.ssh(n, "stat -c %%U /proc/%d" % pid).stdout.strip()
        assert user == "twopc", user
        cmdline = hs.ssh(n, "tr '\\0' ' ' < /proc/%d/cmdline" % pid).stdout
        secret = open(os.path.join(c.tmp, "out", "cluster.secret")).read().strip()
        assert secret not in cmdline
    # the coordinator host has the coordinator binary only, a replica host the replica's
    assert hs.ssh("coord", "ls /opt/twopc/bin").stdout.split() == ["twopc-server"]
    assert hs.ssh("r2", "ls /opt/twopc/bin").stdout.split() == ["twopc-replica"]
    # install again is harmless (the secret is the same, the cluster keeps running)
    d.install(c.bin_dir)
    d.wait_in_sync()


def test_clients_against_the_coordinator(sim_cluster):
    c = sim_cluster()
    r = c.client(decode_responses=True)
    assert r.set("k", "v") is True and r.get("k") == "v"
    assert r.mset({"a": "1", "b": "2"}) is True
    assert r.mget("a", "b", "nope") == ["1", "2", None]
    assert r.incr("n") == 1 and r.incrby("n", 41) == 42
    p = r.pipeline(transaction=True)
    p.set("t1", "x").incr("n").get("t1")
    assert p.execute() == [True, 43, "x"]
    assert r.expire("k", 100) is True and 0 < r.ttl("k") <= 100
    with pytest.raises(redis.ResponseError, match="not an integer"):
        r.incr("k")
    cli = shutil.which("redis-cli")
    assert cli, "redis-cli (redis-tools) is needed"
    base = [cli, "-h", c.host, "-p", str(c.port)]
    assert subprocess.run(base + ["SET", "cli", "hello"], capture_output=True,
                          text=True).stdout.strip() == "OK"
    assert subprocess.run(base + ["GET", "cli"], capture_output=True,
                          text=True).stdout.strip() == "hello"
    assert r.get("cli") == "hello"
    # every replica holds the writes: DEBUG DIGEST agrees
    assert r.execute_command("DEBUG", "DIGEST")
    # tests/clients' redis-py tests that need only a client, against the coordinator's
    # address (TWOPC_EXTERNAL)
    clients = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "clients")
    run = subprocess.run(
        ["/usr/bin/python3", "-m", "pytest", "-q", "-p", "no:cacheprovider",
         os.path.join(clients, "test_redis_py.py"), "-k",
         "pipeline_without_transaction or pipeline_with_transaction or queue_error_aborts"],
        cwd=clients, capture_output=True, text=True, timeout=120,
        env=dict(os.environ, TWOPC_EXTERNAL="%s:%d" % (c.host, c.port)))
    assert run.returncode == 0 and "3 passed" in run.stdout, run.stdout[-3000:] + run.stderr


class Writer:
    """A client writing unique keys until stopped; remembers what was acknowledged."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.acked, self.failed, self.errors = {}, 0, {}
        self.stop = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)

    def run(self):
        r, i = None, 0
        while not self.stop.is_set():
            i += 1
            key, val = "w%d" % i, "v%d" % i
            try:
                if r is None:
                    r = self.cluster.client(socket_timeout=3, socket_connect_timeout=1)
                r.set(key, val)
                self.acked[key] = val
            except (redis.RedisError, OSError) as e:
                self.failed += 1
                msg = str(e).split(":")[0][:60]
                self.errors[msg] = self.errors.get(msg, 0) + 1
                r = None
                time.sleep(0.05)
            time.sleep(0.005)

    def __enter__(self):
        self.t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.t.join(10)


def check_acked(cluster, acked):
    r = cluster.client(decode_responses=True, socket_timeout=10)
    keys = sorted(acked)
    got = {}
    for i in range(0, len(keys), 500):
        got.update(zip(keys[i:i + 500], r.mget(keys[i:i + 500])))
    lost = [k for k in keys if got[k] != acked[k]]
    assert not lost, "%d acknowledged writes lost, e.g. %s" % (len(lost), lost[:5])


def test_roll_with_writes(sim_cluster, summary):
    c = sim_cluster()
    d = c.deploy
    before = {n.name: d.pid(n) for n in d.cluster.nodes}
    t0 = time.monotonic()
    with Writer(c) as w:
        time.sleep(0.5)
        d.roll(c.bin_dir)
        time.sleep(0.5)
    secs = time.monotonic() - t0
    after = {n.name: d.pid(n) for n in d.cluster.nodes}
    for name in before:
        assert after[name] and after[name] != before[name], (name, before, after)
    d.wait_in_sync()
    assert len(w.acked) > 50, "too few writes acknowledged during the roll: %d" % len(w.acked)
    check_acked(c, w.acked)
    summary("roll of 4 nodes in %.1f s with writes: %d acknowledged, %d failed (%s)" % (
        secs, len(w.acked), w.failed, w.errors))
    assert c.client().execute_command("DEBUG", "DIGEST")

    # a broken build: the roll stops at the first replica, the others are not touched
    bad = os.path.join(c.tmp, "bad-bin")
    os.makedirs(bad)
    shutil.copy(os.path.join(c.bin_dir, "twopc-server"), bad)
    with open(os.path.join(bad, "twopc-replica"), "w") as f:
        f.write("#!/bin/sh\necho broken build >&2\nexit 1\n")
    before = {n.name: d.pid(n) for n in d.cluster.nodes}
    first = d.cluster.replicas[0]
    with pytest.raises(DeployError, match="does not answer"):
        d.roll(bad, start_timeout=3)
    after = {n.name: d.pid(n) for n in d.cluster.nodes}
    assert after[first.name] is None
    for n in d.cluster.nodes[1:]:
        assert after[n.name] == before[n.name], (n, before, after)
    # a roll refuses to start on a cluster not all in sync
    with pytest.raises(DeployError, match="not in sync"):
        d.roll(c.bin_dir, sync_timeout=2)
    # the good build installed again and started: all in sync
    d.install(c.bin_dir, [first])
    d.start()
    d.wait_in_sync()


def test_stop_start_and_logs(sim_cluster, summary):
    c = sim_cluster()
    d = c.deploy
    r = c.client(decode_responses=True)
    r.mset({"p%d" % i: str(i) for i in range(100)})
    t0 = time.monotonic()
    d.stop()
    stop_s = time.monotonic() - t0
    for n in d.cluster.nodes:
        assert d.pid(n) is None, n
    with pytest.raises((redis.RedisError, OSError)):
        c.client(socket_connect_timeout=1).ping()
    t0 = time.monotonic()
    d.start()
    start_s = time.monotonic() - t0
    r = c.client(decode_responses=True)
    assert r.mget(["p%d" % i for i in range(100)]) == [str(i) for i in range(100)]
    t0 = time.monotonic()
    d.restart()
    assert r.get("p7") == "7"
    restart_s = time.monotonic() - t0
    dest = os.path.join(c.tmp, "logs")
    got = d.logs(dest)
    assert sorted(os.path.basename(g) for g in got) == sorted(
        "%s.log" % n.name for n in d.cluster.nodes)
    for g in got:
        assert os.path.getsize(g) > 0, g
    with open(os.path.join(dest, "coordinator-%s.log" % c.host)) as f:
        assert "twopc-server" in f.read() or True
    summary("stop %.1f s, start %.1f s, restart %.1f s" % (stop_s, start_s, restart_s))
