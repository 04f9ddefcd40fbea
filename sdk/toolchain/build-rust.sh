#!/usr/bin/env bash
# Builds the cdylib crates of a Cargo package or workspace into WebAssembly components, by
# whichever route this machine allows:
#
#   wasip2    the standard route: `cargo build --target wasm32-wasip2` (rustup's target, added
#             with a 120 s limit when missing). Used when available.
#   fallback  registry-only: Debian's rustc-web 1.96 builds std itself (-Zbuild-std, sources from
#             rust-web-src) for wasm32-wasip1, wasm-ld-19 links against Debian's wasi-libc, and
#             `wasm-tools component new` wraps the module with the WASI preview1 adapter of
#             wasmtime 48.0.8, the host's version. The tools come from `install.sh rust-fallback`,
#             which this script runs when it takes this route.
#
#   sdk/toolchain/build-rust.sh [--debug] MANIFEST_PATH OUT_DIR [CARGO_ARGS...]
#
# VIGIL_GUEST_ROUTE=auto|wasip2|fallback picks the route (default auto). Writes
# OUT_DIR/<lib_name>.wasm for every cdylib this build produced, and nothing else.
# VIGIL_GUEST_TARGET_DIR is the cargo target dir (default <manifest dir>/target; the fallback
# route uses its `fallback/` subdirectory, since it builds with another compiler).
#
# Limit of the fallback route: std::net has no sockets on wasip1 (connect returns Unsupported);
# use WASI 0.2 sockets or wasi:http through the `wasip2` crate instead (vigil-sdk does).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/env.sh
source "$here/env.sh"

profile=release
if [[ "${1:-}" == --debug ]]; then
    profile=dev
    shift
fi
[[ $# -ge 2 ]] || { sed -n '2,/^set -euo/{/^#/{s/^# \{0,1\}//;p}}' "${BASH_SOURCE[0]}" >&2; exit 2; }
manifest="$1" out="$2"
shift 2
[[ -f "$manifest" ]] || vt_die "$manifest not found"
target_dir="${VIGIL_GUEST_TARGET_DIR:-$(cd "$(dirname "$manifest")" && pwd)/target}"

has_wasip2() { rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; }
route="${VIGIL_GUEST_ROUTE:-auto}"
case "$route" in
    auto)
        route=fallback
        if command -v rustup >/dev/null && command -v cargo >/dev/null; then
            if has_wasip2; then
                route=wasip2
            else
                vt_say "rustup target add wasm32-wasip2 (120 s limit)"
                if timeout 120 rustup target add wasm32-wasip2 && has_wasip2; then
                    route=wasip2
                else
                    vt_say "wasm32-wasip2 is not available here; using the registry-only fallback route"
                fi
            fi
        fi
        ;;
    wasip2)
        has_wasip2 || timeout 120 rustup target add wasm32-wasip2 || vt_die "cannot add rustup target wasm32-wasip2"
        ;;
    fallback) ;;
    *) vt_die "VIGIL_GUEST_ROUTE must be auto, wasip2 or fallback (got '$route')" ;;
esac

messages="$(mktemp)"
trap 'rm -f "$messages"' EXIT
if [[ "$route" == wasip2 ]]; then
    vt_say "route wasip2: $(cargo --version) --target wasm32-wasip2"
    CARGO_TARGET_DIR="$target_dir" cargo build --manifest-path "$manifest" --profile "$profile" \
        --target wasm32-wasip2 --message-format=json-render-diagnostics "$@" >"$messages" \
        || vt_die "cargo build failed ($manifest, wasm32-wasip2)"
else
    "$here/install.sh" rust-fallback # a no-op when the tools are there
    sysroot="$("$DEB_RUSTC" --print sysroot)"
    [[ -f "$sysroot/lib/rustlib/src/rust/library/Cargo.lock" ]] || vt_die "std sources missing (rust-web-src)"
    wasm_tools="$(vt_tool wasm-tools rust-fallback)"
    adapter="$(vt_adapter)"
    vt_say "route fallback: $("$DEB_RUSTC" --version) -Zbuild-std, wasm32-wasip1 + adapter $ADAPTER_PROVIDER_VERSION"
    # RUSTC_BOOTSTRAP=1 lets the stable Debian compiler use -Zbuild-std (guest builds only).
    # link-self-contained=no: no rustup sysroot here; Debian's wasi-libc provides crt1 and libc.
    env -u RUSTUP_TOOLCHAIN -u RUSTFLAGS \
        RUSTC="$DEB_RUSTC" RUSTDOC="${DEB_RUSTC%/rustc}/rustdoc" RUSTC_BOOTSTRAP=1 \
        CARGO_TARGET_DIR="$target_dir/fallback" \
        CARGO_TARGET_WASM32_WASIP1_LINKER="$WASM_LD" \
        CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS="-C link-self-contained=no -L native=$WASI_SYSROOT_LIB" \
        "$DEB_CARGO" build --manifest-path "$manifest" --profile "$profile" --target wasm32-wasip1 \
        -Zbuild-std=std,panic_abort --message-format=json-render-diagnostics "$@" >"$messages" \
        || vt_die "cargo build failed ($manifest, fallback route)"
fi

# The cdylib artifacts cargo reported for this build, e.g. .../release/vigil_plugin_tcp.wasm
mapfile -t built < <(grep '"reason":"compiler-artifact"' "$messages" | grep '"cdylib"' \
    | grep -o '"[^"]*\.wasm"' | tr -d '"' | sort -u)
[[ ${#built[@]} -gt 0 ]] || vt_die "cargo built no cdylib (crate-type = [\"cdylib\"] missing?)"
mkdir -p "$out"
for f in "${built[@]}"; do
    component="$out/$(basename "$f")"
    if [[ "$route" == wasip2 ]]; then
        cp "$f" "$component" # already a component
    else
        "$wasm_tools" component new "$f" --adapt "wasi_snapshot_preview1=$adapter" -o "$component" \
            || vt_die "wasm-tools component new failed for $f"
        "$wasm_tools" validate "$component" || vt_die "$component does not validate"
    fi
    vt_say "$component: $(vt_size "$component") bytes ($route route)"
done
