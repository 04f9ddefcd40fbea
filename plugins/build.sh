#!/usr/bin/env bash
# Builds every first-party plugin (and the test plugins) as WebAssembly components and
# copies them to $VIGIL_PLUGIN_DIR (default: <repo>/target/plugins), named after the
# crate without its `vigil-plugin-` prefix: tcp.wasm, http.wasm, ..., chaos.wasm.
#
#   plugins/build.sh                            # release build, route chosen automatically
#   VIGIL_GUEST_ROUTE=fallback plugins/build.sh # force the registry-only route
#
# Routes (sdk/toolchain/build-rust.sh; the components are equivalent, the host loads either):
#   wasip2    the standard `cargo build --target wasm32-wasip2`, used when rustup has the
#             target or can add it within 120 s.
#   fallback  registry-only: Debian's Rust 1.96 builds std for wasm32-wasip1 and the WASI
#             preview1 adapter (wasmtime 48.0.8) turns each module into a component; the
#             tools are installed on first use (sdk/toolchain/install.sh rust-fallback).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
out="${VIGIL_PLUGIN_DIR:-$repo/target/plugins}"
built="$repo/target/guest/components"

rm -rf "$built"
VIGIL_GUEST_TARGET_DIR="${VIGIL_GUEST_TARGET_DIR:-$repo/target/guest}" \
    "$repo/sdk/toolchain/build-rust.sh" "$here/Cargo.toml" "$built" --locked
mkdir -p "$out"
for f in "$built"/*.wasm; do
    name="$(basename "$f" .wasm)"
    name="${name#vigil_plugin_}"
    cp "$f" "$out/${name//_/-}.wasm"
done
ls -l "$out"
