# shellcheck shell=bash
# Installs what Vigil's tests and demo need on Debian 12 (run as root).
# Sourced by tests/run.sh and examples/demo.sh; safe to run again (installs only what is missing).

vigil_log() { printf '[vigil %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# vigil_need_cargo: a Rust toolchain (stable >= 1.95) must be present.
vigil_need_cargo() {
    if ! command -v cargo >/dev/null 2>&1 && [[ -x "$HOME/.cargo/bin/cargo" ]]; then
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
    if ! command -v cargo >/dev/null 2>&1; then
        vigil_log "cargo not found: install Rust (https://rustup.rs, stable 1.95 or newer) and re-run"
        return 1
    fi
}

# vigil_apt PKG...: install the Debian packages that are not installed yet.
vigil_apt() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    if [[ $(id -u) != 0 ]]; then
        vigil_log "missing packages ${missing[*]}: run as root (or install them) and re-run"
        return 1
    fi
    vigil_log "installing ${missing[*]}"
    # tshark asks whether non-root users may capture: answer no, non-interactively.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    # Server packages (nginx, haproxy, mariadb-server) would start system services on
    # install; the tests start their own instances, so keep the system ones stopped.
    local policy=/usr/sbin/policy-rc.d own_policy=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && own_policy=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    local rc=0
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
    [[ $own_policy == 1 ]] && rm -f "$policy"
    return $rc
}

# Packages the test suite uses: real keepalived as a peer and as a source of
# golden packets, tshark to dissect what we put on the wire, iproute2 for labs.
VIGIL_TEST_PACKAGES=(keepalived tshark iproute2 iputils-ping nftables curl python3)
# Real servers the first-party health-check plugins are tested against.
VIGIL_TEST_PACKAGES+=(nginx haproxy mariadb-server mariadb-client)
