#!/usr/bin/env bash
# Refuses a closure type as the value of a generic lock (Locked, Mutex, ReadMostly, Atomic...):
# read with `withLock { $0 }`, such a closure is re-abstracted through the inout and stored back
# wrapped in two more thunks at every read, so calling it costs more with every call (issue 14:
# the commit hook made every commit slower than the last). Keep the closure in a final class and
# lock the reference instead (CRMStore's CommitHook). Run by `make lint`.
set -euo pipefail
cd "$(dirname "$0")/.."
pattern='\b(Locked|Mutex|ReadMostly|ManagedCriticalState|NIOLockedValueBox|Atomic)<\s*\(*\s*(@Sendable\s*)?(@escaping\s*)?\([^<>]*\)\s*(async\s*)?(throws\s*)?->'
if hits=$(grep -rnE "$pattern" Sources Tests); then
    echo "a closure kept directly in a generic lock (wrap it in a final class; see scripts/lint-closures.sh):"
    echo "$hits"
    exit 1
fi
echo "lint-closures: no closure kept directly in a generic lock"
