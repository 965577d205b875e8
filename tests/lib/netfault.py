"""netfault.py -- network faults for twopc's tests: partitions, TCP resets, loss and delay,
applied with nftables inside a network namespace, and undone by heal().

This kernel has no netem (docs/network-faults.md): partitions and loss are nft rules, delay
is an NFQUEUE rule whose packets tests/tools/nfdelay holds before accepting. Rules only ever
go into a named network namespace, in one dedicated table (`inet twopc_fault`) that heal()
deletes whole; never into the root namespace. (The kernel lacks nft's own `queue`
expression, so the NFQUEUE rules are iptables-nft's, in chains TWOPC_FAULT_IN and
TWOPC_FAULT_OUT that heal() deletes too.)

Two ways to use it:

  * One machine, one namespace (the tests here). namespace() makes a fresh namespace with
    its loopback up and moves the calling thread into it (setns), so the cluster the test
    starts afterwards, and every client the test opens, live in it; on exit the thread
    comes back and the namespace is deleted. Faults are chosen by TCP port: the coordinator
    talks to replica i on replica i's port, so
        f.partition(b=":%d" % cluster.replica_port(2))             # replica 2 cut off
        f.partition(b=":7002", direction="to")                     # only requests lost
        f.partition(b=[":7001", ":7002", ":7003"], mode="reset")   # coordinator from all
  * Namespaced hosts (helper "deploy"): one NetFault per host namespace, endpoints by
    address, e.g. NetFault("twopc-h1").partition(a="10.77.0.1", b="10.77.0.3").

Endpoints: None (anything), "ADDR", ":PORT" or "ADDR:PORT", or a list of those (any of
them). direction: "both", "to" (packets from a to b only) or "from" (b to a only).

Where a packet is judged matters. A packet dropped in its sender's own output path is not
lost silently: the sender's TCP sees a local error and retries every 500 ms without
backoff, which hides exactly the failure a partition should show (a 15 s partition then
heals in ~0 s instead of the 11 s measured between hosts). So by default (hooks=("input",))
rules judge packets where they arrive: in the namespace's input hook, loopback included, so
on one machine every packet is judged once, at its receiver, and the sender sees true
silence. Between namespaced hosts, a rule in host X's namespace then only sees what X
receives: apply the same fault in both hosts' namespaces for both directions, or pass
hooks=("input", "output") to judge X's outgoing packets too (not on lo), knowing X's own
TCP then notices.

    with NetFault(ns) as f:          # heal() on exit, even on failure
        f.partition(b=":7002", mode="drop")
        ...
        f.heal()                     # the network is whole again; f can be reused

Faults: partition(mode="drop" | "reset"), loss(percent), delay(ms, jitter_ms). Faults add
up until heal(); partitions are inserted ahead of loss, loss ahead of delay.
"""

import atexit
import ctypes
import os
import random
import shutil
import subprocess
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
TABLE = "twopc_fault"
CLONE_NEWNET = 0x40000000
NS_PREFIX = "twopc-fault"


class NetFaultError(Exception):
    """A namespace or a rule could not be set up."""


def _nfdelay_path():
    p = os.environ.get("TWOPC_NFDELAY")
    if p:
        return p
    server = os.environ.get("TWOPC_SERVER")
    build = (os.path.dirname(os.path.dirname(os.path.abspath(server))) if server
             else os.path.join(REPO_ROOT, "build"))
    return os.path.join(build, "tests", "tools", "nfdelay")


NFDELAY = _nfdelay_path()
IP = shutil.which("ip") or "/usr/sbin/ip"
NFT = shutil.which("nft") or "/usr/sbin/nft"
IPTABLES = shutil.which("iptables") or "/usr/sbin/iptables"


def _run(argv, check=True):
    res = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, timeout=10)
    if check and res.returncode != 0:
        raise NetFaultError("%s: exit %d: %s" % (" ".join(argv), res.returncode,
                                                  res.stderr.decode(errors="replace").strip()))
    return res


def unavailable():
    """None if faults can be made here (root, ip, nft, namespaces), else why not."""
    if os.geteuid() != 0:
        return "network faults need root (network namespaces, nftables)"
    for tool in (IP, NFT):
        if not os.access(tool, os.X_OK):
            return "%s not found (scripts/install-deps.sh installs it)" % tool
    return None


def nfdelay_unavailable():
    """None if delay faults can be made (nfdelay built, iptables), else why not."""
    if not os.access(IPTABLES, os.X_OK):
        return "%s not found (Debian iptables; scripts/install-deps.sh)" % IPTABLES
    if not os.access(NFDELAY, os.X_OK):
        return "%s not built (libnetfilter-queue-dev missing?)" % NFDELAY
    return None


# --------------------------------------------------------------------------
# Namespaces
# --------------------------------------------------------------------------

_created = set()


def _cleanup_all():
    for name in list(_created):
        delete_namespace(name)


atexit.register(_cleanup_all)


def create_namespace(prefix=NS_PREFIX):
    """A fresh network namespace with its loopback up; returns its name. Deleted at exit
    of this process if the caller forgets."""
    name = "%s-%d-%04x" % (prefix, os.getpid(), random.randrange(1 << 16))
    _run([IP, "netns", "add", name])
    _created.add(name)
    try:
        _run([IP, "-n", name, "link", "set", "lo", "up"])
    except Exception:
        delete_namespace(name)
        raise
    return name


def delete_namespace(name):
    """Deletes the namespace (its rules go with it); never raises."""
    _created.discard(name)
    try:
        _run([IP, "netns", "del", name], check=False)
    except Exception:
        pass


_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise NetFaultError("setns: %s" % os.strerror(e))


def enter_namespace(name):
    """Moves the calling thread into namespace name (sockets it opens and processes it
    starts from now on live there). Returns a token for leave_namespace()."""
    back = os.open("/proc/self/ns/net", os.O_RDONLY)
    fd = os.open("/run/netns/%s" % name, os.O_RDONLY)
    try:
        _setns(fd)
    except Exception:
        os.close(back)
        raise
    finally:
        os.close(fd)
    return back


def leave_namespace(token):
    """Back to the namespace the thread was in before enter_namespace()."""
    try:
        _setns(token)
    finally:
        os.close(token)


class namespace:
    """with namespace() as name: a fresh namespace, entered by this thread for the block
    (threads started inside inherit it); left and deleted afterwards, even on failure."""

    def __init__(self, prefix=NS_PREFIX):
        self.prefix, self.name, self.token = prefix, None, None

    def __enter__(self):
        self.name = create_namespace(self.prefix)
        try:
            self.token = enter_namespace(self.name)
        except Exception:
            delete_namespace(self.name)
            raise
        return self.name

    def __exit__(self, *exc):
        try:
            if self.token is not None:
                leave_namespace(self.token)
        finally:
            delete_namespace(self.name)
        return False


# --------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------

def _endpoints(spec):
    """[(addr or None, port or None)] for an endpoint spec (None: [] = anything)."""
    if spec is None:
        return []
    if isinstance(spec, (list, tuple, set)):
        out = []
        for s in spec:
            out += _endpoints(s)
        return out
    spec = str(spec)
    if spec.startswith(":"):
        return [(None, int(spec[1:]))]
    if ":" in spec and spec.count(":") == 1:
        addr, port = spec.split(":")
        return [(addr, int(port))]
    return [(spec, None)]


def _match(src, dst):
    """nft match expressions for packets from one endpoint to another."""
    parts = []
    if (src and src[1] is not None) or (dst and dst[1] is not None):
        parts.append("meta l4proto tcp")
    if src and src[0]:
        parts.append("ip saddr %s" % src[0])
    if dst and dst[0]:
        parts.append("ip daddr %s" % dst[0])
    if src and src[1] is not None:
        parts.append("tcp sport %d" % src[1])
    if dst and dst[1] is not None:
        parts.append("tcp dport %d" % dst[1])
    return " ".join(parts)


def _pairs(a, b, direction, match):
    """match(src, dst) for every pair of endpoints between a and b in direction."""
    if direction not in ("both", "to", "from"):
        raise ValueError("direction must be both, to or from, not %r" % (direction,))
    ea, eb = _endpoints(a) or [None], _endpoints(b) or [None]
    if ea == [None] and eb == [None]:
        raise ValueError("a fault needs at least one endpoint (a or b)")
    out = []
    for x in ea:
        for y in eb:
            if direction in ("both", "to"):
                out.append(match(x, y))
            if direction in ("both", "from"):
                out.append(match(y, x))
    return out


def _matches(a, b, direction):
    """Every nft match expression for the packets between a and b in direction."""
    return _pairs(a, b, direction, _match)


def _ipt_match(src, dst):
    out = []
    if (src and src[1] is not None) or (dst and dst[1] is not None):
        out += ["-p", "tcp"]
    if src and src[0]:
        out += ["-s", src[0]]
    if dst and dst[0]:
        out += ["-d", dst[0]]
    if src and src[1] is not None:
        out += ["--sport", str(src[1])]
    if dst and dst[1] is not None:
        out += ["--dport", str(dst[1])]
    return out


def _ipt_matches(a, b, direction):
    """_matches() as iptables arguments."""
    return _pairs(a, b, direction, _ipt_match)


class NetFault:
    """Faults in one network namespace (see the module comment). netns: the namespace's
    name (as `ip netns` knows it); rules go there through `ip netns exec`."""

    _queues = iter(range(17, 60000))  # NFQUEUE numbers, distinct within this process
    _queues_lock = threading.Lock()

    def __init__(self, netns, hooks=("input",)):
        if not netns:
            raise ValueError("NetFault needs a namespace: rules never go in the root one")
        if not hooks or set(hooks) - {"input", "output"}:
            raise ValueError("hooks: input and/or output, not %r" % (hooks,))
        self.netns = netns
        self.hooks = tuple(hooks)
        self.table_up = False
        self.ipt_up = False
        self.delays = []       # running nfdelay processes
        self.active = []       # descriptions of the faults in force

    def _nsexec(self, argv):
        return [IP, "netns", "exec", self.netns] + argv

    def _nft(self, script):
        p = subprocess.run(self._nsexec([NFT, "-f", "-"]), input=script.encode(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
        if p.returncode != 0:
            raise NetFaultError("nft in %s: %s\n%s" % (self.netns,
                                                       p.stderr.decode(errors="replace"),
                                                       script))

    def _table(self):
        if self.table_up:
            return
        self._nft("add table inet %s\n"
                  "add chain inet %s out { type filter hook output priority 0; }\n"
                  "add chain inet %s in { type filter hook input priority 0; }\n"
                  % (TABLE, TABLE, TABLE))
        self.table_up = True

    def _rules(self, matches, verdict, insert):
        self._table()
        cmd = "insert" if insert else "add"
        lines = []
        for m in matches:
            if "input" in self.hooks:
                lines.append("%s rule inet %s in %s %s" % (cmd, TABLE, m, verdict))
            if "output" in self.hooks:  # loopback is judged at input
                lines.append('%s rule inet %s out oifname != "lo" %s %s'
                             % (cmd, TABLE, m, verdict))
        self._nft("\n".join(lines) + "\n")

    def _iptables(self, args, check=True):
        return _run(self._nsexec([IPTABLES] + args), check=check)

    def _ipt_chains(self):
        """(chain, hook, extra match) of the iptables chains for self.hooks."""
        out = []
        if "input" in self.hooks:
            out.append(("TWOPC_FAULT_IN", "INPUT", []))
        if "output" in self.hooks:
            out.append(("TWOPC_FAULT_OUT", "OUTPUT", ["!", "-o", "lo"]))
        return out

    def _queue_rules(self, a, b, direction, q):
        """NFQUEUE rules. This kernel has no nft `queue` expression (nft_queue), but
        iptables-nft's NFQUEUE target works (through nft's xtables compatibility), so the
        delay rules live in iptables chains TWOPC_FAULT_IN (input) and TWOPC_FAULT_OUT
        (output, not to lo) of table filter; heal() deletes them."""
        if not self.ipt_up:
            self.ipt_up = True
            for chain, hook, extra in self._ipt_chains():
                self._iptables(["-N", chain])
                self._iptables(["-I", hook] + extra + ["-j", chain])
        for m in _ipt_matches(a, b, direction):
            for chain, _, _ in self._ipt_chains():
                self._iptables(["-A", chain] + m + ["-j", "NFQUEUE", "--queue-num", str(q),
                                                   "--queue-bypass"])

    def _ipt_down(self):
        if not self.ipt_up:
            return
        for chain, hook, extra in self._ipt_chains():
            self._iptables(["-D", hook] + extra + ["-j", chain], check=False)
            self._iptables(["-F", chain], check=False)
            self._iptables(["-X", chain], check=False)
        self.ipt_up = False

    # -- faults --------------------------------------------------------------
    def partition(self, a=None, b=None, direction="both", mode="drop"):
        """Cuts the packets between a and b (direction: both, to = a->b, from = b->a).
        mode "drop": silently; "reset": TCP packets are refused with a TCP reset (the
        other side sees ECONNRESET / ECONNREFUSED at once), anything else dropped. In
        reset mode, resets themselves pass: the one the rule sends back matches the
        reverse direction's rule and would otherwise be dropped on its way."""
        if mode not in ("drop", "reset"):
            raise ValueError("mode must be drop or reset, not %r" % (mode,))
        ms = _matches(a, b, direction)
        if mode == "drop":
            self._rules(ms, "drop", insert=True)
        else:
            self._rules(["meta l4proto != tcp " + m for m in ms if "l4proto" not in m],
                        "drop", insert=True)
            self._rules([("" if "l4proto" in m else "meta l4proto tcp ") + m +
                         " tcp flags & rst == 0" for m in ms],
                        "reject with tcp reset", insert=True)
        self.active.append("partition %s %s %s %s" % (a, b, direction, mode))

    def loss(self, percent, a=None, b=None, direction="both"):
        """Drops percent % of the packets between a and b, at random."""
        if not 0 <= int(percent) <= 100:
            raise ValueError("loss percent must be 0-100")
        ms = _matches(a, b, direction)
        if int(percent) > 0:  # nft wants the bound below the modulus: 100 % is a drop
            self._rules(ms, "drop" if int(percent) == 100 else
                        "numgen random mod 100 < %d drop" % int(percent), insert=True)
        self.active.append("loss %d%% %s %s %s" % (percent, a, b, direction))

    def delay(self, ms, jitter_ms=0, a=None, b=None, direction="both"):
        """Holds each packet between a and b for ms (+ 0..jitter_ms) before it goes on,
        order kept (tests/tools/nfdelay on an NFQUEUE). With direction "both" a round
        trip gains 2 * ms."""
        why = nfdelay_unavailable()
        if why:
            raise NetFaultError(why)
        with NetFault._queues_lock:
            q = next(NetFault._queues)
        proc = subprocess.Popen(self._nsexec([NFDELAY, "--queue", str(q), "--delay-ms",
                                              str(int(ms)), "--jitter-ms",
                                              str(int(jitter_ms))]),
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        self.delays.append(proc)
        line = proc.stdout.readline().decode(errors="replace")
        if "ready" not in line:
            raise NetFaultError("nfdelay did not start: %s %s" % (
                line, proc.stderr.read().decode(errors="replace")))
        self._queue_rules(a, b, direction, q)
        self.active.append("delay %d+%d ms %s %s %s" % (ms, jitter_ms, a, b, direction))

    def heal(self):
        """Removes every fault: the table goes (rules first, so no packet is queued any
        more), then each nfdelay accepts what it holds and exits. Never raises."""
        if self.table_up:
            try:
                _run(self._nsexec([NFT, "delete", "table", "inet", TABLE]), check=False)
            except Exception:
                pass
            self.table_up = False
        try:
            self._ipt_down()
        except Exception:
            pass
        for proc in self.delays:
            try:
                proc.terminate()
                proc.wait(5)
            except Exception:
                proc.kill()
                proc.wait()
            for f in (proc.stdout, proc.stderr):
                f.close()
        self.delays = []
        self.active = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.heal()
        return False


class LocalNet:
    """A whole cluster in one namespace, for the crash nemesis (tests/crash/workload.py,
    NET_FAULTS): the coordinator's traffic with replica i is told apart by replica i's
    port. Helper "deploy" gives the nemesis an object with the same five methods for
    namespaced hosts (endpoints by address, one NetFault per host namespace)."""

    def __init__(self, netns, replica_ports):
        self.fault = NetFault(netns)
        self.ports = list(replica_ports)

    def replica_ids(self):
        return list(range(1, len(self.ports) + 1))

    def coordinator(self):
        return None  # any: on one machine only the coordinator talks to replica ports

    def replica(self, i):
        return ":%d" % self.ports[i - 1]

    def faults(self, ids):
        return [self.fault]

    def heal(self):
        self.fault.heal()


class HostsNet:
    """The same view as LocalNet for namespaced hosts (one namespace per host, one address
    each): coordinator = (netns, addr), replicas = [(netns, addr), ...] in replica order.
    A fault between the coordinator and some replicas goes into the coordinator's
    namespace and into each of those replicas' (rules judge what each host receives), so
    both directions are silent to both TCP stacks."""

    def __init__(self, coordinator, replicas):
        self.coord_ns, self.coord_addr = coordinator
        self.reps = list(replicas)
        self.by_ns = {}
        for ns in [self.coord_ns] + [r[0] for r in self.reps]:
            self.by_ns.setdefault(ns, NetFault(ns))

    def replica_ids(self):
        return list(range(1, len(self.reps) + 1))

    def coordinator(self):
        return self.coord_addr

    def replica(self, i):
        return self.reps[i - 1][1]

    def faults(self, ids):
        names = [self.coord_ns] + [self.reps[i - 1][0] for i in ids]
        return [self.by_ns[n] for n in dict.fromkeys(names)]

    def heal(self):
        for f in self.by_ns.values():
            f.heal()
