#!/usr/bin/env python3
"""check-layers.py [BUILD]: check that lib/'s dependencies point down.

The layers are the table in ARCHITECTURE.md (rows "| N | `folder/` | ..."). A
file in lib/F may include headers of, and call functions defined in, its own
folder or folders of a lower layer, never a folder of the same or a higher one.
With BUILD (a build directory holding lib/*/*.o), the calls are read from the
objects with nm, and no two files of the library may call each other in a
circle. Prints one line per violation; exit 1 if any, 0 if none.
"""
import collections
import os
import re
import subprocess
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
lib = os.path.join(root, "lib")


def layers():
    out = {}
    row = re.compile(r"^\|\s*(\d+)\s*\|\s*`([a-z]+)/`")
    with open(os.path.join(root, "ARCHITECTURE.md"), encoding="utf-8") as f:
        for line in f:
            m = row.match(line)
            if m:
                out[m.group(2)] = int(m.group(1))
    return out


def main():
    bad = []
    layer = layers()
    folders = sorted(d for d in os.listdir(lib) if os.path.isdir(os.path.join(lib, d)))
    for d in folders:
        if d not in layer:
            bad.append(f"lib/{d}/: not in ARCHITECTURE.md's layer table")
    for d in layer:
        if d not in folders:
            bad.append(f"ARCHITECTURE.md names lib/{d}/, which does not exist")
    home = {}  # file name -> folder
    for d in folders:
        for f in os.listdir(os.path.join(lib, d)):
            if f.endswith((".c", ".h")):
                if f in home:
                    bad.append(f"lib/{d}/{f}: the name is also lib/{home[f]}/{f}")
                home[f] = d

    def allowed(src, dst):
        return src == dst or (src in layer and dst in layer and layer[dst] < layer[src])

    inc = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
    for f, d in sorted(home.items()):
        with open(os.path.join(lib, d, f), encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                m = inc.match(line)
                if not m:
                    continue
                h = os.path.basename(m.group(1))
                if h not in home:
                    continue
                if not allowed(d, home[h]):
                    bad.append(f"lib/{d}/{f}:{n}: includes {h} from lib/{home[h]}/ "
                               f"(layer {layer.get(home[h])} >= {layer.get(d)})")

    if len(sys.argv) > 1:
        bad += calls(sys.argv[1], home, allowed)
    for b in bad:
        print(b)
    return 1 if bad else 0


def calls(build, home, allowed):
    bad = []
    defs, undef = {}, collections.defaultdict(set)
    for f, d in home.items():
        if not f.endswith(".c"):
            continue
        o = os.path.join(build, "lib", d, f[:-2] + ".o")
        if not os.path.exists(o):
            bad.append(f"{o}: missing (build first)")
            continue
        out = subprocess.run(["nm", o], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            p = line.split()
            if len(p) == 3 and p[1] in "TDBR":
                defs[p[2]] = f
            elif len(p) == 2 and p[0] == "U":
                undef[f].add(p[1])
    edges = collections.defaultdict(set)
    for a, syms in sorted(undef.items()):
        for s in sorted(syms):
            b = defs.get(s)
            if b is None or b == a:
                continue
            edges[a].add(b)
            if not allowed(home[a], home[b]):
                bad.append(f"lib/{home[a]}/{a}: calls {s} of lib/{home[b]}/{b}")
    # file cycles: strongly connected components (Tarjan), iteratively
    index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]
    for v0 in sorted(set(defs.values()) | set(undef)):
        if v0 in index:
            continue
        work = [(v0, iter(sorted(edges[v0])))]
        index[v0] = low[v0] = counter[0]; counter[0] += 1
        stack.append(v0); on.add(v0)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter[0]; counter[0] += 1
                    stack.append(w); on.add(w)
                    work.append((w, iter(sorted(edges[w]))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop(); on.discard(w); comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    comps.append(sorted(comp))
    for c in comps:
        bad.append("files that call each other in a circle: " + " ".join(c))
    return bad


if __name__ == "__main__":
    sys.exit(main())
