#!/usr/bin/env bash
# Runs every Vigil test. On a fresh Debian 12 machine, as root, this installs what the tests
# need (Debian packages: keepalived, tshark, iproute2), then checks formatting and lints and
# runs the whole test suite. Exit status 0 means everything passed.
#
#   sudo bash tests/run.sh
#
# Environment: CARGO_TARGET_DIR (default ./target) is shared by every step, so nothing is
# built twice.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=tests/lib/deps.sh
source tests/lib/deps.sh

vigil_need_cargo
vigil_apt "${VIGIL_TEST_PACKAGES[@]}"

export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}

vigil_log "cargo fmt --check"
cargo fmt --all -- --check
vigil_log "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings
vigil_log "cargo test (workspace)"
cargo test --workspace --locked
vigil_log "replaying the fuzz seeds and regression inputs (stable, no fuzzing)"
cargo test --locked --manifest-path tests/fuzz/Cargo.toml
vigil_log "all tests passed"
