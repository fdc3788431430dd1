#!/usr/bin/env python3
"""module_cycles.py DIR... - cycles between the modules of C directories.

A module is a basename in one directory (x.c + x.h = module x).  Module a
depends on b when a file of a #includes "DIR/b.h", or when a.c calls a
function that b.c defines and does not make static (one definition only in
the directories given).
Prints each strongly connected component of more than one module (a cycle,
directly or around a loop) and exits 1 if there is any; with --report, also
the largest files and functions, and exits 0.
"""
import os
import re
import sys

DEF = re.compile(r'^[A-Za-z_][^;{}()#]*?\b([A-Za-z_]\w*)\s*\([^;{}]*\)\s*\n\{', re.M)
CALL = re.compile(r'\b([A-Za-z_]\w*)\s*\(')
INC = re.compile(r'#include\s+"([^"]+)"')
COMMENT = re.compile(r'/\*.*?\*/|//[^\n]*', re.S)


def modules(dirs):
    files = [os.path.join(d, f) for d in dirs for f in sorted(os.listdir(d))
             if f.endswith(('.c', '.h'))]
    text = {f: open(f, encoding='utf-8', errors='replace').read() for f in files}
    mod = {f: os.path.splitext(f)[0] for f in files}
    names = set(mod.values())
    deps = {m: set() for m in names}
    defs, sizes = {}, []
    for f, t in text.items():
        for h in INC.findall(t):
            hm = os.path.splitext(h)[0]
            if hm in names and hm != mod[f]:
                deps[mod[f]].add(hm)
        if f.endswith('.c'):
            body = COMMENT.sub('', t)
            for m in DEF.finditer(body):
                if not m.group(0).startswith('static'):     # callable from elsewhere
                    defs.setdefault(m.group(1), set()).add(mod[f])
                start = body.count('\n', 0, m.start())
                end = body.find('\n}\n', m.end())
                if end > 0:
                    sizes.append((body.count('\n', m.start(), end) + 2, f + ':' + m.group(1)))
    for f, t in text.items():
        if f.endswith('.c'):
            for name in set(CALL.findall(COMMENT.sub('', t))):
                owners = defs.get(name, ())
                if len(owners) == 1:
                    (owner,) = owners
                    if owner != mod[f]:
                        deps[mod[f]].add(owner)
    return deps, text, sizes


def cycles(deps):
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(deps[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(deps):
        if v not in index:
            visit(v)
    return out


def main(argv):
    report = '--report' in argv
    dirs = [a for a in argv if a != '--report']
    deps, text, sizes = modules(dirs)
    found = cycles(deps)
    for comp in found:
        print('cycle: ' + ' <-> '.join(comp))
    print('%d module cycles in %s (%d modules)' % (len(found), ' '.join(dirs), len(deps)))
    if report:
        big = sorted(((t.count('\n'), f) for f, t in text.items()), reverse=True)[:8]
        print('largest files: ' + ', '.join('%s %d' % (f, n) for n, f in big))
        print('largest functions: ' + ', '.join('%s %d' % (f, n) for n, f in sorted(sizes, reverse=True)[:8]))
        return 0
    return 1 if found else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
