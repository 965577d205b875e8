"""conftest.py -- fixtures for the multi-host tests (tests/multihost, README.md here).

  sim_cluster(extra_conf="")   a 1 + 3 cluster on four simulated hosts (hosts.py): the
                               hosts come up, a cluster file naming their addresses is
                               written, and deploy/fabfile.py's tasks install and start
                               it over SSH with host keys checked -- what `fab install
                               start` does on real machines. Torn down after the test,
                               failed or not (atexit too).
  summary("line")              printed in a "twopc multihost summary" section.

The tests need root (namespaces, bridge, sshd); as another user they are skipped.
"""

import os
import shutil
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, os.path.join(ROOT, "deploy"))
sys.path.insert(0, HERE)

import redis  # noqa: E402

from fabfile import Deploy  # noqa: E402
from hosts import SimHosts  # noqa: E402

NAMES = ["coord", "r1", "r2", "r3"]
CLIENT_PORT = 6379
REPLICA_PORT = 7379
_summary = []


def binaries(tmp):
    """A folder with the build's twopc-server and twopc-replica (CTest passes their paths)."""
    out = os.path.join(tmp, "bin")
    os.makedirs(out)
    for var, name, sub in (("TWOPC_SERVER", "twopc-server", "server"),
                           ("TWOPC_REPLICA", "twopc-replica", "replica")):
        src = os.environ.get(var) or os.path.join(ROOT, "build", sub, name)
        shutil.copy(src, os.path.join(out, name))
    return out


class SimCluster:
    """The deployed cluster: hosts, the Deploy object, the coordinator's address."""

    def __init__(self, hosts, deploy, bin_dir, tmp):
        self.hosts, self.deploy, self.bin_dir, self.tmp = hosts, deploy, bin_dir, tmp
        co = deploy.cluster.coordinator
        self.host, self.port = co.host, co.port
        self.replicas = len(deploy.cluster.replicas)

    def client(self, **kw):
        kw.setdefault("socket_timeout", 5)
        return redis.Redis(host=self.host, port=self.port, **kw)

    def node(self, name):
        addr = self.hosts[name].addr
        return [n for n in self.deploy.cluster.nodes if n.host == addr][0]


def write_conf(path, hosts, extra=""):
    with open(path, "w") as f:
        f.write("# the multi-host test's cluster file (tests/multihost/conftest.py)\n")
        f.write("coordinator %s:%d\n" % (hosts["coord"].addr, CLIENT_PORT))
        for n in NAMES[1:]:
            f.write("replica %s:%d\n" % (hosts[n].addr, REPLICA_PORT))
        f.write("prepare-timeout-ms 500\nloglevel notice\n")
        f.write(extra)


@pytest.fixture
def sim_cluster():
    if os.geteuid() != 0:
        pytest.skip("the multi-host tests need root (network namespaces, sshd)")
    made = []

    def make(extra_conf=""):
        tmp = tempfile.mkdtemp(prefix="twopc-multihost-")
        hosts = SimHosts(NAMES)
        made.append((hosts, tmp))
        hosts.__enter__()
        conf = os.path.join(tmp, "twopc.conf")
        write_conf(conf, hosts, extra_conf)
        d = Deploy.load(conf, ini=os.path.join(tmp, "no-hosts.ini"),
                        ssh={"user": "root", "port": 22, "identity": hosts.client_key,
                             "known_hosts": hosts.known_hosts, "sudo": False},
                        out_dir=os.path.join(tmp, "out"))
        made[-1] = (hosts, tmp, d)
        bin_dir = binaries(tmp)
        d.install(bin_dir)
        d.start()
        return SimCluster(hosts, d, bin_dir, tmp)

    try:
        yield make
    finally:
        for entry in made:
            hosts, tmp = entry[0], entry[1]
            if len(entry) > 2:
                entry[2].close()
            hosts.teardown()
            shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def summary(request):
    def add(line):
        _summary.append("%s: %s" % (request.node.name, line))
        print(line)
    return add


def pytest_terminal_summary(terminalreporter):
    if _summary:
        terminalreporter.section("twopc multihost summary")
        for line in _summary:
            terminalreporter.write_line(line)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure, attach the tails of the hosts' daemon logs and sshd logs."""
    outcome = yield
    rep = outcome.get_result()
    if rep.when != "call" or not rep.failed:
        return
    fix = item.funcargs.get("sim_cluster")
    if fix is None:
        return
    # the fixture's closure holds the clusters made; read their hosts' folders
    for cell in getattr(fix, "__closure__", None) or ():
        made = cell.cell_contents
        if not isinstance(made, list):
            continue
        for entry in made:
            hosts = entry[0]
            for h in hosts.hosts.values():
                for log in ("sshd.log", "unshare.log"):
                    p = os.path.join(h.dir, log)
                    if os.path.exists(p) and os.path.getsize(p):
                        with open(p, errors="replace") as f:
                            rep.sections.append(("%s %s" % (h.name, log), f.read()[-2000:]))
                if len(entry) > 2:
                    for n in entry[2].cluster.nodes:
                        if n.host == h.addr:
                            try:
                                rep.sections.append(("%s %s log" % (h.name, n.daemon),
                                                     entry[2].tail_log(n)))
                            except Exception as e:  # the host may be gone
                                rep.sections.append(("%s log" % h.name, repr(e)))
