#!/usr/bin/env python3
"""Checks that no Rust source file has more than 400 lines outside its test module, unless it is listed
in LARGE with the reason it stays whole. Prints each file over the limit and exits 1 if one has no
reason (or a listed file no longer needs one)."""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIMIT = 400

# Files allowed above the limit, each with why it stays one file.
LARGE = {
}


def code_lines(path):
    text = open(path).read()
    cut = re.search(r"^#\[cfg\(test\)\]\s*\nmod tests", text, re.M)
    if cut:
        text = text[: cut.start()]
    return text.count("\n")


def main():
    bad = False
    for dirpath, dirs, files in os.walk(ROOT):
        # Integration tests (a crate's tests/ folder) are test code whole.
        dirs[:] = [d for d in dirs if d not in ("target", ".git") and not (d == "tests" and os.path.isdir(os.path.join(dirpath, "src")))]
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, ROOT)
            n = code_lines(path)
            if n > LIMIT and rel not in LARGE:
                print(f"{rel}: {n} lines outside its tests (limit {LIMIT}, no reason stated)")
                bad = True
            elif n <= LIMIT and rel in LARGE:
                print(f"{rel}: {n} lines, listed in LARGE but no longer over {LIMIT}")
                bad = True
    if bad:
        sys.exit(1)
    print(f"file sizes: every file within {LIMIT} lines outside its tests, or with a reason")


if __name__ == "__main__":
    main()
