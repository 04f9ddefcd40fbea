#!/usr/bin/env bash
# Fuzz vigil-vrrp: run each cargo-fuzz target for SECONDS (default 60).
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]
#
# Needs a nightly toolchain (`rustup toolchain install nightly`); installs
# cargo-fuzz if missing. Seeds from seeds/<target>/ are copied into the
# working corpus target/corpus/<target>/ (kept between runs, git-ignored);
# crashes land in artifacts/<target>/. A crash input belongs, minimized
# (`cargo +nightly fuzz tmin --fuzz-dir tests/fuzz TARGET FILE`), in
# regressions/<target>/, where `cargo test` in this directory replays it.
set -euo pipefail

SECONDS_PER_TARGET="${1:-60}"
shift || true
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
    TARGETS=(vrrp_decode vrrp_instance)
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

status=0
for t in "${TARGETS[@]}"; do
    corpus="$HERE/target/corpus/$t"
    mkdir -p "$corpus" "$HERE/artifacts/$t"
    if [ -d "$HERE/seeds/$t" ]; then
        cp -n "$HERE/seeds/$t/"* "$corpus/" 2>/dev/null || true
    fi
    echo "== $t: ${SECONDS_PER_TARGET}s, corpus $corpus"
    # -jobs/-workers stay at 1: the machine has 2 cores and the build needs one.
    if ! cargo +nightly fuzz run --fuzz-dir "$HERE" "$t" "$corpus" -- \
        -max_total_time="$SECONDS_PER_TARGET" \
        -max_len=4096 \
        -timeout=10 \
        -rss_limit_mb=2048 \
        -print_final_stats=1 \
        -artifact_prefix="$HERE/artifacts/$t/"; then
        echo "== $t: FAILED (see $HERE/artifacts/$t/)"
        status=1
    fi
done
exit $status
