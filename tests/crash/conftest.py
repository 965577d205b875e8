"""conftest.py -- fixtures for the twopc crash tests (tests/crash).

The harness (Cluster, pid files, log tails ...) is tests/lib/twopc_harness.py,
shared with tests/integration.  This file adds:

  CrashCluster   a Cluster whose launcher gets extra flags (e.g.
                 --log-max-bytes 65536) and extra environment (e.g.
                 TWOPC_FAILPOINTS=coord.bug.reply_before_commit): the harness
                 starts whatever launcher path it is given, so start() points
                 it at a two-line shell wrapper in the cluster's own folder
                 that adds them and execs the real twopc-cluster.
  make_cluster   fixture: make_cluster(args=[...], env={...}) returns a
                 started, ready CrashCluster; every one is stopped and removed
                 after the test, even on failure.
  summary        fixture: summary("line") prints the line in the "twopc crash
                 summary" section at the end of the run, passed or failed
                 (seeds, kill counts, op counts are printed on every run).
On a failing test the log tails of every live cluster, including each
process's stderr.log, are attached to the report.
"""

import os
import shlex
import stat
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)

import twopc_harness  # noqa: E402
from twopc_harness import Cluster  # noqa: E402
from twopc_harness import pytest_runtest_makereport  # noqa: E402,F401 (the failure-log hook)

_summary_lines = []


class CrashCluster(Cluster):
    """A Cluster whose launcher runs with extra arguments and environment."""

    def __init__(self, args=(), env=None, replicas=3):
        super().__init__(replicas)
        self.extra_args = [str(a) for a in args]
        self.extra_env = dict(env or {})
        self.wrapper = os.path.join(self.root, "twopc-cluster-wrapper.sh")
        envs = " ".join("%s=%s" % (k, shlex.quote(v)) for k, v in self.extra_env.items())
        with open(self.wrapper, "w") as f:
            f.write("#!/bin/sh\nexec env %s %s \"$@\" %s\n" % (
                envs, shlex.quote(twopc_harness.CLUSTER),
                " ".join(shlex.quote(a) for a in self.extra_args)))
        os.chmod(self.wrapper, os.stat(self.wrapper).st_mode | stat.S_IXUSR)

    def start(self):
        real = twopc_harness.CLUSTER
        twopc_harness.CLUSTER = self.wrapper
        try:
            super().start()
        finally:
            twopc_harness.CLUSTER = real

    def log_files(self):
        files = super().log_files()
        files.append(os.path.join(self.coordinator_dir, "stderr.log"))
        files += [os.path.join(self.replica_dir(i), "stderr.log")
                  for i in range(1, self.replicas + 1)]
        return files

    def pid_of(self, name):
        """pid from the pid file of 'coordinator' or 'replica-N'."""
        if name == "coordinator":
            return self.server_pid()
        return self.replica_pid(int(name.split("-")[1]))

    def process_names(self):
        return ["coordinator"] + ["replica-%d" % i for i in range(1, self.replicas + 1)]


@pytest.fixture
def make_cluster():
    made = []

    def make(args=(), env=None):
        c = CrashCluster(args=args, env=env)
        made.append(c)
        c.start()
        c.wait_ready()
        return c

    try:
        yield make
    finally:
        for c in made:
            c.close()


@pytest.fixture
def summary(request):
    def add(line):
        _summary_lines.append("%s: %s" % (request.node.name, line))
        print(line)
    return add


def pytest_terminal_summary(terminalreporter):
    if _summary_lines:
        terminalreporter.section("twopc crash summary")
        for line in _summary_lines:
            terminalreporter.write_line(line)
