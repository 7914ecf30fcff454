#!/usr/bin/env python3
"""Finds import cycles between the source files of each crate in the workspace.

A file depends on another when its code (not its comments, not its `#[cfg(test)]` module) names a
path into it: `crate::a::b`, `super::x`, `self::y`, or a `use` of them, braces included. Prints each
cycle as the files in it and exits 1 when there is one; `--graph` prints every edge.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRATES = ["protocol", "kafka", "profile", "metrics", "producers", "dataflow", "harness", "tests"]


def modules(src):
    """Module path (tuple) -> file, for every .rs file under src."""
    found = {}
    for dirpath, _, files in os.walk(src):
        for name in files:
            if not name.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(dirpath, name), src)
            parts = rel[:-3].split(os.sep)
            if parts[-1] in ("mod", "lib", "main"):
                parts = parts[:-1]
            found[tuple(parts)] = os.path.join(dirpath, name)
    return found


def code_of(path):
    """The file's code without comments and without its test module."""
    text = open(path).read()
    cut = re.search(r"#\[cfg\(test\)\]\s*mod tests", text)
    if cut:
        text = text[: cut.start()]
    text = re.sub(r"//[^\n]*", "", text)
    return text


def expand(path_text):
    """`a::{b, c::d}` -> ['a::b', 'a::c::d'] (one level of braces is what the code uses)."""
    m = re.match(r"^(.*?)\{(.*)\}$", path_text, re.S)
    if not m:
        return [path_text]
    head, inner = m.group(1), m.group(2)
    out, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    out.append(cur)
    res = []
    for piece in out:
        piece = piece.strip()
        if piece:
            res.extend(expand(head + piece))
    return res


PATH = re.compile(r"\b((?:crate|super|self)(?:::(?:\{[^;]*?\}|[A-Za-z_][A-Za-z0-9_]*))+)")


def resolve(mod, path, known):
    parts = path.split("::")
    if parts[0] == "crate":
        base, rest = (), parts[1:]
    else:
        base = mod
        # A file's own module is where `self::` starts; `super::` climbs from there.
        while parts and parts[0] in ("super", "self"):
            if parts[0] == "super":
                base = base[:-1]
            parts = parts[1:]
        rest = parts
    best = None
    for i in range(len(rest) + 1):
        cand = base + tuple(rest[:i])
        if cand in known:
            best = cand
    return best


def graph(crate):
    src = os.path.join(ROOT, crate, "src")
    known = modules(src)
    edges = {}
    for mod, path in known.items():
        code = code_of(path)
        deps = set()
        for m in PATH.finditer(code):
            for p in expand(m.group(1)):
                target = resolve(mod, p.replace(" ", "").replace("\n", ""), known)
                if target is not None and target != mod:
                    deps.add(target)
        edges[mod] = deps
    return known, edges


def cycles(edges):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
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
                out.append(comp)

    sys.setrecursionlimit(10000)
    for v in list(edges):
        if v not in index:
            visit(v)
    return out


def main():
    show = "--graph" in sys.argv
    found = 0
    for crate in CRATES:
        known, edges = graph(crate)
        for mod, deps in sorted(edges.items()):
            if show:
                for d in sorted(deps):
                    print(f"{crate}: {'::'.join(mod) or '(root)'} -> {'::'.join(d) or '(root)'}")
        for comp in cycles(edges):
            found += 1
            files = sorted(os.path.relpath(known[m], ROOT) for m in comp)
            print(f"cycle in {crate}: " + " <-> ".join(files))
    if found:
        sys.exit(1)
    print("module graph: no import cycles")


if __name__ == "__main__":
    main()
