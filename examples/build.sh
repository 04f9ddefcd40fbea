#!/usr/bin/env bash
# Builds the example health check ("health-endpoint": GET http://target/health, read the JSON
# status) in every guest language, as Vigil plugin components:
#
#   examples/build.sh [rust|js|python|c|go|all]...     (default: all = rust js python c go)
#
# Output: target/examples/check-<lang>.wasm (VIGIL_EXAMPLES_DIR overrides the directory).
# Each language's toolchain comes from `sdk/toolchain/install.sh <lang>`, which this script runs
# first (a no-op when the tools are there; pass VIGIL_NO_INSTALL=1 to skip it).
# Rust follows plugins/build.sh (sdk/toolchain/build-rust.sh): wasm32-wasip2 through rustup when
# possible, else (or with VIGIL_GUEST_ROUTE=fallback) the registry-only wasip1 + adapter route.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
# shellcheck source=SCRIPTDIR/../sdk/toolchain/env.sh
source "$repo/sdk/toolchain/env.sh"
out="${VIGIL_EXAMPLES_DIR:-$repo/target/examples}"
work="$repo/target/examples-build"
src="$here/health-endpoint"
wit_vigil="$repo/wit"
wit_http="$here/wit" # Vigil's world + wasi:http/outgoing-handler (C, Python, Go)

[[ $# -eq 0 ]] && set -- all
langs=()
for a in "$@"; do
    case "$a" in
        all) langs+=(rust js python c go) ;;
        rust | js | python | c | go) langs+=("$a") ;;
        -h | --help) sed -n '2,/^set -euo/{/^#/{s/^# \{0,1\}//;p}}' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) vt_die "unknown language '$a' (expected rust, js, python, c, go or all)" ;;
    esac
done
mkdir -p "$out" "$work"

# quiet CMD...: runs CMD, showing its output only when it fails.
quiet() {
    local log
    if ! log="$("$@" 2>&1)"; then
        echo "$log" >&2
        vt_die "failed: $*"
    fi
}

# Install every requested language's toolchain in one run (wit-bindgen-cli is then built once
# with all the generators needed).
if [[ "${VIGIL_NO_INSTALL:-0}" != 1 ]]; then
    "$repo/sdk/toolchain/install.sh" "${langs[@]}"
fi

build_rust() {
    # Same routes as plugins/build.sh (VIGIL_GUEST_ROUTE=fallback forces the registry-only one);
    # a target dir of its own, so the example never lands among the plugins.
    rm -rf "$work/rust"
    VIGIL_GUEST_TARGET_DIR="$repo/target/guest-examples" \
        "$repo/sdk/toolchain/build-rust.sh" "$src/rust/Cargo.toml" "$work/rust" --locked --quiet
    cp "$work/rust/health_endpoint.wasm" "$out/check-rust.wasm"
}

build_js() {
    local cjs
    cjs="$(vt_tool componentize-js js)"
    # Keep the `http` feature (fetch() over wasi:http); drop `fetch-event`, which would export
    # wasi:http/incoming-handler (an HTTP server) that a health check does not need.
    vt_say "js: componentize-js $COMPONENTIZE_JS_VERSION"
    "$cjs" "$src/js/check.js" --wit "$wit_vigil" --world-name health-check \
        --disable fetch-event --out "$out/check-js.wasm" >/dev/null
}

build_python() {
    local cpy
    cpy="$(vt_tool componentize-py python)"
    vt_say "python: componentize-py $COMPONENTIZE_PY_VERSION"
    # Run from a copy: componentize-py writes __pycache__ next to the sources.
    rm -rf "$work/python" && mkdir -p "$work/python" && cp "$src/python/"*.py "$work/python/"
    "$cpy" -d "$wit_http" -w health-check-http componentize check -p "$work/python" \
        -o "$out/check-python.wasm" >/dev/null
}

build_c() {
    local wit_bindgen wasm_tools adapter gen="$work/c-gen"
    wit_bindgen="$(vt_tool wit-bindgen c)"
    wasm_tools="$(vt_tool wasm-tools c)"
    adapter="$(vt_adapter)"
    vt_say "c: wit-bindgen c + $WASM_CLANG (Debian wasi-libc) + preview1 adapter"
    rm -rf "$gen"
    quiet "$wit_bindgen" c "$wit_http" --world health-check-http --out-dir "$gen"
    "$WASM_CLANG" --target=wasm32-wasi -mexec-model=reactor -fuse-ld="$(command -v "$WASM_LD")" \
        -Os -Wall -Wextra -Wno-unused-parameter -I "$gen" -o "$work/check-c.core.wasm" \
        "$src/c/check.c" "$gen/health_check_http.c" "$gen/health_check_http_component_type.o" \
        -Wl,--strip-debug
    "$wasm_tools" component new "$work/check-c.core.wasm" \
        --adapt "wasi_snapshot_preview1=$adapter" -o "$out/check-c.wasm"
}

build_go() {
    local go wit_bindgen wasm_tools adapter gen="$work/go"
    go="$(vt_tool go go)"
    wit_bindgen="$(vt_tool wit-bindgen go)"
    wasm_tools="$(vt_tool wasm-tools go)"
    adapter="$(vt_adapter)"
    [[ -f "$GO_WIT_PKG/go.mod" ]] || vt_die "Go runtime package missing ($GO_WIT_PKG); run: sdk/toolchain/install.sh go"
    vt_say "go: wit-bindgen go + $("$go" version | cut -d' ' -f3) (GOOS=wasip1, c-shared) + preview1 adapter"
    rm -rf "$gen"
    quiet "$wit_bindgen" go "$wit_http" --world health-check-http --out-dir "$gen"
    cp -r "$src/go/export_vigil_plugin_plugin" "$src/go/export_vigil_plugin_checker" "$gen/"
    # go.bytecodealliance.org/pkg comes from the wit-bindgen-go crate, not the Go module proxy.
    echo "replace go.bytecodealliance.org/pkg => $GO_WIT_PKG" >>"$gen/go.mod"
    (cd "$gen" && GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-mod=mod GOOS=wasip1 GOARCH=wasm \
        "$go" build -buildmode=c-shared -trimpath -ldflags="-s -checklinkname=0" -o "$work/check-go.core.wasm" .)
    # (-checklinkname=0: the runtime package links to runtime.sbrk for cabi_realloc before Go is
    # initialised.) The Go generator does not embed the component type; wasm-tools does.
    "$wasm_tools" component embed "$wit_http" --world health-check-http \
        "$work/check-go.core.wasm" -o "$work/check-go.embedded.wasm"
    "$wasm_tools" component new "$work/check-go.embedded.wasm" \
        --adapt "wasi_snapshot_preview1=$adapter" -o "$out/check-go.wasm"
}

summary=()
for lang in "${langs[@]}"; do
    t0=$SECONDS
    "build_$lang"
    f="$out/check-$lang.wasm"
    if [[ -x "$TOOL_BIN/wasm-tools" ]]; then
        "$TOOL_BIN/wasm-tools" validate "$f" || vt_die "$f does not validate"
    fi
    summary+=("$(printf '%-8s %10s bytes  %4s s  %s' "$lang" "$(vt_size "$f")" "$((SECONDS - t0))" "$f")")
done
vt_say "built:"
printf '  %s\n' "${summary[@]}" >&2
