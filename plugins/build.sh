#!/usr/bin/env bash
# Builds every first-party plugin (and the test plugins) as WebAssembly components and
# copies them to $VIGIL_PLUGIN_DIR (default: <repo>/target/plugins), named after the
# crate without its `vigil-plugin-` prefix: tcp.wasm, http.wasm, ..., chaos.wasm.
#
#   plugins/build.sh            # release build
#
# Route: the standard `cargo build --target wasm32-wasip2` (rustup target).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
out="${VIGIL_PLUGIN_DIR:-$repo/target/plugins}"
guest_target="${VIGIL_GUEST_TARGET_DIR:-$repo/target/guest}"

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
    timeout 120 rustup target add wasm32-wasip2
fi
CARGO_TARGET_DIR="$guest_target" cargo build --release --locked --target wasm32-wasip2 \
    --manifest-path "$here/Cargo.toml"
mkdir -p "$out"
for f in "$guest_target"/wasm32-wasip2/release/*.wasm; do
    name="$(basename "$f" .wasm)"
    name="${name#vigil_plugin_}"
    cp "$f" "$out/${name//_/-}.wasm"
done
ls -l "$out"
