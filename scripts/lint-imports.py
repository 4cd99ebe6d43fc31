#!/usr/bin/env python3
"""Fails when a Swift file imports a module its target does not declare in Package.swift.

A module that only arrives through another package's dependencies builds today and breaks the
day that package drops it; naming it in Package.swift makes the dependency deliberate. Reads the
manifest with `swift package dump-package`; the toolchain's own modules are always allowed.
"""
import json
import os
import re
import subprocess
import sys

TOOLCHAIN = {
    "Foundation", "FoundationEssentials", "FoundationNetworking", "Glibc", "Musl", "Darwin",
    "Dispatch", "Synchronization", "Observation", "_Concurrency", "Swift", "Testing", "XCTest",
}
IMPORT = re.compile(r"^\s*(?:@\w+(?:\([^)]*\))?\s+)*(?:public\s+|internal\s+|package\s+|private\s+|fileprivate\s+)?"
                    r"import\s+(?:(?:struct|class|enum|protocol|func|var|let|typealias)\s+)?([A-Za-z_][A-Za-z0-9_]*)")


def dependency_names(dep):
    for kind in ("byName", "target", "product"):
        if kind in dep:
            yield dep[kind][0]


def main():
    swift = os.environ.get("SWIFT", "swift")
    manifest = json.loads(subprocess.check_output([swift, "package", "dump-package"], text=True))
    problems = []
    for target in manifest["targets"]:
        folder = target.get("path") or os.path.join("Tests" if target["type"] == "test" else "Sources", target["name"])
        allowed = TOOLCHAIN | {target["name"]} | {n for d in target.get("dependencies", []) for n in dependency_names(d)}
        for root, _, files in os.walk(folder):
            for name in sorted(files):
                if not name.endswith(".swift"):
                    continue
                path = os.path.join(root, name)
                with open(path, encoding="utf-8") as f:
                    in_string = False  # inside a multi-line string literal (a script crm-bench runs)
                    for number, line in enumerate(f, 1):
                        m = None if in_string else IMPORT.match(line)
                        if line.count('"""') % 2:
                            in_string = not in_string
                        if m and m.group(1) not in allowed:
                            problems.append(f"{path}:{number}: imports {m.group(1)}, which target {target['name']} "
                                            f"does not declare in Package.swift")
    for p in problems:
        print(p)
    if problems:
        sys.exit(1)
    print(f"lint-imports: every import declared ({len(manifest['targets'])} targets)")


if __name__ == "__main__":
    main()
