"""hosts.py -- simulated hosts for the multi-host tests: one Linux network namespace per
host, joined by a bridge, each running its own sshd in its own mount, UTS and PID
namespaces, so that the deploy tasks (deploy/fabfile.py) reach them over SSH exactly as
they would reach real machines.

    with SimHosts(["coord", "r1", "r2", "r3"]) as hosts:
        hosts["r1"].addr                  # 10.77.0.2
        hosts.run("r1", "nft ...")        # a command in the host's network namespace
        hosts.known_hosts, hosts.client_key

Per host:
  - a network namespace twopc-RUN-NAME with a veth `eth0` on a bridge tpcbrRUN, an
    address in 10.77.0.0/24, no default route and IPv6 off: its traffic cannot leave
    the machine. The root side gets 10.77.0.254 on the bridge (the test client and
    Fabric run there) and an `unreachable 10.77.0.0/24` route of lower priority, so
    once the bridge is gone nothing for the subnet goes out of the real interface.
  - an sshd, PID 1 of `unshare --mount --uts --pid --fork --kill-child --mount-proc`, with
    its own host key, hostname and private folders: /root, /opt and /srv are per-host
    folders bind-mounted in; /etc and /var get a tmpfs-backed overlay, so `useradd`,
    /etc/twopc and /var/lib/twopc stay on that host. The rest of the root file system
    (/usr: the shared libraries the daemons need) is shared, read-only in spirit.
  - authorized_keys for a client key generated per run, and a known_hosts line built
    from the host key, so the client checks host keys.

Teardown (the context manager's exit, and atexit after a crash of the test) kills each
host's unshare (its PID 1 dies with it, and everything on the host), deletes the
namespaces, the bridge, the route and the temp folder, and restores the
bridge-nf-call-iptables sysctl, which is set to 0 for the run: bridged traffic would
otherwise cross the machine's iptables FORWARD chain.
Needs root, iproute2, openssh-server and openssh-client (ssh-keygen).
"""

import atexit
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time

SUBNET = "10.77.0"
SSHD = "/usr/sbin/sshd"
BRNF = "/proc/sys/net/bridge/bridge-nf-call-iptables"
STATE_DIR = "/run/twopc-multihost"   # one file per live run: what a sweep must remove
PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """preexec: SIGKILL this child (`ip netns exec` execs unshare, which keeps it) when
    the test process dies, even by SIGKILL (a CTest timeout): unshare --kill-child then
    takes the host's PID 1 and every process of the host with it."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def sh(*args, check=True, **kw):
    return subprocess.run(list(args), check=check, capture_output=True, text=True, **kw)


class Host:
    def __init__(self, name, index, run, base):
        self.name, self.index = name, index
        self.addr = "%s.%d" % (SUBNET, index + 1)
        self.netns = "twopc-%s-%s" % (run, name)
        self.veth = "tpv%s%d" % (run, index)
        self.dir = os.path.join(base, name)
        self.proc = None

    def __repr__(self):
        return "Host(%s %s)" % (self.name, self.addr)


class SimHosts:
    def __init__(self, names):
        self.names = list(names)
        assert 0 < len(self.names) < 250
        self.run_id = secrets.token_hex(3)
        self.bridge = "tpcbr%s" % self.run_id
        self.base = None
        self.hosts = {}
        self.brnf_old = None
        self.route_added = False
        self.bridge_added = False
        self.torn_down = False

    # -- set-up ------------------------------------------------------------------------
    def __enter__(self):
        atexit.register(self.teardown)
        try:
            self.up()
        except BaseException:
            self.teardown()
            raise
        return self

    def __exit__(self, *exc):
        self.teardown()

    def __getitem__(self, name):
        return self.hosts[name]

    def up(self):
        if os.geteuid() != 0:
            raise RuntimeError("the simulated hosts need root")
        sweep_stale_runs()
        routes = sh("ip", "route", "show", "%s.0/24" % SUBNET).stdout.strip()
        if routes:
            raise RuntimeError("%s.0/24 is already routed on this machine (%s): a run "
                               "still up, or a clash with a real network" % (SUBNET, routes))
        self.base = tempfile.mkdtemp(prefix="twopc-hosts-")
        os.chmod(self.base, 0o755)
        if os.path.exists(BRNF):
            with open(BRNF) as f:
                self.brnf_old = f.read().strip()
            with open(BRNF, "w") as f:
                f.write("0")
        self._save_state()
        self.client_key = os.path.join(self.base, "client_key")
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "twopc-test-client",
           "-f", self.client_key)
        with open(self.client_key + ".pub") as f:
            client_pub = f.read()

        sh("ip", "link", "add", self.bridge, "type", "bridge")
        self.bridge_added = True
        self._ipv6_off_root(self.bridge)
        sh("ip", "addr", "add", "%s.254/24" % SUBNET, "dev", self.bridge)
        sh("ip", "link", "set", self.bridge, "up")
        sh("ip", "route", "add", "unreachable", "%s.0/24" % SUBNET, "metric", "4000")
        self.route_added = True

        known = []
        for i, name in enumerate(self.names):
            h = Host(name, i, self.run_id, self.base)
            self.hosts[name] = h
            self._make_host(h, client_pub)
            with open(os.path.join(h.dir, "ssh_host_ed25519_key.pub")) as f:
                kind, key = f.read().split()[:2]
            known.append("%s %s %s\n" % (h.addr, kind, key))
        self.known_hosts = os.path.join(self.base, "known_hosts")
        with open(self.known_hosts, "w") as f:
            f.writelines(known)
        for h in self.hosts.values():
            self._wait_ssh(h)

    def _save_state(self):
        os.makedirs(STATE_DIR, exist_ok=True)
        with open(os.path.join(STATE_DIR, self.run_id + ".json"), "w") as f:
            json.dump({"pid": os.getpid(), "run": self.run_id, "base": self.base,
                       "bridge": self.bridge, "brnf": self.brnf_old,
                       "names": self.names}, f)

    def _ipv6_off_root(self, dev):
        path = "/proc/sys/net/ipv6/conf/%s/disable_ipv6" % dev
        if os.path.exists(path):
            with open(path, "w") as f:
                f.write("1")

    def _make_host(self, h, client_pub):
        sh("ip", "netns", "add", h.netns)
        sh("ip", "link", "add", h.veth, "type", "veth", "peer", "name", "eth0",
           "netns", h.netns)
        self._ipv6_off_root(h.veth)
        sh("ip", "link", "set", h.veth, "master", self.bridge)
        sh("ip", "link", "set", h.veth, "up")
        self.run(h.name, "for f in /proc/sys/net/ipv6/conf/*/disable_ipv6; do "
                 "echo 1 > $f; done; ip addr add %s/24 dev eth0 && ip link set eth0 up && "
                 "ip link set lo up" % h.addr)

        d = h.dir
        for sub in ("root", "opt", "srv", "ovl"):
            os.makedirs(os.path.join(d, sub))
        os.chmod(os.path.join(d, "root"), 0o700)
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", h.name,
           "-f", os.path.join(d, "ssh_host_ed25519_key"))
        auth = os.path.join(d, "authorized_keys")
        with open(auth, "w") as f:
            f.write(client_pub)
        os.chmod(auth, 0o600)
        with open(os.path.join(d, "sshd_config"), "w") as f:
            f.write("ListenAddress %s\nPort 22\nHostKey %s/ssh_host_ed25519_key\n"
                    "PidFile %s/sshd.pid\nAuthorizedKeysFile %s\n"
                    "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
                    "KbdInteractiveAuthentication no\nUsePAM no\nUseDNS no\n"
                    "StrictModes no\nPrintMotd no\nSubsystem sftp internal-sftp\n"
                    % (h.addr, d, d, auth))
        # Inside the new namespaces: hostname, private folders, then sshd as PID 1.
        ovl = os.path.join(d, "ovl")
        script = (
            "set -e\n"
            "hostname %(name)s\n"
            "mount -t tmpfs -o mode=755 twopc-%(name)s %(ovl)s\n"
            "for t in etc var; do mkdir -p %(ovl)s/$t.up %(ovl)s/$t.work;"
            " mount -t overlay overlay -o lowerdir=/$t,upperdir=%(ovl)s/$t.up,"
            "workdir=%(ovl)s/$t.work /$t; done\n"
            "mount --bind %(d)s/root /root\n"
            "mount --bind %(d)s/opt /opt\n"
            "mount --bind %(d)s/srv /srv\n"
            "mkdir -p /run/sshd\n"
            "exec %(sshd)s -D -f %(d)s/sshd_config -E %(d)s/sshd.log\n"
        ) % {"name": h.name, "ovl": ovl, "d": d, "sshd": SSHD}
        log = open(os.path.join(d, "unshare.log"), "w")
        h.proc = subprocess.Popen(
            ["ip", "netns", "exec", h.netns, "unshare", "--mount", "--uts", "--pid",
             "--fork", "--kill-child", "--mount-proc", "sh", "-c", script],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=_die_with_parent)
        log.close()

    def _wait_ssh(self, h, timeout=15):
        deadline = time.monotonic() + timeout
        while True:
            if h.proc.poll() is not None:
                raise RuntimeError("host %s: sshd exited (%s): %s" % (
                    h.name, h.proc.returncode, self._tail(h)))
            try:
                with socket.create_connection((h.addr, 22), timeout=1) as s:
                    if s.recv(4).startswith(b"SSH-"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("host %s: no sshd on %s:22 after %d s: %s" % (
                    h.name, h.addr, timeout, self._tail(h)))
            time.sleep(0.05)

    def _tail(self, h):
        out = []
        for n in ("unshare.log", "sshd.log"):
            try:
                with open(os.path.join(h.dir, n)) as f:
                    out.append("%s: %s" % (n, f.read()[-1500:]))
            except OSError:
                pass
        return "\n".join(out)

    # -- use ---------------------------------------------------------------------------
    def run(self, name, command, check=True, timeout=30):
        """A shell command in the host's network namespace (not its mount namespace:
        for nft, ip, ss)."""
        r = subprocess.run(["ip", "netns", "exec", self.hosts[name].netns, "sh", "-c",
                            command], capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError("on %s: %s: exit %d: %s%s" % (
                name, command, r.returncode, r.stdout, r.stderr))
        return r

    def ssh_options(self):
        return ["-i", self.client_key, "-o", "UserKnownHostsFile=" + self.known_hosts,
                "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
                "-o", "GlobalKnownHostsFile=/dev/null"]

    def ssh(self, name, command, check=True, timeout=30):
        """A command on the host over ssh, as root (host keys checked)."""
        r = subprocess.run(["ssh"] + self.ssh_options() + ["root@" + self.hosts[name].addr,
                                                           command],
                           capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        if check and r.returncode != 0:
            raise RuntimeError("ssh %s: %s: exit %d: %s%s" % (
                name, command, r.returncode, r.stdout, r.stderr))
        return r

    # -- teardown ----------------------------------------------------------------------
    def teardown(self):
        if self.torn_down:
            return
        self.torn_down = True
        for h in self.hosts.values():
            if h.proc is not None and h.proc.poll() is None:
                # --kill-child: unshare's death SIGKILLs the host's PID 1, and with it
                # every process of the host's PID namespace.
                try:
                    os.killpg(h.proc.pid, signal.SIGKILL)
                except OSError:
                    pass
                try:
                    h.proc.wait(10)
                except subprocess.TimeoutExpired:
                    pass
        for h in self.hosts.values():
            sh("ip", "netns", "del", h.netns, check=False)
            sh("ip", "link", "del", h.veth, check=False)
        if self.bridge_added:
            sh("ip", "link", "del", self.bridge, check=False)
        if self.route_added:
            sh("ip", "route", "del", "unreachable", "%s.0/24" % SUBNET, "metric", "4000",
               check=False)
        if self.brnf_old is not None:
            try:
                with open(BRNF, "w") as f:
                    f.write(self.brnf_old)
            except OSError:
                pass
        if self.base:
            # the hosts' mounts lived in their own mount namespaces, gone with them
            shutil.rmtree(self.base, ignore_errors=True)
        try:
            os.unlink(os.path.join(STATE_DIR, self.run_id + ".json"))
        except OSError:
            pass

    def leftovers(self):
        """What of this run is still on the machine (for the teardown test)."""
        left = []
        ns = sh("ip", "netns", "list").stdout
        left += [h.netns for h in self.hosts.values() if h.netns in ns]
        links = sh("ip", "-o", "link", "show").stdout
        left += [n for n in [self.bridge] + [h.veth for h in self.hosts.values()]
                 if (" %s:" % n) in links or (" %s@" % n) in links]
        if sh("ip", "route", "show", "%s.0/24" % SUBNET).stdout.strip():
            left.append("route %s.0/24" % SUBNET)
        if self.base and os.path.exists(self.base):
            left.append(self.base)
        return left


def sweep_stale_runs():
    """Remove what a run killed before its teardown (SIGKILL, a CTest timeout) left:
    its namespaces, veths, bridge, route and folder. A run is stale when the process
    recorded in its state file is gone."""
    try:
        files = os.listdir(STATE_DIR)
    except OSError:
        return
    for fn in files:
        path = os.path.join(STATE_DIR, fn)
        try:
            with open(path) as f:
                st = json.load(f)
            os.kill(st["pid"], 0)
            continue                    # still running
        except ProcessLookupError:
            pass
        except (OSError, ValueError, KeyError):
            pass
        old = SimHosts(st.get("names", []) if isinstance(st, dict) else [])
        if isinstance(st, dict) and "run" in st:
            old.run_id, old.bridge, old.base = st["run"], st["bridge"], st["base"]
            old.brnf_old = st.get("brnf")
            old.hosts = {n: Host(n, i, old.run_id, old.base)
                         for i, n in enumerate(old.names)}
            for h in old.hosts.values():   # a PID 1 still alive: by its netns
                pids = sh("ip", "netns", "pids", h.netns, check=False).stdout.split()
                for p in pids:
                    try:
                        os.kill(int(p), signal.SIGKILL)
                    except (OSError, ValueError):
                        pass
            old.bridge_added = old.route_added = True
            old.teardown()
        try:
            os.unlink(path)
        except OSError:
            pass
