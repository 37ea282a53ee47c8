#!/usr/bin/env python3
"""Lists the longest function definitions (lines, brace-matched at column 0) in non-test .cc files.

    scripts/largest_functions.py [ROOT] [--top N] [DIR ...]     (default DIRs: services libs tools)

A reading aid for reviews, not a parser: a definition is a line at column 0 that opens a
parameter list and whose body closes with a "}" at column 0.
"""
import os
import re
import sys


def functions(path):
    lines = open(path, encoding="utf-8", errors="replace").read().split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^[A-Za-z][^(;]*?([\w:~]+)\s*\(", lines[i])
        skip = lines[i].startswith(("namespace", "using", "struct", "class", "template", "static_assert"))
        if m and not skip and not lines[i].rstrip().endswith(";"):
            if "{" in lines[i] and lines[i].rstrip().endswith("}"):  # one line
                yield 1, m.group(1)
                i += 1
                continue
            j = i
            while j < len(lines) and not lines[j].rstrip().endswith("{") and not lines[j].rstrip().endswith(";"):
                j += 1
            if j < len(lines) and lines[j].rstrip().endswith("{"):
                k = j + 1
                while k < len(lines) and lines[k] != "}":
                    k += 1
                yield k - i + 1, m.group(1)
                i = k
        i += 1


def main(argv):
    top, args = 10, []
    it = iter(argv)
    for a in it:
        if a == "--top":
            top = int(next(it))
        else:
            args.append(a)
    root = args[0] if args else "."
    dirs = args[1:] or ["services", "libs", "tools"]
    found = []
    for d in dirs:
        for dirpath, _, files in os.walk(os.path.join(root, d)):
            for f in files:
                if f.endswith(".cc") and "test" not in f and "/testing" not in dirpath:
                    p = os.path.join(dirpath, f)
                    found += [(n, f"{os.path.relpath(p, root)}:{name}") for n, name in functions(p)]
    for n, name in sorted(found, reverse=True)[:top]:
        print(f"{n:5d}  {name}")


if __name__ == "__main__":
    main(sys.argv[1:])
