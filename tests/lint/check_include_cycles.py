#!/usr/bin/env python3
"""check_include_cycles.py -- fails when the #include graph of the C modules has a cycle.

A module is the x.c / x.h pair of one folder (a lone header is a module too; a header
named x_internal.h is module x's private half, shared by its .c files). Module A
depends on module B when x.c or x.h of A has `#include "y.h"` with y.h B's header; an
include is looked up in the including file's own folder first, then in the other scanned
folders (resp/, common/, server/, replica/ -- the build's include paths). System headers
(<...>) and headers found nowhere in those folders are ignored.

Every strongly connected component of more than one module is a cycle: the script prints
one concrete path through it (a.c includes b.h, b.c includes a.h ...) and exits 1, unless
the component's modules are listed in ALLOWED below. Keep that list short (it is empty now):
a cycle means two modules cannot be read, built or tested one without the other.

    python3 tests/lint/check_include_cycles.py [--root REPO] [--verbose]

--verbose also prints every module's dependencies (the layering, bottom first).
--self-test copies the C files to a temporary folder, adds `#include "request.h"` to
server/client.h (the client layer calling up into the dispatcher) and checks that the
scan then reports that cycle: the check itself can fail.
"""
import argparse
import os
import re
import shutil
import sys
import tempfile

FOLDERS = ("resp", "common", "server", "replica")

# Cycles tolerated, each as the set of its modules ("server/txn", ...), with the reason.
# Keep it short: every entry is a knot waiting to be untied.
ALLOWED = [
    # Empty: the front end's knot was untied by a registry, the replica evaluator's by
    # exec_cmd.h (the command files' contract). Add a cycle here only with its reason.
]

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
COMMENT = re.compile(r"/\*.*?\*/", re.S)


def scan(root):
    """Returns {module: {dependency: (file, header)}} over FOLDERS under root."""
    headers = {}  # "x.h" -> [module, ...]
    files = {}    # module -> [path, ...]
    for top in FOLDERS:
        for base, dirs, names in sorted(os.walk(os.path.join(root, top))):
            dirs.sort()  # subfolders too (server/engine/)
            folder = os.path.relpath(base, root)
            for name in sorted(names):
                stem, ext = os.path.splitext(name)
                if ext not in (".c", ".h"):
                    continue
                if ext == ".h" and stem.endswith("_internal"):
                    stem = stem[: -len("_internal")]
                module = folder + "/" + stem
                files.setdefault(module, []).append(os.path.join(base, name))
                if ext == ".h":
                    headers.setdefault(name, []).append(module)
    graph = {}
    for module, paths in files.items():
        deps = graph.setdefault(module, {})
        folder = module.rsplit("/", 1)[0]
        for path in paths:
            with open(path, encoding="utf-8", errors="replace") as f:
                text = COMMENT.sub("", f.read())
            for inc in INCLUDE.findall(text):
                target = resolve(headers, folder, os.path.basename(inc))
                if target and target != module:
                    deps.setdefault(target, (os.path.relpath(path, root), inc))
    return graph


def resolve(headers, folder, name):
    mods = headers.get(name, [])
    for m in mods:  # a header beside the includer wins, as the compiler's "" lookup
        if m.rsplit("/", 1)[0] == folder:
            return m
    return mods[0] if len(mods) == 1 else None


def components(graph):
    """Tarjan's strongly connected components, iteratively."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on.add(start)
        while work:
            node, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]
                    counter[0] += 1
                    stack.append(nxt)
                    on.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, {})))))
                elif nxt in on:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    m = stack.pop()
                    on.discard(m)
                    comp.append(m)
                    if m == node:
                        break
                out.append(sorted(comp))
    return out


def cycle_path(graph, comp):
    """A shortest cycle through comp's first module, as a list of modules."""
    members, start = set(comp), comp[0]
    prev, frontier = {start: None}, [start]
    while frontier:
        nxt = []
        for m in frontier:
            for d in sorted(graph[m]):
                if d == start:
                    path = [m]
                    while prev[path[-1]] is not None:
                        path.append(prev[path[-1]])
                    return list(reversed(path)) + [start]
                if d in members and d not in prev:
                    prev[d] = m
                    nxt.append(d)
        frontier = nxt
    return comp + [comp[0]]


def report(graph):
    """Prints every cycle outside ALLOWED; returns how many there are."""
    bad = 0
    allowed = [set(a) for a in ALLOWED]
    for comp in components(graph):
        if len(comp) < 2 or set(comp) in allowed:
            continue
        bad += 1
        path = cycle_path(graph, comp)
        print("include cycle among %d modules: %s" % (len(comp), " ".join(comp)))
        for a, b in zip(path, path[1:]):
            f, inc = graph[a][b]
            print('  %s includes "%s" (%s -> %s)' % (f, inc, a, b))
    print("check_include_cycles: %d modules, %d cycle(s) outside the allowed list"
          % (len(graph), bad))
    return bad


def self_test(root):
    """Injects a cycle into a copy of the tree; returns 0 if it is caught and named."""
    tmp = tempfile.mkdtemp(prefix="include-cycles-")
    try:
        for folder in FOLDERS:
            src = os.path.join(root, folder)
            if os.path.isdir(src):
                shutil.copytree(src, os.path.join(tmp, folder),
                                ignore=shutil.ignore_patterns("*.txt", "*.cmake"))
        victim = os.path.join(tmp, "server", "client.h")
        with open(victim, "a", encoding="utf-8") as f:
            f.write('\n#include "request.h"\n')
        graph = scan(tmp)
        if report(graph) == 0:
            print("self-test FAILED: the injected cycle client.h -> request.h was not found")
            return 1
        if not any({"server/client", "server/request"} <= set(c) for c in components(graph)):
            print("self-test FAILED: a cycle was found, but not the injected one")
            return 1
        print("self-test passed: the injected cycle was reported")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=os.path.normpath(os.path.join(here, "..", "..")))
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    if args.self_test:
        return self_test(args.root)
    graph = scan(args.root)
    if not graph:
        print("check_include_cycles: no C files under %s" % args.root)
        return 1
    if args.verbose:
        for comp in components(graph):  # Tarjan emits dependencies first
            for m in comp:
                print("%-24s -> %s" % (m, " ".join(sorted(graph[m])) or "-"))
    return 1 if report(graph) else 0


if __name__ == "__main__":
    sys.exit(main())
