#!/usr/bin/env bash
# Fuzzes crmd's line framing and request decoding with libFuzzer (+ AddressSanitizer).
#   scripts/fuzz.sh            60 seconds
#   scripts/fuzz.sh 600        600 seconds
#   scripts/fuzz.sh -runs=N    N inputs
# Extra arguments go to libFuzzer. Starts from the committed seed corpus (Tests/FuzzCorpus);
# new inputs go to .build-fuzz/corpus, crashes to .build-fuzz/artifacts. Exit 0 = no crash, no hang.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
limit="-max_total_time=60"
if [ $# -gt 0 ]; then
    case "$1" in
        -*) limit="$1" ;;
        *) limit="-max_total_time=$1" ;;
    esac
    shift
fi
# Optimised (-c release): every comparison is instrumented for coverage, and an unoptimised build
# runs far fewer inputs a second.
swift build -c release --scratch-path .build-fuzz --product crm-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DCRM_FUZZ >.build-fuzz.log 2>&1 \
    || { grep -v "Cannot export local symbol" .build-fuzz.log >&2; echo "fuzz build failed" >&2; exit 1; }
tail -1 .build-fuzz.log
bin=".build-fuzz/release/crm-fuzz"
# The Swift runtime's own crash handler would race ASan's report; let ASan and libFuzzer report.
export SWIFT_BACKTRACE=enable=no
mkdir -p .build-fuzz/corpus .build-fuzz/artifacts
# -timeout: one input taking over 10 s is a hang; -rss_limit_mb bounds memory.
"$bin" "$limit" -timeout=10 -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 \
    -artifact_prefix=.build-fuzz/artifacts/ "$@" .build-fuzz/corpus Tests/FuzzCorpus
