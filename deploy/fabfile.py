"""fabfile.py -- deploy a twopc cluster by roles with Fabric 2 (Debian's fabric and
python3-fabric). deploy/README.md is the manual; in short:

    cd deploy && fab install start status        # TWOPC_CONF=twopc.conf by default
    fab roll          # a new build, one node at a time, replicas first
    fab stop | restart | logs

The inventory is the cluster's config file itself: its `coordinator HOST:PORT` line is
the coordinator's host, each `replica HOST:PORT` line a replica's. SSH settings come from
deploy/hosts.ini ([ssh] user, port, identity, known_hosts, sudo) or the environment
(TWOPC_SSH_USER, TWOPC_SSH_PORT, TWOPC_SSH_IDENTITY, TWOPC_KNOWN_HOSTS, TWOPC_SUDO).
Host keys are checked: known_hosts is loaded and paramiko's RejectPolicy set (Fabric 2.6
otherwise accepts any key), so an unknown or changed host key stops the task.

The tasks are plain functions of a Deploy object too, for the tests:
    d = Deploy.load("twopc.conf", ssh={...}); d.install(bin_dir); d.start(); d.status()

Where a host runs systemd (/run/systemd/system exists) the units of deploy/systemd/
run the daemons; elsewhere (CI, containers, the namespaced test hosts) the fallback runs
them as the twopc user with setpriv + setsid, every fd redirected, the pid file in
/var/lib/twopc, and stops them by pid file with SIGTERM and a wait.
"""

import configparser
import os
import secrets
import shlex
import socket
import sys
import time

import paramiko
from fabric import Connection, task

HERE = os.path.dirname(os.path.abspath(__file__))
BIN_DIR = "/opt/twopc/bin"
ETC_DIR = "/etc/twopc"
DATA_DIR = "/var/lib/twopc"
CONF = ETC_DIR + "/twopc.conf"
SECRET = ETC_DIR + "/cluster.secret"
DAEMON = {"coordinator": "twopc-server", "replica": "twopc-replica"}
# Directives the deploy tool sets per host; the cluster file's own are replaced.
HOST_DIRECTIVES = ("dir", "cluster-secret-file", "cluster-secret", "bind", "port",
                   "pidfile", "log", "daemonize")
# Coordinator options the fallback passes on its command line (the others are its own).
COORD_OPTIONS = ("prepare-timeout-ms", "max-inflight", "repair-chunk", "requirepass",
                 "timeout", "maxclients", "min-replicas", "down-after-ms", "write-wait-ms",
                 "loglevel", "log-max-bytes")
REPLICA_OPTIONS = ("loglevel", "log-max-bytes")


class DeployError(Exception):
    pass


def say(msg):
    print(msg, flush=True)


# -- the cluster file ------------------------------------------------------------------
def _split_value(line, where):
    """The words of a directive line, with redis.conf quoting ("..." with \\ escapes,
    '...')."""
    words, i, n = [], 0, len(line)
    while i < n:
        if line[i].isspace():
            i += 1
            continue
        if line[i] in "\"'":
            q, i, w = line[i], i + 1, []
            while i < n and line[i] != q:
                if q == '"' and line[i] == "\\" and i + 1 < n:
                    i += 1
                    w.append({"n": "\n", "t": "\t"}.get(line[i], line[i]))
                else:
                    w.append(line[i])
                i += 1
            if i >= n:
                raise DeployError("%s: unterminated quote" % where)
            words.append("".join(w))
            i += 1
        else:
            j = i
            while j < n and not line[j].isspace():
                j += 1
            words.append(line[i:j])
            i = j
    return words


def read_conf(path, depth=0, seen=()):
    """[(directive, [values], 'FILE:LINE')] of a cluster file, includes expanded."""
    path = os.path.abspath(path)
    if path in seen:
        raise DeployError("%s: include cycle" % path)
    if depth > 8:
        raise DeployError("%s: includes nested too deep" % path)
    out = []
    with open(path) as f:
        for no, line in enumerate(f, 1):
            where = "%s:%d" % (path, no)
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            words = _split_value(s, where)
            name, vals = words[0].lower(), words[1:]
            if name == "include":
                if len(vals) != 1:
                    raise DeployError("%s: include takes one path" % where)
                inc = os.path.join(os.path.dirname(path), vals[0])
                out += read_conf(inc, depth + 1, seen + (path,))
            else:
                out.append((name, vals, where))
    return out


def _hostport(v, where):
    host, sep, port = v.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise DeployError("%s: expected HOST:PORT, got %r" % (where, v))
    return host, int(port)


class Node:
    def __init__(self, role, host, port):
        self.role, self.host, self.port = role, host, port
        self.daemon = DAEMON[role]
        self.name = "%s-%s" % (role, host)

    @property
    def addr(self):
        return "%s:%d" % (self.host, self.port)

    @property
    def pidfile(self):
        return "%s/%s.pid" % (DATA_DIR, self.daemon)

    @property
    def logfile(self):
        return "%s/%s.log" % (DATA_DIR, self.daemon)

    def __repr__(self):
        return "%s %s" % (self.role, self.addr)


class Cluster:
    """The inventory: the coordinator and the replicas of a cluster file."""

    def __init__(self, path):
        self.path = path
        self.lines = read_conf(path)
        self.coordinator, self.replicas, self.options = None, [], {}
        for name, vals, where in self.lines:
            if name in ("coordinator", "replica"):
                if len(vals) != 1:
                    raise DeployError("%s: %s takes one HOST:PORT" % (where, name))
                host, port = _hostport(vals[0], where)
                if name == "coordinator":
                    self.coordinator = Node("coordinator", host, port)
                else:
                    if any(r.host == host for r in self.replicas):
                        raise DeployError("%s: a second replica on %s: the deploy tool "
                                          "runs one replica per host" % (where, host))
                    self.replicas.append(Node("replica", host, port))
            elif vals:
                self.options[name] = vals[0] if len(vals) == 1 else " ".join(vals)
        if self.coordinator is None:
            raise DeployError("%s: no `coordinator HOST:PORT` line" % path)
        if not self.replicas:
            raise DeployError("%s: no `replica HOST:PORT` line" % path)

    @property
    def nodes(self):
        return self.replicas + [self.coordinator]

    def hosts(self):
        out = []
        for n in self.nodes:
            if n.host not in out:
                out.append(n.host)
        return out

    def host_conf(self, host):
        """The /etc/twopc/twopc.conf of one host: the cluster file's lines (includes
        expanded) without the per-host directives, then this host's."""
        text = ["# written by deploy/fabfile.py from %s; edit that file and run "
                "`fab install`\n" % os.path.basename(self.path)]
        for name, vals, _ in self.lines:
            if name in HOST_DIRECTIVES:
                continue
            text.append("%s %s\n" % (name, " ".join(_quote(v) for v in vals)))
        text.append("dir %s\ncluster-secret-file %s\nbind %s\n" % (DATA_DIR, SECRET, host))
        return "".join(text)


def _quote(v):
    if v and all(c.isalnum() or c in "-_.:/,@+=" for c in v):
        return v
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


# -- SSH -------------------------------------------------------------------------------
def ssh_settings(ini=None, overrides=None):
    """user, port, identity, known_hosts, sudo: hosts.ini, then the environment, then
    overrides."""
    s = {"user": "root", "port": 22, "identity": None,
         "known_hosts": os.path.expanduser("~/.ssh/known_hosts"), "sudo": False}
    ini = ini or os.environ.get("TWOPC_DEPLOY_INI") or os.path.join(HERE, "hosts.ini")
    if os.path.exists(ini):
        cp = configparser.ConfigParser()
        cp.read(ini)
        if cp.has_section("ssh"):
            for k in s:
                if cp.has_option("ssh", k):
                    s[k] = cp.get("ssh", k)
    for k in s:
        v = os.environ.get("TWOPC_" + ("SSH_" + k.upper() if k in ("user", "port",
                                                                   "identity")
                                       else k.upper()))
        if v:
            s[k] = v
    s.update(overrides or {})
    s["port"] = int(s["port"])
    s["sudo"] = str(s["sudo"]).lower() in ("1", "yes", "true")
    if s["known_hosts"]:
        s["known_hosts"] = os.path.expanduser(s["known_hosts"])
    return s


def connect(host, ssh):
    kw = {"look_for_keys": ssh["identity"] is None, "allow_agent": ssh["identity"] is None}
    if ssh["identity"]:
        kw["key_filename"] = os.path.expanduser(ssh["identity"])
    c = Connection(host, user=ssh["user"], port=ssh["port"], connect_kwargs=kw,
                   connect_timeout=10)
    # Fabric 2.6 sets AutoAddPolicy: check host keys against known_hosts instead.
    if not ssh["known_hosts"] or not os.path.exists(ssh["known_hosts"]):
        raise DeployError("known_hosts file %r not found: host keys must be checked "
                          "(deploy/README.md, ssh prerequisites)" % ssh["known_hosts"])
    c.client.load_host_keys(ssh["known_hosts"])
    c.client.set_missing_host_key_policy(paramiko.RejectPolicy())
    return c


# -- the tasks -------------------------------------------------------------------------
class Deploy:
    def __init__(self, cluster, ssh, out_dir=None):
        self.cluster, self.ssh = cluster, ssh
        self.out_dir = out_dir or os.environ.get("TWOPC_DEPLOY_OUT") or os.path.join(
            HERE, "out")
        self.conns = {}

    @classmethod
    def load(cls, conf=None, ini=None, ssh=None, out_dir=None):
        conf = conf or os.environ.get("TWOPC_CONF") or os.path.join(HERE, "twopc.conf")
        if not os.path.exists(conf):
            raise DeployError("no cluster file %s (copy deploy/twopc.conf.example, or set "
                              "TWOPC_CONF)" % conf)
        return cls(Cluster(conf), ssh_settings(ini, ssh), out_dir)

    def close(self):
        for c in self.conns.values():
            c.close()
        self.conns.clear()

    def conn(self, host):
        if host not in self.conns:
            self.conns[host] = connect(host, self.ssh)
        return self.conns[host]

    def root(self, host, cmd, warn=False):
        """cmd as root on host (sudo when the ssh user is not root)."""
        c = self.conn(host)
        if self.ssh["sudo"] and self.ssh["user"] != "root":
            return c.sudo(cmd, hide=True, warn=warn, pty=False)
        return c.run(cmd, hide=True, warn=warn, pty=False, in_stream=False)

    def upload(self, host, local, remote, mode, owner="root:root"):
        """put() to a private temp folder, then install into place as root (atomic)."""
        c = self.conn(host)
        tmp = c.run("mktemp -d", hide=True, in_stream=False).stdout.strip()
        try:
            c.put(local, tmp + "/f")
            user, group = owner.split(":")
            self.root(host, "install -m %s -o %s -g %s %s/f %s.new && mv -f %s.new %s" % (
                mode, user, group, tmp, remote, remote, remote))
        finally:
            c.run("rm -rf %s" % shlex.quote(tmp), hide=True, warn=True, in_stream=False)

    def has_systemd(self, host):
        return self.root(host, "test -d /run/systemd/system", warn=True).ok

    # install ---------------------------------------------------------------------------
    def secret_file(self):
        """deploy/out/cluster.secret, generated once (0600); never on a command line."""
        path = os.path.join(self.out_dir, "cluster.secret")
        if not os.path.exists(path):
            os.makedirs(self.out_dir, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32) + "\n")
        return path

    def install(self, bin_dir, nodes=None):
        secret = self.secret_file()
        nodes = nodes or self.cluster.nodes
        for host in [h for h in self.cluster.hosts() if any(n.host == h for n in nodes)]:
            mine = [n for n in nodes if n.host == host]
            say("install %s: %s" % (host, ", ".join(n.role for n in mine)))
            self.root(host, "id -u twopc >/dev/null 2>&1 || useradd --system --user-group "
                      "--home-dir %s --no-create-home --shell /usr/sbin/nologin twopc"
                      % DATA_DIR)
            self.root(host, "install -d -m 755 %s && install -d -m 750 -o root -g twopc %s "
                      "&& install -d -m 750 -o twopc -g twopc %s" % (BIN_DIR, ETC_DIR,
                                                                     DATA_DIR))
            for n in mine:
                self.install_binary(n, bin_dir)
            conf = os.path.join(self.out_dir, "twopc.conf." + host)
            os.makedirs(self.out_dir, exist_ok=True)
            with open(conf, "w") as f:
                f.write(self.cluster.host_conf(host))
            self.upload(host, conf, CONF, "640", "root:twopc")
            self.upload(host, secret, SECRET, "600", "twopc:twopc")
            if self.has_systemd(host):
                for n in mine:
                    unit = os.path.join(HERE, "systemd", n.daemon + ".service")
                    self.upload(host, unit, "/etc/systemd/system/%s.service" % n.daemon,
                                "644")
                    self.root(host, "systemctl daemon-reload && systemctl enable %s"
                              % n.daemon)

    def install_binary(self, node, bin_dir):
        local = os.path.join(bin_dir, node.daemon)
        if not os.path.exists(local):
            raise DeployError("no %s in %s (build first: make build)" % (node.daemon,
                                                                         bin_dir))
        self.upload(node.host, local, "%s/%s" % (BIN_DIR, node.daemon), "755")

    # start / stop ----------------------------------------------------------------------
    def reads_config(self, node):
        """Whether the installed daemon takes --config (its --help says so)."""
        r = self.root(node.host, "%s/%s --help 2>&1" % (BIN_DIR, node.daemon), warn=True)
        return "--config" in r.stdout

    def command_line(self, node):
        """The fallback's command line: `--config /etc/twopc/twopc.conf` when the daemon
        reads it; for a build without --config, rendered from the cluster file."""
        if self.reads_config(node):
            return "%s/%s --config %s" % (BIN_DIR, node.daemon, CONF)
        o = self.cluster.options
        args = [BIN_DIR + "/" + node.daemon, "--bind", node.host, "--port", str(node.port),
                "--dir", DATA_DIR, "--pidfile", node.pidfile, "--log", node.logfile]
        for k in (COORD_OPTIONS if node.role == "coordinator" else REPLICA_OPTIONS):
            if k in o:
                args += ["--" + k, o[k]]
        if node.role == "coordinator":
            for r in self.cluster.replicas:
                args += ["--replica", r.addr]
        return " ".join(shlex.quote(a) for a in args)

    def pid(self, node):
        """The daemon's pid if it runs (a zombie counts as gone), else None."""
        r = self.root(node.host, "p=$(cat %s 2>/dev/null) && [ -n \"$p\" ] && "
                      "[ -e /proc/$p/stat ] && ! awk '{exit $3!=\"Z\"}' /proc/$p/stat && "
                      "grep -q %s /proc/$p/cmdline && echo $p" % (node.pidfile, node.daemon),
                      warn=True)
        out = r.stdout.strip()
        return int(out) if r.ok and out.isdigit() else None

    def start_node(self, node, timeout=20):
        if self.has_systemd(node.host):
            self.root(node.host, "systemctl start %s" % node.daemon)
        elif self.pid(node) is None:
            # setsid -f: a new session, forked off, every fd away from the ssh channel
            self.root(node.host, "cd / && setsid -f setpriv --reuid twopc --regid twopc "
                      "--init-groups %s </dev/null >/dev/null 2>&1" % self.command_line(node))
        self.wait_answers(node, timeout)
        say("started %s" % node)

    def wait_answers(self, node, timeout=20):
        """Until the daemon answers PING on its port (checked on its own host)."""
        probe = ("exec 3<>/dev/tcp/%s/%d && printf 'PING\\r\\n' >&3 && "
                 "timeout 2 head -c 1 <&3" % (node.host, node.port))
        deadline = time.monotonic() + timeout
        while True:
            r = self.root(node.host, "timeout 3 bash -c %s" % shlex.quote(probe), warn=True)
            if r.ok and r.stdout[:1] in ("+", "-"):
                return
            if time.monotonic() > deadline:
                raise DeployError("%s does not answer on %s after %d s; its log: %s" % (
                    node.name, node.addr, timeout, self.tail_log(node)))
            time.sleep(0.2)

    def tail_log(self, node):
        r = self.root(node.host, "tail -n 5 %s" % node.logfile, warn=True)
        return r.stdout.strip() or "(none)"

    def stop_node(self, node, timeout=30):
        if self.has_systemd(node.host):
            self.root(node.host, "systemctl stop %s" % node.daemon)
        else:
            pid = self.pid(node)
            if pid is not None:
                self.root(node.host, "kill -TERM %d" % pid, warn=True)
                deadline = time.monotonic() + timeout
                while self.pid(node) is not None:
                    if time.monotonic() > deadline:
                        raise DeployError("%s (pid %d) still runs %d s after SIGTERM"
                                          % (node.name, pid, timeout))
                    time.sleep(0.1)
        say("stopped %s" % node)

    def start(self):
        """Replicas first, then the coordinator."""
        for n in self.cluster.replicas:
            self.start_node(n)
        self.start_node(self.cluster.coordinator)
        self.wait_in_sync()

    def stop(self):
        """The coordinator first (no more writes), then the replicas."""
        self.stop_node(self.cluster.coordinator)
        for n in self.cluster.replicas:
            self.stop_node(n)

    def restart(self):
        self.stop()
        self.start()

    # status ----------------------------------------------------------------------------
    def info_twopc(self, timeout=3):
        """The coordinator's INFO twopc as a dict (asked from here, on its client
        address), or None when it does not answer."""
        co = self.cluster.coordinator
        try:
            with socket.create_connection((co.host, co.port), timeout=timeout) as s:
                pw = self.cluster.options.get("requirepass")
                cmds = ([["AUTH", pw]] if pw else []) + [["INFO", "twopc"]]
                for cmd in cmds:
                    s.sendall(("*%d\r\n" % len(cmd) + "".join(
                        "$%d\r\n%s\r\n" % (len(a.encode()), a) for a in cmd)).encode())
                f = s.makefile("rb")
                if pw:
                    f.readline()
                head = f.readline()
                if not head.startswith(b"$"):
                    return None
                body = f.read(int(head[1:]) + 2).decode()
        except (OSError, ValueError):
            return None
        info = {}
        for line in body.splitlines():
            if ":" in line and not line.startswith("#"):
                k, v = line.split(":", 1)
                info[k] = v
        return info

    def replica_info(self, info):
        """{addr: {state, member, applied, ...}} from INFO twopc."""
        out = {}
        for k, v in (info or {}).items():
            if k.startswith("replica_") and "addr=" in v:
                fields = dict(p.split("=", 1) for p in v.split(",") if "=" in p)
                out[fields.get("addr")] = fields
        return out

    def in_sync(self, node, info=None):
        f = self.replica_info(info if info is not None else self.info_twopc()).get(node.addr)
        return bool(f) and f.get("state", "").lower() == "ready" and f.get("member") == "in-sync"

    def wait_in_sync(self, nodes=None, timeout=30):
        nodes = nodes or self.cluster.replicas
        deadline = time.monotonic() + timeout
        while True:
            info = self.info_twopc()
            if info is not None and all(self.in_sync(n, info) for n in nodes):
                return
            if time.monotonic() > deadline:
                raise DeployError("not in sync after %d s: %s" % (timeout, ", ".join(
                    "%s %s" % (a, f.get("state") + "/" + f.get("member", "?"))
                    for a, f in self.replica_info(info).items())))
            time.sleep(0.2)

    def status(self):
        """[{role, addr, up, pid, state, member, applied}] and prints a table."""
        info = self.info_twopc()
        reps = self.replica_info(info)
        rows = []
        for n in self.cluster.nodes:
            pid = self.pid(n)
            row = {"role": n.role, "addr": n.addr, "hostname": self.root(
                n.host, "hostname", warn=True).stdout.strip(), "up": pid is not None,
                "pid": pid}
            if n.role == "replica":
                f = reps.get(n.addr, {})
                row.update(state=f.get("state", "?"), member=f.get("member", "?"),
                           applied=f.get("applied", "?"))
            else:
                row.update(state="answering" if info is not None else "not answering",
                           member="in-sync %s/%s" % (
                               (info or {}).get("replicas_in_sync", "?"),
                               (info or {}).get("replicas", "?")),
                           applied=(info or {}).get("rounds_committed", "?"))
            rows.append(row)
        say("%-12s %-22s %-10s %-5s %-8s %-14s %-16s %s" % (
            "ROLE", "ADDRESS", "HOSTNAME", "UP", "PID", "STATE", "IN-SYNC", "APPLIED"))
        for r in rows:
            say("%-12s %-22s %-10s %-5s %-8s %-14s %-16s %s" % (
                r["role"], r["addr"], r["hostname"], "up" if r["up"] else "DOWN",
                r["pid"] or "-", r["state"], r["member"], r["applied"]))
        return rows

    # roll ------------------------------------------------------------------------------
    def roll(self, bin_dir, sync_timeout=60, start_timeout=20):
        """A new build one node at a time: each replica (stop, install, start, wait until
        the coordinator has it in sync again), then the coordinator. The first failure
        raises and stops the roll. A cluster not all in sync is not rolled."""
        self.wait_in_sync(timeout=sync_timeout)
        for n in self.cluster.replicas:
            say("roll %s" % n)
            self.stop_node(n)
            self.install_binary(n, bin_dir)
            self.start_node(n, start_timeout)
            self.wait_in_sync([n], sync_timeout)
        co = self.cluster.coordinator
        say("roll %s" % co)
        self.stop_node(co)
        self.install_binary(co, bin_dir)
        self.start_node(co, start_timeout)
        self.wait_in_sync(timeout=sync_timeout)

    # logs ------------------------------------------------------------------------------
    def logs(self, dest=None):
        """Each node's log into DEST/ROLE-HOST.log (default deploy/out/logs)."""
        dest = dest or os.path.join(self.out_dir, "logs")
        os.makedirs(dest, exist_ok=True)
        got = []
        for n in self.cluster.nodes:
            c = self.conn(n.host)
            tmp = c.run("mktemp", hide=True, in_stream=False).stdout.strip()
            try:
                self.root(n.host, "cat %s > %s" % (n.logfile, tmp))
                local = os.path.join(dest, "%s.log" % n.name)
                c.get(tmp, local)
                got.append(local)
            finally:
                c.run("rm -f %s" % tmp, hide=True, warn=True, in_stream=False)
        say("logs in %s: %s" % (dest, ", ".join(os.path.basename(g) for g in got)))
        return got


# -- fab entry points ------------------------------------------------------------------
def _bin_dir(bin_dir):
    return bin_dir or os.environ.get("TWOPC_BIN_DIR") or os.path.join(HERE, "..", "build")


def _binaries(bin_dir):
    """build/ holds the binaries in server/ and replica/: gather them in one folder."""
    b = _bin_dir(bin_dir)
    if os.path.exists(os.path.join(b, "server", "twopc-server")):
        out = os.path.join(os.environ.get("TWOPC_DEPLOY_OUT") or os.path.join(HERE, "out"),
                           "bin")
        os.makedirs(out, exist_ok=True)
        for sub, name in (("server", "twopc-server"), ("replica", "twopc-replica")):
            dst = os.path.join(out, name)
            if os.path.lexists(dst):
                os.unlink(dst)
            os.symlink(os.path.abspath(os.path.join(b, sub, name)), dst)
        return out
    return b


def _run(fn):
    d = None
    try:
        d = Deploy.load()
        return fn(d)
    except DeployError as e:
        sys.exit("deploy: %s" % e)
    except paramiko.SSHException as e:   # an unknown or changed host key among them
        sys.exit("deploy: ssh: %s" % e)
    finally:
        if d is not None:
            d.close()


@task(help={"bin": "folder with twopc-server and twopc-replica (default ../build)"})
def install(c, bin=None):
    """Install binaries, /etc/twopc/twopc.conf, the cluster secret and units by role."""
    _run(lambda d: d.install(_binaries(bin)))


@task
def start(c):
    """Start the replicas, then the coordinator; wait until all are in sync."""
    _run(lambda d: d.start())


@task
def stop(c):
    """Stop the coordinator, then the replicas."""
    _run(lambda d: d.stop())


@task
def restart(c):
    """Stop, then start, in the safe order."""
    _run(lambda d: d.restart())


@task
def status(c):
    """Each node's role, address, up/down, state, in-sync membership, applied round."""
    _run(lambda d: d.status())


@task(help={"bin": "folder with the new twopc-server and twopc-replica"})
def roll(c, bin=None):
    """Roll a new build one node at a time (replicas, then the coordinator)."""
    _run(lambda d: d.roll(_binaries(bin)))


@task(help={"dest": "local folder (default deploy/out/logs)"})
def logs(c, dest=None):
    """Fetch each node's log."""
    _run(lambda d: d.logs(dest))
