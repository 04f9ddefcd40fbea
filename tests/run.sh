#!/usr/bin/env bash
# Runs every Vigil test. On a fresh Debian 12 machine, as root, this installs what the tests
# need (Debian packages: keepalived, tshark, iproute2, nginx, haproxy, mariadb; the WebAssembly
# guest toolchains from the package registries), builds the plugin components once, checks
# formatting and lints, and runs the whole test suite. Exit status 0 means everything passed.
#
#   sudo bash tests/run.sh
#
# Environment: CARGO_TARGET_DIR (default ./target) is shared by every host-side step, so the
# workspace (and wasmtime) is built once; guest components build in target/guest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=tests/lib/deps.sh
source tests/lib/deps.sh

vigil_need_cargo
vigil_apt "${VIGIL_TEST_PACKAGES[@]}"

export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
# In this script a missing component, server or example is a failure, not a skip.
export VIGIL_REQUIRE_PLUGINS=1 VIGIL_REQUIRE_SERVERS=1 VIGIL_REQUIRE_EXAMPLES=1

vigil_log "cargo fmt --check (host workspace, plugins, SDK)"
cargo fmt --all -- --check
cargo fmt --manifest-path plugins/Cargo.toml --all -- --check
cargo fmt --manifest-path sdk/rust/Cargo.toml -- --check

vigil_log "building the plugin components (plugins/build.sh)"
plugins/build.sh >/dev/null
vigil_log "building the examples in every guest language (examples/build.sh)"
examples/build.sh all

vigil_log "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy --manifest-path plugins/Cargo.toml --workspace --all-targets --locked -- -D warnings
vigil_log "cargo test (workspace)"
cargo test --workspace --locked
vigil_log "IPVS against a real kernel: the VM lab (tests/lib/ipvs-vm/run.sh, Debian's kernel under QEMU)"
# This machine's kernel has no IPVS. A test failure fails the run; a lab that cannot boot here
# (exit 125: packages or emulation unavailable) is reported loudly and skipped.
ipvs_bin=$(cargo test --locked -p vigil-ipvs --test kernel --no-run --message-format=json 2>/dev/null |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)
rc=0
INITRD=No VIGIL_REQUIRE_IPVS=1 tests/lib/ipvs-vm/run.sh --install --timeout 900 -- "$ipvs_bin" || rc=$?
if [[ $rc == 125 ]]; then
    vigil_log "WARNING: the IPVS VM lab could not run here (exit 125); IPVS kernel tests skipped"
elif [[ $rc != 0 ]]; then
    vigil_log "IPVS kernel tests failed (exit $rc)"
    exit "$rc"
fi
vigil_log "cargo test (plugins and SDK, native unit tests)"
cargo test --manifest-path plugins/Cargo.toml --workspace --locked
cargo test --manifest-path sdk/rust/Cargo.toml --locked
vigil_log "replaying the fuzz seeds and regression inputs (stable, no fuzzing)"
cargo test --locked --manifest-path tests/fuzz/Cargo.toml
vigil_log "all tests passed"
